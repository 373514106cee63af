"""Training real models with adamkit's optimizers: ``adamkit train``, ``compare``, ``data get``.

>>> from adamkit.train import TrainConfig, train
>>> result = train(TrainConfig(epochs=1), "runs/quick", quiet=True)   # digits, ~seconds
>>> result.summary["test_accuracy"]                                   # doctest: +SKIP

Modules: ``datasets`` (loaders; ``idx`` and ``files`` for the on-disk formats, ``synthetic`` for
the generated sets), ``models``, ``recipes``, ``optim_factory``, ``schedule_factory``,
``trainer`` (the loop), ``checkpoint``, ``diagnostics`` (Adam's internals), ``plots``,
``compare``, ``download``, ``cli``.
"""

from adamkit.train.config import TrainConfig
from adamkit.train.trainer import RunResult, Trainer, train

__all__ = ["TrainConfig", "Trainer", "RunResult", "train"]
