"""Conformance with torch's own optimizer database: adamkit's class of each name beside torch's.

``optim_db`` (``torch.testing._internal.common_optimizers``, imported from the installed torch, see
tests/torch_optim_db.py) lists, per optimizer, the configurations torch tests (``optim_inputs_func``,
here with torch's global flags ``differentiable`` and ``fused`` added where the optimizer has them,
by torch's own helper) and the inputs that must fail (``optim_error_inputs_func``). Every one runs
on the CPU in float32 and float64:

- a configuration: adamkit and torch step the same params with the same gradients (one param
  without a gradient on one step); the params are bitwise equal on the per-tensor path (the
  engine, ``fused=True``, within float tolerance), and so is ``state_dict()``: the same entries,
  dtypes, shapes, values and group settings (adamkit adds only its own options, ``ADAMKIT_KEYS``).
  Each then continues from the other's checkpoint, still equal;
- an error input: adamkit raises (or warns) the same exception type, with a message that contains
  torch's, word for word (then adamkit's valid range).

What adamkit refuses by design is in ``REFUSED``, the one table of them, with the reason; those
configurations are run too: adamkit must refuse them with its error where torch accepts them.
"""

import copy
import re
import warnings
from dataclasses import dataclass

import pytest
import torch
from tests.torch.torch_optim_db import OptimizerErrorEnum, all_inputs, optim_db

import adamkit.torch as ak

NAMES = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SGD", "RMSprop", "Adagrad", "SparseAdam",
         "Adadelta", "Rprop", "ASGD", "Adafactor", "Muon")
INFOS = {info.name: info for info in optim_db if info.name in NAMES}
DTYPES = {"f32": torch.float32, "f64": torch.float64}
STEPS = 7  # RAdam's rectification starts at step 6 (beta2 = 0.999)
ADAMKIT_KEYS = {"nonfinite", "clip_value", "clip_norm", "clip_global_norm", "weight_decay_mode",
                "eps_mode", "eps_root"}  # adamkit's own options, in param groups beside torch's
# SparseAdam's lazy decoupled weight decay; ``fused`` where torch's class has none (adamkit's kernels)
ADAMKIT_KEYS_OF = {"SparseAdam": {"weight_decay"}, **dict.fromkeys(
    ("Adamax", "NAdam", "RAdam", "RMSprop", "Adadelta", "Rprop", "ASGD"), {"fused"}),
    # the rule's settings torch's class does not have (the Keras and optax readings)
    **{n: {"fused", *getattr(ak, n).rule.takes} for n in ("Adafactor", "Muon")}}


@dataclass(frozen=True)
class Refusal:
    flag: str
    value: object
    optimizers: tuple[str, ...]
    error: type
    match: str
    reason: str


REFUSED = (
    Refusal("capturable", True, NAMES, ValueError, "capturable=True",
            "CUDA graph capture needs the step's scalars on the device; adamkit keeps them on the "
            "host (and torch lists capturable configurations for CUDA only)"),
)
# Not bitwise, by construction (compared within float tolerance), with the reason:
TOLERANCE = {
    "SparseAdam": "adamkit's SparseAdam calls the Adam rule on the touched rows (eps_mode='hat'); "
                  "torch writes the same formulas in another order (old + (1-b)(new-old), "
                  "lr·sqrt(bc2)/bc1 as one scalar), so they agree to rounding, not to the bit",
    "complex": "the rules see a complex param as its real view; torch does some of the step "
               "(weight decay, SGD's momentum) in complex arithmetic, which rounds a product and "
               "a sum apart where the real kernels fuse them: the last bit may differ",
    "differentiable": "with differentiable=True torch's Adam, AdamW and NAdam take another spelling "
                      "of their step (their capturable branch: bias corrections from the float32 "
                      "step tensor and lr folded into the divisor; NAdam's mu_product kept a "
                      "float32 tensor in the step sizes); adamkit runs its one rule, as without "
                      "the flag: the same step to float rounding (the others stay bitwise)",
    "engine": "a group on adamkit's engine (fused=True, or fused=None for a group it takes), "
              "beside torch's for-loop or fused kernels: two spellings of the same step that "
              "agree to float rounding",
}


DIFFERENTIABLE_APART = ("Adam", "AdamW", "NAdam")  # TOLERANCE["differentiable"]
# torch's float32 step scalars there round 1 - 0.999^t to float32 (a relative error of about 6e-5
# at t = 1): float32's tolerance whatever the params' dtype (float64 params seen 4e-7 apart)
FLOAT32_SCALARS = {"rtol": 1.3e-6, "atol": 1e-5}


def refusal(name, kwargs):
    for r in REFUSED:
        if name in r.optimizers and kwargs.get(r.flag) == r.value:
            return r
    return None


def _configs():
    out = []
    for name, info in INFOS.items():
        for short, dtype in DTYPES.items():
            for i, optim_input in enumerate(all_inputs("cpu", dtype, info)):
                r = refusal(name, optim_input.kwargs)
                tag = f" [refused: {r.flag}]" if r else ""
                out.append(pytest.param(name, dtype, optim_input.kwargs,
                                        id=f"{name}-{short}-{i}-{optim_input.desc}{tag}"))
    return out


