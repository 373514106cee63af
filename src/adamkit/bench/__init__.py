"""``adamkit bench``: step time and memory of adamkit's optimizers against torch.optim's (Adam,
SGD, Adagrad) and DeepSpeed's, bitsandbytes' and torchao's Adam.

Every figure is a ratio against an anchor measured in the same process, pair by pair: contenders
take turns within each round, and the median of the rounds (after warm-up rounds) is reported.
See :mod:`adamkit.bench.contenders` for the contenders, :mod:`adamkit.bench.run` for what is
measured and :mod:`adamkit.bench.presets` for the presets.
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adamkit.bench.presets import PRESETS
    from adamkit.bench.run import CONTENDERS, run_preset

__all__ = ["PRESETS", "CONTENDERS", "run_preset"]
_HOMES = {"PRESETS": "presets", "CONTENDERS": "run", "run_preset": "run"}


def __getattr__(name: str):
    # Loaded on first use (PEP 562): importing adamkit.bench.cli to register the command, which
    # every adamkit command does, must not load torch.
    if name in _HOMES:
        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
