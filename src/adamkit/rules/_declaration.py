"""What an optimizer's declaration says (see :mod:`adamkit.rules.registry`, which collects them).

Here, beside the rules, so that a rule module can declare itself without importing the registry.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from adamkit.errors import choice
from adamkit.rules._rule import Rule

FRONT_ENDS = ("torch", "keras", "optax", "numpy")
SHAPES = ("any", "matrix")


@dataclass(frozen=True)
class Api:
    """One library's spelling of an optimizer (see the module doc)."""

    name: str
    signature: str = ""
    peer: str | None = None  # the library's own, where it has one: "torch.optim.Adam"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    translate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    base: str | None = None
    traits: Mapping[str, Any] = field(default_factory=dict)  # front-end switches, see each front end
    state: Mapping[str, str] = field(default_factory=dict)  # optax: rule state key -> field name

    def parameters(self) -> list[inspect.Parameter]:
        """``signature`` as ``inspect.Parameter`` objects (defaults must be Python literals)."""
        return parse_signature(self.signature)

    def resolve_base(self) -> Any:
        """The object ``base`` names, or None."""
        if self.base is None:
            return None
        module, _, attribute = self.base.partition(":")
        return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Variant:
    """A name people race and tune: an optimizer with fixed settings (or none)."""

    name: str
    doc: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    color: str = "#555555"
    marker: str = "."
    phase_axis: str | None = None  # a phase diagram's second axis, "momentum=0:0.99:20"
    rule: str = ""  # filled in from the declaration
    family: str = ""
    shape: str = "any"
    lab_lr_scale: float = 1.0


@dataclass(frozen=True)
class Declaration:
    """One optimizer: its rule and everything every front end and tool needs to know of it."""

    rule: Rule
    doc: str
    family: str
    color: str
    marker: str
    variants: tuple[Variant, ...] = ()
    torch: Api | None = None
    keras: Api | None = None
    optax: Api | None = None
    numpy: Api | None = None
    train_lr: float = 3e-3
    train_settings: Mapping[str, Any] = field(default_factory=dict)
    shape: str = "any"
    searched: tuple[str, ...] | None = None
    phase_axis: str | None = None
    lab_lr_scale: float = 1.0

    @property
    def name(self) -> str:
        return self.rule.name

    def api(self, front_end: str) -> Api | None:
        if front_end not in FRONT_ENDS:
            raise choice("front end", front_end, FRONT_ENDS)
        return getattr(self, front_end)

    def named(self) -> tuple[Variant, ...]:
        """The optimizer itself and its variants, with rule, family and shape filled in."""
        own = Variant(self.name, self.doc, {}, self.color, self.marker, self.phase_axis)
        return tuple(replace(v, rule=self.name, family=self.family, shape=self.shape,
                             lab_lr_scale=self.lab_lr_scale) for v in (own, *self.variants))


def parse_signature(text: str) -> list[inspect.Parameter]:
    """``"lr=1e-3, *, maximize=False"`` as parameters; a SyntaxError or ValueError names ``text``."""
    tree = ast.parse(f"def f({text}): pass").body[0]
    assert isinstance(tree, ast.FunctionDef)
    args = tree.args
    out: list[inspect.Parameter] = []
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for arg, default in zip(positional, defaults, strict=True):
        out.append(inspect.Parameter(arg.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                     default=_literal(default, text)))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        out.append(inspect.Parameter(arg.arg, inspect.Parameter.KEYWORD_ONLY,
                                     default=_literal(default, text)))
    if args.vararg or args.kwarg:
        raise ValueError(f"signature {text!r}: *args and **kwargs are the front end's to add")
    return out


def _literal(node: ast.expr | None, text: str) -> Any:
    if node is None:
        return inspect.Parameter.empty
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"signature {text!r}: defaults must be Python literals, got "
                         f"{ast.unparse(node)!r}") from None
