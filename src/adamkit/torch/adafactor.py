"""torch.optim.Adafactor's ``eps`` pair in the param groups, where the rule takes ``eps1`` and ``eps2``.

torch's Adafactor keeps ``group["eps"] = (eps1, eps2)`` (``eps1=None``: the param dtype's machine
epsilon). adamkit's vocabulary declares the two as ``eps1`` and ``eps2`` (Keras's ``epsilon_1``,
``epsilon_2``), since ε1 and ε2 do different things; the class takes both spellings. This mixin,
named as the torch Api's ``base``, keeps torch's pair in ``defaults`` and every group (so a
checkpoint loads into torch.optim's class and back, and a group given with ``eps=(...)`` works),
and hands the rule the two numbers.
"""

from __future__ import annotations

from typing import Any

from adamkit.errors import HyperparameterError
from adamkit.rules.hyperparameters import HYPERPARAMETERS

PARTS = ("eps1", "eps2")


def split_eps(owner: str, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` with torch's ``eps=(eps1, eps2)`` as the rule's ``eps1``, ``eps2``; a one-line
    error for anything but a pair."""
    out = dict(given)
    if "eps" not in out:
        return out
    eps = out.pop("eps")
    if not isinstance(eps, tuple | list) or len(eps) != 2:
        raise HyperparameterError(f"{owner}: eps must be a pair (eps1, eps2), eps1 None for the "
                                  f"param dtype's machine epsilon; got {eps!r}")
    out["eps1"], out["eps2"] = eps
    return out


def refuse_complex(owner: str, params: list) -> None:
    """torch's Adafactor and Muon refuse a complex param when they step (its RuntimeError)."""
    if any(p.is_complex() for p in params):
        raise RuntimeError(f"{owner} does not support complex parameters")


def translate(given: dict[str, Any]) -> dict[str, Any]:
    """The torch Api's ``translate``: torch's constructor arguments as the rule's.

    The class takes torch's ``eps`` pair and, keyword-only, the rule's ``eps1`` and ``eps2``
    (Keras's and the vocabulary's names); a part given one way and not the other wins, and the
    two ways giving one part different values is a one-line error."""
    defaults = HYPERPARAMETERS["eps1"].default, HYPERPARAMETERS["eps2"].default
    pair = split_eps("Adafactor", {"eps": given.get("eps", defaults)})
    out = {k: v for k, v in given.items() if k != "eps"}
    for part, default in zip(PARTS, defaults, strict=True):
        own, from_pair = out.get(part, default), pair[part]
        if own != default and from_pair != default and own != from_pair:
            raise HyperparameterError(f"Adafactor: {part}={own!r} contradicts eps={given['eps']!r}; "
                                      "give one of them")
        out[part] = own if own != default else from_pair
    return out


def _join(mapping: dict[str, Any]) -> None:
    if all(p in mapping for p in PARTS):
        mapping["eps"] = tuple(mapping.pop(p) for p in PARTS)


class TorchEpsPair:
    """Mixin for the Adafactor class (see the module doc)."""

    defaults: dict[str, Any]
    param_groups: list[dict[str, Any]]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        given = split_eps("Adafactor", param_group)
        if "eps" in self.defaults:  # the defaults hold torch's pair from the first group on
            for part, value in zip(PARTS, self.defaults["eps"], strict=True):
                given.setdefault(part, value)
        super().add_param_group(given)  # type: ignore[misc]
        _join(self.param_groups[-1])
        _join(self.defaults)

    def hyperparameters(self, group: dict[str, Any]) -> dict[str, Any]:
        return super().hyperparameters(split_eps("Adafactor", group))  # type: ignore[misc]

    def _step_group(self, group: dict, params: list, grads: list) -> None:
        refuse_complex("Adafactor", params)
        super()._step_group(group, params, grads)  # type: ignore[misc]

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)  # type: ignore[misc]
        _join(self.defaults)
        for group in self.param_groups:
            if "eps" in group:  # torch's pair wins over parts filled in from the defaults
                for part in PARTS:
                    group.pop(part, None)
            _join(group)
