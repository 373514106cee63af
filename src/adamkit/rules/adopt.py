r"""ADOPT (Taniguchi et al., "ADOPT: Modified Adam Can Converge with Any β2 with the Optimal Rate",
arXiv:2411.02853), as optax's ``contrib.adopt``.

Adam normalizes the gradient by a second moment that already contains it; ADOPT normalizes by the
previous one, and averages the normalized gradient. With ``g`` the prepared gradient and ``t``
the step (1 on the first)::

    t = 1:  exp_avg_sq = g²                                   (nothing else moves)
    t > 1:  n          = g / max(sqrt(exp_avg_sq), ε)         (the v of the step before)
            n          = clip(n, -(t-1)^¼, (t-1)^¼)           (use_clipping, the default)
            exp_avg    = β1·exp_avg + (1-β1)·n
            exp_avg_sq = β2·exp_avg_sq + (1-β2)·g²
            u          = β1·exp_avg + (1-β1)·n  if nesterov else exp_avg
            param      = param - lr·u

The clip bound is optax's default ``clip_value_fn`` (``count**0.25`` of the step count before
this step, so 1 on the second step), or ``clip_bound`` where it is given (the optax front end
evaluates any ``clip_value_fn`` of the count so, step by step). The first moment starts at 0
with no bias correction, as optax's (the authors' code starts it at the first normalized
gradient instead: it differs from optax on every step after the second). Under ``jax.jit`` (a
traced step) the first step is the general formula with β1 = 1 and β2 = 0, as optax computes it,
which gives the same numbers.

Weight decay (not in optax's function) is any of ``weight_decay_mode``'s, on every step
including the first. Defaults are optax's: ``betas=(0.9, 0.9999)``, ``eps=1e-6``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    _is_number,
    add,
    as_scalar_or_array,
    ema,
    ema_square,
    is_torch,
    move_param,
    prepare,
    where,
)
from adamkit.rules._rule import Rule

TAKES = ("lr", "betas", "eps", "weight_decay", "maximize", "weight_decay_mode", "nesterov",
         "use_clipping", "clip_bound")
STATE_KEYS = ("exp_avg", "exp_avg_sq")


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {"exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}


def _at_least(x: Any, low: Any, xp: Any) -> Any:
    """``max(x, low)`` elementwise (NaN stays NaN). torch's ``maximum`` takes no Python number,
    and keras.ops's returns float32 for float64 inputs (Keras's type promotion, floatx float32):
    elsewhere a ``where`` on a ``low`` of ``x``'s dtype."""
    if is_torch(xp) and _is_number(low):
        return xp.clamp(x, min=low)
    if getattr(xp, "__name__", "") == "numpy":
        return xp.maximum(x, low)
    if _is_number(low):
        low = as_scalar_or_array(np.asarray(low), x, xp)
    return xp.where(x < low, low, x)


def update(param: Any, grad: Any, state: dict, step: Any, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    beta1, beta2 = (as_scalar_or_array(b, grad, xp) for b in hp["betas"])
    known = isinstance(step, int | np.integer)
    if known and step == 1:  # the second moment's first value; the param and exp_avg stay
        return param, {"exp_avg": state["exp_avg"],
                       "exp_avg_sq": ema_square(state["exp_avg_sq"], grad, 0, xp)}
    if not known:  # a traced step: optax's β1 = 1, β2 = 0 on the first step, by value
        first = step == 1
        beta1 = where(first, 1.0, beta1, xp)
        beta2 = where(first, 0.0, beta2, xp)
    eps = as_scalar_or_array(hp["eps"], grad, xp)
    normalized = grad / _at_least(xp.sqrt(state["exp_avg_sq"]), eps, xp)  # v of the step before
    if hp["use_clipping"]:
        # A known bound as a 0-dim array of the gradient's dtype: keras.ops.clip would make a
        # Python number float32.
        bound = hp.get("clip_bound")
        if bound is None:
            bound = (step - 1) ** 0.25
        bound = as_scalar_or_array(np.asarray(bound) if _is_number(bound) else bound, grad, xp)
        normalized = xp.clip(normalized, -bound, bound)
    exp_avg = ema(state["exp_avg"], normalized, beta1, xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, beta2, xp)
    direction = add(exp_avg * beta1, normalized, 1 - beta1, xp) if hp["nesterov"] else exp_avg
    param = move_param(param, direction, -as_scalar_or_array(hp["lr"], param, xp), xp)
    return param, {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}


ADOPT = Rule("adopt", init, update, TAKES, {"betas": (0.9, 0.9999), "eps": 1e-6}, STATE_KEYS)


DECLARATIONS = (Declaration(
    ADOPT, "ADOPT (Taniguchi et al.): Adam normalized by the previous second moment, then averaged",
    "adaptive", "#6A5ACD", "8",
    # torch has none: torch.optim's style with optax's defaults (the authors' class: the same ones)
    torch=Api("ADOPT", "lr=1e-3, betas=(0.9, 0.9999), eps=1e-6, weight_decay=0.0, *, maximize=False"),
    keras=Api("ADOPT", "learning_rate=0.001, beta_1=0.9, beta_2=0.9999, epsilon=1e-6, *, "
              "nesterov=False, use_clipping=True"),
    # optax's clip_value_fn is a callable of the count: written by hand, evaluated each step
    optax=Api("adopt", peer="optax.contrib.adopt", base="adamkit.optax.adopt:adopt",
              state={"exp_avg": "mu", "exp_avg_sq": "nu"}),
    numpy=Api("ADOPT"),
    # the best test loss of 3e-4, 1e-3, ... 3e-2 on digits (adamkit train, one seed)
    train_lr=3e-3, phase_axis="beta1=0:0.99:20",
    # the lab's lr: the adaptive family's times 3.0, the best of 0.1, 0.3, 1, 3 times it on
    # rosenbrock, himmelblau and beale (final loss after the functions' default steps)
    lab_lr_scale=3.0),)
