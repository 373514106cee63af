"""``scale_by_rule``: any adamkit rule as an optax transformation that sets the update's direction.

The rule runs with ``lr = 1`` on a zero parameter, so its new "parameter" is minus the direction
(``-m̂/denominator`` for Adam); the learning rate, weight decay and clipping are optax's own
transforms chained after it, exactly as optax composes ``scale_by_adam``. The state is a NamedTuple
with optax's field names where they mean the same thing (``count``, ``mu``, ``nu``, ``nu_max``,
``trace``, ``sum_of_squares``); each field holds a pytree shaped like the params, or ``None`` where
the configuration keeps no such array (``nu_max`` without AMSGrad).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import jax
import jax.numpy as jnp
import optax

from adamkit import rules
from adamkit.errors import HyperparameterError
from adamkit.full_state import state_at_init
from adamkit.rules import Rule
from adamkit.rules.hyperparameters import canonical


def state_fields(rule: Rule) -> dict[str, str]:
    """The rule's state keys (torch's names) -> the optax state's field names: the declaration's
    ``optax`` Api says optax's where they mean the same thing (``exp_avg`` -> ``mu``); a key it
    does not name keeps its own."""
    api = _optax_api(rule)
    named = dict(api.state) if api is not None else {}
    return {key: named.get(key, key) for key in rule.state_keys}


_STATE_TYPES: dict[tuple[str, tuple[str, ...]], type] = {}


def state_type(rule: Rule) -> type:
    """The NamedTuple optax's state of ``rule`` is: ``count`` (where the rule counts steps), then
    one field per state array (:func:`state_fields`), each ``None`` where the configuration keeps
    no such array (``nu_max`` without AMSGrad). Named as the declaration says (``AdamState``, shared
    by adam and adamw), else ``<Rule>State``; one class per name and fields."""
    api = _optax_api(rule)
    name = (api.traits.get("state_type") if api is not None else None) or \
        f"{rule.name.replace('_', ' ').title().replace(' ', '')}State"
    fields = (*(("count",) if rule.counts_steps else ()), *dict.fromkeys(state_fields(rule).values()))
    key = (name, fields)
    if key not in _STATE_TYPES:
        made = namedtuple(name, fields, defaults=(None,) * len(fields))  # type: ignore[misc]  # noqa: PYI024
        made.__module__ = "adamkit.optax"
        made.__doc__ = f"optax state of rule {rule.name!r}: {', '.join(fields)}."
        _STATE_TYPES[key] = made
    return _STATE_TYPES[key]


def _optax_api(rule: Rule) -> Any:
    from adamkit.rules import registry

    declared = registry.declarations().get(rule.name)
    return declared.optax if declared is not None else None


def is_traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


def validated(rule: Rule, hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The rule's validated hyperparameters; traced ones (``inject_hyperparams`` under ``jit``)
    pass unchecked, as their concrete values were checked when ``init`` built the state (by
    their canonical names: optax's ``b1``, ``b2`` fold into ``betas`` as they do unchecked)."""
    leaves = jax.tree.leaves(hyperparameters)
    if any(is_traced(v) for v in leaves):
        return {**rule.defaults, **canonical(hyperparameters, rule.name, rule.takes)}
    return rule.validate(hyperparameters)


