"""torch.optim.Muon's refusal of params that are not matrices, at construction, in torch's words.

The Muon rule orthogonalizes a matrix; torch's class refuses any other param when it is built
(Keras's and optax's Muon send such params to AdamW instead: build a second optimizer for them,
as torch's documentation shows). Named as the torch Api's ``base``.
"""

from __future__ import annotations

from typing import Any

from adamkit.errors import HyperparameterError
from adamkit.rules.hyperparameters import HYPERPARAMETERS
from adamkit.torch.adafactor import refuse_complex


def translate(given: dict[str, Any]) -> dict[str, Any]:
    """torch's constructor arguments as the rule's: ``adjust_lr_fn`` refused in torch's words first
    (the rule knows Keras's and optax's scalings beside torch's two); optax's ``bias_correction``
    refused, since it needs a step count, which torch's Muon state does not keep."""
    fn = given.get("adjust_lr_fn")
    valid = HYPERPARAMETERS["adjust_lr_fn"].choices
    if fn not in valid:
        raise HyperparameterError(f"Adjust learning rate function {fn} is not supported; valid: "
                                  f"{', '.join(map(str, valid))}")
    if given.get("bias_correction"):
        raise HyperparameterError("Muon: invalid bias_correction True: it divides by 1-μ^t, and "
                                  "torch's Muon state keeps no step count; valid: False")
    return given


class MatricesOnly:
    """Mixin: every param of every group is a 2-D tensor, else torch's ValueError."""

    param_groups: list[dict[str, Any]]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)  # type: ignore[misc]
        for p in self.param_groups[-1]["params"]:
            if p.ndim != 2:
                del self.param_groups[-1]
                raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter "
                                 f"with size: {p.size()} (optimize it with AdamW)")

    def _step_group(self, group: dict, params: list, grads: list) -> None:
        refuse_complex("Muon", params)
        super()._step_group(group, params, grads)  # type: ignore[misc]
