"""optax's optimizers by optax's names and signatures, each ``chain(scale_by_rule(...), ...)``.

Where optax and the rule (torch's convention) place ε differently, the difference is named, not
hidden: ``adam``'s ``eps_mode`` picks the placement (``"paper"``: optax's ``eps`` and
``eps_root``, ``sqrt(v̂ + eps_root) + eps``; ``"root"``: optax's ``eps_root`` alone; ``"hat"``:
Keras's); ``rmsprop``'s ``eps_in_sqrt`` and ``adagrad`` are the rules' ``eps_mode="root"``, as
optax; ``radam`` places ε as torch does (see its docstring). A combination the rule cannot express
(``eps_root`` with ``eps_mode="hat"``, ...) is a ValueError naming the value and the
valid ones, never a silent approximation.
"""

from __future__ import annotations

import math
from typing import Any

import optax

from adamkit.errors import HyperparameterError
from adamkit.optax._transform import is_traced, scale_by_rule


def _refuse(owner: str, name: str, value: Any, valid: Any) -> None:
    raise HyperparameterError(f"adamkit.optax.{owner}: invalid {name} {value!r}; valid: {valid}")


def _require(owner: str, name: str, value: Any, wanted: Any) -> None:
    """``value`` must equal ``wanted``; a traced value (inject_hyperparams) was checked at init."""
    if value is not None and not is_traced(value) and float(value) != float(wanted):
        _refuse(owner, name, value, wanted)


def _adam_direction(owner: str, b1: Any, b2: Any, eps: Any, eps_root: Any, mu_dtype: Any,
                    nesterov: bool, eps_mode: str) -> optax.GradientTransformationExtraArgs:
    if nesterov:
        # optax's Nesterov Adam is torch's NAdam with a constant momentum schedule μ_t = β1,
        # i.e. momentum_decay = inf (0.96**inf = 0); NAdam places ε as the paper does.
        if eps_mode != "paper":
            _refuse(owner, "eps_mode with nesterov=True", eps_mode, "paper")
        return scale_by_rule("nadam", betas=(b1, b2), eps=eps, eps_root=eps_root,
                             momentum_decay=math.inf, mu_dtype=mu_dtype)
    extra: dict[str, Any] = {}
    if eps_mode == "root":  # sqrt(v̂ + eps_root): optax's eps_root with eps = 0
        _require(owner, "eps with eps_mode='root' (eps_root is the ε)", eps, 0.0)
        eps = eps_root
    elif eps_root is not None and (is_traced(eps_root) or float(eps_root) != 0.0):
        extra["eps_root"] = eps_root  # sqrt(v̂ + eps_root) + eps: "paper" only (the rule says so)
    return scale_by_rule("adam", betas=(b1, b2), eps=eps, eps_mode=eps_mode, mu_dtype=mu_dtype,
                         **extra)


def adam(learning_rate: Any, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8,
         eps_root: Any = 0.0, mu_dtype: Any = None, *, nesterov: bool = False,
         eps_mode: str = "paper") -> optax.GradientTransformationExtraArgs:
    r"""Adam, as ``optax.adam``: ``-learning_rate · m̂ / (sqrt(v̂ + eps_root) + eps)`` (rule ``adam``).

    ``eps_mode="root"`` with ``eps=0`` is ``m̂ / sqrt(v̂ + eps_root)`` too, spelt as the rule's "root";
    ``eps_mode="hat"`` is Keras's ``(sqrt(v) + eps)/sqrt(1-β2^t)``. ``nesterov=True`` is
    :func:`nadam`.
    """
    return optax.chain(_adam_direction("adam", b1, b2, eps, eps_root, mu_dtype, nesterov, eps_mode),
                       optax.scale_by_learning_rate(learning_rate))


def nadam(learning_rate: Any, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8,
          eps_root: Any = 0.0, mu_dtype: Any = None) -> optax.GradientTransformationExtraArgs:
    """NAdam, as ``optax.nadam`` (``adam(nesterov=True)``): rule ``nadam`` with ``μ_t = β1``."""
    return adam(learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=True)


