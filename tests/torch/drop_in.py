"""Checks that an adamkit.torch class is a drop-in for its torch.optim class, shared by the tests of
the optimizers torch ships (Adadelta, Rprop, ASGD):

- the constructor: torch's parameters, in torch's order, kinds and defaults, then only keyword-only
  extras (the rule's other settings, ``fused``, adamkit's options);
- the step: two param groups with their own settings, a param without a gradient on one step,
  against torch's single-tensor for-loop (foreach=False): bitwise, params and state;
- the checkpoint: ``state_dict()`` has torch's entries, dtypes and group keys (adamkit adds only
  its own options), and each optimizer continues from the other's checkpoint bit for bit.
"""

from __future__ import annotations

import copy
import inspect

import torch

# adamkit's own group entries beside torch's (the rule's mode, options, ``fused`` where torch has none)
ADAMKIT_GROUP_KEYS = {"nonfinite", "clip_value", "clip_norm", "clip_global_norm", "weight_decay_mode",
                      "fused"}
STEPS = 12


def assert_signature_is_torch_s(ours: type, theirs: type) -> None:
    mine = list(inspect.signature(ours).parameters.values())
    torch_s = list(inspect.signature(theirs).parameters.values())
    assert [(p.name, p.kind, p.default) for p in mine[:len(torch_s)]] == \
        [(p.name, p.kind, p.default) for p in torch_s]
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in mine[len(torch_s):])


def make_params(dtype: torch.dtype, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    shapes = [(4, 3), (5,), (2, 1, 3), ()]
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in shapes]


def groups(params: list[torch.Tensor], second: dict) -> list[dict]:
    return [{"params": params[:2]}, {"params": params[2:], **second}]


def run(pairs, steps: int, seed: int) -> None:
    """Step every (optimizer, params) with the same gradients; param 1 has none on step 2."""
    g = torch.Generator().manual_seed(seed)
    params0 = pairs[0][1]
    for step in range(steps):
        grads = [None if (i == 1 and step == 2) else
                 torch.randn(p.shape, generator=g, dtype=p.dtype) for i, p in enumerate(params0)]
        for opt, params in pairs:
            for p, grad in zip(params, grads, strict=True):
                p.grad = None if grad is None else grad.clone()
            opt.step()


def assert_equal(a, b, where: str) -> None:
    if torch.is_tensor(b):
        assert torch.is_tensor(a) and (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert torch.equal(a.detach(), b.detach()), where
    elif isinstance(b, tuple | list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b and type(a) is type(b), (where, a, b)


def assert_same_state_dict(ours: dict, theirs: dict) -> None:
    assert ours["state"].keys() == theirs["state"].keys()
    for pid, state in theirs["state"].items():
        assert list(ours["state"][pid]) == list(state), pid  # torch's entries, in torch's order
        for key, value in state.items():
            assert_equal(ours["state"][pid][key], value, f"state[{pid}][{key!r}]")
    for i, (mine, group) in enumerate(zip(ours["param_groups"], theirs["param_groups"], strict=True)):
        assert set(mine) - set(group) <= ADAMKIT_GROUP_KEYS, (i, set(mine) - set(group))
        for key, value in group.items():
            assert_equal(mine[key], value, f"param_groups[{i}][{key!r}]")


def assert_drop_in(ours_cls: type, torch_cls: type, kwargs: dict, second: dict,
                   dtype: torch.dtype) -> None:
    """Stepping, state_dict and checkpoints both ways, bitwise (see module doc)."""
    theirs_params = make_params(dtype)
    ours_params = [p.detach().clone().requires_grad_() for p in theirs_params]
    theirs = torch_cls(groups(theirs_params, second), foreach=False, **kwargs)
    ours = ours_cls(groups(ours_params, second), foreach=False, **kwargs)
    run([(theirs, theirs_params), (ours, ours_params)], STEPS, seed=1)
    for i, (p, q) in enumerate(zip(ours_params, theirs_params, strict=True)):
        assert_equal(p, q, f"param {i}")
        assert not torch.equal(q, make_params(dtype)[i]) or i == 3, f"param {i} did not move"
    assert_same_state_dict(ours.state_dict(), theirs.state_dict())

    def twin(cls, state_dict, **flags):
        params = [p.detach().clone().requires_grad_() for p in theirs_params]
        opt = cls(groups(params, second), **flags, **kwargs)
        opt.load_state_dict(copy.deepcopy(state_dict))
        return opt, params

    runs = [(theirs, theirs_params), twin(ours_cls, theirs.state_dict(), foreach=False),
            twin(torch_cls, ours.state_dict(), foreach=False)]
    run(runs, 4, seed=2)
    for i, (p, q, r) in enumerate(zip(*(params for _, params in runs), strict=True)):
        assert_equal(q, p, f"param {i}: adamkit from torch's checkpoint")
        assert_equal(r, p, f"param {i}: torch from adamkit's checkpoint")
