"""Each optimizer's update, written once, as a pure function over an array namespace.

- :mod:`~adamkit.rules.hyperparameters`: every hyperparameter declared once (``HYPERPARAMETERS``);
- ``get(name)`` returns a :class:`Rule`; its ``update(param, grad, state, step, hp, xp)`` is the
  definition every front end and every fused kernel is tested against. ``xp`` is ``numpy`` (the
  float64 reference; hyperparameters may be arrays broadcast over a batch of configurations),
  ``torch`` (bitwise torch.optim), ``jax.numpy`` (pure, under ``jit``) or ``keras.ops``;
- :mod:`~adamkit.rules.variants`: the named optimizers (momentum, nesterov, amsgrad, ...) as
  (rule, fixed settings);
- :func:`adam_step_scalars`: Adam's per-step scalars, shared by the rule and the fused kernels.

State arrays carry torch.optim's names (``exp_avg`` is the paper's m, ``exp_avg_sq`` its v), so
the torch front end's state_dict is torch's own.
"""

from __future__ import annotations

from collections.abc import Callable

from adamkit.errors import choice
from adamkit.rules import adam
from adamkit.rules._numerics import in_place_updates, weight_decay_terms
from adamkit.rules._rule import Rule
from adamkit.rules.adagrad import ADAGRAD
from adamkit.rules.adam import ADAM, ADAMW
from adamkit.rules.adamax import ADAMAX
from adamkit.rules.hyperparameters import (
    EPS_MODES,
    HYPERPARAMETERS,
    WEIGHT_DECAY_MODES,
    Hyperparameter,
    Range,
)
from adamkit.rules.nadam import NADAM
from adamkit.rules.radam import RADAM
from adamkit.rules.rmsprop import RMSPROP
from adamkit.rules.sgd import SGD
from adamkit.rules.variants import VARIANTS, Variant, variant

RULES: dict[str, Rule] = {r.name: r for r in (ADAM, ADAMW, ADAMAX, NADAM, RADAM, SGD, RMSPROP, ADAGRAD)}
# Rules whose state adam_internals reads (m̂, v̂, effective step): those that declare internals.
ADAM_FAMILY = tuple(name for name, r in RULES.items() if r.internals is not None)

adam_internals = adam.internals
adam_step_scalars = adam.step_scalars


def internals_of(rule: Rule, owner: str) -> Callable[..., dict]:
    """``rule.internals``, the reader every front end's ``internals()`` calls; a ValueError naming
    ``owner`` for a rule without Adam moments."""
    if rule.internals is None:
        raise ValueError(f"{owner}.internals(): rule {rule.name!r} keeps no Adam moments; "
                         f"internals are defined for {', '.join(ADAM_FAMILY)}")
    return rule.internals


def get(name: str) -> Rule:
    """The rule called ``name`` (case-insensitive); a ValueError lists the valid names."""
    try:
        return RULES[name.lower()]
    except KeyError:
        raise choice("optimizer", name, RULES) from None


__all__ = ["RULES", "ADAM_FAMILY", "EPS_MODES", "WEIGHT_DECAY_MODES", "HYPERPARAMETERS", "VARIANTS",
           "Hyperparameter", "Range", "Rule", "Variant", "get", "internals_of", "variant", "adam_internals",
           "adam_step_scalars", "weight_decay_terms", "in_place_updates"]
