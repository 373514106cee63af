"""Tuning optimizers' hyperparameters with Optuna: ``adamkit tune`` and :func:`search`.

- ``space``: search spaces read from the hyperparameter declarations; ParameterGrid's grid;
- ``objectives``: a lab function (batched NumPy engine) or a training recipe (pruned per epoch);
- ``study``: slots (exact trial counts across workers), the sampler, the worker loop, retries;
- ``storage``: the journal file in the run directory, or a database (heartbeats) to scale;
- ``results``: trials.jsonl, best.json, the leaderboard, plots;
- ``api``: the Python API (``search``); ``cli``: the command.

Importing this package loads neither optuna nor torch (the command line registers it).
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adamkit.tune.api import TuneReport, search

__all__ = ["search", "TuneReport"]


def __getattr__(name: str):
    if name in __all__:  # loaded on first use (PEP 562), optuna with it
        return getattr(importlib.import_module("adamkit.tune.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
