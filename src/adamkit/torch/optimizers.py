"""Drop-in replacements for torch.optim's optimizers: same constructor arguments and defaults.

Each class only names its rule and spells out torch's signature (so positional arguments, help()
and IDEs behave as with torch.optim); :class:`~adamkit.torch._base.RuleOptimizer` does the rest.
The adamkit-only keyword arguments (``nonfinite``, ``clip_*``, ``state_precision``, ``eps_mode``,
``eps_root``, ``weight_decay_mode``) are described in :mod:`adamkit.torch._base` and declared, with every
hyperparameter, in :mod:`adamkit.rules.hyperparameters`. ``weight_decay_mode=None`` (every class)
means the rule's own: ``"decoupled"`` for AdamW and wherever ``decoupled_weight_decay=True``, else
``"l2"``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from adamkit import rules
from adamkit.errors import HyperparameterError
from adamkit.rules.hyperparameters import OPTIONS
from adamkit.torch._base import RuleOptimizer

Params = Iterable[Any]


def _settings(weight_decay_mode: str | None, **hp: Any) -> dict[str, Any]:
    """The rule's hyperparameters from a constructor's arguments; an unset mode is the rule's."""
    return hp if weight_decay_mode is None else {**hp, "weight_decay_mode": weight_decay_mode}


def _own_options(owner: str, options: dict[str, Any]) -> dict[str, Any]:
    """adamkit's own keyword arguments; any other is the TypeError torch's class gives for it
    (``NAdam(fused=True)``: torch's NAdam has no ``fused``)."""
    for key in options:
        if key not in OPTIONS:
            raise TypeError(f"{owner}.__init__() got an unexpected keyword argument '{key}' "
                            f"(adamkit's own options: {', '.join(OPTIONS)})")
    return options


def _check_adam_tensors(owner: str, lr: Any, betas: Any, foreach: bool | None) -> None:
    """torch.optim.Adam's rules for tensor ``lr`` and ``betas`` (its errors, word for word)."""
    if torch.is_tensor(lr) and foreach:
        raise HyperparameterError(
            f"{owner}: lr as a Tensor is not supported for capturable=False and foreach=True "
            "(adamkit ignores foreach: leave it None)")
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        return  # the pair check names it
    if torch.is_tensor(betas[0]) != torch.is_tensor(betas[1]):
        raise HyperparameterError(f"{owner}: betas must be either both floats or both Tensors; got "
                                  f"({type(betas[0]).__name__}, {type(betas[1]).__name__})")
    for i, beta in enumerate(betas):
        if torch.is_tensor(beta) and foreach:
            raise HyperparameterError(
                f"{owner}: betas[{i}] as a Tensor is not supported for capturable=False and foreach=True "
                "(adamkit ignores foreach: leave it None)")
        if torch.is_tensor(beta) and beta.numel() != 1:
            raise HyperparameterError(f"{owner}: Tensor betas[{i}] must be 1-element; got one of shape "
                                      f"{tuple(beta.shape)}")


