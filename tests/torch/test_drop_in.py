"""adamkit.torch where a drop-in replacement of torch.optim used to differ (issue 9), each beside torch.

Old checkpoints, tensor learning rates, load_state_dict hooks, the ``fused`` flag, SGD's empty state,
tensor betas, AdamW loading Adam checkpoints, NAdam under a low-precision default dtype, and the
messages of hyperparameters that are not numbers.
"""

import copy
import re

import pytest
import torch
from torch.optim.optimizer import _get_scalar_dtype

import adamkit.torch as ak

NAMES = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SGD", "RMSprop", "Adagrad")


def params(dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=dtype).requires_grad_() for s in ((3, 2), (2,))]


def twin(ps):
    return [p.detach().clone().requires_grad_() for p in ps]


def steps(pairs, n, seed=1):
    """``n`` steps of each (optimizer, params) pair with the same gradients."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        grads = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in pairs[0][1]]
        for opt, ps in pairs:
            for p, grad in zip(ps, grads):
                p.grad = grad.clone()
            opt.step()


def assert_params_equal(ps, qs):
    for p, q in zip(ps, qs):
        assert torch.equal(p.detach(), q.detach())


def message(cls, *args, **kwargs):
    """The exception ``cls(*args, **kwargs)`` raises (constructing, or stepping with ``step=``)."""
    step = kwargs.pop("step", False)
    with pytest.raises(Exception) as info:  # noqa: B017, PT011 - compared below
        opt = cls(*args, **kwargs)
        if step:
            opt.step()
    return info.value


def assert_raises_as_torch(name, *args, **kwargs):
    """adamkit's error: torch's type, and a message containing torch's."""
    theirs = message(getattr(torch.optim, name), *copy.deepcopy(args), **copy.deepcopy(kwargs))
    ours = message(getattr(ak, name), *args, **kwargs)
    assert isinstance(ours, type(theirs)), (type(ours), ours, type(theirs), theirs)
    assert str(theirs) in str(ours), (str(theirs), str(ours))
    return ours


# -- checkpoints ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Adam", "NAdam", "Adagrad", "RMSprop"])
@pytest.mark.parametrize("as_number", [float, int])
def test_checkpoint_with_a_python_number_step_loads_and_continues_as_torch(name, as_number):
    ps, qs = params(), params()
    # the rule path: torch's for-loop bit for bit
    ours, theirs = getattr(ak, name)(ps, lr=0.01, fused=False), getattr(torch.optim, name)(qs, lr=0.01)
    steps([(ours, ps), (theirs, qs)], 3)
    old = copy.deepcopy(theirs.state_dict())
    for state in old["state"].values():  # as older torch releases saved it
        state["step"] = as_number(state["step"].item())
    ours2 = getattr(ak, name)(twin(qs), lr=0.01, fused=False)
    theirs2 = getattr(torch.optim, name)(twin(qs), lr=0.01)
    ours2.load_state_dict(copy.deepcopy(old))
    theirs2.load_state_dict(copy.deepcopy(old))
    for p in ours2.param_groups[0]["params"]:
        step = ours2.state[p]["step"]
        assert torch.is_tensor(step) and step.dtype == _get_scalar_dtype() and step.item() == 3
    # continues as torch's run that saved it (torch's own load casts NAdam's mu_product to the
    # param's dtype, so its reloaded run is not the reference there)
    loaded = ours2.param_groups[0]["params"]
    steps([(ours2, loaded), (theirs, qs), (theirs2, theirs2.param_groups[0]["params"])], 3)
    assert_params_equal(loaded, qs)


def test_load_state_dict_post_hook_may_keep_entries_that_are_not_params():
    def hook(optimizer):
        optimizer.state["ran_load_state_dict_post_hook"] = True  # as torch's own tests do

    for opt in (ak.Adam(params(), state_precision="bf16"), torch.optim.Adam(params())):
        opt.register_load_state_dict_post_hook(hook)
        steps([(opt, opt.param_groups[0]["params"])], 1)
        opt.load_state_dict(copy.deepcopy(opt.state_dict()))
        assert opt.state["ran_load_state_dict_post_hook"] is True
    steps([(opt, opt.param_groups[0]["params"])], 1)  # and the next step ignores the entry


