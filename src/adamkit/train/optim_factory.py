"""Build an optimizer by name from command-line options (the trainer's only way to get one).

The classes come from ``adamkit.torch`` (torch.optim drop-ins plus adamkit's options); the flag
names are the declared hyperparameters' (:mod:`adamkit.rules.hyperparameters`), mapping one to one
onto constructor arguments. A flag an optimizer does not take is a usage error naming the
optimizers that do take it, never silently ignored. Nothing here imports torch until an optimizer
is built, so the command line can list and check names without it.
"""

from __future__ import annotations

from typing import Any

from adamkit import rules
from adamkit.errors import UsageError, choice
from adamkit.rules.hyperparameters import OPTIONS

CLASS_NAMES = {
    "adam": "Adam",
    "adamw": "AdamW",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "radam": "RAdam",
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "sparse_adam": "SparseAdam",
}
OPTIMIZERS = tuple(CLASS_NAMES)
# The options the trainer offers as flags (all declared); the rest keep the optimizer's defaults.
OPTION_FLAGS = (
    "lr", "betas", "eps", "weight_decay", "momentum", "amsgrad", "nesterov",
    "clip_global_norm", "eps_mode", "weight_decay_mode", "state_precision",
)
# torch's SparseAdam arguments, plus adamkit's lazy decoupled weight decay (it has no rule of its own)
_SPARSE_ADAM_TAKES = frozenset({"lr", "betas", "eps", "maximize", "weight_decay"})


def optimizer_class(name: str) -> Any:
    """The ``adamkit.torch`` class for optimizer ``name`` (one of ``OPTIMIZERS``)."""
    if name not in CLASS_NAMES:
        raise choice("optimizer", name, OPTIMIZERS)
    import adamkit.torch as backend  # torch.optim has the same classes (drop-ins) minus options

    return getattr(backend, CLASS_NAMES[name])


def accepted_options(name: str) -> set[str]:
    """The options optimizer ``name`` takes: its rule's hyperparameters and the front end's."""
    if name not in CLASS_NAMES:
        raise choice("optimizer", name, OPTIMIZERS)
    if name == "sparse_adam":
        return set(_SPARSE_ADAM_TAKES)
    return set(rules.get(name).takes) | set(OPTIONS)


def takers(option: str) -> list[str]:
    """The optimizers that take ``option``."""
    return [n for n in OPTIMIZERS if option in accepted_options(n)]


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
