"""``asgd``: torch.optim.ASGD with optax's conventions (optax has no ASGD).

ASGD's step size is not a factor of its update: η_t = lr/(1 + λ·lr·t)^α decays with the step
count, and the update shrinks the parameter itself (``param·(1 - λη)``), so the transformation
runs the rule on the parameters (it needs ``params``) and returns ``new_param - param``. Weight
decay is optax's ``add_decayed_weights`` before it (``g + wd·param``: torch's L2 decay).

The state, ``AsgdState(count, eta, mu, ax)``, keeps torch's scalars per parameter and ``ax``, the
average of the iterates since ``t0`` (what ASGD is for: read it from the state as the solution).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from adamkit.optax._transform import state_fields, state_type, validated
from adamkit.rules.asgd import ASGD


def scale_by_asgd(learning_rate: Any = 0.01, lambd: Any = 1e-4, eta_power: Any = 0.75,
                  t0: Any = 1e6) -> optax.GradientTransformationExtraArgs:
    """ASGD's whole update (rule ``asgd``, learning rate included); needs ``params``."""
    hp = validated(ASGD, {"lr": learning_rate, "lambd": lambd, "eta_power": eta_power, "t0": t0})
    made: Any = state_type(ASGD)
    fields = state_fields(ASGD)

    def pack(count: Any, per_leaf: list[dict], treedef: Any) -> Any:
        arrays = {fields[key]: jax.tree.unflatten(treedef, [s[key] for s in per_leaf])
                  for key in ASGD.state_keys}
        return made(count=count, **arrays)

    def init_fn(params: Any) -> Any:
        leaves, treedef = jax.tree.flatten(params)
        per_leaf = [ASGD.init(jnp.asarray(p), hp, jnp) for p in leaves]
        return pack(jnp.zeros([], jnp.int32), per_leaf, treedef)

    def update_fn(updates: Any, state: Any, params: Any = None, **extra_args: Any) -> tuple:
        del extra_args
        if params is None:
            raise ValueError("asgd: the update needs the params (ASGD shrinks them by 1 - λη); "
                             "call update(updates, state, params)")
        count = optax.safe_increment(state.count)
        leaves, treedef = jax.tree.flatten(updates)
        param_leaves = jax.tree.leaves(params)
        stored = {key: jax.tree.leaves(getattr(state, fields[key])) for key in ASGD.state_keys}
        moves, per_leaf = [], []
        for i, (grad, param) in enumerate(zip(leaves, param_leaves, strict=True)):
            leaf_state = {key: stored[key][i] for key in ASGD.state_keys}
            new_param, new_state = ASGD.update(param, grad, leaf_state, count, hp, jnp)
            moves.append(new_param - param)
            per_leaf.append(new_state)
        return jax.tree.unflatten(treedef, moves), pack(count, per_leaf, treedef)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def asgd(learning_rate: Any = 0.01, lambd: Any = 1e-4, eta_power: Any = 0.75, t0: Any = 1e6,
         weight_decay: Any = 0.0, mask: Any = None) -> optax.GradientTransformationExtraArgs:
    """ASGD (torch.optim.ASGD's iteration; torch's ``alpha`` is ``eta_power``) with optax's
    conventions: ``weight_decay`` (masked by ``mask``) is added to the gradient first, as torch's."""
    return optax.chain(optax.add_decayed_weights(weight_decay, mask),
                       scale_by_asgd(learning_rate, lambd, eta_power, t0))
