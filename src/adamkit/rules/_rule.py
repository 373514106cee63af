"""What a rule is: its math (``init``, ``update``), the hyperparameters it takes, its state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adamkit.errors import HyperparameterError
from adamkit.rules.hyperparameters import HYPERPARAMETERS, canonical, validate


@dataclass(frozen=True)
class Rule:
    """One optimizer's update, written once.

    ``init(param, hp, xp) -> state`` makes the state arrays (named as torch.optim names them, so the
    torch front end's state_dict is torch's). ``update(param, grad, state, step, hp, xp) -> (param,
    state)`` returns the new param and state. ``step`` is the count including this update (1 on
    the first; a traced integer under ``jax.jit``). ``xp`` is the array namespace (``numpy``,
    ``torch``, ``jax.numpy`` or ``keras.ops``), under which ``update`` is pure: it returns new
    arrays and never writes into its inputs. The one exception is the in-place torch namespace,
    ``xp = rules._numerics.in_place(torch)``, which a caller that owns the arrays passes to save the
    copies: ``update`` then writes its results into the ``param`` and ``state`` arrays it is given
    (and returns them where it did), never into ``grad`` or ``hp``. Hyperparameters may be arrays
    that broadcast against ``param`` (many configurations at once).

    ``takes`` names the hyperparameters (declared in :mod:`adamkit.rules.hyperparameters`);
    ``defaults`` overrides the declared defaults where this rule differs (torch's, rule by rule).
    ``state_keys`` are the arrays ``init``/``update`` may keep. ``check`` tests combinations that
    no single declaration can (SGD's Nesterov needs momentum). ``choices`` narrows a declared
    choice to the values that mean something for this rule (RMSprop's ``eps_mode``: paper, root).
    ``internals``, where set, reads the
    state in the paper's terms (see :func:`adamkit.rules.adam.internals`). ``elementwise`` is False
    for a rule that reads a whole tensor at once (a norm, a mean, a matrix product: LAMB's trust
    ratio, Adafactor's factored moments, Muon's orthogonalization): its hyperparameters cannot be
    arrays over a batch of configurations stacked in one tensor (the lab runs those one by one).
    """

    name: str
    init: Callable[..., dict]
    update: Callable[..., tuple]
    takes: tuple[str, ...]
    overrides: Mapping[str, Any] = field(default_factory=dict)
    state_keys: tuple[str, ...] = ()
    counts_steps: bool = True  # torch's SGD keeps no 'step' in its state
    check: Callable[[str, dict], None] | None = None
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    internals: Callable[..., dict] | None = None
    elementwise: bool = True

    @property
    def defaults(self) -> dict[str, Any]:
        """Every hyperparameter this rule takes, with its default."""
        return {k: self.overrides.get(k, HYPERPARAMETERS[k].default) for k in self.takes}

    def validate(self, hp: Mapping[str, Any] | None = None, **more: Any) -> dict[str, Any]:
        """Defaults filled in, every value checked: a ValueError names the argument and its range.

        Other libraries' names (``learning_rate``, ``beta_1``, ``epsilon``) are accepted.
        """
        given = canonical({**(hp or {}), **more}, self.name, self.takes)
        for name, allowed in self.choices.items():
            if name in given and given[name] not in allowed:
                raise HyperparameterError(f"{self.name}: invalid {name} {given[name]!r}; "
                                          f"valid: {', '.join(allowed)}")
        out = validate(self.name, self.takes, self.defaults, given)
        if self.check is not None:
            self.check(self.name, out)
        return out
