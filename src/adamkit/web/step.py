"""One update of one optimizer, taken apart: what the page's step-through mode shows.

The source documents write Adam's update as a sequence (g, then m, then v, then m̂ and v̂, then the
step); this module gives the numbers of that sequence for the point a race reaches before step
``t``, computed by adamkit's own code only:

- the path to the point is the race's loop (``adamkit.numpy``'s optimizer for the variant, driven
  with the test function's gradient on a (1, dim) batch, as :func:`adamkit.lab.engine.run` drives
  it), so the point is the race's point, bit for bit (``tests/web/test_step_through.py`` checks);
- the update itself is ``rule.update`` (through that optimizer), and the state before and after
  are its state arrays, whatever keys the rule keeps: a rule added to :mod:`adamkit.rules` is
  shown without a line here;
- for the Adam family (rules that declare ``internals``), m̂, v̂, the denominator and the step per
  coordinate are ``rules.adam_internals`` of the state after the step, the bias corrections
  ``rules.adam_step_scalars``; nothing is re-derived here except the share of ε in the divisor,
  ``1 - sqrt(v̂)/denominator``, which asks only how much of it is ε.

Each request replays ``t - 1`` steps (at most ``LIMITS["steps"]``; about 0.1 s for 10,000 steps of
Adam), so the server keeps no state between requests.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from adamkit import numpy as ak_numpy
from adamkit import rules
from adamkit.lab.engine import lab_lr, matrix_note
from adamkit.rules._numerics import prepare
from adamkit.web import api, inputs
from adamkit.web.inputs import LIMITS, BadRequest

# where ε sits in Adam's divisor, per eps_mode (see adamkit.rules.adam.Denominator)
DENOMINATORS = {
    "paper": "√v̂ₜ + ε",
    "hat": "(√vₜ + ε) / √(1 − β₂ᵗ)",
    "root": "√(v̂ₜ + ε)",
}


def step(body: dict) -> dict:
    """Step ``step`` (1 = the first update, at most ``steps``) of ``optimizer`` on the race's
    function from its start.

    Returns the point before and after, f there, the gradient, every state array before and after
    (per coordinate, or one number for a per-step scalar such as NAdam's ``mu_product``), the
    rule's formula (its module's first literal block), and for the Adam family ``adam``: the
    seeds' sequence with its numbers.
    """
    inputs.only(body, {"function", "start", "steps", "optimizer", "step"}, "step")
    fn = api.function(body)
    start = fn.start if body.get("start") is None else inputs.point(body["start"], "start", fn.dim)
    # the race's length, when given, bounds the step (the page sends its race's setup as it is)
    steps = inputs.integer(body.get("steps", LIMITS["steps"]), "steps", 1, LIMITS["steps"], "steps")
    t = inputs.integer(body.get("step", 1), "step", 1, steps,
                       "steps" if steps == LIMITS["steps"] else None)
    given = body.get("optimizer")
    if not isinstance(given, dict):
        raise BadRequest("optimizer must be an object like {\"name\": \"adam\", \"hyperparameters\": {...}}")
    name, hp = inputs.optimizer_hyperparameters(given.get("name"), given.get("hyperparameters"),
                                                "optimizer")
    v = rules.variant(name)
    if v.shape != "any":  # Adafactor, Muon: a test function's point is no matrix
        raise BadRequest(matrix_note(name))
    rule = rules.get(v.rule)
    settings: dict[str, Any] = {**v.settings, **hp}
    settings.setdefault("lr", lab_lr(fn, name))  # the race's default, when the page sends none
    if "beta1" in settings or "beta2" in settings:
        b1, b2 = rule.defaults["betas"]
        settings["betas"] = (settings.pop("beta1", b1), settings.pop("beta2", b2))
    opt = ak_numpy.for_rule(rule.name)(**settings)  # validates: adamkit's one-line errors

    params = np.asarray(start, dtype=np.float64).reshape(1, fn.dim).copy()
    with np.errstate(all="ignore"):  # a diverging path overflows on its way; reported below
        for _ in range(t - 1):
            params = opt.update(params, fn.grad(params))
            if not np.isfinite(params).all():
                break
        if not np.isfinite(params).all():
            raise BadRequest(f"step {t} comes after the path diverged at step {opt.step_count}; "
                             f"valid: steps 1 to {opt.step_count}")
        before = _state(opt)
        point = params
        grad = fn.grad(params.copy())
        params = opt.update(params, grad.copy())
        after = _state(opt)
        out: dict[str, Any] = {
            "optimizer": name, "rule": rule.name, "step": t, "dim": fn.dim,
            "hyperparameters": api._jsonable({k: val for k, val in opt.hp.items()}),
            "point": api._finite(point[0]), "value": api._float(fn.value(point)[0]),
            "gradient": api._finite(grad[0]),
            "next_point": api._finite(params[0]), "next_value": api._float(fn.value(params)[0]),
            "change": api._finite(params[0] - point[0]),
            "state_keys": [k for k in dict.fromkeys([*rule.state_keys, *before, *after])
                           if k in before or k in after],
            "state_before": before, "state_after": after,
            "formula": formula(rule),
            "adam": None,
        }
        if rule.internals is not None:
            out["adam"] = _adam(opt, point, grad, before, t)
    return out


def _state(opt) -> dict[str, Any]:
    """The optimizer's state arrays now, as JSON: a (1, dim) array as dim numbers, a scalar as one."""
    state: dict[str, Any] = next(iter(opt.state.values()), {})
    shown = {}
    for key, value in state.items():
        a = np.asarray(value, dtype=np.float64)
        shown[key] = api._finite(a.reshape(-1) if a.size > 1 else a.reshape(-1)[:1])
    return shown