def adamw(learning_rate: Any, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8,
          eps_root: Any = 0.0, mu_dtype: Any = None, weight_decay: Any = 1e-4, mask: Any = None,
          *, nesterov: bool = False, eps_mode: str = "paper") -> optax.GradientTransformationExtraArgs:
    """AdamW, as ``optax.adamw``: ``-learning_rate · (m̂/(sqrt(v̂)+eps) + weight_decay·param)``.

    ``mask`` is optax's: a pytree of bools like the params (or a function of the params giving
    one); ``False`` leaves a parameter undecayed. The decay is optax's own
    ``add_decayed_weights``, so its semantics are optax's exactly.
    """
    direction = _adam_direction("adamw", b1, b2, eps, eps_root, mu_dtype, nesterov, eps_mode)
    return optax.chain(direction, optax.add_decayed_weights(weight_decay, mask),
                       optax.scale_by_learning_rate(learning_rate))


def radam(learning_rate: Any, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8,
          eps_root: Any = 0.0, threshold: Any = 5.0, *,
          nesterov: bool = False) -> optax.GradientTransformationExtraArgs:
    """RAdam (rule ``radam``, torch's). Convention differences from ``optax.radam``, named:

    ε is torch's "hat" placement, ``sqrt(1-β2^t)/(sqrt(v) + eps)``, where optax divides by
    ``sqrt(v̂) + eps`` (equal for ``eps=0``); the rectification threshold is torch's 5.
    """
    _require("radam", "threshold", threshold, 5.0)
    _require("radam", "eps_root", eps_root, 0.0)
    if nesterov:
        _refuse("radam", "nesterov", nesterov, "False")
    return optax.chain(scale_by_rule("radam", betas=(b1, b2), eps=eps),
                       optax.scale_by_learning_rate(learning_rate))


def sgd(learning_rate: Any, momentum: Any = None, nesterov: bool = False,
        accumulator_dtype: Any = None) -> optax.GradientTransformationExtraArgs:
    """SGD, as ``optax.sgd``: ``trace = g + momentum·trace``; Nesterov: ``g + momentum·trace``."""
    if accumulator_dtype is not None:
        _refuse("sgd", "accumulator_dtype", accumulator_dtype, "None")
    if momentum is None:  # optax ignores nesterov without momentum
        return optax.chain(scale_by_rule("sgd"), optax.scale_by_learning_rate(learning_rate))
    return optax.chain(scale_by_rule("sgd", momentum=momentum, nesterov=nesterov),
                       optax.scale_by_learning_rate(learning_rate))


def rmsprop(learning_rate: Any, decay: Any = 0.9, eps: Any = 1e-8, initial_scale: Any = 0.0,
            eps_in_sqrt: bool = True, centered: bool = False, momentum: Any = None,
            nesterov: bool = False,
            bias_correction: bool = False) -> optax.GradientTransformationExtraArgs:
    """RMSprop, as ``optax.rmsprop`` (rule ``rmsprop``): ``g / sqrt(nu + eps)`` with optax's
    default ``eps_in_sqrt=True`` (the rule's ``eps_mode="root"``, Keras's placement too);
    ``eps_in_sqrt=False`` is ``g / (sqrt(nu) + eps)`` (``"paper"``, torch's).

    With momentum the learning rate multiplies the trace (torch) where optax multiplies before
    tracing: equal for a constant lr.
    """
    _require("rmsprop", "initial_scale", initial_scale, 0.0)
    for name, flag in (("nesterov", nesterov), ("bias_correction", bias_correction)):
        if flag:
            _refuse("rmsprop", name, flag, "False")
    return optax.chain(
        scale_by_rule("rmsprop", alpha=decay, eps=eps, centered=centered,
                      eps_mode="root" if eps_in_sqrt else "paper",
                      momentum=0.0 if momentum is None else momentum),
        optax.scale_by_learning_rate(learning_rate))


def adagrad(learning_rate: Any, initial_accumulator_value: Any = 0.1, eps: Any = 1e-7, *,
            eps_mode: str = "root") -> optax.GradientTransformationExtraArgs:
    """Adagrad, as ``optax.adagrad`` (rule ``adagrad``): ``g / sqrt(sum + eps)``, the rule's
    ``eps_mode="root"``; ``eps_mode="paper"`` is torch's ``g / (sqrt(sum) + eps)``. (optax gives 0
    where ``sum`` is 0; the rule gives ``0/sqrt(eps)``, the same 0 for ``eps > 0``.)"""
    return optax.chain(
        scale_by_rule("adagrad", initial_accumulator_value=initial_accumulator_value, eps=eps,
                      eps_mode=eps_mode),
        optax.scale_by_learning_rate(learning_rate))
