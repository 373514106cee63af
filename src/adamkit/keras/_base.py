"""What every adamkit Keras optimizer shares: Keras's base class around an adamkit rule.

Keras's ``Optimizer`` keeps doing what it does for its own optimizers (gradient clipping, loss
scaling, EMA of the weights, gradient accumulation, learning-rate schedules, ``iterations``); the
subclass only says ``build`` (one Keras variable per array of the rule's state) and the update,
which is ``rule.update(..., xp=keras.ops)``: the math is written once, in :mod:`adamkit.rules`.

Weight decay goes through the rule too, as ``weight_decay_mode="decoupled"`` by default, which is
Keras's ``param -= lr·weight_decay·param`` before the step (``"l2"``, torch's Adam, and
``"independent"`` are a keyword away). ``exclude_from_weight_decay`` works as in Keras.
"""

from __future__ import annotations

import contextlib
from typing import Any

import keras
import numpy as np
from keras import ops

from adamkit import rules
from adamkit.full_state import state_at_init
from adamkit.keras.schedules import AdamkitSchedule, initial_learning_rate, to_numpy
from adamkit.rules import Rule


def _no_grad() -> Any:
    """Updates are not part of any graph (Keras's own torch optimizers run under no_grad)."""
    if keras.backend.backend() == "torch":
        import torch

        return torch.no_grad()
    return contextlib.nullcontext()


def _python_int_or_traced(value: Any) -> Any:
    """The step as a Python int (bias corrections then in float64, as the rules prefer), or the
    traced array it is under ``jax.jit`` (the rules take a traced step too)."""
    if keras.backend.backend() == "jax":
        import jax

        raw = value.value if isinstance(value, keras.Variable) else value
        if isinstance(raw, jax.core.Tracer):
            return raw
    return int(to_numpy(value))


class RuleOptimizer(keras.optimizers.Optimizer):
    """A Keras 3 optimizer whose update is adamkit rule ``rule``.

    Subclasses spell Keras's signature and pass ``keras_arguments`` (their own arguments by
    Keras's names, which the declarations know as aliases: ``beta_1``, ``epsilon``, ``rho``) and
    Keras's base options (``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``,
    ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``, ``loss_scale_factor``,
    ``gradient_accumulation_steps``, ``name``) through ``**options``. ``schedule`` is an
    :mod:`adamkit.schedules` factor: ``lr_t = learning_rate · schedule(t)``. ``fixed`` are the
    rule's settings the class fixes (Keras's Nadam schedule).
    """

    rule: Rule

    def __init__(self, learning_rate: Any, keras_arguments: dict[str, Any], *,
                 schedule: Any = None, weight_decay_mode: str = "decoupled",
                 fixed: dict[str, Any] | None = None, **options: Any) -> None:
        if schedule is not None:
            learning_rate = AdamkitSchedule(learning_rate, schedule)
        super().__init__(learning_rate=learning_rate, **options)
        base_lr = initial_learning_rate(learning_rate)
        self.initial_learning_rate = base_lr
        self.weight_decay_mode = weight_decay_mode
        self.keras_arguments = dict(keras_arguments)
        for key, value in keras_arguments.items():  # optimizer.beta_1 etc., as Keras's classes
            setattr(self, key, value)
        decay = {"weight_decay": self.weight_decay or 0.0, "weight_decay_mode": weight_decay_mode}
        if "weight_decay" not in self.rule.takes and not self.weight_decay:
            decay = {}  # a rule without weight decay (Keras's base option left unset)
        self.hyperparameters = self.rule.validate({
            **keras_arguments, **(fixed or {}), "lr": base_lr, **decay})

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)  # EMA averages, gradient accumulators, variable indices
        self._rule_state: list[dict[str, Any] | None] = []
        for var in var_list:
            if self._overwrite_variable_with_gradient(var):
                self._rule_state.append(None)
                continue
            hp = self._hyperparameters_for(var, self.initial_learning_rate)
            slots = {}
            for key, value in state_at_init(self.rule, ops.convert_to_tensor(var), hp, ops).items():
                slot = self.add_variable(shape=tuple(value.shape), dtype=var.dtype,
                                         name=f"{var.path.replace('/', '_')}_{key}")
                slot.assign(value)  # not always zeros: Adagrad's initial value, NAdam's product
                slots[key] = slot
            self._rule_state.append(slots)

    def _hyperparameters_for(self, variable: Any, learning_rate: Any) -> dict[str, Any]:
        hp = {**self.hyperparameters, "lr": learning_rate}
        if not self._use_weight_decay(variable):
            hp["weight_decay"] = 0.0
        elif self.weight_decay_mode == "independent":
            hp["lr_factor"] = learning_rate / self.initial_learning_rate
        return hp

    def _apply_weight_decay(self, variables: list) -> None:
        """Nothing here: the rule applies the decay, in the mode it is given."""

    def _backend_update_step(self, grads: list, trainable_variables: list,
                             learning_rate: Any) -> None:
        step = _python_int_or_traced(self.iterations + 1)
        with _no_grad():
            for grad, variable in zip(grads, trainable_variables, strict=True):
                self._update(grad, variable, learning_rate, step)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        """Keras's one-variable entry point (the loop above calls ``_update`` directly)."""
        self._update(gradient, variable, learning_rate, _python_int_or_traced(self.iterations + 1))

    def _update(self, gradient: Any, variable: Any, learning_rate: Any, step: Any) -> None:
        slots = self._rule_state[self._get_variable_index(variable)] or {}
        hp = self._hyperparameters_for(variable, ops.cast(learning_rate, variable.dtype))
        state = {key: slot.value for key, slot in slots.items()}
        new_value, new_state = self.rule.update(variable.value, ops.cast(gradient, variable.dtype),
                                                state, step, hp, ops)
        self.assign(variable, new_value)
        for key, slot in slots.items():
            self.assign(slot, new_state[key])

    def state_of(self, variable: Any) -> dict[str, np.ndarray]:
        """The rule's state for ``variable`` as NumPy arrays, by the rule's (torch's) names."""
        slots = self._rule_state[self._get_variable_index(variable)] or {}
        return {key: to_numpy(slot) for key, slot in slots.items()}

    def internals(self, variable: Any) -> dict[str, np.ndarray]:
        """Adam's per-coordinate internals for ``variable`` now (``rules.adam_internals``):
        ``m_hat``, ``v_hat``, ``effective_lr`` (the real per-coordinate step size), ``update``,
        ``eps_dominates``; with the learning rate in effect for the next step."""
        step = int(to_numpy(self.iterations))
        if step == 0:
            raise ValueError("internals are available after the first update")
        hp = {**self.hyperparameters, "lr": float(to_numpy(self.learning_rate))}
        read = rules.internals_of(self.rule, type(self).__name__)
        return read(self.state_of(variable), step, hp, np)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(self.keras_arguments)
        config["weight_decay_mode"] = self.weight_decay_mode
        return config