def _error_inputs():
    out = []
    for name, info in INFOS.items():
        for short, dtype in DTYPES.items():
            for i, error in enumerate(info.optim_error_inputs_func(device="cpu", dtype=dtype)):
                desc = error.optimizer_error_input.desc
                out.append(pytest.param(name, dtype, i, id=f"{name}-{short}-{i}-{desc}"))
    return out


CONFIGS = _configs()
ERROR_INPUTS = _error_inputs()


def test_the_database_lists_every_optimizer_adamkit_has():
    assert set(INFOS) == set(NAMES)
    assert set(NAMES) == {n for n in ak.__all__ if hasattr(torch.optim, n)}
    for r in REFUSED:
        assert r.reason and set(r.optimizers) <= set(NAMES)


# -- configurations ----------------------------------------------------------------------------------


def make_params(name, dtype, real_only):
    g = torch.Generator().manual_seed(0)
    if name == "SparseAdam":
        return [torch.randn(6, 3, generator=g, dtype=dtype).requires_grad_()]
    if name == "Muon":  # matrices only, as torch's Muon takes
        return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in [(3, 2), (2, 4), (3, 3)]]
    params = [torch.randn(3, 2, generator=g, dtype=dtype), torch.randn(2, generator=g, dtype=dtype),
              torch.randn((), generator=g, dtype=dtype)]
    if INFOS[name].supports_complex and not real_only:
        complex_dtype = torch.complex64 if dtype == torch.float32 else torch.complex128
        params.append(torch.randn(2, generator=g, dtype=complex_dtype))
    return [p.requires_grad_() for p in params]


def stepped(params, kwargs):
    """The tensors an optimizer steps: with ``differentiable=True`` non-leaf clones, as torch's own
    tests give them (an in-place step of a leaf that requires grad is autograd's error, in torch's
    step and adamkit's alike); they retain grad, so that reading ``.grad`` of one without a gradient
    does not warn."""
    if not kwargs.get("differentiable"):
        return params
    clones = [p.clone() for p in params]
    for p in clones:
        p.retain_grad()
    return clones


def detached(state_dict):
    """``state_dict`` with its state tensors out of the autograd graph (a differentiable step's
    moments are non-leaf tensors, which ``copy.deepcopy`` refuses)."""
    return {**state_dict, "state": {pid: {k: v.detach() if torch.is_tensor(v) else v
                                          for k, v in state.items()}
                                    for pid, state in state_dict["state"].items()}}


def groups(params):
    return [{"params": params[:2]}, {"params": params[2:]}] if len(params) > 1 else params


def gradients(params, step, g):
    """One step's gradients; the second param has none on step 1. SparseAdam's are sparse rows
    (a row twice: torch sums duplicates)."""
    if len(params) == 1:
        (p,) = params
        rows = torch.tensor([[step % 6, (step + 2) % 6, step % 6]])
        values = torch.randn(3, p.shape[1], generator=g, dtype=p.dtype)
        return [torch.sparse_coo_tensor(rows, values, p.shape, check_invariants=True)]
    return [None if (i == 1 and step == 1) else torch.randn(p.shape, generator=g, dtype=p.dtype)
            for i, p in enumerate(params)]


def run(opts_and_params, steps, seed):
    g = torch.Generator().manual_seed(seed)
    for step in range(steps):
        grads = gradients(opts_and_params[0][1], step, g)
        for opt, params in opts_and_params:
            for p, grad in zip(params, grads):
                p.grad = None if grad is None else grad.clone()
            opt.step()


def assert_same(a, b, exact, where):
    """``exact``: True (bitwise), False (assert_close's tolerance for the dtype), or the
    tolerance itself (``FLOAT32_SCALARS``)."""
    if torch.is_tensor(b):
        assert torch.is_tensor(a), where
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        a, b = a.detach(), b.detach()  # a differentiable step's state is in the graph
        if exact is True:
            assert torch.equal(a, b), where
        else:
            torch.testing.assert_close(a, b, msg=where, **(exact or {}))
    elif isinstance(b, tuple | list):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, exact, f"{where}[{i}]")
    else:
        assert a == b and type(a) is type(b), where


def assert_same_state_dict(ours, theirs, exact, name):
    """The same entries, dtypes, shapes and values; ``exact[pid]``: how close, for that param."""
    assert set(ours) - {"adamkit"} == set(theirs)
    assert ours["state"].keys() == theirs["state"].keys()
    for pid, state in theirs["state"].items():
        assert ours["state"][pid].keys() == state.keys(), pid
        for key, value in state.items():
            assert_same(ours["state"][pid][key], value, exact[pid], f"state[{pid}][{key!r}]")
    assert len(ours["param_groups"]) == len(theirs["param_groups"])
    for i, (mine, group) in enumerate(zip(ours["param_groups"], theirs["param_groups"])):
        assert set(mine) - set(group) <= ADAMKIT_KEYS | ADAMKIT_KEYS_OF.get(name, set()), i
        for key, value in group.items():
            assert_same(mine[key], value, True, f"param_groups[{i}][{key!r}]")