class Adam(RuleOptimizer):
    """Adam, as ``torch.optim.Adam``; see :mod:`adamkit.rules.adam` for the formula and options."""

    rule = rules.get("adam")

    def __init__(self, params: Params, lr: Any = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False, eps_mode: str = "paper",
                 eps_root: float = 0.0, weight_decay_mode: str | None = None,
                 **adamkit_options: Any) -> None:
        _check_adam_tensors(type(self).__name__, lr, betas, foreach)
        hp = _settings(weight_decay_mode, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       amsgrad=amsgrad, maximize=maximize,
                       decoupled_weight_decay=decoupled_weight_decay, eps_mode=eps_mode,
                       eps_root=eps_root)
        RuleOptimizer.__init__(self, params, hp, foreach=foreach, capturable=capturable,
                               differentiable=differentiable, fused=fused,
                               **_own_options(type(self).__name__, adamkit_options))


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW`` (a subclass of Adam, as torch's): Adam with
    ``param *= 1 - lr*weight_decay`` each step."""

    rule = rules.get("adamw")

    def __init__(self, params: Params, lr: Any = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 eps_mode: str = "paper", eps_root: float = 0.0,
                 weight_decay_mode: str | None = None, **adamkit_options: Any) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused, eps_mode=eps_mode, eps_root=eps_root,
                         decoupled_weight_decay=weight_decay_mode in (None, "decoupled"),
                         weight_decay_mode=weight_decay_mode,
                         **_own_options("AdamW", adamkit_options))

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # torch's AdamW decays decoupled whatever checkpoint it loads (an Adam one included): an
        # L2 group takes this AdamW's own mode (decoupled, unless it was built with another).
        mode = self.defaults["weight_decay_mode"]
        for group in self.param_groups:
            if group["weight_decay_mode"] == "l2" and mode != "l2":
                group["weight_decay_mode"] = mode
                group["decoupled_weight_decay"] = mode == "decoupled"


class Adamax(RuleOptimizer):
    """Adamax, as ``torch.optim.Adamax`` (:mod:`adamkit.rules.adamax`)."""

    rule = rules.get("adamax")

    def __init__(self, params: Params, lr: Any = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False,
                 fused: bool | None = None, eps_mode: str = "paper",
                 weight_decay_mode: str | None = None, **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       maximize=maximize, eps_mode=eps_mode)
        super().__init__(params, hp, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         **_own_options(type(self).__name__, adamkit_options))


class NAdam(RuleOptimizer):
    """NAdam, as ``torch.optim.NAdam`` (:mod:`adamkit.rules.nadam`)."""

    rule = rules.get("nadam")

    def __init__(self, params: Params, lr: Any = 2e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, eps_root: float = 0.0,
                 weight_decay_mode: str | None = None, **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       momentum_decay=momentum_decay,
                       decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                       eps_root=eps_root)
        super().__init__(params, hp, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         **_own_options(type(self).__name__, adamkit_options))


class RAdam(RuleOptimizer):
    """RAdam, as ``torch.optim.RAdam`` (:mod:`adamkit.rules.radam`)."""

    rule = rules.get("radam")

    def __init__(self, params: Params, lr: Any = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False,
                 *, foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 weight_decay_mode: str | None = None, **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                       decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, hp, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         **_own_options(type(self).__name__, adamkit_options))


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
                         **_own_options(type(self).__name__, adamkit_options))


class RMSprop(RuleOptimizer):
    """RMSprop, centered and with momentum, as ``torch.optim.RMSprop`` (:mod:`adamkit.rules.rmsprop`)."""

    rule = rules.get("rmsprop")

    def __init__(self, params: Params, lr: Any = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, *, fused: bool | None = None,
                 eps_mode: str = "paper", weight_decay_mode: str | None = None,
                 **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                       momentum=momentum, centered=centered, maximize=maximize, eps_mode=eps_mode)
        super().__init__(params, hp, foreach=foreach, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         **_own_options(type(self).__name__, adamkit_options))


class Adagrad(RuleOptimizer):
    """Adagrad, as ``torch.optim.Adagrad`` (:mod:`adamkit.rules.adagrad`); state made eagerly, as torch."""

    rule = rules.get("adagrad")
    accepts_sparse = True
    eager_state = True

    def __init__(self, params: Params, lr: Any = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 eps_mode: str = "paper", weight_decay_mode: str | None = None,
                 **adamkit_options: Any) -> None:
        hp = _settings(weight_decay_mode, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                       initial_accumulator_value=initial_accumulator_value, eps=eps,
                       maximize=maximize, eps_mode=eps_mode)
        super().__init__(params, hp, foreach=foreach, differentiable=differentiable, fused=fused,
                         **_own_options(type(self).__name__, adamkit_options))
