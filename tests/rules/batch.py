"""A batch of configurations in one NumPy run against each configuration run alone.

The NumPy rules take hyperparameters as arrays that broadcast against the param (the lab races
many configurations at once): row i of a (n, d) param with every hyperparameter's row i must
step exactly as a (d,) param with the plain numbers of configuration i.
"""

from __future__ import annotations

import numpy as np


def _stacked(configs: list[dict]) -> dict:
    out: dict = {}
    for key, first in configs[0].items():
        if isinstance(first, bool | str):
            assert all(c[key] == first for c in configs), key  # static settings stay shared
            out[key] = first
        elif isinstance(first, tuple):
            out[key] = tuple(np.array([[c[key][i]] for c in configs]) for i in range(len(first)))
        else:
            out[key] = np.array([[c[key]] for c in configs])
    return out


def largest_batch_difference(rule, configs: list[dict], steps: int = 15, seed: int = 0) -> float:
    """The largest |difference| between the batched run's rows and the single runs."""
    rng = np.random.default_rng(seed)
    n = len(configs)
    start = rng.standard_normal((n, 6))
    grads = [rng.standard_normal((n, 6)) for _ in range(steps)]
    hp = rule.validate(_stacked(configs))
    p, state = start, rule.init(start, hp, np)
    for t, g in enumerate(grads, start=1):
        p, state = rule.update(p, g, state, t, hp, np)
    out = 0.0
    for i, config in enumerate(configs):
        single = rule.validate(config)
        q, s = start[i], rule.init(start[i], single, np)
        for t, g in enumerate(grads, start=1):
            q, s = rule.update(q, g[i], s, t, single, np)
        assert not np.allclose(q, start[i])
        out = max(out, float(np.max(np.abs(q - p[i]))))
    return out
