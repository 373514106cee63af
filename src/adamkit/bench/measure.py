"""Paired timing: contenders take turns within each round; medians over rounds after warm-up.

On a shared machine absolute times drift with the load; measuring every contender in every round,
in a rotating order, exposes all of them to the same drift, so their *ratios* stay meaningful.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable


def paired_medians(contenders: dict[str, Callable[[], object]], rounds: int, warmup: int,
                   sync: Callable[[], object] = lambda: None, quiet: bool = False,
                   label: str = "rounds") -> dict[str, dict]:
    """Time each contender once per round for ``warmup + rounds`` rounds; keep the last ``rounds``.

    Returns, per contender, ``median_s``, ``min_s``, ``max_s`` and the kept ``samples_s``. ``sync``
    runs before each clock read (``torch.cuda.synchronize`` on a GPU).
    """
    if rounds < 1 or warmup < 0:
        raise ValueError(f"rounds must be >= 1 and warmup >= 0, got rounds={rounds}, "
                         f"warmup={warmup}")
    names = list(contenders)
    samples: dict[str, list[float]] = {n: [] for n in names}
    iterator = range(warmup + rounds)
    if not quiet and sys.stderr.isatty():
        from tqdm import tqdm

        iterator = tqdm(iterator, desc=label, unit="round", leave=False, file=sys.stderr)
    for r in iterator:
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:  # rotate: nobody always runs first
            sync()
            start = time.perf_counter()
            contenders[name]()
            sync()
            elapsed = time.perf_counter() - start
            if r >= warmup:
                samples[name].append(elapsed)
    return {
        n: {"median_s": statistics.median(s), "min_s": min(s), "max_s": max(s), "samples_s": s}
        for n, s in samples.items()
    }
