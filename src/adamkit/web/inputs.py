"""Reading the page's JSON requests: types, limits, and the sliders' declarations.

Every value a request carries is checked here before the lab sees it: numbers must be real, finite
JSON numbers (never strings, booleans or NaN), sizes must stay under ``LIMITS``. A value of the
wrong kind or out of range raises :class:`BadRequest` (HTTP 400) with adamkit's one-line message
naming the value and what is valid; a request for too much work raises :class:`TooLarge` (413).
Hyperparameter ranges are not repeated here: the lab validates them against
:mod:`adamkit.rules.hyperparameters`, and the sliders are made from the same declarations
(:func:`slider`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from adamkit import rules
from adamkit.errors import UsageError
from adamkit.rules.hyperparameters import HYPERPARAMETERS, Hyperparameter

# Why these numbers: a run of 12 optimizers x 10,000 steps answers in about a second; the sweep
# limit is 128 x 128 cells x 2,000 steps, about a second on the fused path; beyond them one
# request would hold a core long enough to be felt by every other user of a shared machine.
LIMITS = {
    "body_bytes": 64 * 1024,
    "steps": 10_000,
    "optimizers": 12,
    "sweep_axis": 128,
    "sweep_work": 128 * 128 * 2_000,  # configurations x steps
    "surface_n": 400,
    "expression_chars": 300,  # the expression parser's own MAX_LENGTH
    "tune_budget": 256,
    "export_steps": 2_000,
}

# The hyperparameters the page offers as sliders or pickers, in the order shown. Booleans that make
# a variant (amsgrad, nesterov) are fixed by the variant's name; momentum appears only for the
# variants that are momentum methods (plain SGD stays plain), as the tuner's search space does.
SLIDERS = ("lr", "beta1", "beta2", "eps", "momentum", "alpha", "weight_decay", "eps_mode",
           "weight_decay_mode")


class BadRequest(UsageError):
    """Malformed or invalid input: HTTP 400 with this one-line message."""

    status = 400


class TooLarge(UsageError):
    """A request over one of ``LIMITS``: HTTP 413 with this one-line message."""

    status = 413


def parse_body(raw: bytes) -> dict:
    """The request's JSON object. NaN/Infinity literals are refused (JSON has no such numbers)."""
    if len(raw) > LIMITS["body_bytes"]:
        raise TooLarge(f"request body of {len(raw)} bytes is over the limit of "
                       f"{LIMITS['body_bytes']} bytes")
    try:
        body = json.loads(raw or b"{}", parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, 5,000-digit ints
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise BadRequest(f"request body is not valid JSON: {reason}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"request body must be a JSON object, got {type(body).__name__}")
    return body


def only(body: dict, allowed: set[str], what: str) -> None:
    """Refuse keys a request does not take (a misspelt key would otherwise be silently ignored)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"{what} takes no {', '.join(map(repr, unknown))}; "
                         f"valid: {', '.join(sorted(allowed))}")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def number(value: Any, what: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite JSON number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{what} must be a number, got {_show(value)}")
    try:
        v = float(value)
    except OverflowError:  # an integer too large for a float
        v = math.inf
    if not math.isfinite(v) or not low <= v <= high:
        raise BadRequest(f"invalid {what} {_show(value)}; valid range [{low:g}, {high:g}]")
    return v


def integer(value: Any, what: str, low: int, high: int, limit: str | None = None) -> int:
    """An integer in [low, high]; above ``high`` is a 413 when ``limit`` names a size limit."""
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or (isinstance(value, float) and not (math.isfinite(value) and value.is_integer()))):
        raise BadRequest(f"{what} must be a whole number, got {_show(value)}")
    if limit and value > high:
        raise TooLarge(f"{what} {_show(value)} is over the limit of {high} ({limit})")
    if not low <= value <= high:
        raise BadRequest(f"invalid {what} {_show(value)}; valid range [{low}, {high}]")
    return int(value)


def text(value: Any, what: str, max_chars: int) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{what} must be a string, got {_show(value)}")
    if len(value) > max_chars:
        raise TooLarge(f"{what} of {len(value)} characters is over the limit of {max_chars}")
    return value


def point(value: Any, what: str, dim: int) -> list[float]:
    if not isinstance(value, list) or len(value) != dim:
        raise BadRequest(f"{what} must be a list of {dim} numbers, got {_show(value)}")
    return [number(v, f"{what}[{i}]", -1e6, 1e6) for i, v in enumerate(value)]


def optimizer_hyperparameters(name: Any, given: Any, what: str) -> tuple[str, dict]:
    """(optimizer name, hyperparameters) from the page's ``{"name": ..., "hyperparameters": {...}}``.

    Only the sliders this optimizer shows are accepted; each is type-checked here and
    range-checked by the lab against its declaration.
    """
    if not isinstance(name, str):
        raise BadRequest(f"{what}.name must be a string, got {_show(name)}")
    name = rules.variant(name).name  # unknown names: UsageError listing the valid ones
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise BadRequest(f"{what}.hyperparameters must be an object, got {_show(given)}")
    offered = sliders(name)
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in offered:
            raise BadRequest(f"{what}: {name} has no hyperparameter {key!r}; "
                             f"valid: {', '.join(offered)}")
        h = HYPERPARAMETERS[key]
        if h.kind == "choice":
            if value not in h.choices:
                raise BadRequest(f"{what}: invalid {key} {_show(value)}; valid: {', '.join(h.choices)}")
            out[key] = value
        else:  # the declared range is checked by the lab, with adamkit's own message
            out[key] = number(value, f"{what}.{key}")
    return name, out


def sliders(optimizer: str) -> list[str]:
    """The hyperparameters the page shows for ``optimizer`` (see ``SLIDERS``)."""
    v = rules.variant(optimizer)
    takes = set(rules.get(v.rule).takes)
    if "betas" in takes:
        takes |= {"beta1", "beta2"}
    if "momentum" not in v.settings:
        takes.discard("momentum")
    return [name for name in SLIDERS if name in takes]


def slider(h: Hyperparameter) -> dict:
    """A hyperparameter's declaration as the page needs it to build a slider or a picker."""
    out: dict[str, Any] = {"name": h.name, "kind": h.kind, "doc": h.doc, "scale": h.scale}
    if h.kind == "choice":
        out["choices"] = list(h.choices)
    else:
        r = h.range
        out.update(low=r.low, high=None if math.isinf(r.high) else r.high,
                   low_open=r.low_open, high_open=r.high_open, search=list(h.search or (0, 1)))
    return out


def optimizer_defaults(optimizer: str) -> dict:
    """The variant's settings over the rule's (torch's) defaults, for its sliders (lr excluded:
    it depends on the function, see ``functions``)."""
    v = rules.variant(optimizer)
    d = {**rules.get(v.rule).defaults, **v.settings}
    if "betas" in d:
        d["beta1"], d["beta2"] = d.pop("betas")
    return {k: d[k] for k in sliders(optimizer) if k != "lr"}


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
