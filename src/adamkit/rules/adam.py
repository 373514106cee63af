r"""Adam (Kingma & Ba, arXiv:1412.6980), with AMSGrad, three ε placements and three weight decays.

With ``g`` the prepared gradient (sign and weight decay applied, see ``_numerics.prepare``)::

    exp_avg    = β1·exp_avg + (1-β1)·g              (m_t)
    exp_avg_sq = β2·exp_avg_sq + (1-β2)·g²          (v_t)
    v          = max(max_exp_avg_sq, exp_avg_sq) if amsgrad else exp_avg_sq
    param      = param - (lr / bias_correction1) · exp_avg / denominator

    bias_correction1 = 1 - β1^t,  bias_correction2 = 1 - β2^t   (float64)

``eps_mode`` says where ε goes (``denominator`` is written in the units of v̂ = v / bias_correction2):

- ``"paper"``: ``sqrt(v̂) + ε``: Algorithm 1 of the paper and torch.optim (default).
- ``"hat"``:   ``(sqrt(v) + ε) / sqrt(bias_correction2)``, i.e. TF/Keras's "epsilon hat":
  ``param -= lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) + ε)`` (Keras default ε is 1e-7). The
  effective ε grows by 1/sqrt(1-β2^t) early in training (≈31.6x at t=1 for β2=0.999).
- ``"root"``:  ``sqrt(v̂ + ε)``: optax's ``eps_root`` (with optax's outer eps = 0).

``eps_root`` (default 0) is added inside the root besides: with ``eps_mode="paper"`` the
denominator is ``sqrt(v̂ + eps_root) + ε``, optax's ``scale_by_adam(eps, eps_root)`` with both
non-zero. With ``"hat"`` or ``"root"`` a non-zero ``eps_root`` is refused (``"root"`` already puts
ε there; ``"hat"`` has no library that defines it): the error names ``"paper"``.

AdamW is Adam with ``weight_decay_mode="decoupled"`` and ``weight_decay=1e-2`` (torch's defaults).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from adamkit.errors import HyperparameterError
from adamkit.rules._declaration import Api, Declaration, Variant
from adamkit.rules._numerics import (
    addcdiv,
    as_scalar_or_array,
    bias_correction,
    ema,
    ema_square,
    is_static,
    prepare,
    value_of,
    weight_decay_terms,
)
from adamkit.rules._rule import Rule
from adamkit.rules.hyperparameters import numbers

TAKES = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay",
         "weight_decay_mode", "eps_mode", "eps_root")
STATE_KEYS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")


@dataclass(frozen=True)
class Denominator:
    """``(sqrt(v / inner_scale + inner_eps) + mid_eps) / outer_scale + outer_eps``.

    Five numbers that spell every ``eps_mode`` (with ``bc2 = bias_correction2``)::

        paper: (1,   0, 0, sqrt(bc2), ε)   ->  sqrt(v)/sqrt(bc2) + ε  =  sqrt(v̂) + ε
        hat:   (1,   0, ε, sqrt(bc2), 0)   ->  (sqrt(v) + ε)/sqrt(bc2)
        root:  (bc2, ε, 0, 1,         0)   ->  sqrt(v/bc2 + ε)        =  sqrt(v̂ + ε)
        paper with eps_root = r != 0:
               (bc2, r, 0, 1,         ε)   ->  sqrt(v/bc2 + r) + ε    =  sqrt(v̂ + r) + ε

    The rule skips the terms that are Python 1s and 0s (exact either way); the fused kernels take
    all five.
    """

    inner_scale: Any
    inner_eps: Any
    mid_eps: Any
    outer_scale: Any
    outer_eps: Any


@dataclass(frozen=True)
class StepScalars:
    """The scalar part of one Adam step: all that does not depend on the coordinate.

    Computed once per step by :func:`step_scalars`, for the rule and for the fused kernels alike:
    bias corrections in float64, ``step_size = lr / bias_correction1``, the weight decay's
    ``l2`` and ``decay`` (see ``_numerics.weight_decay_terms``), ``sign`` (-1 with ``maximize``)
    and where ε goes (:class:`Denominator`).
    """

    sign: float
    l2: Any
    decay: Any
    bias_correction1: Any
    bias_correction2: Any
    step_size: Any
    denominator: Denominator


def step_scalars(hp: dict, step: Any) -> StepScalars:
    """Adam's per-step scalars for hyperparameters ``hp`` at step ``step`` (1 on the first)."""
    beta1, beta2 = hp["betas"]
    bc1 = bias_correction(beta1, step)
    bc2 = bias_correction(beta2, step)
    eps, mode = hp["eps"], hp["eps_mode"]
    eps_root = value_of(hp.get("eps_root", 0))
    sqrt_bc2 = bc2**0.5
    if mode == "paper" and not is_static(eps_root, 0):  # other modes refuse it (check_eps_root)
        denominator = Denominator(bc2, eps_root, 0, 1, eps)
    elif mode == "paper":
        denominator = Denominator(1, 0, 0, sqrt_bc2, eps)
    elif mode == "hat":
        denominator = Denominator(1, 0, eps, sqrt_bc2, 0)
    else:  # "root"
        denominator = Denominator(bc2, eps, 0, 1, 0)
    l2, decay = weight_decay_terms(hp)
    # A tensor lr stays a tensor here, as in torch.optim, where lr / bias_correction rounds in its dtype.
    return StepScalars(-1.0 if hp.get("maximize") else 1.0, l2, decay, bc1, bc2, hp["lr"] / bc1,
                       denominator)


