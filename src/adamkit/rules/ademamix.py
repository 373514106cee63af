r"""AdEMAMix (Pagliardini et al., "The AdEMAMix Optimizer: Better, Faster, Older",
arXiv:2409.03137): Adam whose numerator mixes a fast and a very slow average of the gradient.

With ``g`` the prepared gradient and ``t`` the step (1 on the first)::

    exp_avg_fast = β1·exp_avg_fast + (1-β1)·g           (m1, bias-corrected)
    exp_avg_slow = β3·exp_avg_slow + (1-β3)·g           (m2, not bias-corrected)
    exp_avg_sq   = β2·exp_avg_sq + (1-β2)·g²            (v)
    param        = param - lr·(m1/(1-β1^t) + α·m2) / (sqrt(v/(1-β2^t) + eps_root) + ε)

Weight decay is decoupled by default (``param *= 1 - lr·wd``), as the authors' code and optax's
``contrib.ademamix`` (which adds ``wd·param`` to the update before scaling by ``-lr``).

The slow average forgets too slowly to be useful early, so the paper warms α and β3 up (its
Algorithm 1; the authors' code, with their ``alpha_warmup`` and ``beta3_warmup``), with
``a = t / T`` while ``t < T``::

    α_t  = a·α                                           (from 0, linearly)
    β3_t = h⁻¹((1-a)·h(β1) + a·h(β3)),  h(β) = ln(1/2)/ln(β + 1e-8) - 1,  h⁻¹(τ) = (1/2)^(1/(τ+1))

``h`` is the half-life of an average with decay β, so β3 grows from β1 linearly in half-life:
the paper's closed form ``exp(ln β1·ln β3 / ((1-a)·ln β3 + a·ln β1))``, with the authors' code's
``ln(β + 1e-8)`` (which moves ln 0.9999 by 1e-4 of itself: within 2e-6 of the paper's values,
and just before ``T`` above β3 by about 1e-8, where the paper's ``min`` would cap it).

``None`` (the default) applies α and β3 from the first step, as optax's default (constant
``alpha`` and ``b3``). optax takes schedules as callables of the count *before* the step: the
paper's warmup there is ``alpha=lambda c: α_{c+1}`` (the tests build both that way).

Defaults: optax's ``contrib.ademamix`` (``betas=(0.9, 0.999)``, ``beta3=0.9999``,
``mix_alpha=5``, ``eps=1e-8``). The authors' PyTorch class takes ``alpha=2`` and the three betas
as one triple; its state names are the ones kept here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from adamkit.errors import HyperparameterError
from adamkit.rules._declaration import Api, Declaration
from adamkit.rules._numerics import (
    _is_number,
    addcdiv,
    as_scalar_or_array,
    bias_correction,
    ema,
    ema_square,
    is_static,
    prepare,
    value_of,
)
from adamkit.rules._rule import Rule
from adamkit.rules.hyperparameters import HYPERPARAMETERS

TAKES = ("lr", "betas", "beta3", "mix_alpha", "alpha_warmup", "beta3_warmup", "eps", "eps_root",
         "weight_decay", "maximize", "weight_decay_mode")
STATE_KEYS = ("exp_avg_fast", "exp_avg_slow", "exp_avg_sq")
LOG_EPS = 1e-8  # inside the half-life's logarithm, as the authors' code


def _half_life(beta: Any, m: Any) -> Any:
    return m.log(0.5) / m.log(beta + LOG_EPS) - 1


def _from_half_life(tau: Any) -> Any:
    return 0.5 ** (1 / (tau + 1))


def _math_for(step: Any, values: tuple, xp: Any) -> Any:
    """Python's ``math`` for a known step and Python numbers (float64, the authors' arithmetic),
    NumPy for arrays of configurations, else ``xp`` (a traced step or hyperparameter)."""
    if isinstance(step, int | np.integer):
        if all(_is_number(v) for v in values):
            return math
        if all(_is_number(v) or isinstance(v, np.ndarray) for v in values):
            return np
    return xp


def schedules(hp: dict, step: Any, xp: Any) -> tuple[Any, Any]:
    """``(α_t, β3_t)`` at step ``step`` (see the module doc): the warmups where they are set.

    In float64 for a known step and known hyperparameters; under a traced step (jax under
    ``jit``) with ``xp``, the choice by ``where``.
    """
    alpha, beta3 = value_of(hp["mix_alpha"]), value_of(hp["beta3"])
    beta1 = value_of(hp["betas"][0])
    m = _math_for(step, (alpha, beta3, beta1), xp)
    known = m is math or m is np
    for name in ("alpha_warmup", "beta3_warmup"):
        warmup = hp.get(name)
        if warmup is None or (known and step >= warmup):
            continue
        a = step / float(warmup)
        if name == "alpha_warmup":
            warm = a * alpha  # (1-a)·0 + a·α, the authors' linear warmup from 0
        else:
            warm = _from_half_life((1.0 - a) * _half_life(beta1, m) + a * _half_life(beta3, m))
        if known:
            alpha, beta3 = (warm, beta3) if name == "alpha_warmup" else (alpha, warm)
        elif name == "alpha_warmup":
            alpha = xp.where(step < warmup, warm, alpha)
        else:
            beta3 = xp.where(step < warmup, warm, beta3)
    return alpha, beta3


def init(param: Any, hp: dict, xp: Any) -> dict:
    return {key: xp.zeros_like(param) for key in STATE_KEYS}


def update(param: Any, grad: Any, state: dict, step: Any, hp: dict, xp: Any) -> tuple[Any, dict]:
    param, grad = prepare(param, grad, hp, xp)
    alpha, beta3 = schedules(hp, step, xp)
    beta1, beta2 = hp["betas"]
    fast = ema(state["exp_avg_fast"], grad, as_scalar_or_array(beta1, grad, xp), xp)
    slow = ema(state["exp_avg_slow"], grad, as_scalar_or_array(beta3, grad, xp), xp)
    exp_avg_sq = ema_square(state["exp_avg_sq"], grad, as_scalar_or_array(beta2, grad, xp), xp)
    numerator = (fast / as_scalar_or_array(bias_correction(beta1, step), grad, xp)
                 + as_scalar_or_array(alpha, grad, xp) * slow)
    v_hat = exp_avg_sq / as_scalar_or_array(bias_correction(beta2, step), grad, xp)
    eps_root = value_of(hp.get("eps_root", 0))
    if not is_static(eps_root, 0):
        v_hat = v_hat + as_scalar_or_array(eps_root, grad, xp)
    denominator = xp.sqrt(v_hat) + as_scalar_or_array(hp["eps"], grad, xp)
    param = addcdiv(param, numerator, denominator, -as_scalar_or_array(hp["lr"], param, xp), xp)
    return param, {"exp_avg_fast": fast, "exp_avg_slow": slow, "exp_avg_sq": exp_avg_sq}


ADEMAMIX = Rule("ademamix", init, update, TAKES, {"weight_decay_mode": "decoupled"}, STATE_KEYS)


def _torch_arguments(given: dict[str, Any]) -> dict[str, Any]:
    """The authors' PyTorch spelling ``betas=(β1, β2, β3)`` too: its third is ``beta3``."""
    given = dict(given)
    betas = given.get("betas")
    if isinstance(betas, tuple | list) and len(betas) == 3:
        if given.get("beta3", HYPERPARAMETERS["beta3"].default) != HYPERPARAMETERS["beta3"].default:
            raise HyperparameterError(f"AdEMAMix: give beta3 or betas[2], not both (betas={betas!r}, "
                                      f"beta3={given['beta3']!r})")
        given["betas"], given["beta3"] = tuple(betas[:2]), betas[2]
    return given


