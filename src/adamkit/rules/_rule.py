"""What a rule is, and how its hyperparameters are checked (once, for every front end)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

WEIGHT_DECAY_MODES = ("l2", "decoupled", "independent")
EPS_MODES = ("paper", "hat", "root")


@dataclass(frozen=True)
class Range:
    """A numeric hyperparameter's valid interval; arrays are checked element by element."""

    low: float = 0.0
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: Any) -> bool:
        v = np.asarray(value, dtype=np.float64)  # works for floats, 0-dim tensors, arrays
        ok_low = v > self.low if self.low_open else v >= self.low
        ok_high = v < self.high if self.high_open else v <= self.high
        return bool(np.all(ok_low & ok_high))

    def __str__(self) -> str:
        lo = ("(" if self.low_open else "[") + f"{self.low:g}"
        hi = ("inf)" if self.high == math.inf else f"{self.high:g}" + (")" if self.high_open else "]"))
        return f"{lo}, {hi}"


UNIT_OPEN_HIGH = Range(0.0, 1.0, high_open=True)  # betas, alpha, momentum: 0 <= b < 1
NONNEG = Range()


@dataclass(frozen=True)
class Rule:
    """One optimizer's update, written once.

    ``init(param, hp, xp) -> state`` makes the state arrays (named as torch.optim names them, so the
    torch front end's state_dict is torch's). ``update(param, grad, state, step, hp, xp) -> (param,
    state)`` is pure: it returns new arrays and never writes into its inputs. ``step`` is the count
    including this update (1 on the first). ``xp`` is the array namespace (``numpy`` or ``torch``);
    hyperparameters may be arrays that broadcast against ``param`` (many configurations at once).
    """

    name: str
    init: Callable[..., dict]
    update: Callable[..., tuple]
    defaults: Mapping[str, Any]
    ranges: Mapping[str, Range] = field(default_factory=dict)
    counts_steps: bool = True  # torch's SGD keeps no 'step' in its state

    def validate(self, hp: Mapping[str, Any] | None = None, **more: Any) -> dict[str, Any]:
        """Defaults filled in, every value checked: a ValueError names the argument and its range."""
        given = {**(hp or {}), **more}
        unknown = set(given) - set(self.defaults)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown hyperparameter(s) {', '.join(sorted(unknown))}; "
                f"valid: {', '.join(sorted(self.defaults))}"
            )
        out = {**self.defaults, **given}
        _translate_torch_decoupled_flag(out, given)
        for name, valid in self.ranges.items():
            value = out[name]
            values = value if name == "betas" else (value,)
            if name == "betas" and len(values) != 2:
                raise ValueError(f"{self.name}: betas must be a pair (beta1, beta2), got {value!r}")
            for i, v in enumerate(values):
                label = f"betas[{i}]" if name == "betas" else name
                if not valid.contains(v):
                    raise ValueError(f"{self.name}: invalid {label} {_show(v)}; valid range {valid}")
        if "eps_mode" in out and out["eps_mode"] not in EPS_MODES:
            raise ValueError(
                f"{self.name}: invalid eps_mode {out['eps_mode']!r}; valid: {', '.join(EPS_MODES)}"
            )
        if out.get("weight_decay_mode") not in WEIGHT_DECAY_MODES:
            raise ValueError(
                f"{self.name}: invalid weight_decay_mode {out.get('weight_decay_mode')!r}; "
                f"valid: {', '.join(WEIGHT_DECAY_MODES)}"
            )
        if out.get("nesterov") and (
            np.any(np.asarray(out["momentum"]) <= 0) or np.any(np.asarray(out["dampening"]) != 0)
        ):
            raise ValueError(f"{self.name}: nesterov=True requires momentum > 0 and dampening = 0")
        return out


def _translate_torch_decoupled_flag(out: dict, given: Mapping[str, Any]) -> None:
    """torch spells AdamW-style decay ``decoupled_weight_decay=True``; adamkit names the mode.

    Both spellings are accepted; they are kept consistent so either reads correctly afterwards.
    """
    if "decoupled_weight_decay" not in out:
        return
    if given.get("decoupled_weight_decay") and "weight_decay_mode" not in given:
        out["weight_decay_mode"] = "decoupled"
    elif given.get("decoupled_weight_decay") and out["weight_decay_mode"] != "decoupled":
        raise ValueError(
            f"decoupled_weight_decay=True contradicts weight_decay_mode="
            f"{out['weight_decay_mode']!r}; pass one of them"
        )
    out["decoupled_weight_decay"] = out["weight_decay_mode"] == "decoupled"


def _show(v: Any) -> str:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        return f"{float(a):g}"
    return f"{np.array2string(a, threshold=6)}"
