"""``rprop``, as ``optax.rprop``'s signature, with torch's (and the paper's) iteration.

Rprop's ``learning_rate`` is not a factor of the update but each coordinate's first step size,
so the rule runs with it (not with ``lr = 1`` as :func:`~adamkit.optax.scale_by_rule` does) and its
move of a zero parameter, ``-sign(g)·step_size``, is the update itself: no learning-rate transform
after it.

optax 0.2.8's own ``rprop`` emits each update one step late (its first update is 0;
google-deepmind/optax PR #1725) and does not clamp a step size while the sign agreement is 0; this
function gives each step's update on that step, as torch.optim.Rprop (see
:mod:`adamkit.rules.rprop`). Its state is one NamedTuple, ``RpropState(count, prev, step_sizes)``:
``prev`` is the last (masked) gradient, torch's, where optax keeps its last update.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from adamkit.optax._transform import state_fields, state_type, validated
from adamkit.rules.rprop import RPROP


def rprop(learning_rate: Any, eta_minus: Any = 0.5, eta_plus: Any = 1.2, min_step_size: Any = 1e-6,
          max_step_size: Any = 50.0) -> optax.GradientTransformationExtraArgs:
    """Rprop with optax's arguments (rule ``rprop``): step sizes start at ``learning_rate``, grow by
    ``eta_plus`` while a coordinate's gradient keeps its sign, shrink by ``eta_minus`` when it flips
    (that coordinate then rests a step), clamped into ``[min_step_size, max_step_size]``."""
    hp = validated(RPROP, {"lr": learning_rate, "etas": (eta_minus, eta_plus),
                           "step_sizes": (min_step_size, max_step_size)})
    made: Any = state_type(RPROP)
    fields = state_fields(RPROP)

    def pack(count: Any, per_leaf: list[dict], treedef: Any) -> Any:
        arrays = {fields[key]: jax.tree.unflatten(treedef, [s[key] for s in per_leaf])
                  for key in RPROP.state_keys}
        return made(count=count, **arrays)

    def init_fn(params: Any) -> Any:
        leaves, treedef = jax.tree.flatten(params)
        per_leaf = [RPROP.init(jnp.asarray(p), hp, jnp) for p in leaves]
        return pack(jnp.zeros([], jnp.int32), per_leaf, treedef)

    def update_fn(updates: Any, state: Any, params: Any = None, **extra_args: Any) -> tuple:
        del params, extra_args  # the update needs neither
        count = optax.safe_increment(state.count)
        leaves, treedef = jax.tree.flatten(updates)
        stored = {key: jax.tree.leaves(getattr(state, fields[key])) for key in RPROP.state_keys}
        moves, per_leaf = [], []
        for i, grad in enumerate(leaves):
            leaf_state = {key: stored[key][i] for key in RPROP.state_keys}
            moved, new_state = RPROP.update(jnp.zeros_like(grad), grad, leaf_state, count, hp, jnp)
            moves.append(moved)  # a zero parameter moved by the update itself
            per_leaf.append(new_state)
        return jax.tree.unflatten(treedef, moves), pack(count, per_leaf, treedef)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