DECLARATIONS = (Declaration(
    ADEMAMIX, "AdEMAMix (Pagliardini et al.): Adam whose step adds a very slow average of the "
    "gradient", "adaptive", "#B8860B", "x",
    # torch has none: torch.optim's style with the authors' defaults (apple/ml-ademamix: alpha 2);
    # their betas=(β1, β2, β3) is accepted too
    torch=Api("AdEMAMix", "lr=1e-3, betas=(0.9, 0.999), beta3=0.9999, mix_alpha=2.0, "
              "beta3_warmup=None, alpha_warmup=None, eps=1e-8, weight_decay=0.0, *, maximize=False",
              translate=_torch_arguments),
    keras=Api("AdEMAMix", "learning_rate=0.001, beta_1=0.9, beta_2=0.999, beta_3=0.9999, mix_alpha=5.0, "
              "epsilon=1e-8, *, alpha_warmup=None, beta3_warmup=None"),
    # optax's alpha and b3 may be schedules (callables of the count): written by hand
    optax=Api("ademamix", peer="optax.contrib.ademamix", base="adamkit.optax.ademamix:ademamix",
              state={"exp_avg_fast": "m1", "exp_avg_slow": "m2", "exp_avg_sq": "nu"}),
    numpy=Api("AdEMAMix"),
    # Adam's: on digits (adamkit train, one seed) both do best at 1e-2 of 3e-4, 1e-3, ... 3e-2
    train_lr=3e-3, phase_axis="beta3=0.9:0.9999:20"),)
