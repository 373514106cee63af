"""Build an optimizer by name from command-line options (the trainer's only way to get one).

The names are the registry's optimizers that have a torch class (:mod:`adamkit.rules.registry`), plus
``sparse_adam`` (torch's SparseAdam, which has no rule of its own); the classes come from
``adamkit.torch`` (torch.optim drop-ins plus adamkit's options); the flag
names are the declared hyperparameters' (:mod:`adamkit.rules.hyperparameters`), mapping one to one
onto constructor arguments. A flag an optimizer does not take is a usage error naming the
optimizers that do take it, never silently ignored. Nothing here imports torch until an optimizer
is built, so the command line can list and check names without it.

A model's params are not all matrices: where a torch class takes matrices only (Muon), its
declaration names, as the torch Api's trait ``whole_model`` (``"module:attribute"``), the class
that takes the rest too (``MuonWithAdamW``: AdamW beside it, with its defaults), and that one is
built; Adafactor's class takes vectors itself.
"""

from __future__ import annotations

import importlib
from typing import Any

from adamkit import rules
from adamkit.errors import UsageError, choice
from adamkit.rules import registry
from adamkit.rules.hyperparameters import OPTIONS

SPARSE_ADAM = "sparse_adam"
# The options the trainer offers as flags (all declared); the rest keep the optimizer's defaults.
OPTION_FLAGS = (
    "lr", "betas", "eps", "weight_decay", "momentum", "amsgrad", "nesterov",
    "clip_global_norm", "eps_mode", "weight_decay_mode", "state_precision",
)
# torch's SparseAdam arguments, plus adamkit's lazy decoupled weight decay (it has no rule of its own)
_SPARSE_ADAM_TAKES = frozenset({"lr", "betas", "eps", "maximize", "weight_decay"})


def optimizer_names() -> tuple[str, ...]:
    """Every optimizer the trainer builds, in the registry's order (one registered later too)."""
    return (*(n for n, d in registry.declarations().items() if d.torch is not None), SPARSE_ADAM)


def __getattr__(name: str) -> Any:
    if name == "OPTIMIZERS":  # read when asked: an optimizer registered at run time is in it
        return optimizer_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _known(name: str) -> str:
    if name not in optimizer_names():
        raise choice("optimizer", name, optimizer_names())
    return name


def optimizer_class(name: str) -> Any:
    """The ``adamkit.torch`` class for optimizer ``name`` (one of :func:`optimizer_names`) that
    takes a whole model's params (the declaration's ``whole_model`` trait, see the module doc)."""
    import adamkit.torch as backend  # torch.optim has the same classes (drop-ins) minus options

    if _known(name) == SPARSE_ADAM:
        return backend.SparseAdam
    api = registry.declaration(name).torch
    if api is not None and (whole := api.traits.get("whole_model")):
        module, _, attribute = whole.partition(":")
        return getattr(importlib.import_module(module), attribute)
    return backend.for_rule(name)


def accepted_options(name: str) -> set[str]:
    """The options optimizer ``name`` takes: its rule's hyperparameters and the front end's."""
    if _known(name) == SPARSE_ADAM:
        return set(_SPARSE_ADAM_TAKES)
    return set(rules.get(name).takes) | set(OPTIONS)


def default_settings(name: str) -> dict[str, Any]:
    """What ``adamkit compare`` gives optimizer ``name`` unless told otherwise: its declared
    training lr (and settings, such as SGD's momentum 0.9)."""
    if _known(name) == SPARSE_ADAM:
        return {"lr": registry.declaration("adam").train_lr}
    declared = registry.declaration(name)
    return {"lr": declared.train_lr, **declared.train_settings}


def takers(option: str) -> list[str]:
    """The optimizers that take ``option``."""
    return [n for n in optimizer_names() if option in accepted_options(n)]


def check(name: str, options: dict) -> dict[str, Any]:
    """The constructor's keyword arguments for ``options`` (None values left out); a UsageError
    for an optimizer name or an option it does not take."""
    accepted = accepted_options(name)
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        if key not in accepted:
            raise UsageError(
                f"--{key.replace('_', '-')} does not apply to optimizer {name}; "
                f"valid for: {', '.join(sorted(takers(key))) or 'none'}"
            )
        kwargs[key] = tuple(value) if key == "betas" else value
    return kwargs


def build(name: str, params, options: dict) -> tuple[Any, float | None]:
    """``(optimizer, clip)``: the optimizer built from ``options`` (None values left out).

    ``clip`` is the global-norm clipping threshold the trainer must apply itself when the
    optimizer has no ``clip_global_norm`` option (SparseAdam, as torch's), else None.
    """
    options = dict(options)
    clip = None
    if "clip_global_norm" not in accepted_options(name):
        clip = options.pop("clip_global_norm", None)
    return optimizer_class(name)(params, **check(name, options)), clip
