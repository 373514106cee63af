"""``differentiable=True``: the step is recorded by autograd, as in torch.optim, for every optimizer.

As torch's own ``TestDifferentiableOptimizer`` does it: a clone of the param (a non-leaf) is stepped
with a gradient and a state that require grad, and ``torch.autograd.gradcheck`` compares autograd's
derivatives of the stepped param and state (w.r.t. the initial param, the gradient, the state
tensors and, over two steps whose gradients come from a loss, tensor hyperparameters) with finite
differences. Beside that, the values and the whole Jacobian must equal those of torch's class with
``differentiable=True``.

Tolerance of the comparison with torch: float64, ``rtol=1e-9, atol=1e-12``. torch's differentiable
Adam takes another spelling of the same step (bias corrections from the float32 step tensor, ``lr``
folded into the denominator), so values agree to a few float64 ulps, not bitwise (seen: 5.6e-17 on
values of order 1); the other optimizers match exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.autograd import gradcheck
from torch.autograd.functional import jacobian

import adamkit.torch as ak
from adamkit.torch.fused.group_path import PathReason

F64 = torch.float64
N = 6  # elements per tensor: gradcheck's finite differences cost two steps per input element


def _rand(gen: torch.Generator, scale: float = 1.0) -> torch.Tensor:
    return (scale * torch.rand(N, generator=gen, dtype=F64)).requires_grad_()


def _step10() -> torch.Tensor:
    """A step count as torch's tests give it: a float64 0-dim tensor that does not require grad."""
    return torch.tensor(10.0, dtype=F64)


