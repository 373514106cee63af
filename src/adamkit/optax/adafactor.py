"""Adafactor as ``optax.adafactor``: the chain optax composes, with the rule's direction.

optax's ``adafactor`` is ``scale_by_factored_rms``, ``clip_by_block_rms``, ``scale_by_learning_rate``,
``scale_by_param_block_rms``, ``ema`` (momentum), ``add_decayed_weights``, ``scale(-1)``. The factored
second moment and the clipping are the Adafactor rule's, with optax's reading as settings (ε added to
g², the two largest axes factored when both are ``min_dim_size_to_factor`` long, ``t^-decay_rate``
counted from ``decay_offset``), run on a zero param with lr = 1 (as :func:`~adamkit.optax.scale_by_rule`
runs a rule). The steps after it need the real params (``RMS(p)``, ``wd·p``), so they are optax's own
transforms, in optax's order. The state keeps optax's fields and placeholders (:class:`FactoredState`):
a param keeps either the factored pair or the whole second moment. The rule states the same chain in
its own terms (``relative_step=False``, ``param_scale``, ``beta1``, ``weight_decay_mode="independent"``),
which tests/rules/test_adafactor.py checks against optax.adafactor.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from adamkit.rules.adafactor import ADAFACTOR, factored_axes


class FactoredState(NamedTuple):
    """optax's state of the factored second moment: ``count``, and per param ``v_row``, ``v_col``
    (factored params) or ``v`` (the others), a ``(1,)`` placeholder where a param keeps none, as
    optax keeps them. The rule names them ``row_var``, ``col_var``, ``variance`` (torch's)."""

    count: Any
    v_row: Any
    v_col: Any
    v: Any


def scale_by_factored_rms(**settings: Any) -> optax.GradientTransformation:
    """The rule's clipped ``g / sqrt(V̂)`` (lr = 1, no parameter scale), as optax's transform."""
    hp = ADAFACTOR.validate({**settings, "relative_step": False, "param_scale": False, "lr": 1.0,
                             "beta1": 0.0, "weight_decay": 0.0})

    def placeholder(p: Any) -> Any:
        return jnp.zeros((1,), dtype=p.dtype)

    def to_optax(state: dict, p: Any) -> dict:
        """The rule's arrays (reduced axes kept as 1) as optax's fields (reduced axes dropped):
        optax's ``v_row`` averages over the largest axis, ``v_col`` over the second largest."""
        if "variance" in state:
            return {"v_row": placeholder(p), "v_col": placeholder(p), "v": state["variance"]}
        a, b = factored_axes(p.shape, hp)  # type: ignore[misc]
        largest = int(np.argsort(p.shape)[-1])
        over_b, over_a = jnp.squeeze(state["row_var"], b), jnp.squeeze(state["col_var"], a)
        rows, cols = (over_b, over_a) if largest == b else (over_a, over_b)
        return {"v_row": rows, "v_col": cols, "v": placeholder(p)}

    def from_optax(fields: dict, p: Any) -> dict:
        axes = factored_axes(p.shape, hp)
        if axes is None:
            return {"variance": fields["v"]}
        a, b = axes
        largest = int(np.argsort(p.shape)[-1])
        over_b, over_a = (fields["v_row"], fields["v_col"]) if largest == b else \
            (fields["v_col"], fields["v_row"])
        return {"row_var": jnp.expand_dims(over_b, b), "col_var": jnp.expand_dims(over_a, a)}

    def pack(count: Any, per_leaf: list[dict], params: list, treedef: Any) -> FactoredState:
        converted = [to_optax(s, p) for s, p in zip(per_leaf, params, strict=True)]
        fields = {field: jax.tree.unflatten(treedef, [c[field] for c in converted])
                  for field in FactoredState._fields[1:]}
        return FactoredState(count=count, **fields)

    def init_fn(params: Any) -> FactoredState:
        leaves, treedef = jax.tree.flatten(params)
        per_leaf = [ADAFACTOR.init(jnp.asarray(p), hp, jnp) for p in leaves]
        return pack(jnp.zeros([], jnp.int32), per_leaf, leaves, treedef)

    def update_fn(updates: Any, state: FactoredState, params: Any = None) -> tuple:
        del params  # the direction needs none
        count = optax.safe_increment(state.count)
        leaves, treedef = jax.tree.flatten(updates)
        stored = {field: jax.tree.leaves(getattr(state, field)) for field in FactoredState._fields[1:]}
        directions, per_leaf = [], []
        for i, grad in enumerate(leaves):
            leaf_state = from_optax({field: values[i] for field, values in stored.items()}, grad)
            moved, new_state = ADAFACTOR.update(jnp.zeros_like(grad), grad, leaf_state, count, hp, jnp)
            directions.append(-moved)  # the rule moved a zero param by minus the direction
            per_leaf.append(new_state)
        return jax.tree.unflatten(treedef, directions), pack(count, per_leaf, leaves, treedef)

    return optax.GradientTransformation(init_fn, update_fn)


def adafactor(learning_rate: Any = None, min_dim_size_to_factor: int = 128, decay_rate: Any = 0.8,
              decay_offset: Any = 0, multiply_by_parameter_scale: bool = True,
              clipping_threshold: Any = 1.0, momentum: Any = None, dtype_momentum: Any = jnp.float32,
              weight_decay_rate: Any = None, eps: Any = 1e-30, factored: bool = True,
              weight_decay_mask: Any = None) -> optax.GradientTransformationExtraArgs:
    """Adafactor, as ``optax.adafactor`` (same arguments, same defaults): rule ``adafactor``."""
    direction = scale_by_factored_rms(
        eps_clamp=False, eps1=eps, beta2_decay=-decay_rate, decay_offset=decay_offset,
        factor_axes="largest", min_dim_size_to_factor=min_dim_size_to_factor if factored else math.inf,
        d=math.inf if clipping_threshold is None else clipping_threshold)
    parts = [direction]
    if learning_rate is not None:
        parts.append(optax.scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        parts.append(optax.scale_by_param_block_rms())
    if momentum is not None:
        parts.append(optax.ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        parts.append(optax.add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    parts.append(optax.scale(-1))
    return optax.chain(*parts)
