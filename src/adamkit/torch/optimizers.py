"""The torch classes, built from the registry: each optimizer's ``torch`` spelling, one class each.

A declaration's ``Api.signature`` is torch's argument list (after ``params``); the class built here
takes exactly those arguments (positional ones too), then, keyword-only, the rule's hyperparameters
torch does not have (``eps_mode``, ``eps_root``, ``weight_decay_mode=None``: the rule's own mode,
``"decoupled"`` for AdamW and wherever ``decoupled_weight_decay=True``), ``fused`` where torch's
class has none (every rule has adamkit's kernels), and adamkit's own options (``nonfinite``,
``clip_*``, ``state_precision``, :mod:`adamkit.torch._base`). ``inspect.signature``, ``help()``
and IDEs show that whole list. :class:`~adamkit.torch._base.RuleOptimizer` does the rest.

An ``Api``'s ``traits`` switch what torch's classes do differently:

- ``tensor_betas``: torch.optim.Adam's rules for tensor ``lr`` and ``betas`` (its errors);
- ``subclass_of``: the class derives from another's (torch's AdamW is an Adam);
- ``accepts_sparse``: a sparse gradient is densified and stepped (SGD, Adagrad: the same result
  as torch's sparse kernels); ``eager_state``: the state is made in the constructor (Adagrad);
- ``decoupled_on_load``: a loaded L2 group decays as this optimizer does (torch's AdamW loads an
  Adam checkpoint so).
- ``group_names``: torch's own name of a hyperparameter in the signature and param groups, where
  the vocabulary's differs (ASGD's ``alpha`` is ``eta_power``; :mod:`adamkit.torch.group_names`);
- ``whole_model``: ``"module:Class"`` the trainer builds instead, for an optimizer that takes only
  some of a model's params (Muon's matrices: :class:`adamkit.torch.muon.MuonWithAdamW`).

``base`` (``"module:Class"``) names a mixin with behaviour a signature cannot say (schedule-free's
``train()``/``eval()``), placed first in the class's bases.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

import torch

from adamkit.errors import HyperparameterError
from adamkit.rules import registry
from adamkit.rules._declaration import Api, Declaration
from adamkit.rules.hyperparameters import ALIASES, OPTIONS
from adamkit.torch._base import RuleOptimizer

Params = Iterable[Any]
TORCH_FLAGS = ("foreach", "capturable", "differentiable", "fused")
_TORCH_ONLY = ("decoupled_weight_decay",)  # the rule's spelling of torch's own flag: torch's only


def _own_options(owner: str, options: dict[str, Any]) -> dict[str, Any]:
    """adamkit's own keyword arguments; any other is the TypeError torch's class gives for it
    (``NAdam(foo=1)``)."""
    for key in options:
        if key not in OPTIONS:
            raise TypeError(f"{owner}.__init__() got an unexpected keyword argument '{key}' "
                            f"(adamkit's own options: {', '.join(OPTIONS)})")
    return options


def check_adam_tensors(owner: str, lr: Any, betas: Any, foreach: bool | None) -> None:
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


class DeclaredOptimizer(RuleOptimizer):
    """A class built from a declaration: binds torch's signature and hands the rule its settings."""

    api: Api
    signature: inspect.Signature  # without self and params

    def __init__(self, params: Params, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{name}.__init__(): {exc}") from None
        bound.apply_defaults()
        given = dict(bound.arguments)
        options = _own_options(name, given.pop("adamkit_options"))
        flags = {k: given.pop(k) for k in TORCH_FLAGS if k in given}
        if self.api.traits.get("tensor_betas"):
            check_adam_tensors(name, given.get("lr"), given.get("betas"), flags.get("foreach"))
        if given.get("weight_decay_mode", "") is None:
            del given["weight_decay_mode"]  # None: the rule's own mode
        hp = self.api.translate(given) if self.api.translate else given
        RuleOptimizer.__init__(self, params, {**hp, **self.api.fixed}, **flags, **options)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # torch's AdamW decays decoupled whatever checkpoint it loads (an Adam one included): an L2
        # group takes this optimizer's mode (trait ``decoupled_on_load``, AdamW's alone).
        mode = self.defaults.get("weight_decay_mode", "l2")
        if not self.api.traits.get("decoupled_on_load") or mode == "l2":
            return
        for group in self.param_groups:
            if group["weight_decay_mode"] == "l2":
                group["weight_decay_mode"] = mode
                group["decoupled_weight_decay"] = mode == "decoupled"


def signature_of(declaration: Declaration, api: Api) -> inspect.Signature:
    """torch's parameters, then the rule's others, ``fused``, and adamkit's options."""
    own = api.parameters()
    names = {p.name for p in own}
    keyword = inspect.Parameter.KEYWORD_ONLY
    extra = []
    defaults = declaration.rule.defaults
    for hp in declaration.rule.takes:
        # group_names: torch's own name for it (ASGD's alpha is eta_power), see torch.group_names
        spelt_by_torch = api.traits.get("group_names", {}).get(hp) in names
        if hp in names or hp in _TORCH_ONLY or hp in api.fixed or _spelt(hp, names) or spelt_by_torch:
            continue
        default = None if hp == "weight_decay_mode" else defaults[hp]
        extra.append(inspect.Parameter(hp, keyword, default=default))
    if "fused" not in names:
        extra.append(inspect.Parameter("fused", keyword, default=None))
    options = inspect.Parameter("adamkit_options", inspect.Parameter.VAR_KEYWORD)
    return inspect.Signature([*own, *extra, options])


def _spelt(hp: str, names: set[str]) -> bool:
    """Whether ``names`` spell ``hp`` under another of its names (an alias, or a pair's parts)."""
    return any(ALIASES.get(n) == hp for n in names)


def build(declaration: Declaration) -> type[RuleOptimizer]:
    """The ``adamkit.torch`` class of ``declaration`` (its ``torch`` Api)."""
    api = declaration.torch
    assert api is not None
    parent: type = DeclaredOptimizer
    if "subclass_of" in api.traits:
        parent = class_named(api.traits["subclass_of"])
    bases = (parent,) if api.base is None else (api.resolve_base(), parent)
    signature = signature_of(declaration, api)
    peer = f"as ``{api.peer}``" if api.peer else "in torch.optim's style (torch has none)"
    doc = (f"{declaration.doc}, {peer}: rule ``{declaration.rule.name}`` (:func:`adamkit.rules.get`).\n\n"
           f"Arguments: ``{signature}``.")
    cls = type(api.name, bases, {
        "rule": declaration.rule, "api": api, "signature": signature, "__doc__": doc,
        "__module__": "adamkit.torch",
        "accepts_sparse": bool(api.traits.get("accepts_sparse")),
        "eager_state": bool(api.traits.get("eager_state")),
    })
    params = inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    self_ = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)

    def __init__(self: Any, params: Params, *args: Any, **kwargs: Any) -> None:
        DeclaredOptimizer.__init__(self, params, *args, **kwargs)

    __init__.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self_, params, *signature.parameters.values()])
    __init__.__qualname__ = f"{api.name}.__init__"
    cls.__init__ = __init__  # type: ignore[misc]
    return cls


def class_named(name: str) -> type[RuleOptimizer]:
    """The class called ``name`` (``"Adam"``), built once per declaration; an AttributeError when
    no declaration spells its torch class so."""
    return registry.built("torch", name, build)  # type: ignore[no-any-return]


def for_rule(rule: str) -> type[RuleOptimizer]:
    """The class of rule ``rule`` (``"adamw"`` -> ``AdamW``); a UsageError lists the valid ones."""
    return class_named(registry.spelling("torch", rule))
