"""Command-line flags made from the hyperparameter declarations, so no command respells them.

``add_flag(group, "weight_decay")`` adds ``--weight-decay`` with the declaration's type, choices
and doc; ``None`` is the default (the optimizer's own default applies).
"""

from __future__ import annotations

import argparse
from typing import Any

from adamkit.rules.hyperparameters import HYPERPARAMETERS, OPTIONS, Hyperparameter


def declaration(name: str) -> Hyperparameter:
    return HYPERPARAMETERS[name] if name in HYPERPARAMETERS else OPTIONS[name]


def add_flag(group: Any, name: str, note: str = "") -> argparse.Action:
    """Add ``name``'s flag to an argparse parser or group; ``note`` is appended to its help."""
    h = declaration(name)
    kwargs: dict[str, Any] = {"dest": name, "help": h.doc + (f" ({note})" if note else "")}
    if h.kind == "float":
        kwargs.update(type=float)
    elif h.kind == "pair":
        kwargs.update(type=float, nargs=2, metavar=tuple(p.upper() for p in h.choices))
    elif h.kind == "bool":
        # --amsgrad / --no-amsgrad: a switch whose default is on (LAMB's decay_in_trust_ratio)
        # must be possible to turn off
        kwargs.update(action=argparse.BooleanOptionalAction, default=None)
    else:
        kwargs.update(choices=[c for c in h.choices if c is not None])
    return group.add_argument(h.flag, **kwargs)
