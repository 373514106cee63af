"""Every optimizer, declared once: the registry that every front end, command, the page and the tuner
derive from.

An optimizer is its rule (:class:`adamkit.rules.Rule`: the math and the hyperparameters it takes,
from the one vocabulary in :mod:`adamkit.rules.hyperparameters`) plus a :class:`Declaration`:

- ``doc``, ``color`` and ``marker`` (the same in every figure and on the page), ``family`` (the
  scale its learning rate lives on: the lab's default lr per test function is per family, times
  ``lab_lr_scale``);
- ``variants``: the named fixed settings people race and tune ("momentum" is SGD with momentum
  0.9, "amsgrad" is Adam with ``amsgrad=True``), each with its own look;
- each front end's spelling, an :class:`Api`: ``torch`` (the ``adamkit.torch`` class, a
  ``torch.optim`` drop-in where torch has one), ``keras``, ``optax`` and ``numpy``. An Api's
  ``signature`` is the library's argument list written as Python (``"lr=1e-3, betas=(0.9, 0.999),
  *, maximize=False"``); the front end builds its class or function from it, so ``help()``,
  positional arguments and ``inspect.signature`` are the library's. Arguments are the rule's
  hyperparameters by name or by a declared alias (Keras's ``beta_1``, optax's ``b1``); ``translate``
  maps the rest (torch's Adafactor ``eps=(None, 1e-3)``); ``fixed`` sets what the spelling fixes
  (Keras's Nadam schedule); ``base`` names front-end code the declaration cannot say (a class
  with ``train()``/``eval()``, a hand-written optax chain) as ``"module:attribute"``;
- ``train_lr`` and ``train_settings`` (``adamkit train``/``compare``'s defaults), ``shape``
  (``"matrix"``: the optimizer acts on weight matrices, so the lab and the page, whose points
  are 2-D vectors, say so in one line instead of racing it), ``searched`` (what ``adamkit tune``
  searches beside lr; by default the averaging constants the rule takes).

Rule modules (``adamkit/rules/<name>.py``) end with a ``DECLARATIONS`` tuple; the registry finds
them, so adding an optimizer is one rule file. :func:`register` adds one at run time (a test's toy
optimizer, a user's own); front ends look names up here when asked, so it appears everywhere.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from adamkit.errors import UsageError, choice
from adamkit.rules._declaration import FRONT_ENDS, SHAPES, Declaration, Variant

_DECLARED: dict[str, Declaration] = {}
_discovered = False


def _discover() -> None:
    """Import every public module of :mod:`adamkit.rules` and register its ``DECLARATIONS``."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    # the package's own folder, by path: importing the package from here would tie the two in a
    # cycle (the package's get() reads this registry)
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_") or info.name == "registry":
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        for declaration in getattr(module, "DECLARATIONS", ()):
            register(declaration)


def register(declaration: Declaration) -> Declaration:
    """Add ``declaration``; every front end and tool finds it from now on. A UsageError when a
    name (its rule's, a variant's, a front end's class or function) is taken already."""
    _discover()
    if declaration.shape not in SHAPES:
        raise UsageError(f"{declaration.name}: invalid shape {declaration.shape!r}; valid: "
                         f"{', '.join(SHAPES)}")
    taken = {v.name for d in _DECLARED.values() for v in d.named()}
    for v in declaration.named():
        if v.name in taken:
            raise UsageError(f"optimizer name {v.name!r} is declared already")
    for front_end in FRONT_ENDS:
        api = declaration.api(front_end)
        if api is not None and by_api(front_end, api.name) is not None:
            raise UsageError(f"{front_end} name {api.name!r} is declared already")
        if api is not None:
            api.parameters()  # a signature that does not parse fails here, not at first use
    _DECLARED[declaration.name] = declaration
    return declaration


def unregister(name: str) -> None:
    """Remove the declaration called ``name`` (a test's toy optimizer)."""
    _DECLARED.pop(name)


@contextlib.contextmanager
def registered(declaration: Declaration) -> Iterator[Declaration]:
    """Within: ``declaration`` is registered."""
    register(declaration)
    try:
        yield declaration
    finally:
        unregister(declaration.name)


def declarations() -> dict[str, Declaration]:
    """Every declaration, by its rule's name, in declaration order."""
    _discover()
    return dict(_DECLARED)


def declaration(name: str) -> Declaration:
    """The declaration of rule ``name`` (case-insensitive); a UsageError lists the valid names."""
    found = declarations().get(name.strip().lower())
    if found is None:
        raise choice("optimizer", name, _DECLARED)
    return found


def variants() -> dict[str, Variant]:
    """Every name people race and tune (each optimizer and its variants), in declaration order."""
    return {v.name: v for d in declarations().values() for v in d.named()}


def variant(name: str) -> Variant:
    """The variant called ``name`` (case-insensitive); a UsageError lists the valid names."""
    found = variants()
    key = name.strip().lower()
    if key not in found:
        raise choice("optimizer", name, found)
    return found[key]


def by_api(front_end: str, name: str) -> Declaration | None:
    """The declaration whose ``front_end`` spelling is called ``name``, or None."""
    for d in declarations().values():
        api = d.api(front_end)
        if api is not None and api.name == name:
            return d
    return None


def api_names(front_end: str) -> list[str]:
    """Every class or function name ``front_end`` offers, in declaration order."""
    return [api.name for d in declarations().values() if (api := d.api(front_end)) is not None]


_BUILT: dict[tuple[str, str], tuple[Declaration, Any]] = {}


def built(front_end: str, name: str, build: Callable[[Declaration], Any]) -> Any:
    """What ``build`` makes of the declaration whose ``front_end`` spelling is called ``name`` (a
    class, a function), made once per declaration; an AttributeError when none is called so.

    Every front end's ``adamkit.<front end>.<Name>`` goes through here, so a declaration registered
    after the front end was imported is found, and one registered anew is built anew.
    """
    declaration = by_api(front_end, name)
    if declaration is None:
        raise AttributeError(name)
    cached = _BUILT.get((front_end, name))
    if cached is None or cached[0] is not declaration:
        cached = _BUILT[(front_end, name)] = (declaration, build(declaration))
    return cached[1]


def spelling(front_end: str, rule: str) -> str:
    """The name ``front_end`` gives rule ``rule`` (``"torch"``, ``"adamw"`` -> ``"AdamW"``); a
    UsageError names the rules it has."""
    api = declaration(rule).api(front_end)
    if api is None:
        having = [n for n, d in declarations().items() if d.api(front_end) is not None]
        raise UsageError(f"optimizer {rule!r} has no {front_end} spelling; valid: {', '.join(having)}")
    return api.name
