"""Drive a rule and its peers (optax, Keras) over the same gradients, in float64, side by side.

The gradients are drawn up front, not computed from the params, so every implementation sees
exactly the same inputs and a difference can only come from the update itself. Several shapes
at once (1-D, 2-D, 3-D): per-tensor quantities (LAMB's norms) are exercised per tensor.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

SHAPES = ((5,), (3, 4), (2, 1, 3))
STEPS = 25
# Keras's torch backend converts with np.array(tensor), which NumPy 2 warns about with this torch.
KERAS_WARNING = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy")


def problem(seed: int = 0, steps: int = STEPS, shapes=SHAPES, scale: float = 1.0):
    """Start params and ``steps`` lists of gradients (one per shape), float64."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in shapes]
    grads = [[scale * rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    return params, grads


def run_rule(rule, hp: dict, params, grads, xp: Any = np, states: list | None = None):
    """The rule in namespace ``xp`` (NumPy float64 by default); the final params as NumPy."""
    hp = rule.validate(hp)
    convert, back = _converters(xp)
    ps = [convert(p) for p in params]
    ss = [rule.init(p, hp, xp) for p in ps]
    for t, gs in enumerate(grads, start=1):
        for i, g in enumerate(gs):
            ps[i], ss[i] = rule.update(ps[i], convert(g), ss[i], t, hp, xp)
        if states is not None:
            states.append([{k: back(v) for k, v in s.items()} for s in ss])
    return [back(p) for p in ps]


def _converters(xp: Any):
    name = getattr(xp, "__name__", "")
    if name == "torch":
        import torch

        return (lambda a: torch.tensor(a, dtype=torch.float64)), (lambda t: t.detach().numpy().copy())
    if name.startswith("keras"):
        from keras import ops

        return (lambda a: ops.convert_to_tensor(a, dtype="float64")), \
            (lambda t: np.asarray(ops.convert_to_numpy(t), np.float64))
    return np.array, (lambda a: np.asarray(a, np.float64))


def run_rule_jit(rule, hp: dict, params, grads):
    """The rule on jax.numpy, one ``jax.jit`` step over all tensors with the step traced."""
    import jax
    import jax.numpy as jnp

    hp = rule.validate(hp)
    with jax.enable_x64(True):
        @jax.jit
        def step(ps, ss, gs, t):
            out = [rule.update(p, g, s, t, hp, jnp) for p, g, s in zip(ps, gs, ss, strict=True)]
            return [o[0] for o in out], [o[1] for o in out]

        ps = [jnp.asarray(p, jnp.float64) for p in params]
        ss = [rule.init(p, hp, jnp) for p in ps]
        for t, gs in enumerate(grads, start=1):
            ps, ss = step(ps, ss, [jnp.asarray(g, jnp.float64) for g in gs], jnp.asarray(t, jnp.int32))
        return [np.asarray(p, np.float64) for p in ps]


def run_optax(tx, params, grads):
    """An optax transformation in float64 (x64 on for the run), under ``jax.jit``."""
    import jax
    import jax.numpy as jnp
    import optax

    with jax.enable_x64(True):
        ps = [jnp.asarray(p, jnp.float64) for p in params]
        state = tx.init(ps)

        @jax.jit
        def step(ps, state, gs):
            updates, state = tx.update(gs, state, ps)
            return optax.apply_updates(ps, updates), state

        for gs in grads:
            ps, state = step(ps, state, [jnp.asarray(g, jnp.float64) for g in gs])
        return [np.asarray(p, np.float64) for p in ps]


def run_keras(optimizer, params, grads):
    """A Keras optimizer on float64 variables (torch backend)."""
    import keras

    variables = [keras.Variable(p, dtype="float64") for p in params]
    optimizer.build(variables)
    for gs in grads:
        optimizer.apply([keras.ops.convert_to_tensor(g, dtype="float64") for g in gs], variables)
    return [np.asarray(keras.ops.convert_to_numpy(v.value), np.float64) for v in variables]


def largest(actual, expected, relative: bool = True) -> float:
    """The largest difference between two lists of arrays (relative to |expected| + 1e-3)."""
    out = 0.0
    for a, e in zip(actual, expected, strict=True):
        d = np.abs(np.asarray(a) - np.asarray(e))
        if relative:
            d = d / (np.abs(e) + 1e-3)
        out = max(out, float(np.max(d)))
    return out


def moved(params, start) -> float:
    """How far the params went (a test that compares two runs must see them move)."""
    return max(float(np.max(np.abs(p - s))) for p, s in zip(params, start, strict=True))


def negated(grads):
    return [[-g for g in gs] for gs in grads]


def agree(actual, expected, tolerance: float, label: str = "") -> float:
    """Assert ``largest(actual, expected) < tolerance``; print it (``pytest -s | grep MAXDIFF``)."""
    found = largest(actual, expected)
    print(f"MAXDIFF {label or 'difference'} {found:.3g} (tolerance {tolerance:g})")
    assert found < tolerance, (label, found, tolerance)
    return found