def denominator(v: Any, d: Denominator, xp: Any) -> Any:
    """The divisor of ``exp_avg / bias_correction1`` (see :class:`Denominator`)."""
    def scalar(x: Any) -> Any:
        return as_scalar_or_array(x, v, xp)

    if not is_static(d.inner_scale, 1):
        v = v / scalar(d.inner_scale)
    if not is_static(d.inner_eps, 0):
        v = v + scalar(d.inner_eps)
    out = xp.sqrt(v)
    if not is_static(d.mid_eps, 0):
        out = out + scalar(d.mid_eps)
    if not is_static(d.outer_scale, 1):
        out = out / scalar(d.outer_scale)
    if not is_static(d.outer_eps, 0):
        out = out + scalar(d.outer_eps)
    return out


def check_eps_root(owner: str, hp: dict) -> None:
    """A non-zero ``eps_root`` goes with ``eps_mode="paper"`` only (see the module's doc)."""
    eps_root = numbers(hp.get("eps_root", 0))  # None when traced: checked when it was concrete
    if hp["eps_mode"] != "paper" and eps_root is not None and bool(np.any(eps_root != 0)):
        raise HyperparameterError(
            f"{owner}: invalid eps_mode {hp['eps_mode']!r} with eps_root {hp['eps_root']!r}; valid: "
            "'paper' (sqrt(v̂ + eps_root) + eps), or eps_root=0")


def init(param: Any, hp: dict, xp: Any) -> dict:
    state = {"exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}
    if hp["amsgrad"]:
        state["max_exp_avg_sq"] = xp.zeros_like(param)
    return state


def update(param: Any, grad: Any, state: dict, step: Any, hp: dict, xp: Any) -> tuple[Any, dict]:
    s = step_scalars(hp, step)
    param, grad = prepare(param, grad, hp, xp)
    beta1, beta2 = hp["betas"]
    exp_avg = ema(state["exp_avg"], grad, as_scalar_or_array(beta1, grad, xp), xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, as_scalar_or_array(beta2, grad, xp), xp)
    new_state = {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    v = exp_avg_sq
    if hp["amsgrad"]:
        v = new_state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], exp_avg_sq)
    step_size = as_scalar_or_array(s.step_size, param, xp)
    return addcdiv(param, exp_avg, denominator(v, s.denominator, xp), -step_size, xp), new_state


