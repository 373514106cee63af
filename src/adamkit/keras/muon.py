"""Keras's Muon: the Muon rule on weight matrices, AdamW on every other variable, as Keras routes them.

``keras.optimizers.Muon`` takes the Muon step for a 2-D variable and its AdamW step (Keras's Adam
with ε-hat, ``adam_beta_1``, ``adam_beta_2``, ``epsilon``, the learning rate times
``adam_lr_ratio``, decayed by ``adam_weight_decay``) for the others, for embeddings
(``exclude_embeddings``) and for variables whose path matches one of ``exclude_layers``. This mixin,
named as the Keras Api's ``base``, does the same with two rules: ``muon`` (Keras's reading fixed by
the declaration: ``buf = μ·buf + g``, ``||X|| + 1e-7``, the iteration in the variable's dtype,
``rms_rate·sqrt(max(rows, cols))``) and ``adamw`` (``eps_mode="hat"``). Keras decays an AdamW
variable by ``lr·adam_weight_decay`` (the base learning rate) while it steps with ``lr·adam_lr_ratio``:
the rule's decoupled decay is given ``adam_weight_decay / adam_lr_ratio`` for that.
"""

from __future__ import annotations

import re
from typing import Any

from keras import ops

from adamkit.full_state import state_at_init
from adamkit.keras._base import RuleOptimizer
from adamkit.rules.adam import ADAMW

# Keras's Muon arguments that are not the Muon rule's: the AdamW beside it and the routing.
BESIDE = ("adam_beta_1", "adam_beta_2", "adam_weight_decay", "epsilon", "exclude_layers",
          "exclude_embeddings", "adam_lr_ratio")
KERAS_ONLY = (*BESIDE, "muon_a", "muon_b", "muon_c", "rms_rate")


def translate(given: dict[str, Any]) -> dict[str, Any]:
    """Keras's Muon arguments as the Muon rule's (the AdamW's and the routing's are the mixin's)."""
    out = {k: v for k, v in given.items() if k not in KERAS_ONLY}
    out["ns_coefficients"] = (given["muon_a"], given["muon_b"], given["muon_c"])
    rate = given["rms_rate"]
    out.update({"adjust_lr_fn": "unscaled"} if rate is None else
               {"adjust_lr_fn": "match_rms_adamw", "rms_rate": rate})
    return out


class AdamWBeside:
    """Mixin for the Keras Muon class (see the module doc)."""

    signature: Any
    rule: Any
    weight_decay_mode: str
    initial_learning_rate: Any
    keras_arguments: dict[str, Any]
    _rule_state: list

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        made = super().__new__(cls)  # type: ignore[misc]
        bound = cls.signature.bind(*args, **kwargs)  # errors are __init__'s to raise
        bound.apply_defaults()
        # set before Keras's __init__ (its __setattr__ refuses that): plain values, nothing to track
        object.__setattr__(made, "_muon_arguments", {k: bound.arguments[k] for k in KERAS_ONLY})
        return made

    def uses_adamw(self, variable: Any) -> bool:
        """Keras's routing: not a matrix, an embedding (unless told), or an excluded layer."""
        a = self._muon_arguments  # type: ignore[attr-defined]
        if len(variable.shape) != 2:
            return True
        if a["exclude_embeddings"] and "embedding" in variable.path.lower():
            return True
        return any(re.search(keyword, variable.path) for keyword in a["exclude_layers"] or ())

    def _rule_of(self, variable: Any) -> Any:
        return ADAMW if self.uses_adamw(variable) else self.rule

    def build(self, var_list: list) -> None:
        if self.built:  # type: ignore[attr-defined]
            return
        a = self._muon_arguments  # type: ignore[attr-defined]
        self._adamw = ADAMW.validate({"betas": (a["adam_beta_1"], a["adam_beta_2"]),
                                      "eps": a["epsilon"], "eps_mode": "hat",
                                      "weight_decay_mode": self.weight_decay_mode})
        super(RuleOptimizer, self).build(var_list)  # type: ignore[misc]  # Keras's own
        self._rule_state = []
        for var in var_list:
            if self._overwrite_variable_with_gradient(var):  # type: ignore[attr-defined]
                self._rule_state.append(None)
                continue
            hp = self._hyperparameters_for(var, self.initial_learning_rate)
            slots = {}
            initial = state_at_init(self._rule_of(var), ops.convert_to_tensor(var), hp, ops)
            for key, value in initial.items():
                slot = self.add_variable(shape=tuple(value.shape), dtype=var.dtype,  # type: ignore[attr-defined]
                                         name=f"{var.path.replace('/', '_')}_{key}")
                slot.assign(value)
                slots[key] = slot
            self._rule_state.append(slots)

    def _hyperparameters_for(self, variable: Any, learning_rate: Any) -> dict[str, Any]:
        if not self.uses_adamw(variable):
            return super()._hyperparameters_for(variable, learning_rate)  # type: ignore[misc]
        a = self._muon_arguments  # type: ignore[attr-defined]
        ratio = a["adam_lr_ratio"]
        decays = self._use_weight_decay(variable) and a["adam_weight_decay"] and ratio  # type: ignore[attr-defined]
        hp = {**self._adamw, "lr": learning_rate * ratio,
              "weight_decay": a["adam_weight_decay"] / ratio if decays else 0.0}
        if self.weight_decay_mode == "independent":
            hp["lr_factor"] = learning_rate / self.initial_learning_rate
        return hp

    def _update(self, gradient: Any, variable: Any, learning_rate: Any, step: Any) -> None:
        slots = self._rule_state[self._get_variable_index(variable)] or {}  # type: ignore[attr-defined]
        hp = self._hyperparameters_for(variable, ops.cast(learning_rate, variable.dtype))
        state = {key: slot.value for key, slot in slots.items()}
        new_value, new_state = self._rule_of(variable).update(
            variable.value, ops.cast(gradient, variable.dtype), state, step, hp, ops)
        self.assign(variable, new_value)  # type: ignore[attr-defined]
        for key, slot in slots.items():
            self.assign(slot, new_state[key])  # type: ignore[attr-defined]

    def get_config(self) -> dict[str, Any]:
        """Keras's Muon arguments by Keras's names (so ``from_config`` rebuilds it)."""
        config = super().get_config()  # type: ignore[misc]
        for key in self.keras_arguments:
            config.pop(key, None)
        config.update(self._muon_arguments)  # type: ignore[attr-defined]
        config.update({k: getattr(self, k) for k in ("momentum", "ns_steps", "nesterov")})
        return config