def scale_by_rule(rule: str, *, mu_dtype: Any = None,
                  **hyperparameters: Any) -> optax.GradientTransformationExtraArgs:
    """The direction of rule ``rule``'s step (``lr = 1``), as an optax transformation.

    ``hyperparameters`` take adamkit's names (``betas``, ``eps``, ``eps_mode``, ``amsgrad``,
    ``momentum``, ...; Keras's ``beta_1``, ``epsilon`` too). ``mu_dtype`` is optax's: the dtype the
    state's ``mu`` is kept in (``jnp.bfloat16`` halves its memory); the step computes with the
    moment promoted to the gradient's dtype and rounds only the stored copy, as optax does. Chain
    ``optax.scale_by_learning_rate`` (and ``optax.add_decayed_weights`` for weight decay) after it:

    >>> import optax, adamkit.optax as ako
    >>> tx = optax.chain(ako.scale_by_rule("adam", eps_mode="hat", eps=1e-7),
    ...                  optax.scale_by_learning_rate(1e-3))       # Keras's Adam, in optax
    """
    found = rules.get(rule)
    for given in ("lr", "learning_rate", "weight_decay"):
        if given in hyperparameters:
            raise HyperparameterError(
                f"scale_by_rule({rule!r}) sets a direction and takes no {given}; chain "
                "optax.scale_by_learning_rate / optax.add_decayed_weights after it")
    hp = validated(found, {**hyperparameters, "lr": 1.0})
    mu_dtype = _moment_dtype(found, mu_dtype)
    if not any(is_traced(v) for v in jax.tree.leaves(hp)):
        state_at_init(found, jnp.zeros(()), hp, jnp)  # refuses, now, a state it cannot fix at init
    made: Any = state_type(found)
    fields_of = state_fields(found)

    def pack(count: Any, per_leaf: list[dict], treedef: Any) -> Any:
        fields: dict[str, Any] = {name: None for name in made._fields}
        keys = per_leaf[0] if per_leaf else state_at_init(found, jnp.zeros(()), hp, jnp)
        for key in keys:
            leaves = [s[key] for s in per_leaf]
            if fields_of[key] == "mu" and mu_dtype is not None:
                leaves = [leaf.astype(mu_dtype) for leaf in leaves]
            fields[fields_of[key]] = jax.tree.unflatten(treedef, leaves)
        if "count" in fields:
            fields["count"] = count
        return made(**fields)

    def unpack(state: Any, count: int) -> list[dict]:
        present = {key: jax.tree.leaves(getattr(state, field))
                   for key, field in fields_of.items() if getattr(state, field) is not None}
        return [{key: leaves[i] for key, leaves in present.items()} for i in range(count)]

    def init_fn(params: Any) -> Any:
        leaves, treedef = jax.tree.flatten(params)
        per_leaf = [state_at_init(found, jnp.asarray(p), hp, jnp) for p in leaves]
        return pack(jnp.zeros([], jnp.int32), per_leaf, treedef)

    def update_fn(updates: Any, state: Any, params: Any = None, **extra_args: Any) -> tuple:
        del params, extra_args  # the direction needs neither
        count = optax.safe_increment(state.count) if "count" in state._fields else None
        step = count if count is not None else 1  # SGD ignores the step
        leaves, treedef = jax.tree.flatten(updates)
        directions, per_leaf = [], []
        for grad, leaf_state in zip(leaves, unpack(state, len(leaves)), strict=True):
            moved, new_state = found.update(jnp.zeros_like(grad), grad, leaf_state, step, hp, jnp)
            directions.append(-moved)  # the rule moved a zero parameter by minus the direction
            per_leaf.append(new_state)
        return jax.tree.unflatten(treedef, directions), pack(count, per_leaf, treedef)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _moment_dtype(rule: Rule, mu_dtype: Any) -> Any:
    """``mu_dtype`` as a canonical floating dtype (None: the params' own), for a rule with a
    ``mu``; anything else is a HyperparameterError naming the value and the valid ones."""
    if mu_dtype is None:
        return None
    if "mu" not in state_fields(rule).values():
        raise HyperparameterError(f"scale_by_rule({rule.name!r}): invalid mu_dtype {mu_dtype!r}; "
                                  f"valid: None ({rule.name} keeps no mu)")
    try:
        dtype = jax.dtypes.canonicalize_dtype(mu_dtype)
    except TypeError:
        dtype = None
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        raise HyperparameterError(f"scale_by_rule({rule.name!r}): invalid mu_dtype {mu_dtype!r}; "
                                  "valid: None or a floating dtype (jnp.bfloat16, jnp.float16, "
                                  "jnp.float32)")
    return dtype
