"""Each optimizer's update, written once, as a pure function over an array namespace.

- :mod:`~adamkit.rules.hyperparameters`: every hyperparameter declared once (``HYPERPARAMETERS``);
- ``get(name)`` returns a :class:`Rule`; its ``update(param, grad, state, step, hp, xp)`` is the
  definition every front end and every fused kernel is tested against. ``xp`` is ``numpy`` (the
  float64 reference; hyperparameters may be arrays broadcast over a batch of configurations),
  ``torch`` (bitwise torch.optim), ``jax.numpy`` (pure, under ``jit``) or ``keras.ops``;
- each rule module ends with its ``DECLARATIONS`` (:mod:`adamkit.rules.registry`): the named
  optimizers (momentum, nesterov, amsgrad, ...), each front end's spelling, colour and defaults;
- :func:`adam_step_scalars`: Adam's per-step scalars, shared by the rule and the fused kernels.

State arrays carry torch.optim's names (``exp_avg`` is the paper's m, ``exp_avg_sq`` its v), so
the torch front end's state_dict is torch's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adamkit.rules import adam
from adamkit.rules._declaration import Api, Declaration, Variant
from adamkit.rules._numerics import in_place, weight_decay_terms
from adamkit.rules._rule import Rule
from adamkit.rules.hyperparameters import (
    EPS_MODES,
    HYPERPARAMETERS,
    WEIGHT_DECAY_MODES,
    Hyperparameter,
    Range,
)

adam_internals = adam.internals
adam_step_scalars = adam.step_scalars


def __getattr__(name: str) -> Any:
    """``RULES`` (every rule by name), ``ADAM_FAMILY`` (the rules whose state ``adam_internals``
    reads: those that declare internals) and ``VARIANTS`` (every name people race and tune), read
    from the registry when asked, so an optimizer registered at run time is in them."""
    if name == "RULES":
        return {n: d.rule for n, d in registry.declarations().items()}
    if name == "ADAM_FAMILY":
        return tuple(n for n, d in registry.declarations().items() if d.rule.internals is not None)
    if name == "VARIANTS":
        return registry.variants()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def variant(name: str) -> Variant:
    """The variant called ``name`` (case-insensitive); a UsageError lists the valid names."""
    return registry.variant(name)


def internals_of(rule: Rule, owner: str) -> Callable[..., dict]:
    """``rule.internals``, the reader every front end's ``internals()`` calls; a ValueError naming
    ``owner`` for a rule without Adam moments."""
    if rule.internals is None:
        family = __getattr__("ADAM_FAMILY")
        raise ValueError(f"{owner}.internals(): rule {rule.name!r} keeps no Adam moments; "
                         f"internals are defined for {', '.join(family)}")
    return rule.internals


def get(name: str) -> Rule:
    """The rule called ``name`` (case-insensitive); a ValueError lists the valid names."""
    return registry.declaration(name).rule


# last: the registry's discovery imports the rule modules, which import this package's parts
from adamkit.rules import registry  # noqa: E402

__all__ = ["RULES", "ADAM_FAMILY", "EPS_MODES", "WEIGHT_DECAY_MODES", "HYPERPARAMETERS", "VARIANTS",
           "Hyperparameter", "Range", "Rule", "Variant", "Api", "Declaration", "get", "internals_of",
           "variant", "registry", "adam_internals", "adam_step_scalars", "weight_decay_terms", "in_place"]
