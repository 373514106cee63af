"""Build an optimizer by name from command-line options (the trainer's only way to get one).

The classes come from ``adamkit.torch`` (torch.optim drop-ins plus adamkit's options); the flag
names map one to one onto constructor arguments. A flag an optimizer does not take is a usage
error naming the optimizers that do take it, never silently ignored.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from adamkit.errors import UsageError, choice

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
# Optimizers whose state is Adam's (exp_avg, exp_avg_sq, step): what --diagnostics can read.
ADAM_FAMILY = ("adam", "adamw", "sparse_adam")
# Options with an obvious "not given" value; everything else is passed only when set.
OPTION_FLAGS = (
    "lr", "betas", "eps", "weight_decay", "momentum", "amsgrad", "nesterov",
    "clip_global_norm", "eps_mode", "weight_decay_mode", "state_precision",
)


def optimizer_class(name: str) -> type[torch.optim.Optimizer]:
    """The class for optimizer ``name`` (one of ``OPTIMIZERS``)."""
    if name not in CLASS_NAMES:
        raise choice("optimizer", name, OPTIMIZERS)
    import adamkit.torch as backend  # torch.optim has the same classes (drop-ins) minus options

    return getattr(backend, CLASS_NAMES[name])


# keyword options every adamkit.torch optimizer takes through **adamkit_options
ADAMKIT_OPTIONS = {"clip_global_norm", "clip_norm", "clip_value", "nonfinite", "state_precision"}


def accepted_options(name: str) -> set[str]:
    params = inspect.signature(optimizer_class(name).__init__).parameters
    named = {k for k, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        named |= ADAMKIT_OPTIONS
    return named - {"self", "params"}


def build(name: str, params, options: dict) -> tuple[torch.optim.Optimizer, float | None]:
    """``(optimizer, clip)``: the optimizer built from ``options`` (None values left out).

    ``clip`` is the global-norm clipping threshold the trainer must apply itself when the
    optimizer class has no ``clip_global_norm`` option (torch.optim's), else None.
    """
    cls = optimizer_class(name)
    accepted = accepted_options(name)
    kwargs: dict[str, Any] = {}
    clip = None
    for key, value in options.items():
        if value is None:
            continue
        if key == "clip_global_norm" and key not in accepted:
            clip = float(value)
            continue
        if key not in accepted:
            takers = sorted(n for n in OPTIMIZERS if key in accepted_options(n))
            raise UsageError(
                f"--{key.replace('_', '-')} does not apply to optimizer {name}; "
                f"valid for: {', '.join(takers) or 'none'}"
            )
        kwargs[key] = tuple(value) if key == "betas" else value
    return cls(params, **kwargs), clip
