"""Each optimizer's update, written once, as a pure function over an array namespace.

``get(name)`` returns a :class:`Rule`; its ``update(param, grad, state, step, hp, xp)`` is the
definition every front end and every fused kernel is tested against. ``xp`` is ``numpy`` (the
float64 reference, hyperparameters may be arrays broadcast over a batch of configurations) or
``torch``. State arrays carry torch.optim's names (``exp_avg`` is the paper's m, ``exp_avg_sq`` its
v), so the torch front end's state_dict is torch's own.
"""

from __future__ import annotations

from adamkit.errors import choice
from adamkit.rules import adam
from adamkit.rules._rule import EPS_MODES, WEIGHT_DECAY_MODES, Range, Rule
from adamkit.rules.adagrad import ADAGRAD
from adamkit.rules.adam import ADAM, ADAMW
from adamkit.rules.adamax import ADAMAX
from adamkit.rules.nadam import NADAM
from adamkit.rules.radam import RADAM
from adamkit.rules.rmsprop import RMSPROP
from adamkit.rules.sgd import SGD

RULES: dict[str, Rule] = {r.name: r for r in (ADAM, ADAMW, ADAMAX, NADAM, RADAM, SGD, RMSPROP, ADAGRAD)}
ADAM_FAMILY = ("adam", "adamw")  # rules whose state adam_internals can read

adam_internals = adam.internals


def get(name: str) -> Rule:
    """The rule called ``name`` (case-insensitive); a ValueError lists the valid names."""
    try:
        return RULES[name.lower()]
    except KeyError:
        raise choice("optimizer", name, RULES) from None


__all__ = ["RULES", "ADAM_FAMILY", "EPS_MODES", "WEIGHT_DECAY_MODES", "Range", "Rule", "get",
           "adam_internals"]