@pytest.mark.parametrize("source", ["torch", "adamkit"])
def test_adamw_loading_an_adam_checkpoint_keeps_decoupled_decay(source):
    adam_cls = torch.optim.Adam if source == "torch" else ak.Adam
    adam = adam_cls(params(), lr=0.01, weight_decay=0.1)
    steps([(adam, adam.param_groups[0]["params"])], 2)
    checkpoint = adam.state_dict()
    start = adam.param_groups[0]["params"]
    ours, theirs = twin(start), twin(start)
    o = ak.AdamW(ours, lr=0.01, weight_decay=0.1)
    t = torch.optim.AdamW(theirs, lr=0.01, weight_decay=0.1)
    o.load_state_dict(copy.deepcopy(checkpoint))
    t.load_state_dict(copy.deepcopy(checkpoint))
    o.param_groups[0]["fused"] = False  # the rule path, torch's bits (the checkpoint says None)
    assert o.param_groups[0]["weight_decay_mode"] == "decoupled"
    assert o.param_groups[0]["decoupled_weight_decay"] is t.param_groups[0]["decoupled_weight_decay"]
    steps([(o, ours), (t, theirs)], 3)
    assert_params_equal(ours, theirs)
    # an AdamW built for L2 on purpose (adamkit's option) keeps it
    l2 = ak.AdamW(twin(start), weight_decay_mode="l2")
    l2.load_state_dict(copy.deepcopy(checkpoint))
    assert l2.param_groups[0]["weight_decay_mode"] == "l2"


# -- learning rates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_one_element_tensor_lr_of_any_shape_steps_as_torch(name):
    ps, qs = params(torch.float32), params(torch.float32)
    ours = getattr(ak, name)(ps, lr=torch.tensor([[1e-2]]))
    theirs = getattr(torch.optim, name)(qs, lr=torch.tensor([[1e-2]]))
    steps([(ours, ps), (theirs, qs)], 3)
    assert_params_equal(ps, qs)


@pytest.mark.parametrize("name", NAMES)
def test_lr_tensor_of_several_elements_is_refused_as_torch(name):
    error = assert_raises_as_torch(name, params(), lr=torch.tensor([1e-3, 1e-3]))
    assert "Tensor lr must be 1-element" in str(error) and "(2,)" in str(error)
    opt = getattr(ak, name)(params())
    with pytest.raises(ValueError, match=r"param_groups\[1\]: .*Tensor lr must be 1-element"):
        opt.add_param_group({"params": params(seed=1), "lr": torch.tensor([1e-3, 1e-3])})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("name", ["Adam", "SGD", "NAdam"])
def test_lr_tensor_that_requires_grad_steps_as_torch(name):
    ps, qs = params(torch.float32), params(torch.float32)
    ours = getattr(ak, name)(ps, lr=torch.tensor(0.01, requires_grad=True))
    theirs = getattr(torch.optim, name)(qs, lr=torch.tensor(0.01, requires_grad=True))
    steps([(ours, ps), (theirs, qs)], 3)
    assert_params_equal(ps, qs)


def test_lr_none_or_a_string_is_a_type_error_naming_it():
    for bad in (None, "0.1"):
        with pytest.raises(TypeError, match=re.escape(f"Invalid learning rate: {bad}; ")) as info:
            ak.Adam(params(), lr=bad)
        assert "nan" not in str(info.value) and isinstance(info.value, ValueError)
        with pytest.raises(TypeError):  # torch: '<=' not supported between float and NoneType/str
            torch.optim.Adam(params(), lr=bad)


# -- betas, fused, foreach ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("betas", [(0.9, torch.tensor(0.99)), (torch.tensor(0.9), 0.99)],
                         ids=["float-tensor", "tensor-float"])
def test_mixed_float_and_tensor_betas_are_refused_as_torch(name, betas):
    error = assert_raises_as_torch(name, params(), betas=betas)
    assert "betas must be either both floats or both Tensors" in str(error)


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "RMSprop"])
def test_fused_is_adamkits_own_option_where_torch_has_no_fused(name):
    with pytest.raises(TypeError):
        getattr(torch.optim, name)(params(), fused=True)
    for fused, path in ((True, "fused engine"), (False, "rule path (fused=False)")):
        ps = params()
        opt = getattr(ak, name)(ps, fused=fused)
        steps([(opt, ps)], 1)
        assert [str(p) for p in opt.paths()] == [path]


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "Adagrad"])
def test_fused_with_foreach_or_differentiable_raise_as_torch(name):
    assert_raises_as_torch(name, params(), fused=True, foreach=True)
    assert_raises_as_torch(name, params(), fused=True, differentiable=True)


