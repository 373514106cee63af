"""``schedule_free_adamw`` and ``schedule_free_eval_params``, as ``optax.contrib``'s: rule
:mod:`adamkit.rules.schedule_free` with optax's conventions (``warmup_lag=True``, ``r=0``).

Hand-written rather than built from the declaration: optax's schedule-free is not a direction
chained with a learning rate but a wrapper that keeps the iterate ``z`` and the average's
bookkeeping. The state is optax's own ``ScheduleFreeState`` with optax's structure (its
``base_optimizer_state`` is the state of optax's AdamW-without-momentum chain: ``nu`` and the
counts), so a state from either library feeds the other's ``update`` and
``schedule_free_eval_params``; the numbers in it are the rule's.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
import optax.contrib

from adamkit.errors import HyperparameterError
from adamkit.optax._transform import validated
from adamkit.rules import schedule_free as sf

RULE = sf.SCHEDULE_FREE_ADAMW


def _optax_base(learning_rate: Any, b2: Any, eps: Any, weight_decay: Any) -> Any:
    """The chain optax's ``schedule_free_adamw`` wraps, for its state's structure only."""
    return optax.chain(optax.scale_by_rms(decay=b2, eps=eps, eps_in_sqrt=False, bias_correction=True),
                       optax.add_decayed_weights(weight_decay),
                       optax.scale_by_learning_rate(learning_rate))


def schedule_free_adamw(learning_rate: Any = 0.0025, warmup_steps: int | None = None, b1: Any = 0.9,
                        b2: Any = 0.999, eps: Any = 1e-8, weight_decay: Any = 0.0,
                        weight_lr_power: Any = 2.0,
                        state_dtype: Any = None) -> optax.GradientTransformationExtraArgs:
    r"""Schedule-free AdamW, as ``optax.contrib.schedule_free_adamw`` (same arguments, defaults and
    state): the params are y; evaluate at :func:`schedule_free_eval_params`.

    ``learning_rate`` is a number (or a value ``optax.inject_hyperparams`` traces); the warmup is
    ``warmup_steps``, as optax's (its z step one count behind its average's weight: the rule's
    ``warmup_lag``). A schedule as ``learning_rate`` is refused: optax evaluates it at two different
    counts per step, which the rule's single lr does not say.
    """
    if callable(learning_rate):
        raise HyperparameterError(
            "adamkit.optax.schedule_free_adamw: invalid learning_rate (a schedule); valid: a number "
            "(warm up with warmup_steps, or inject a schedule's value with optax.inject_hyperparams)")
    warmup = 0 if warmup_steps is None else warmup_steps
    hp = validated(RULE, {"lr": learning_rate, "betas": (b1, b2), "eps": eps,
                          "weight_decay": weight_decay, "warmup_steps": warmup,
                          "weight_lr_power": weight_lr_power, "warmup_lag": True})
    schedule = learning_rate if warmup_steps is None else optax.warmup_constant_schedule(
        init_value=0.0, peak_value=learning_rate, warmup_steps=warmup_steps)
    base = _optax_base(schedule, b2, eps, weight_decay)

    def init_fn(params: Any) -> Any:
        dtype = optax.tree.dtype(params, "lowest")
        z = params if state_dtype is None else optax.tree.cast(params, dtype=state_dtype)
        return optax.contrib.ScheduleFreeState(
            b1=jnp.asarray(b1, dtype=dtype), weight_sum=jnp.zeros([], dtype=dtype),
            step_count=jnp.ones([], dtype=jnp.int32), max_lr=jnp.zeros([], dtype=dtype),
            base_optimizer_state=base.init(params), z=jax.tree.map(lambda t: t.copy(), z))

    def update_fn(grads: Any, state: Any, params: Any = None, **extra_args: Any) -> tuple:
        del extra_args
        if params is None:
            raise ValueError("adamkit.optax.schedule_free_adamw: update needs params (y); valid: "
                             "tx.update(grads, state, params)")
        step = state.step_count
        rms, decay_state, lr_state = state.base_optimizer_state
        g_leaves, treedef = jax.tree.flatten(grads)
        y_leaves, z_leaves, nu_leaves = (jax.tree.leaves(t) for t in (params, state.z, rms.nu))
        scalars = {"weight_sum": state.weight_sum, "lr_max": state.max_lr}
        updates, zs, nus = [], [], []
        new: dict[str, Any] = {}
        for g, y, z, nu in zip(g_leaves, y_leaves, z_leaves, nu_leaves, strict=True):
            new_y, new = RULE.update(y, g, {"z": z, "exp_avg_sq": nu, **scalars}, step, hp, jnp)
            updates.append(new_y - y)
            zs.append(new["z"].astype(z.dtype))
            nus.append(new["exp_avg_sq"].astype(nu.dtype))
        if not g_leaves:  # no params: the weights advance all the same
            _, lr_avg = sf.learning_rates(step, hp, jnp)
            _, new["weight_sum"], new["lr_max"] = sf.averaging_weight(scalars, step, lr_avg, hp, jnp)
        count = optax.safe_increment(rms.count)
        if "count" in getattr(lr_state, "_fields", ()):  # a schedule's count (with warmup)
            lr_state = lr_state._replace(count=optax.safe_increment(lr_state.count))
        rms = rms._replace(count=count, nu=jax.tree.unflatten(treedef, nus))
        return jax.tree.unflatten(treedef, updates), state._replace(
            weight_sum=jnp.asarray(new["weight_sum"], state.weight_sum.dtype),
            step_count=optax.safe_increment(step),
            max_lr=jnp.asarray(new["lr_max"], state.max_lr.dtype),
            base_optimizer_state=(rms, decay_state, lr_state), z=jax.tree.unflatten(treedef, zs))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def schedule_free_eval_params(state: Any, params: Any) -> Any:
    """x, the params to evaluate, from y (``params``) and the state's ``z`` and ``b1``, as
    ``optax.contrib.schedule_free_eval_params`` (either library's state)."""
    b1, z = getattr(state, "b1", None), getattr(state, "z", None)
    if b1 is None or z is None:
        raise ValueError("schedule_free_eval_params: invalid state (no b1 and z); valid: the state "
                         "of schedule_free_adamw (adamkit's or optax.contrib's)")
    return jax.tree.map(lambda y, zi: sf.eval_params(y, zi, b1, jnp), params, z)


__all__ = ["schedule_free_adamw", "schedule_free_eval_params"]
