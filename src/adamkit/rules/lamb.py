r"""LAMB (You et al., "Large Batch Optimization for Deep Learning", arXiv:1904.00962, Algorithm 2).

Adam's direction, then one step size per tensor: the trust ratio ``||param|| / ||u||``. With
``g`` the prepared gradient::

    exp_avg    = β1·exp_avg + (1-β1)·g
    exp_avg_sq = β2·exp_avg_sq + (1-β2)·g²
    r          = (exp_avg / (1-β1^t)) / (sqrt(exp_avg_sq / (1-β2^t) + eps_root) + ε)
    u          = r + wd·param                               (decay_in_trust_ratio, the default)
    ratio      = ||param|| / ||u||,  or 1 where either norm is 0
    param      = param - lr·ratio·u

The norms are L2 norms of the whole tensor (``param`` as the rule is given it): a layer's weight
matrix is one tensor, so its coordinates share one ratio. Where ``||param||`` or ``||u||`` is 0
(a fresh zero bias, a zero gradient) the ratio is 1, as optax's ``scale_by_trust_ratio`` and
Keras's ``Lamb`` both set it.

Where the weight decay goes:

- ``decay_in_trust_ratio=True`` (default) with ``weight_decay_mode="decoupled"`` (default): the
  paper's Algorithm 2 and optax's ``lamb`` (``scale_by_adam``, ``add_decayed_weights``,
  ``scale_by_trust_ratio``): ``wd·param`` joins ``u`` and is scaled by the ratio too;
- ``decay_in_trust_ratio=False``: ``param *= 1 - lr·wd`` first (``"decoupled"``; or
  ``"independent"``, see ``_numerics.weight_decay_terms``), then the ratio of ``r`` alone, with the
  decayed param's norm: Keras's ``Lamb``, whose base class decays every variable before its step;
- ``weight_decay_mode="l2"``: ``g += wd·param`` before the moments (either flag).

``"independent"`` with ``decay_in_trust_ratio=True`` is refused (no library defines it).

Defaults are optax's (``eps=1e-6``, ``weight_decay=0``); Keras's class keeps its ``epsilon=1e-7``.
The moments are ``exp_avg`` and ``exp_avg_sq``, Adam's names in torch.
"""

from __future__ import annotations

from typing import Any

from adamkit.errors import HyperparameterError
from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    add,
    as_scalar_or_array,
    bias_correction,
    ema,
    ema_square,
    is_static,
    move_param,
    prepare,
    value_of,
    where,
)
from adamkit.rules._rule import Rule

TAKES = ("lr", "betas", "eps", "eps_root", "weight_decay", "maximize", "weight_decay_mode",
         "decay_in_trust_ratio")
STATE_KEYS = ("exp_avg", "exp_avg_sq")


def _check(owner: str, hp: dict) -> None:
    if hp["decay_in_trust_ratio"] and hp["weight_decay_mode"] == "independent":
        raise HyperparameterError(
            f"{owner}: invalid weight_decay_mode 'independent' with decay_in_trust_ratio=True; "
            "valid: 'decoupled' or 'l2', or decay_in_trust_ratio=False")


def _decay_in_update(hp: dict) -> bool:
    """Whether ``wd·param`` joins the update inside the trust ratio (the paper's, optax's)."""
    return (bool(hp["decay_in_trust_ratio"]) and hp["weight_decay_mode"] == "decoupled"
            and not is_static(value_of(hp["weight_decay"]), 0))


def norm(x: Any, xp: Any) -> Any:
    """The L2 norm of the whole array ``x`` (0-dim)."""
    return xp.sqrt(xp.sum(x * x))


def trust_ratio(param: Any, direction: Any, xp: Any) -> Any:
    """``||param|| / ||direction||``, or 1 where either norm is 0 (no division by 0 is taken)."""
    param_norm, direction_norm = norm(param, xp), norm(direction, xp)
    zero = (param_norm == 0) | (direction_norm == 0)
    safe = where(direction_norm == 0, xp.ones_like(direction_norm), direction_norm, xp)
    return where(zero, xp.ones_like(param_norm), param_norm / safe, xp)


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {"exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}


def update(param: Any, grad: Any, state: dict, step: Any, hp: dict, xp: Any) -> tuple[Any, dict]:
    inside = _decay_in_update(hp)
    param, grad = prepare(param, grad, {**hp, "weight_decay": 0.0} if inside else hp, xp)
    beta1, beta2 = hp["betas"]
    exp_avg = ema(state["exp_avg"], grad, as_scalar_or_array(beta1, grad, xp), xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, as_scalar_or_array(beta2, grad, xp), xp)
    m_hat = exp_avg / as_scalar_or_array(bias_correction(beta1, step), grad, xp)
    v_hat = exp_avg_sq / as_scalar_or_array(bias_correction(beta2, step), grad, xp)
    eps_root = value_of(hp.get("eps_root", 0))
    if not is_static(eps_root, 0):
        v_hat = v_hat + as_scalar_or_array(eps_root, grad, xp)
    direction = m_hat / (xp.sqrt(v_hat) + as_scalar_or_array(hp["eps"], grad, xp))
    if inside:
        direction = add(direction, param, as_scalar_or_array(hp["weight_decay"], param, xp), xp)
    scale = as_scalar_or_array(hp["lr"], param, xp) * trust_ratio(param, direction, xp)
    return move_param(param, direction, -scale, xp), {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}


LAMB = Rule("lamb", init, update, TAKES, {"eps": 1e-6, "weight_decay_mode": "decoupled"},
            STATE_KEYS, check=_check, elementwise=False)  # the trust ratio reads whole tensors

DECLARATIONS = (Declaration(
    LAMB, "LAMB (You et al.): Adam's direction scaled per tensor by the trust ratio ||p||/||u||",
    "adaptive", "#2E8B57", "H",
    # torch has none: torch.optim's style with optax's defaults (the paper's Algorithm 2)
    torch=Api("Lamb", "lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, *, maximize=False"),
    keras=Api("Lamb", "learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, *, "
              "decay_in_trust_ratio=False", peer="keras.optimizers.Lamb"),
    # optax's chain puts the trust ratio after add_decayed_weights, on the real params
    optax=Api("lamb", peer="optax.lamb", base="adamkit.optax.lamb:lamb",
              state={"exp_avg": "mu", "exp_avg_sq": "nu"}),
    numpy=Api("Lamb"),
    # the best test loss of 3e-4, 1e-3, ... 3e-2 on digits (adamkit train, one seed)
    train_lr=1e-2, phase_axis="beta1=0:0.99:20",
    # the lab's lr: the adaptive family's times 0.3, between the best of 0.1, 0.3, 1, 3 times it
    # (final loss after the functions' default steps: 1 on rosenbrock, 0.1 on himmelblau, beale)
    lab_lr_scale=0.3),)