@pytest.mark.parametrize("name", ["SGD", "Adagrad"])
def test_fused_sgd_and_adagrad_take_the_engine_as_torchs_take_their_fused_kernels(name):
    ps, qs = params(), params()
    ours = getattr(ak, name)(ps, lr=0.1, fused=True)
    theirs = getattr(torch.optim, name)(qs, lr=0.1, fused=True)
    steps([(ours, ps), (theirs, qs)], 3)
    assert [str(p) for p in ours.paths()] == ["fused engine"]
    for p, q in zip(ps, qs):
        torch.testing.assert_close(p, q)
    # the same state entries (SGD without momentum keeps none, as torch's)
    ours_state, theirs_state = ours.state_dict()["state"], theirs.state_dict()["state"]
    assert {k: set(v) for k, v in ours_state.items()} == {k: set(v) for k, v in theirs_state.items()}
    if name == "SGD":
        assert ours_state == {} and len(ours.state) == 0


@pytest.mark.parametrize("device_or_dtype", ["meta", torch.complex64], ids=str)
def test_fused_on_params_torch_cannot_fuse_raises_torch_error_at_the_step(device_or_dtype):
    def make():
        kind = {"device": "meta"} if device_or_dtype == "meta" else {"dtype": device_or_dtype}
        p = torch.zeros(4, **kind, requires_grad=True)
        p.grad = torch.zeros_like(p)
        return [p]

    assert_raises_as_torch("Adam", make(), fused=True, step=True)


def test_fused_on_params_only_adamkit_cannot_fuse_takes_the_rule_path():
    p = torch.nn.Parameter(torch.randn(8, dtype=torch.bfloat16))
    opt = ak.Adam([p], fused=True)  # torch fuses bfloat16 on the CPU; adamkit's engine does not
    p.grad = torch.ones_like(p)
    opt.step()
    assert "bfloat16" in str(opt.paths()[0])


# -- state ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_state_dict_has_the_entries_torch_has(momentum):
    ps, qs = params(), params()
    ours = ak.SGD(ps, lr=0.1, momentum=momentum, fused=False)  # the rule path: bit for bit
    theirs = torch.optim.SGD(qs, lr=0.1, momentum=momentum)
    steps([(ours, ps), (theirs, qs)], 2)
    assert ours.state_dict()["state"].keys() == theirs.state_dict()["state"].keys()
    if momentum == 0:
        assert ours.state_dict()["state"] == {} and len(ours.state) == 0
    assert_params_equal(ps, qs)


@pytest.mark.parametrize("default", [torch.bfloat16, torch.float16])
def test_nadam_mu_product_stays_float32_under_a_low_precision_default_dtype(default):
    before = torch.get_default_dtype()
    torch.set_default_dtype(default)
    try:
        ps, qs = params(torch.float32), params(torch.float32)
        ours, theirs = ak.NAdam(ps), torch.optim.NAdam(qs)
        steps([(ours, ps), (theirs, qs)], 3)
    finally:
        torch.set_default_dtype(before)
    for p, q in zip(ps, qs):
        assert ours.state[p]["mu_product"].dtype == theirs.state[q]["mu_product"].dtype == torch.float32
        assert torch.equal(ours.state[p]["mu_product"], theirs.state[q]["mu_product"])
    assert_params_equal(ps, qs)


def test_radam_with_beta2_06_steps_as_torch():
    # rho_inf = 4: never rectified; torch computes the rectification only when rho_t > 5
    ps, qs = params(), params()
    ours, theirs = ak.RAdam(ps, betas=(0.9, 0.6)), torch.optim.RAdam(qs, betas=(0.9, 0.6))
    steps([(ours, ps), (theirs, qs)], 6)
    assert_params_equal(ps, qs)
    assert all(torch.isfinite(p).all() for p in ps)
