"""Training real models with adamkit's optimizers: ``adamkit train``, ``compare``, ``data get``.

>>> from adamkit.train import TrainConfig, train
>>> result = train(TrainConfig(epochs=1), "runs/quick", quiet=True)   # digits, ~seconds
>>> result.summary["test_accuracy"]                                   # doctest: +SKIP

Modules: ``datasets`` (loaders; ``idx`` and ``files`` for the on-disk formats, ``synthetic`` for
the generated sets), ``models``, ``recipes``, ``optim_factory``, ``schedule_factory``,
``trainer`` (the loop), ``checkpoint``, ``diagnostics`` (Adam's internals), ``plots``,
``compare``, ``download``, ``cli``.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adamkit.train.config import TrainConfig
    from adamkit.train.trainer import RunResult, Trainer, train

__all__ = ["TrainConfig", "Trainer", "RunResult", "train"]
_HOMES = {"TrainConfig": "config", "Trainer": "trainer", "RunResult": "trainer", "train": "trainer"}


def __getattr__(name: str):
    # Loaded on first use (PEP 562): importing adamkit.train.cli to register the commands, which
    # every adamkit command does, must not load torch.
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