def _adam_state(gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {"step": _step10(), "exp_avg": _rand(gen), "exp_avg_sq": _rand(gen),
            "max_exp_avg_sq": _rand(gen)}


# (optimizer, its state before the step, constructor arguments): torch's TestDifferentiableOptimizer
# cases, one or more per optimizer (SGD also with momentum, which torch's case leaves at 0).
ONE_STEP: list[tuple[str, Callable[[torch.Generator], dict], dict[str, Any]]] = [
    ("SGD", lambda g: {"momentum_buffer": _rand(g)}, {"lr": 0.9}),
    ("SGD", lambda g: {"momentum_buffer": _rand(g)},
     {"lr": 0.9, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("Adam", _adam_state, {"lr": 0.9, "amsgrad": True}),
    ("Adam", _adam_state, {"lr": 0.9, "weight_decay": 0.1, "maximize": True}),
    ("AdamW", _adam_state, {"lr": 0.9, "amsgrad": True}),
    ("RMSprop", lambda g: {"step": torch.zeros((), dtype=F64), "square_avg": _rand(g),
                           "momentum_buffer": _rand(g), "grad_avg": _rand(g, 1e-2)},
     {"lr": 0.9, "maximize": True, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", lambda g: {"step": _step10(), "sum": _rand(g)}, {"lr": 0.9, "weight_decay": 0.1}),
    ("Adamax", lambda g: {"step": _step10(), "exp_avg": _rand(g), "exp_inf": _rand(g)},
     {"lr": 0.9, "weight_decay": 0.1}),
    ("NAdam", lambda g: {"step": _step10(), "exp_avg": _rand(g), "exp_avg_sq": _rand(g),
                         "mu_product": torch.tensor(1.0, dtype=F64, requires_grad=True)},
     {"lr": 0.9}),
    ("NAdam", lambda g: {"step": _step10(), "exp_avg": _rand(g), "exp_avg_sq": _rand(g),
                         "mu_product": torch.tensor(1.0, dtype=F64, requires_grad=True)},
     {"lr": 0.9, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", lambda g: {"step": _step10(), "exp_avg": _rand(g), "exp_avg_sq": _rand(g)},
     {"lr": 0.9}),
    ("RAdam", lambda g: {"step": _step10(), "exp_avg": _rand(g), "exp_avg_sq": _rand(g)},
     {"lr": 0.9, "weight_decay": 0.1, "decoupled_weight_decay": True}),
]


def _start(opt: torch.optim.Optimizer, p: torch.Tensor, fixed: dict, keys: tuple[str, ...],
           state: tuple[torch.Tensor, ...]) -> None:
    """``p``'s state: ``fixed`` (the step count: torch refuses one that requires grad) as given,
    the differentiable entries ``keys`` as clones of ``state``."""
    opt.state[p].update({k: v.clone() for k, v in fixed.items()})
    opt.state[p].update({k: v.clone() for k, v in zip(keys, state, strict=True)})


def _differentiable_state(opt: torch.optim.Optimizer, p: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(v for v in opt.state[p].values() if torch.is_tensor(v) and v.requires_grad)


def one_step(cls: type, kwargs: dict, fixed: dict, keys: tuple[str, ...], p: torch.Tensor,
             grad: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """One step of ``cls`` on a clone of ``p`` with state ``state`` (named ``keys``): the stepped
    param and the state tensors that require grad (torch's ``_diff_fn``)."""
    p = p.clone()
    p.grad = grad
    opt = cls([p], **kwargs, differentiable=True)
    _start(opt, p, fixed, keys, state)
    opt.step()
    return (p, *_differentiable_state(opt, p))


def _split(state: dict) -> tuple[dict, tuple[str, ...], tuple[torch.Tensor, ...]]:
    """(the step count, the names and tensors of the differentiable state)."""
    fixed = {k: v for k, v in state.items() if k == "step"}
    rest = {k: v for k, v in state.items() if k != "step"}
    return fixed, tuple(rest), tuple(rest.values())


def _assert_same_jacobians(ours: Callable, theirs: Callable, inputs: tuple) -> None:
    """Values and every block of the Jacobian equal (module doc: the tolerance)."""
    for a, b in zip(ours(*inputs), theirs(*inputs), strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-9, atol=1e-12)
    j_ours, j_theirs = jacobian(ours, inputs), jacobian(theirs, inputs)
    for i, (row_ours, row_theirs) in enumerate(zip(j_ours, j_theirs, strict=True)):
        for j, (a, b) in enumerate(zip(row_ours, row_theirs, strict=True)):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=f"d output {i} / d input {j}")


@pytest.mark.parametrize("name,make_state,kwargs", ONE_STEP,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                              for n, _, kw in ONE_STEP])
def test_one_step_gradcheck_and_torch_jacobian(name, make_state, kwargs):
    gen = torch.Generator().manual_seed(0)
    p, grad = _rand(gen), _rand(gen)
    fixed, keys, state = _split(make_state(gen))
    inputs = (p, grad, *state)

    def ours(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return one_step(getattr(ak, name), kwargs, fixed, keys, *args)

    def theirs(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return one_step(getattr(torch.optim, name), kwargs, fixed, keys, *args)

    assert gradcheck(ours, inputs)
    _assert_same_jacobians(ours, theirs, inputs)


def _torch_peers() -> list[str]:
    """adamkit's classes whose torch.optim namesake takes ``differentiable`` (new ones included)."""
    import inspect

    return [n for n in ak.__all__ if hasattr(torch.optim, n)
            and "differentiable" in inspect.signature(getattr(torch.optim, n)).parameters]


@pytest.mark.parametrize("name", _torch_peers())
def test_every_torch_peer_at_its_defaults_differentiates_as_torch(name):
    """Each optimizer at its defaults, with the state torch's own class builds in three plain steps:
    its tensors shaped like the param are inputs of the gradcheck, drawn again in [0.5, 1.5) (away
    from the zeros and tiny averages where finite differences cross a kink: Rprop's sign, a
    square root near 0); scalars (the step count, ASGD's eta and mu, NAdam's mu_product) are kept
    as built, as torch's tests keep the step count."""
    gen = torch.Generator().manual_seed(3)
    p, grad = _rand(gen), _rand(gen)
    warm = p.detach().clone().requires_grad_()
    opt = getattr(torch.optim, name)([warm])
    for _ in range(3):
        warm.grad = torch.randn(N, generator=gen, dtype=F64)
        opt.step()
    built = opt.state[warm]
    # scalars in float64, as torch's tests give them (torch's differentiable Adam rounds its step
    # scalars in the step tensor's dtype, float32 by default: the module doc's tolerance is float64's)
    fixed = {k: v.to(F64) if torch.is_tensor(v) and v.is_floating_point() else v
             for k, v in built.items() if not (torch.is_tensor(v) and v.shape == p.shape)}
    keys = tuple(k for k in built if k not in fixed)
    inputs = (p, grad, *((0.5 + torch.rand(N, generator=gen, dtype=F64)).requires_grad_()
                         for _ in keys))

    def ours(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return one_step(getattr(ak, name), {}, fixed, keys, *args)

    def theirs(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return one_step(getattr(torch.optim, name), {}, fixed, keys, *args)

    assert gradcheck(ours, inputs)
    _assert_same_jacobians(ours, theirs, inputs)


def test_sgd_momentum_buffer_made_on_the_first_step_stays_in_the_graph():
    """SGD's first step makes the momentum buffer from the gradient. torch stores it detached
    (``grad.detach().clone()``), so its stepped param has no derivative w.r.t. that gradient
    (torch's own step fails this gradcheck: numerical -lr, analytical 0); adamkit's buffer is the
    rule's, in the graph, and the derivative is right. The values are torch's, bitwise."""
    gen = torch.Generator().manual_seed(2)
    inputs = (_rand(gen), _rand(gen))
    kwargs = {"lr": 0.9, "momentum": 0.9}

    def ours(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return one_step(ak.SGD, kwargs, {}, (), *args)

    def theirs(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return one_step(torch.optim.SGD, kwargs, {}, (), *args)

    assert gradcheck(ours, inputs)
    p_ours, buf_ours = ours(*inputs)
    p_theirs = theirs(*inputs)[0]
    assert torch.equal(p_ours.detach(), p_theirs.detach())
    assert buf_ours.requires_grad


# -- tensor hyperparameters, through two steps -------------------------------------------------------

# (optimizer, state, hyperparameters given as tensors that require grad): torch's cases (Adam, AdamW,
# SGD) and a tensor lr for every other optimizer. torch's own step refuses a tensor lr that
# requires grad in Adamax, NAdam, RMSprop and Adagrad (addcdiv_'s value must be a number; NAdam
# writes a tensor autograd saved): those are checked against finite differences only.
NO_TORCH_PEER = {"Adamax", "NAdam", "RMSprop", "Adagrad"}
HYPER: list[tuple[str, Callable[[torch.Generator], dict], tuple[str, ...]]] = [
    ("Adam", _adam_state, ("lr",)),
    ("Adam", _adam_state, ("weight_decay",)),
    ("Adam", _adam_state, ("beta1", "beta2", "lr")),
    ("Adam", _adam_state, ("lr", "weight_decay", "beta1", "beta2")),
    ("AdamW", _adam_state, ("lr",)),
    ("AdamW", _adam_state, ("weight_decay",)),
    ("AdamW", _adam_state, ("lr", "weight_decay", "beta1", "beta2")),
    ("SGD", lambda g: {"momentum_buffer": _rand(g)}, ("lr",)),
    ("SGD", lambda g: {"momentum_buffer": _rand(g)}, ("weight_decay",)),
    ("SGD", lambda g: {"momentum_buffer": _rand(g)}, ("weight_decay", "lr")),
    ("Adamax", lambda g: {"step": _step10(), "exp_avg": _rand(g), "exp_inf": _rand(g)}, ("lr",)),
    ("NAdam", lambda g: {"step": _step10(), "exp_avg": _rand(g), "exp_avg_sq": _rand(g),
                         "mu_product": torch.tensor(0.5, dtype=F64)}, ("lr",)),
    ("RAdam", lambda g: {"step": _step10(), "exp_avg": _rand(g), "exp_avg_sq": _rand(g)}, ("lr",)),
    ("RMSprop", lambda g: {"step": _step10(), "square_avg": _rand(g)}, ("lr",)),
    ("Adagrad", lambda g: {"step": _step10(), "sum": _rand(g)}, ("lr",)),
]
VALUES = {"lr": 1e-3, "weight_decay": 0.9, "beta1": 0.9, "beta2": 0.999}


def two_steps(cls: type, names: tuple[str, ...], fixed: dict, keys: tuple[str, ...],
              p: torch.Tensor, *rest: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Two steps whose gradients come from a loss of the param (``create_graph``, so the second
    gradient depends on the first step), hyperparameters ``names`` given as tensors: the loss after
    them and the state tensors that require grad (torch's ``_multistep_backprop_diff_hyperparams_fn``,
    returning what it differentiates rather than differentiating inside)."""
    state, hyper = rest[:len(keys)], dict(zip(names, rest[len(keys):], strict=True))
    kwargs: dict[str, Any] = {k: v for k, v in hyper.items() if not k.startswith("beta")}
    if "beta1" in hyper:
        kwargs["betas"] = (hyper["beta1"], hyper["beta2"])
    p = p.clone()
    opt = cls([p], **kwargs, differentiable=True)
    _start(opt, p, fixed, keys, state)
    x, y = torch.tensor([1.0], dtype=F64), torch.tensor([2.0], dtype=F64)
    for _ in range(2):
        loss = torch.nn.functional.mse_loss(x * torch.sum(p), y)
        loss.backward(inputs=(p,), create_graph=True)
        opt.step()
        opt.zero_grad()
    loss = torch.nn.functional.mse_loss(x * torch.sum(p), y)
    return (loss, p, *_differentiable_state(opt, p))


@pytest.mark.parametrize("name,make_state,names", HYPER,
                         ids=[f"{n}-{'-'.join(h)}" for n, _, h in HYPER])
def test_tensor_hyperparameters_are_differentiated_through_two_steps(name, make_state, names):
    gen = torch.Generator().manual_seed(1)
    p = _rand(gen)
    fixed, keys, state = _split(make_state(gen))
    hyper = [torch.tensor(VALUES[k], dtype=F64, requires_grad=True) for k in names]
    inputs = (p, *state, *hyper)

    def ours(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return two_steps(getattr(ak, name), names, fixed, keys, *args)

    def theirs(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return two_steps(getattr(torch.optim, name), names, fixed, keys, *args)

    # the hyperparameters stay tensors in the graph: the loss has a gradient w.r.t. each
    loss = ours(*inputs)[0]
    assert all(g is not None and g.abs().sum() > 0
               for g in torch.autograd.grad(loss, hyper, allow_unused=True))
    assert gradcheck(ours, inputs)
    if name not in NO_TORCH_PEER:
        _assert_same_jacobians(ours, theirs, inputs)


# -- what the flag changes besides ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop"])
def test_a_differentiable_group_takes_the_rule_path_and_keeps_torch_state(name):
    """The fused engine does not record autograd: ``paths()`` says why the rule path; the group
    keeps torch's flag, the ``step`` counter stays a tensor outside the graph, as torch keeps it."""
    base = torch.randn(1 << 16, dtype=torch.float32, requires_grad=True)  # engine-sized (fused=None)
    p = base.clone()
    opt = getattr(ak, name)([p], lr=1e-3, differentiable=True)
    for _ in range(2):
        p.grad = torch.randn_like(p)
        opt.step()
    (path,) = opt.paths()
    assert (path.kind, path.reason) == ("rule", PathReason.DIFFERENTIABLE)
    assert opt.param_groups[0]["differentiable"] is True
    assert p.grad_fn is not None  # the update is in the graph of the user's param
    torch.autograd.grad(p.sum(), base)  # and backward reaches the initial param
    if "step" in opt.state[p]:
        step = opt.state[p]["step"]
        assert torch.is_tensor(step) and not step.requires_grad and step.item() == 2.0


def test_a_step_count_that_requires_grad_is_refused_as_torch_refuses_it():
    for cls in (torch.optim.Adam, ak.Adam):
        p = torch.randn(4, dtype=F64, requires_grad=True).clone()
        p.grad = torch.randn(4, dtype=F64)
        opt = cls([p], differentiable=True)
        opt.step()
        opt.state[p]["step"] = torch.tensor(1.0, requires_grad=True)
        with pytest.raises(RuntimeError, match="`requires_grad` is not supported for `step` in "
                                               "differentiable mode"):
            opt.step()


def test_without_the_flag_the_step_records_nothing():
    p = torch.randn(4, dtype=F64, requires_grad=True).clone()
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        ak.Adam([p])  # torch's check: only a differentiable optimizer takes a non-leaf
    leaf = torch.randn(4, dtype=F64, requires_grad=True)
    leaf.grad = torch.randn(4, dtype=F64, requires_grad=True)
    ak.Adam([leaf], fused=False).step()
    assert leaf.grad_fn is None and leaf.is_leaf


def test_a_leaf_param_that_requires_grad_is_refused_as_torch_refuses_it():
    """An in-place update of a leaf that requires grad is autograd's error, in torch's step too."""
    messages = []
    for cls in (torch.optim.Adam, ak.Adam):
        p = torch.randn(4, dtype=F64, requires_grad=True)
        p.grad = torch.randn(4, dtype=F64)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad") as info:
            cls([p], differentiable=True).step()
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_fused_and_low_precision_state_are_refused_with_differentiable():
    p = torch.randn(4, requires_grad=True).clone()
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        ak.Adam([p], fused=True, differentiable=True)
    with pytest.raises(ValueError, match="state_precision='bf16'.*valid: 'fp32'"):
        ak.Adam([p], differentiable=True, state_precision="bf16")


def test_sparse_adam_has_no_differentiable_flag_as_torch():
    p = torch.randn(4, 2, requires_grad=True)
    for cls in (torch.optim.SparseAdam, ak.SparseAdam):
        with pytest.raises(TypeError, match="differentiable"):
            cls([p], differentiable=True)


def test_a_tensor_lr_that_requires_grad_is_never_read_as_a_number():
    """``independent`` weight decay scales by ``lr / initial_lr`` (a scheduler's factor): with an
    lr that requires grad both stay tensors (no ``.item()``, whose warning is an error here), and
    the step's derivative w.r.t. lr matches finite differences."""
    def stepped_param(lr: torch.Tensor) -> torch.Tensor:
        p = torch.linspace(0.5, 1.5, N, dtype=F64).clone()
        opt = ak.AdamW([p], lr=lr, weight_decay=0.1, weight_decay_mode="independent",
                       differentiable=True)
        # a schedule that started at 2e-2 (a tensor in the graph, as lr)
        opt.param_groups[0]["initial_lr"] = torch.tensor(2e-2, dtype=F64, requires_grad=True)
        for _ in range(2):
            p.grad = torch.full_like(p, 0.3)
            opt.step()
        return p

    assert gradcheck(stepped_param, (torch.tensor(1e-2, dtype=F64, requires_grad=True),))