@pytest.mark.parametrize("name,dtype,kwargs", CONFIGS)
def test_configuration_matches_torch(name, dtype, kwargs):
    torch_cls, ours_cls = getattr(torch.optim, name), getattr(ak, name)
    refused = refusal(name, kwargs)
    if refused:
        params = make_params(name, dtype, real_only=False)
        with pytest.raises(refused.error, match=refused.match):
            ours_cls(groups(params), **copy.deepcopy(kwargs))
        torch_cls(groups(params), **copy.deepcopy(kwargs))  # a refusal of adamkit's, not torch's
        return
    engine = kwargs.get("fused") is True  # adamkit's engine beside torch's fused kernels
    theirs_params = stepped(make_params(name, dtype, real_only=engine), kwargs)
    ours_params = stepped([p.detach().clone().requires_grad_() for p in theirs_params], kwargs)
    theirs = torch_cls(groups(theirs_params), **copy.deepcopy(kwargs))
    ours = ours_cls(groups(ours_params), **copy.deepcopy(kwargs))
    run([(theirs, theirs_params), (ours, ours_params)], STEPS, seed=1)
    # bitwise, but where TOLERANCE says why not (a param whose group took the engine)
    paths = ours.paths() if hasattr(ours, "paths") else [None] * len(ours.param_groups)
    on_engine = [str(path) == "fused engine" for path in paths]
    in_engine = [on_engine[gi] for gi, group in enumerate(ours.param_groups) for _ in group["params"]]
    apart = bool(kwargs.get("differentiable")) and name in DIFFERENTIABLE_APART
    exact = [FLOAT32_SCALARS if apart else not (in_engine[i] or name in TOLERANCE or p.is_complex())
             for i, p in enumerate(theirs_params)]
    for i, (p, q) in enumerate(zip(ours_params, theirs_params)):
        assert_same(p.detach(), q.detach(), exact[i], f"param {i}")
    assert_same_state_dict(ours.state_dict(), theirs.state_dict(), exact, name)
    if engine:
        assert [str(path) for path in ours.paths()] == ["fused engine"] * len(ours.param_groups)

    # Each continues from the other's checkpoint (on copies of the params): adamkit from torch's
    # as torch itself continues; torch from adamkit's as torch from its own checkpoint (torch's
    # load casts NAdam's mu_product to the param's dtype, so that is not torch's own run).
    ours_sd = copy.deepcopy(detached(ours.state_dict()))
    theirs_sd = copy.deepcopy(detached(theirs.state_dict()))

    def twin(cls, state_dict):
        params = stepped([p.detach().clone().requires_grad_() for p in theirs_params], kwargs)
        opt = cls(groups(params), **copy.deepcopy(kwargs))
        opt.load_state_dict(state_dict)
        return opt, params

    runs = [(theirs, theirs_params), twin(ours_cls, theirs_sd), twin(torch_cls, ours_sd),
            twin(torch_cls, copy.deepcopy(theirs_sd))]
    run(runs, 2, seed=2)
    for i, (p, q, r, s) in enumerate(zip(*(params for _, params in runs[:4]))):
        assert_same(q.detach(), p.detach(), exact[i], f"param {i}: adamkit from torch's checkpoint")
        assert_same(r.detach(), s.detach(), exact[i], f"param {i}: torch from adamkit's checkpoint")


# -- error inputs --------------------------------------------------------------------------------------


def raised(cls, error_input):
    """What constructing (or stepping) ``cls`` on the input raises or warns: (type, message)."""
    optim_input = error_input.optimizer_error_input
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            opt = cls(optim_input.params, **optim_input.kwargs)
            if error_input.error_on == OptimizerErrorEnum.STEP_ERROR:
                opt.step()
        except Exception as exc:  # noqa: BLE001 - any exception is compared with torch's
            return type(exc), str(exc)
    for w in caught:
        if issubclass(w.category, error_input.error_type):
            return w.category, str(w.message)
    return None, ""


@pytest.mark.parametrize("name,dtype,index", ERROR_INPUTS)
def test_error_input_fails_as_in_torch(name, dtype, index):
    info = INFOS[name]
    # fresh inputs for each (an input's params are not shared between the two)
    theirs_input = info.optim_error_inputs_func(device="cpu", dtype=dtype)[index]
    ours_input = info.optim_error_inputs_func(device="cpu", dtype=dtype)[index]
    expected = theirs_input.error_type
    theirs_type, theirs_message = raised(getattr(torch.optim, name), theirs_input)
    assert theirs_type is not None and issubclass(theirs_type, expected)
    assert re.search(theirs_input.error_regex, theirs_message)
    ours_type, ours_message = raised(getattr(ak, name), ours_input)
    assert ours_type is not None and issubclass(ours_type, expected), (ours_type, ours_message)
    assert re.search(ours_input.error_regex, ours_message), ours_message
    assert theirs_message in ours_message, (theirs_message, ours_message)
