"""Keras 3 optimizers by Keras's names, arguments and defaults, each an adamkit rule underneath.

The only change to a Keras program is the import. Conventions, named where they differ from
``keras.optimizers``:

- ``Adam``/``AdamW``: ``eps_mode="hat"`` (default) is Keras's "epsilon hat", so they equal
  Keras's to float32 rounding; ``eps_mode="paper"`` is Algorithm 1 and torch.optim.Adam.
- ``Nadam``: Keras's momentum schedule ``μ_t = β1(1 - 0.5·0.96^t)`` (torch's with
  ``momentum_decay=1``) and ε added to ``sqrt(v̂)``, as Keras: equal to Keras's.
- ``SGD``: torch's form ``buf = momentum·buf + g; param -= lr·buf``; Keras keeps ``lr`` inside
  the buffer. Equal for a constant learning rate; they differ while a schedule changes it.
- ``RMSprop``, ``Adagrad``: ``eps_mode="root"`` (default) is Keras's ``sqrt(v + ε)``, so they
  equal Keras's; ``eps_mode="paper"`` is torch's ``sqrt(v) + ε``.
- ``Adamax``: ``eps_mode="hat"`` (default) is Keras's ``m / (u + ε)``, ε outside the max;
  ``eps_mode="paper"`` is torch's ``max(β2·u, |g| + ε)``.
- ``RAdam`` (Keras has none): torch's RAdam, ε in the "hat" place as torch has it.

Every class also takes ``schedule=`` (an :mod:`adamkit.schedules` factor) and
``weight_decay_mode=`` (``"decoupled"``, Keras's, by default), and Keras's base options.
"""

from __future__ import annotations

from typing import Any

import keras

from adamkit import rules
from adamkit.keras._base import RuleOptimizer

_register = keras.saving.register_keras_serializable(package="adamkit")


@_register
class Adam(RuleOptimizer):
    """Adam, as ``keras.optimizers.Adam`` (rule :mod:`adamkit.rules.adam`)."""

    rule = rules.get("adam")

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, *, eps_mode: str = "hat",
                 **options: Any) -> None:
        super().__init__(learning_rate, {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon,
                                         "amsgrad": amsgrad, "eps_mode": eps_mode}, **options)


@_register
class AdamW(Adam):
    """AdamW, as ``keras.optimizers.AdamW``: Adam with decoupled weight decay 0.004."""

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, **options: Any) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **options)


@_register
class Adamax(RuleOptimizer):
    """Adamax, as ``keras.optimizers.Adamax`` (rule ``adamax``; ``eps_mode="paper"``: torch's)."""

    rule = rules.get("adamax")

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, *, eps_mode: str = "hat", **options: Any) -> None:
        super().__init__(learning_rate, {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon,
                                         "eps_mode": eps_mode}, **options)


@_register
class Nadam(RuleOptimizer):
    """Nadam, as ``keras.optimizers.Nadam`` (rule ``nadam`` with Keras's momentum schedule)."""

    rule = rules.get("nadam")
    fixed = {"momentum_decay": 1.0}  # Keras: μ_t = β1·(1 - 0.5·0.96^t)

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **options: Any) -> None:
        super().__init__(learning_rate, {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon},
                         **options)


@_register
class RAdam(RuleOptimizer):
    """RAdam (Liu et al.), torch's rule with Keras-style names; Keras has no RAdam."""

    rule = rules.get("radam")

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **options: Any) -> None:
        super().__init__(learning_rate, {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon},
                         **options)


@_register
class SGD(RuleOptimizer):
    """SGD, as ``keras.optimizers.SGD`` (rule ``sgd``, torch's momentum form)."""

    rule = rules.get("sgd")

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 **options: Any) -> None:
        super().__init__(learning_rate, {"momentum": momentum, "nesterov": nesterov}, **options)


@_register
class RMSprop(RuleOptimizer):
    """RMSprop, as ``keras.optimizers.RMSprop`` (rule ``rmsprop``; ``eps_mode="paper"``: torch's)."""

    rule = rules.get("rmsprop")

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, *, eps_mode: str = "root",
                 **options: Any) -> None:
        super().__init__(learning_rate, {"rho": rho, "momentum": momentum, "epsilon": epsilon,
                                         "centered": centered, "eps_mode": eps_mode}, **options)


@_register
class Adagrad(RuleOptimizer):
    """Adagrad, as ``keras.optimizers.Adagrad`` (rule ``adagrad``; ``eps_mode="paper"``: torch's)."""

    rule = rules.get("adagrad")

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, *, eps_mode: str = "root", **options: Any) -> None:
        super().__init__(learning_rate, {"initial_accumulator_value": initial_accumulator_value,
                                         "epsilon": epsilon, "eps_mode": eps_mode}, **options)
