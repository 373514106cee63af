"""torch.optim.Muon's refusal of params that are not matrices, and :class:`MuonWithAdamW`, which
steps them with AdamW instead.

The Muon rule orthogonalizes a matrix; torch's class refuses any other param when it is built, in
torch's words (:class:`MatricesOnly`, named as the torch Api's ``base``); torch's documentation
builds a second optimizer for the rest. Keras's and optax's Muon send the rest to AdamW. So does
``adamkit.torch.muon.MuonWithAdamW`` (adamkit's own, ``adamkit.torch.Muon`` stays torch's): one
``torch.optim.Optimizer`` whose param groups hold both kinds, each group marked ``use_muon``
(Jordan's ``MuonWithAuxAdam`` convention), so an lr scheduler, ``zero_grad``, ``state_dict`` /
``load_state_dict``, clipping over all params and ``nonfinite="skip"`` act on the whole model as on
one optimizer. AdamW groups are stepped by the AdamW rule (``adamkit.rules.get("adamw")``) on the
same path as ``adamkit.torch.AdamW``'s: their params step bitwise as they would under
``AdamW(lr=lr * adam_lr_ratio, betas=adam_betas, eps=adam_eps, weight_decay=adam_weight_decay)``.
The trainer builds it for Muon (the declaration's torch trait ``whole_model``).
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from adamkit.errors import HyperparameterError
from adamkit.rules._rule import Rule
from adamkit.rules.adam import ADAMW
from adamkit.rules.hyperparameters import HYPERPARAMETERS
from adamkit.torch.adafactor import refuse_complex

# A group's marker: True, the Muon rule (its params must be matrices); False, the AdamW rule.
# A group without it (adamkit.torch.Muon's, torch.optim.Muon's checkpoints) is a Muon group.
USE_MUON = "use_muon"
# MuonWithAdamW's own keywords and defaults: torch's AdamW's betas and eps; no weight decay, since
# what is not a matrix is mostly biases and norm gains (optax's adam_weight_decay=0 too); the
# AdamW lr is Muon's times adam_lr_ratio (Keras's name and default), so one scheduler scales both.
BESIDE = {"adam_betas": (0.9, 0.999), "adam_eps": 1e-8, "adam_weight_decay": 0.0,
          "adam_lr_ratio": 1.0}


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
        if not _is_muon(self.param_groups[-1]):
            return
        for p in self.param_groups[-1]["params"]:
            if p.ndim != 2:
                del self.param_groups[-1]
                raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter "
                                 f"with size: {p.size()} (optimize it with AdamW, or use "
                                 "adamkit.torch.muon.MuonWithAdamW)")

    def _step_group(self, group: dict, params: list, grads: list) -> None:
        if _is_muon(group):  # AdamW takes complex params (their real view), as torch's
            refuse_complex("Muon", params)
        super()._step_group(group, params, grads)  # type: ignore[misc]


def _is_muon(group: dict[str, Any]) -> bool:
    return group.get(USE_MUON, True) is not False


def _tensor(item: Any) -> torch.Tensor:
    """A param as torch's groups list it: the tensor, or a (name, tensor) pair."""
    return item[1] if isinstance(item, tuple) else item


class AdamWBeside:
    """Mixin placed before adamkit.torch.Muon in :class:`MuonWithAdamW` (see the module doc)."""

    defaults: dict[str, Any]
    rule: Rule

    def __init__(self, params: Any, *args: Any, adam_betas: Any = BESIDE["adam_betas"],
                 adam_eps: Any = BESIDE["adam_eps"], adam_weight_decay: Any = BESIDE["adam_weight_decay"],
                 adam_lr_ratio: Any = BESIDE["adam_lr_ratio"], **kwargs: Any) -> None:
        name = type(self).__name__
        ratio = adam_lr_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not ratio > 0:
            raise HyperparameterError(f"{name}: invalid adam_lr_ratio {ratio!r}; valid: a number > 0 "
                                      "(the AdamW groups' lr is Muon's times it)")
        try:  # the AdamW rule's checks, in its words, under this class's names
            adamw = ADAMW.validate({"betas": adam_betas, "eps": adam_eps,
                                    "weight_decay": adam_weight_decay, "decoupled_weight_decay": True})
        except HyperparameterError as exc:
            raise HyperparameterError(f"{name} (adam_betas, adam_eps, adam_weight_decay): {exc}") from None
        self._adamw = {k: v for k, v in adamw.items() if k != "lr"}
        self._adam_lr_ratio = ratio
        super().__init__(params, *args, **kwargs)  # type: ignore[call-arg]
        # a loaded group without the marker (torch.optim.Muon's checkpoint) is marked a Muon group
        self.defaults[USE_MUON] = True

    def rule_of(self, group: dict[str, Any]) -> Rule:
        return self.rule if _is_muon(group) else ADAMW

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """A group marked ``use_muon`` is added as it is (a False one's AdamW settings by AdamW's
        names, the rest from ``adam_*``); any other is split: its matrices a Muon group with its
        settings, the rest an AdamW group with its lr times ``adam_lr_ratio``."""
        if USE_MUON in param_group:
            self._add(dict(param_group))
            return
        given = param_group["params"]
        items = [given] if isinstance(given, torch.Tensor) else list(given)
        matrices = [item for item in items if _tensor(item).ndim == 2]
        others = [item for item in items if _tensor(item).ndim != 2]
        settings = {k: v for k, v in param_group.items() if k not in ("params", "param_names")}
        if matrices or not others:
            self._add({**settings, "params": matrices, USE_MUON: True})
        if others:
            lr = settings.get("lr", self.defaults["lr"])
            self._add({"params": others, USE_MUON: False, "lr": lr * self._adam_lr_ratio})

    def _add(self, group: dict[str, Any]) -> None:
        if group[USE_MUON] is False:
            lr = self.defaults["lr"] * self._adam_lr_ratio
            group = {**self._adamw, "lr": lr, **group}
        super().add_param_group(group)  # type: ignore[misc]


_BUILT: dict[type, type] = {}


def muon_with_adamw() -> type:
    """The class ``MuonWithAdamW``: adamkit.torch.Muon (as declared now) with :class:`AdamWBeside`;
    its signature is Muon's plus, keyword-only, ``adam_betas``, ``adam_eps``,
    ``adam_weight_decay`` and ``adam_lr_ratio``."""
    from adamkit.torch.optimizers import class_named  # built from the registry, when first asked

    muon: Any = class_named("Muon")
    if muon in _BUILT:
        return _BUILT[muon]
    *own, options = muon.signature.parameters.values()
    beside = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in BESIDE.items()]
    first = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in ("self", "params")]

    def __init__(self: Any, params: Any, *args: Any, **kwargs: Any) -> None:
        AdamWBeside.__init__(self, params, *args, **kwargs)

    __init__.__signature__ = inspect.Signature([*first, *own, *beside, options])  # type: ignore[attr-defined]
    __init__.__qualname__ = "MuonWithAdamW.__init__"
    doc = ("Muon on matrices, AdamW on every other param, in one torch optimizer (see "
           f":mod:`adamkit.torch.muon`).\n\nArguments: ``{inspect.signature(__init__)}``.")
    made = _BUILT[muon] = type("MuonWithAdamW", (AdamWBeside, muon), {
        "__init__": __init__, "__doc__": doc, "__module__": __name__})
    return made


def __getattr__(name: str) -> Any:
    if name == "MuonWithAdamW":
        return muon_with_adamw()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
