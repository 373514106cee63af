"""Drop-in replacements for torch.optim's optimizers: same constructor arguments and defaults.

Each class only names its rule and spells out torch's signature (so positional arguments, help()
and IDEs behave as with torch.optim); :class:`~adamkit.torch._base.RuleOptimizer` does the rest.
The adamkit-only keyword arguments (``nonfinite``, ``clip_*``, ``state_precision``, ``eps_mode``,
``weight_decay_mode``) are described in :mod:`adamkit.torch._base` and declared, with every
hyperparameter, in :mod:`adamkit.rules.hyperparameters`. ``weight_decay_mode=None`` (every class)
means the rule's own: ``"decoupled"`` for AdamW and wherever ``decoupled_weight_decay=True``, else
``"l2"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adamkit import rules
from adamkit.torch._base import RuleOptimizer

Params = Iterable[Any]


def _settings(weight_decay_mode: str | None, **hp: Any) -> dict[str, Any]:
    """The rule's hyperparameters from a constructor's arguments; an unset mode is the rule's."""
    return hp if weight_decay_mode is None else {**hp, "weight_decay_mode": weight_decay_mode}


class Adam(RuleOptimizer):
    """Adam, as ``torch.optim.Adam``; see :mod:`adamkit.rules.adam` for the formula and options."""

    rule = rules.get("adam")

    def __init__(self, params: Params, lr: Any = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False, eps_mode: str = "paper",
                 weight_decay_mode: str | None = None, **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       amsgrad=amsgrad, maximize=maximize,
                       decoupled_weight_decay=decoupled_weight_decay, eps_mode=eps_mode)
        RuleOptimizer.__init__(self, params, hp, foreach=foreach, capturable=capturable,
                               differentiable=differentiable, fused=fused, **adamkit_options)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW`` (a subclass of Adam, as torch's): Adam with
    ``param *= 1 - lr*weight_decay`` each step."""

    rule = rules.get("adamw")

    def __init__(self, params: Params, lr: Any = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 eps_mode: str = "paper", weight_decay_mode: str | None = None,
                 **adamkit_options: Any) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused, eps_mode=eps_mode,
                         decoupled_weight_decay=weight_decay_mode in (None, "decoupled"),
                         weight_decay_mode=weight_decay_mode, **adamkit_options)


class Adamax(RuleOptimizer):
    """Adamax, as ``torch.optim.Adamax`` (:mod:`adamkit.rules.adamax`)."""

    rule = rules.get("adamax")

    def __init__(self, params: Params, lr: Any = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False,
                 weight_decay_mode: str | None = None, **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       maximize=maximize)
        super().__init__(params, hp, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, **adamkit_options)


class NAdam(RuleOptimizer):
    """NAdam, as ``torch.optim.NAdam`` (:mod:`adamkit.rules.nadam`)."""

    rule = rules.get("nadam")

    def __init__(self, params: Params, lr: Any = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 weight_decay_mode: str | None = None, **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       momentum_decay=momentum_decay,
                       decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, hp, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, **adamkit_options)


class RAdam(RuleOptimizer):
    """RAdam, as ``torch.optim.RAdam`` (:mod:`adamkit.rules.radam`)."""

    rule = rules.get("radam")

    def __init__(self, params: Params, lr: Any = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False,
                 *, foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, weight_decay_mode: str | None = None,
                 **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, hp, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, **adamkit_options)


class SGD(RuleOptimizer):
    """SGD with momentum and Nesterov, as ``torch.optim.SGD`` (:mod:`adamkit.rules.sgd`)."""

    rule = rules.get("sgd")
    accepts_sparse = True

    def __init__(self, params: Params, lr: Any = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None, weight_decay_mode: str | None = None,
                 **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, momentum=momentum, dampening=dampening,
                       weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, hp, foreach=foreach, differentiable=differentiable, fused=fused,
                         **adamkit_options)


class RMSprop(RuleOptimizer):
    """RMSprop, centered and with momentum, as ``torch.optim.RMSprop`` (:mod:`adamkit.rules.rmsprop`)."""

    rule = rules.get("rmsprop")

    def __init__(self, params: Params, lr: Any = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, *, weight_decay_mode: str | None = None,
                 **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                       momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, hp, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, **adamkit_options)


class Adagrad(RuleOptimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (:mod:`adamkit.rules.adagrad`); state made eagerly, as torch."""

    rule = rules.get("adagrad")
    accepts_sparse = True
    eager_state = True

    def __init__(self, params: Params, lr: Any = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 weight_decay_mode: str | None = None, **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                       initial_accumulator_value=initial_accumulator_value, eps=eps,
                       maximize=maximize)
        super().__init__(params, hp, foreach=foreach, differentiable=differentiable, fused=fused,
                         **adamkit_options)
