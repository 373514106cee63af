"""A fused path for sensitivity maps: thousands of Adam runs on a 2-D test function, final loss only.

The page's sensitivity view asks for the final loss of 4,096+ configurations x 1,000 steps at
every change. The batched engine (:func:`adamkit.lab.engine.run`) spends that time on whole-array
NumPy passes per step and on keeping every iterate; here one Numba loop per configuration keeps
x, y, m and v in registers and returns only what the map shows (final loss, divergence step).

This is a **second spelling** of two things, for speed only, and the tests tie both to the
originals: the Adam rule (:mod:`adamkit.rules.adam`: AMSGrad, the three ``eps_mode``s, the
operations in the rule's order; the weight decay's factors come from the rule's own
``weight_decay_terms``) and the gradients of the registered
2-D functions (:mod:`adamkit.lab.functions`). Divergence is the engine's: the first step where the
point or the loss is not finite or a coordinate leaves the window widened by ``ESCAPE`` widths.

What it does not cover goes through the engine, with the same answer: other optimizers, user
expressions, 1-D functions, gradient noise, ``maximize``, and machines without Numba (it lives in
the ``web`` and ``torch`` extras). :func:`final_losses` says which path ran.
"""

from __future__ import annotations

import numpy as np

from adamkit import rules
from adamkit.lab.engine import ESCAPE, run
from adamkit.lab.functions import FUNCTIONS, TestFunction

# function name -> id in the kernel's gradient switch (_value_and_grad)
FUNCTION_IDS = {name: i for i, name in enumerate(
    ("quadratic", "ill_conditioned", "rosenbrock", "himmelblau", "beale", "rastrigin", "ackley",
     "booth", "styblinski_tang", "saddle"))}
EPS_MODE_IDS = {"paper": 0, "hat": 1, "root": 2}


def covers(fn: TestFunction, optimizer: str, noise: float = 0.0) -> bool:
    """Whether the fused path computes this (else :func:`final_losses` uses the engine)."""
    return (_kernel() is not None and noise == 0.0 and fn.name in FUNCTION_IDS
            and FUNCTIONS[fn.name].grad_fn is fn.grad_fn
            and rules.variant(optimizer).rule in ("adam", "adamw"))


def final_losses(fn: TestFunction, optimizer: str, *, steps: int, start, **hyperparameters):
    """(final loss (C,), diverged (C,) bool, "fused" or "engine") for C configurations.

    Hyperparameters are the engine's (``lr``, ``beta1``, ``beta2``, ``eps``, ``weight_decay``,
    ``eps_mode``, ...), each a number or an array of C values; ``start`` is one point.
    """
    if (not covers(fn, optimizer) or hyperparameters.get("maximize")
            or np.any(np.asarray(hyperparameters.get("eps_root", 0.0)) != 0)):  # not in the kernel
        r = run(fn, optimizer, steps=steps, start=start, **hyperparameters)
        return r.final_loss(), r.diverged, "engine"
    v = rules.variant(optimizer)
    rule = rules.get(v.rule)
    hp = dict(hyperparameters)
    if "beta1" in hp or "beta2" in hp:  # the rule validates betas as a pair
        b1, b2 = hp.pop("betas", rule.defaults["betas"])
        hp["betas"] = (hp.pop("beta1", b1), hp.pop("beta2", b2))
    hp = rule.validate({**v.settings, **hp})  # the declarations' ranges, the rule's messages
    beta1, beta2 = hp["betas"]
    l2, decay = rules.weight_decay_terms(hp)  # the rule's own decay factors (no schedule in the lab)
    columns = [hp["lr"], beta1, beta2, hp["eps"], l2, decay]
    C = max(np.size(c) for c in columns)
    lr, b1, b2, eps, l2s, decays = (np.broadcast_to(np.asarray(c, np.float64).reshape(-1), (C,)).copy()
                                    for c in columns)
    lo = np.array([w[0] for w in fn.window])
    hi = np.array([w[1] for w in fn.window])
    lo_far, hi_far = lo - ESCAPE * (hi - lo), hi + ESCAPE * (hi - lo)
    final = np.empty(C)
    diverged_step = np.empty(C, np.int64)
    x0, y0 = (float(v) for v in np.asarray(start, np.float64).reshape(2))
    _kernel().adam_final_losses(FUNCTION_IDS[fn.name], x0, y0, lr, b1, b2, eps, l2s, decays,
              EPS_MODE_IDS[hp["eps_mode"]],
              bool(hp["amsgrad"]), int(steps), lo_far, hi_far, final, diverged_step)
    return final, diverged_step >= 0, "fused"


_compiled = None


def _kernel():
    """The compiled kernel, or None without Numba (compiled on first use, cached on disk)."""
    global _compiled
    if _compiled is None:
        try:
            from adamkit.lab import _fused_kernels
        except ModuleNotFoundError:  # no Numba: the engine answers
            _compiled = False
        else:
            _compiled = _fused_kernels
    return _compiled or None


def value_and_grad(fn_name: str, points) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's f and ∇f at ``points`` (k, 2): what the tests compare with the NumPy functions."""
    helper = _kernel().value_and_grad  # type: ignore[union-attr]
    out = np.array([helper(FUNCTION_IDS[fn_name], float(x), float(y)) for x, y in points])
    return out[:, 0], out[:, 1:]