def _adam(opt, point: np.ndarray, grad: np.ndarray, before: dict, t: int) -> dict:
    """The seeds' sequence for Adam at step ``t``, each number from the rule's own functions."""
    hp = opt.hp
    state = next(iter(opt.state.values()))
    s = rules.adam_step_scalars(hp, t)
    inner = rules.adam_internals(state, t, hp, np)
    _, used = prepare(point.copy(), grad.copy(), hp, np)  # sign and L2 weight decay, as the rule
    v = state["max_exp_avg_sq"] if hp["amsgrad"] else state["exp_avg_sq"]
    denominator = hp["lr"] / inner["effective_lr"]
    share = np.clip(1.0 - np.sqrt(inner["v_hat"]) / denominator, 0.0, 1.0)
    beta1, beta2 = hp["betas"]
    zeros = [0.0] * point.shape[1]
    mode = hp["eps_mode"]
    return {
        "beta1": float(beta1), "beta2": float(beta2), "eps": float(hp["eps"]), "lr": float(hp["lr"]),
        "eps_mode": mode, "eps_root": float(hp.get("eps_root", 0.0)), "amsgrad": bool(hp["amsgrad"]),
        "denominator_formula": ("√(v̂ₜ + ε_root) + ε" if mode == "paper" and hp.get("eps_root", 0)
                                else DENOMINATORS[mode]),
        "gradient_used": api._finite(used[0]),  # g after maximize's sign and L2 weight decay
        "m_prev": before.get("exp_avg", zeros), "v_prev": before.get("exp_avg_sq", zeros),
        "m": api._finite(state["exp_avg"][0]), "v": api._finite(state["exp_avg_sq"][0]),
        "v_max": api._finite(state["max_exp_avg_sq"][0]) if hp["amsgrad"] else None,
        "v_used": api._finite(v[0]),
        "bias_correction1": float(s.bias_correction1), "bias_correction2": float(s.bias_correction2),
        "m_hat": api._finite(inner["m_hat"][0]), "v_hat": api._finite(inner["v_hat"][0]),
        "denominator": api._finite(denominator[0]),
        "effective_lr": api._finite(inner["effective_lr"][0]),
        "update": api._finite(-inner["update"][0]),  # the move -lr·m̂/denominator, weight decay apart
        "eps_share": api._finite(share[0]),
        "eps_dominates": [bool(b) for b in np.asarray(inner["eps_dominates"])[0]],
    }


def formula(rule) -> str | None:
    """The rule's update as its module writes it: the first ``::`` literal block of its docstring."""
    doc = sys.modules[rule.update.__module__].__doc__ or ""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith("::"):
            block = []
            for follower in lines[i + 1:]:
                if follower.strip() and not follower.startswith((" ", "\t")):
                    break
                block.append(follower)
            text = "\n".join(block).strip("\n")
            if text.strip():
                indent = min(len(x) - len(x.lstrip()) for x in block if x.strip())
                return "\n".join(x[indent:] for x in text.splitlines())
    return None
