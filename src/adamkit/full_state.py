"""A rule's state with every array it will ever hold, made at init: what Keras and jax.jit need.

torch.optim (and so the rules) create some state on the first step: SGD's momentum buffer is the
first gradient. A Keras optimizer must create its variables in ``build`` and a jitted optax update
must return a state of the same structure as it was given, so the Keras and optax front ends ask
for the whole state up front. The arrays a rule would create later start at zero, which gives
torch's first step exactly when the first step is ``buf = momentum*0 + (1-dampening)*g`` with
``dampening = 0`` (the only value Keras's and optax's SGD know); other dampening is refused.
"""

from __future__ import annotations

from typing import Any

from adamkit.errors import HyperparameterError
from adamkit.rules import Rule
from adamkit.rules._numerics import is_static


def state_at_init(rule: Rule, param: Any, hp: dict, xp: Any) -> dict:
    """``rule.init``'s state plus, as zeros, every array ``rule.update`` adds on its first step."""
    state = rule.init(param, hp, xp)
    # One probe update on a zero gradient shows which arrays the update keeps (cheap, and under
    # jit the unused arithmetic is dropped by the compiler).
    kept = rule.update(param, xp.zeros_like(param), state, 1, hp, xp)[1]
    created_later = [key for key in kept if key not in state]
    if created_later and not is_static(hp.get("dampening", 0), 0):
        raise HyperparameterError(
            f"{rule.name}: invalid dampening {hp['dampening']!r} here: torch's first step "
            f"(buffer = gradient) needs a state made on that step; valid: 0")
    return {**state, **{key: xp.zeros_like(kept[key]) for key in created_later}}
