"""The optax functions, from the registry: each optimizer's ``optax`` spelling, one function each.

A declaration's ``Api.signature`` is optax's argument list. Where the optimizer composes as
``optax.adamw`` does, the function is built here: the rule's direction (:func:`scale_by_rule`, the
arguments by optax's names, which the vocabulary knows as aliases: ``b1``, ``b2``, ``eps``), then
``optax.add_decayed_weights(weight_decay, mask)`` where the signature has ``weight_decay``, then
``optax.scale_by_learning_rate(learning_rate)``; ``mu_dtype`` goes to the direction. Where optax's
function does more (adam's ``nesterov``, rmsprop's ``eps_in_sqrt``, a trust ratio), the
declaration's ``base`` names the hand-written function, which says how it maps onto the rule.
"""

from __future__ import annotations

import inspect
from typing import Any

import optax

from adamkit.optax._transform import scale_by_rule
from adamkit.rules import registry
from adamkit.rules._declaration import Declaration

# optax's own arguments: the chain's, not the rule's
CHAIN_ARGUMENTS = ("learning_rate", "weight_decay", "mask", "mu_dtype")


def build(declaration: Declaration) -> Any:
    """The ``adamkit.optax`` function of ``declaration`` (its ``optax`` Api)."""
    api = declaration.optax
    assert api is not None
    if api.base is not None:
        return api.resolve_base()
    signature = inspect.Signature(api.parameters())
    rule = declaration.rule.name

    def function(*args: Any, **kwargs: Any) -> optax.GradientTransformationExtraArgs:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{api.name}(): {exc}") from None
        bound.apply_defaults()
        given = dict(bound.arguments)
        chain = {k: given.pop(k) for k in CHAIN_ARGUMENTS if k in given}
        hp = api.translate(given) if api.translate else given
        parts = [scale_by_rule(rule, mu_dtype=chain.get("mu_dtype"), **hp, **api.fixed)]
        if "weight_decay" in chain:
            parts.append(optax.add_decayed_weights(chain["weight_decay"], chain.get("mask")))
        parts.append(optax.scale_by_learning_rate(chain["learning_rate"]))
        return optax.chain(*parts)

    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__name__ = function.__qualname__ = api.name
    function.__module__ = "adamkit.optax"
    peer = f"as ``{api.peer}``" if api.peer else "with optax's conventions (optax has none)"
    function.__doc__ = (f"{declaration.doc}, {peer}: rule ``{rule}`` (:func:`adamkit.rules.get`).\n\n"
                        f"Arguments: ``{signature}``.")
    return function


def function_named(name: str) -> Any:
    """The function called ``name`` (``"adam"``); an AttributeError when none is declared so."""
    return registry.built("optax", name, build)
