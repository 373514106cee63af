"""``adamkit bench``: step time and memory of adamkit's optimizers against torch.optim's Adam.

Every figure is a ratio against an anchor measured in the same process, pair by pair: contenders
take turns within each round, and the median of the rounds (after warm-up rounds) is reported.
See :mod:`adamkit.bench.run` for the contenders and :mod:`adamkit.bench.presets` for the presets.
"""

from adamkit.bench.presets import PRESETS
from adamkit.bench.run import CONTENDERS, run_preset

__all__ = ["PRESETS", "CONTENDERS", "run_preset"]
