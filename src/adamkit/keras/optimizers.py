"""The Keras classes, built from the registry: each optimizer's ``keras`` spelling, one class each.

The only change to a Keras program is the import. A declaration's ``Api.signature`` is Keras's
argument list (``learning_rate=0.001, beta_1=0.9, ...``, by Keras's names, which the vocabulary
knows as aliases); the class built here takes exactly those, then ``schedule=`` (an
:mod:`adamkit.schedules` factor), ``weight_decay_mode=`` (``"decoupled"``, Keras's, by default) and
Keras's base options (``weight_decay``, ``clipnorm``, ``use_ema``, ...). Conventions, named where they
differ from ``keras.optimizers`` (each declaration's ``Api`` says which settings it fixes):

- ``Adam``/``AdamW``: ``eps_mode="hat"`` (default) is Keras's "epsilon hat", so they equal Keras's
  to float32 rounding; ``eps_mode="paper"`` is Algorithm 1 and torch.optim.Adam.
- ``Nadam``: Keras's momentum schedule ``μ_t = β1(1 - 0.5·0.96^t)`` (torch's with
  ``momentum_decay=1``) and ε added to ``sqrt(v̂)``, as Keras: equal to Keras's.
- ``SGD``: torch's form ``buf = momentum·buf + g; param -= lr·buf``; Keras keeps ``lr`` inside
  the buffer. Equal for a constant learning rate; they differ while a schedule changes it.
- ``RMSprop``, ``Adagrad``: ``eps_mode="root"`` (default) is Keras's ``sqrt(v + ε)``, so they
  equal Keras's; ``eps_mode="paper"`` is torch's ``sqrt(v) + ε``.
- ``Adamax``: ``eps_mode="hat"`` (default) is Keras's ``m / (u + ε)``, ε outside the max;
  ``eps_mode="paper"`` is torch's ``max(β2·u, |g| + ε)``.
- ``RAdam`` (Keras has none): torch's RAdam, ε in the "hat" place as torch has it.

``Api.traits["subclass_of"]`` makes one class derive from another (Keras's AdamW is an Adam);
``Api.base`` names a mixin placed first in the bases.
"""

from __future__ import annotations

import inspect
from typing import Any

import keras

from adamkit.keras._base import RuleOptimizer
from adamkit.rules import registry
from adamkit.rules._declaration import Api, Declaration

# keras.optimizers.Optimizer's own arguments: they go to Keras's base class, not to the rule.
BASE_OPTIONS = ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
                "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                "gradient_accumulation_steps", "name")

_register = keras.saving.register_keras_serializable(package="adamkit")


class DeclaredOptimizer(RuleOptimizer):
    """A class built from a declaration: binds Keras's signature and hands the rule its settings."""

    api: Api
    signature: inspect.Signature

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{type(self).__name__}.__init__(): {exc}") from None
        bound.apply_defaults()
        given = dict(bound.arguments)
        options = given.pop("options")
        options.update({k: given.pop(k) for k in BASE_OPTIONS if k in given})
        learning_rate = given.pop("learning_rate")
        for own in ("schedule", "weight_decay_mode"):
            options[own] = given.pop(own)
        arguments = self.api.translate(given) if self.api.translate else given
        RuleOptimizer.__init__(self, learning_rate, arguments, fixed=dict(self.api.fixed), **options)


def signature_of(api: Api) -> inspect.Signature:
    """Keras's parameters, then ``schedule``, ``weight_decay_mode`` and Keras's base options."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    own = api.parameters()
    names = {p.name for p in own}
    extra = [inspect.Parameter(n, keyword, default=d)
             for n, d in (("schedule", None), ("weight_decay_mode", "decoupled")) if n not in names]
    return inspect.Signature([*own, *extra, inspect.Parameter("options", inspect.Parameter.VAR_KEYWORD)])


def build(declaration: Declaration) -> type[RuleOptimizer]:
    """The ``adamkit.keras`` class of ``declaration`` (its ``keras`` Api), serializable by Keras."""
    api = declaration.keras
    assert api is not None
    parent: type = DeclaredOptimizer
    if "subclass_of" in api.traits:
        parent = class_named(api.traits["subclass_of"])
    bases = (parent,) if api.base is None else (api.resolve_base(), parent)
    signature = signature_of(api)
    peer = f"as ``{api.peer}``" if api.peer else "with Keras's names (Keras has none)"
    doc = (f"{declaration.doc}, {peer}: rule ``{declaration.rule.name}`` (:func:`adamkit.rules.get`).\n\n"
           f"Arguments: ``{signature}``.")
    cls = type(api.name, bases, {"rule": declaration.rule, "api": api, "signature": signature,
                                 "__doc__": doc, "__module__": "adamkit.keras"})
    self_ = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        DeclaredOptimizer.__init__(self, *args, **kwargs)

    __init__.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self_, *signature.parameters.values()])
    __init__.__qualname__ = f"{api.name}.__init__"
    cls.__init__ = __init__  # type: ignore[misc]
    return _register(cls)


def class_named(name: str) -> type[RuleOptimizer]:
    """The class called ``name`` (``"Adam"``), built once per declaration; an AttributeError when
    no declaration spells its Keras class so."""
    return registry.built("keras", name, build)  # type: ignore[no-any-return]
