"""NumPy front end: the rules as stateful optimizers, as in the source documents' from-scratch class.

>>> import numpy as np, adamkit.numpy as ak
>>> opt = ak.Adam(lr=0.1)
>>> x = np.array([8.0])
>>> for _ in range(50):
...     x = opt.update(x, 2 * (x - 2))          # minimise (x - 2)**2
>>> round(float(x[0]), 6)
3.703843

``update(params, grads)`` takes an array, a list of arrays or a dict of arrays and returns new ones
of the same structure; the inputs are never modified. Any hyperparameter may be an array that
broadcasts against the params, which runs many configurations at once: with params of shape
``(C, dim)`` and ``lr`` of shape ``(C, 1)``, row ``c`` follows configuration ``c`` exactly.
Computation happens in the params' dtype (use float64 for the reference).

Hyperparameters take torch's names (``lr``, ``betas``, ``eps``) or the ones the source documents
write (Keras's ``learning_rate``, ``beta_1``/``beta1``, ``beta_2``/``beta2``, ``epsilon``):
``Adam(learning_rate=0.01, beta_1=0.8)`` is ``Adam(lr=0.01, betas=(0.8, 0.999))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from adamkit import clipping, rules
from adamkit.errors import UsageError
from adamkit.rules import Rule, registry


class Optimizer:
    """A rule with its state: ``update(params, grads) -> new params``."""

    rule: Rule

    def __init__(
        self,
        *,
        schedule: Callable[[int], float] | None = None,
        clip_value: float | None = None,
        clip_norm: float | None = None,
        clip_global_norm: float | None = None,
        **hyperparameters: Any,
    ) -> None:
        self.hp = self.rule.validate(hyperparameters)
        self.base_lr = self.hp["lr"]
        self.schedule = schedule
        self.clip_options = {
            "clip_value": clip_value, "clip_norm": clip_norm, "clip_global_norm": clip_global_norm
        }
        clipping.validate(self.clip_options)
        self.state: dict[Any, dict] = {}
        self.shapes: dict[Any, tuple] = {}  # the shape of each array the state was made for
        self.step_count = 0

    def update(self, params: Any, grads: Any) -> Any:
        keys, param_list, grad_list = _flatten(params, grads)
        self._check_shapes(keys, param_list)
        grad_list = clipping.clip(grad_list, self.clip_options, np)
        step = self.step_count = self.step_count + 1
        hp = self._hyperparameters(step)
        new_params = []
        for key, p, g in zip(keys, param_list, grad_list, strict=True):
            if key not in self.state:
                self.state[key] = self.rule.init(p, hp, np)
                self.shapes[key] = p.shape
            new_p, self.state[key] = self.rule.update(p, g, self.state[key], step, hp, np)
            new_params.append(new_p)
        return _unflatten(params, keys, new_params)

    def _check_shapes(self, keys: list, arrays: list) -> None:
        """One optimizer, one set of arrays: its state and step count belong to them."""
        for key, p in zip(keys, arrays, strict=True):
            known = self.shapes.get(key)
            if known is not None and known != p.shape:
                where = "params" if key is None else f"params[{key!r}]"
                raise UsageError(
                    f"{type(self).__name__}.update got {where} of shape {p.shape}, but its state "
                    f"is for shape {known}; use one optimizer per array (or pass them together "
                    "as a list or dict)")

    def _hyperparameters(self, step: int) -> dict:
        if self.schedule is None:
            return self.hp
        factor = self.schedule(step - 1)
        return {**self.hp, "lr": self.base_lr * factor, "lr_factor": factor}

    def internals(self, key: Any = None) -> dict:
        """Adam's per-coordinate internals after the last update (see ``rules.adam_internals``)."""
        if not self.state:
            raise ValueError("internals are available after the first update")
        key = next(iter(self.state)) if key is None else key
        hp = self._hyperparameters(self.step_count)
        read = rules.internals_of(self.rule, type(self).__name__)
        return read(self.state[key], self.step_count, hp, np)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.hp.items())
        return f"{type(self).__name__}({shown})"


def _flatten(params: Any, grads: Any) -> tuple[list, list, list]:
    if isinstance(params, dict):
        if not isinstance(grads, dict) or grads.keys() != params.keys():
            raise ValueError("grads must be a dict with the same keys as params")
        keys = list(params)
        return keys, [np.asarray(params[k]) for k in keys], [np.asarray(grads[k]) for k in keys]
    if isinstance(params, list | tuple):
        if not isinstance(grads, list | tuple) or len(grads) != len(params):
            raise ValueError(f"grads must be a list of {len(params)} arrays, like params")
        keys = list(range(len(params)))
        return keys, [np.asarray(p) for p in params], [np.asarray(g) for g in grads]
    p, g = np.asarray(params), np.asarray(grads)
    if p.shape != g.shape:
        raise ValueError(f"grads shape {g.shape} differs from params shape {p.shape}")
    return [None], [p], [g]


def _unflatten(like: Any, keys: list, values: list) -> Any:
    if isinstance(like, dict):
        return dict(zip(keys, values, strict=True))
    if isinstance(like, list | tuple):
        return type(like)(values)
    return values[0]


def _build(declaration: Any) -> type[Optimizer]:
    rule = declaration.rule
    defaults = ", ".join(f"{k}={v!r}" for k, v in rule.defaults.items())
    doc = (f"{declaration.doc} (rule ``{rule.name}``, :func:`adamkit.rules.get`). Hyperparameters by "
           f"keyword, with their defaults: {defaults}.")
    return type(declaration.numpy.name, (Optimizer,), {"rule": rule, "__doc__": doc,
                                                       "__module__": __name__})


def class_named(name: str) -> type[Optimizer]:
    """The class called ``name`` (``"Adam"``), built from its declaration (:mod:`adamkit.rules.registry`,
    its ``numpy`` Api) once; an AttributeError when none is called so."""
    return registry.built("numpy", name, _build)  # type: ignore[no-any-return]


def for_rule(rule: str) -> type[Optimizer]:
    """The class of rule ``rule`` (``"adamw"`` -> ``AdamW``); a UsageError lists the valid ones."""
    return class_named(registry.spelling("numpy", rule))


globals().update({name: class_named(name) for name in registry.api_names("numpy")})


def __getattr__(name: str) -> Any:
    try:
        return class_named(name)  # declared after this module was imported
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


__all__ = ["Optimizer", "for_rule", *registry.api_names("numpy")]