def internals(state: dict, step: Any, hp: dict, xp: Any) -> dict:
    """What Adam does to each coordinate after ``step`` updates, from its (decoded) state.

    ``m_hat`` and ``v_hat`` are the bias-corrected moments; ``effective_lr = lr / denominator`` is
    the per-coordinate step size Adam actually uses; ``update = effective_lr * m_hat`` is the move
    (weight decay excluded). ``eps_dominates`` marks coordinates where ε is more than half the
    denominator, i.e. where Adam has degraded into momentum SGD with step lr/ε.
    """
    s = step_scalars(hp, step)
    v = state["max_exp_avg_sq"] if hp["amsgrad"] else state["exp_avg_sq"]
    m_hat = state["exp_avg"] / as_scalar_or_array(s.bias_correction1, v, xp)
    v_hat = v / as_scalar_or_array(s.bias_correction2, v, xp)
    denom = denominator(v, s.denominator, xp)
    effective_lr = as_scalar_or_array(hp["lr"], v, xp) / denom
    sqrt_v_hat = xp.sqrt(v_hat)
    return {
        "m_hat": m_hat,
        "v_hat": v_hat,
        "effective_lr": effective_lr,
        "update": effective_lr * m_hat,
        "eps_dominates": sqrt_v_hat < denom - sqrt_v_hat,
    }


ADAM = Rule("adam", init, update, TAKES, state_keys=STATE_KEYS, check=check_eps_root,
            internals=internals)
ADAMW = Rule("adamw", init, update, TAKES,
             {"weight_decay": 1e-2, "weight_decay_mode": "decoupled"}, STATE_KEYS,
             check=check_eps_root, internals=internals)

# The optimizers on this rule, declared once (see adamkit.rules.registry).
ADAM_STATE = {"exp_avg": "mu", "exp_avg_sq": "nu", "max_exp_avg_sq": "nu_max"}  # optax's names
DECLARATIONS = (
    Declaration(
        ADAM, "Adam (Kingma & Ba)", "adaptive", "#0072B2", "o",
        variants=(Variant("amsgrad", "Adam dividing by the running max of v (Reddi et al.)",
                          {"amsgrad": True}, "#1B3A8C", "^"),),
        torch=Api("Adam", "lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, "
                  "foreach=None, maximize=False, capturable=False, differentiable=False, fused=None, "
                  "decoupled_weight_decay=False", peer="torch.optim.Adam",
                  traits={"tensor_betas": True}),
        keras=Api("Adam", "learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, "
                  "amsgrad=False, *, eps_mode='hat'", peer="keras.optimizers.Adam"),
        optax=Api("adam", peer="optax.adam", base="adamkit.optax._alias:adam", state=ADAM_STATE),
        numpy=Api("Adam"),
        train_lr=3e-3, phase_axis="beta1=0:0.99:20"),
    Declaration(
        ADAMW, "Adam with decoupled weight decay 1e-2 (Loshchilov & Hutter)", "adaptive",
        "#56B4E9", "s",
        torch=Api("AdamW", "lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, "
                  "*, maximize=False, foreach=None, capturable=False, differentiable=False, "
                  "fused=None", peer="torch.optim.AdamW",
                  traits={"tensor_betas": True, "subclass_of": "Adam", "decoupled_on_load": True}),
        keras=Api("AdamW", "learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, "
                  "epsilon=1e-7, amsgrad=False, *, eps_mode='hat'", peer="keras.optimizers.AdamW",
                  traits={"subclass_of": "Adam"}),
        optax=Api("adamw", peer="optax.adamw", base="adamkit.optax._alias:adamw", state=ADAM_STATE,
                  traits={"state_type": "AdamState"}),
        numpy=Api("AdamW"),
        train_lr=3e-3, phase_axis="beta1=0:0.99:20"),
)
