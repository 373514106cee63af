"""adamkit.torch's own options and its errors: nonfinite, clipping, sparse gradients, validation."""

import math

import pytest
import torch
from tests.torch.configs import CONFIGS, config_id

import adamkit.torch as ak


def _one_param_opt(name, kwargs, **extra):
    p = torch.nn.Parameter(torch.linspace(-1, 1, 6, dtype=torch.float64))
    return p, getattr(ak, name)([p], **kwargs, **extra)


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_nonfinite_skip_leaves_everything_untouched_and_counts(config):
    name, kwargs = config
    p, opt = _one_param_opt(name, kwargs, nonfinite="skip")
    p.grad = torch.ones_like(p)
    opt.step()
    before_p = p.detach().clone()
    before_state = {k: v.clone() for k, v in opt.state[p].items()}
    for bad in (math.nan, math.inf, -math.inf):
        p.grad = torch.ones_like(p)
        p.grad[2] = bad
        opt.step()
    assert torch.equal(p, before_p)
    for key, value in before_state.items():
        assert torch.equal(opt.state[p][key], value), key
    assert opt.skipped_steps == 3
    assert opt.state_dict()["adamkit"]["skipped_steps"] == 3
    p.grad = torch.ones_like(p)
    opt.step()  # a finite step goes through again
    assert not torch.equal(p, before_p)


def test_nonfinite_default_propagates_like_torch():
    p, opt = _one_param_opt("Adam", {})
    p.grad = torch.full_like(p, math.nan)
    opt.step()
    assert torch.isnan(p).all()


def test_nonfinite_raise_names_the_tensor():
    a = torch.nn.Parameter(torch.ones(2))
    b = torch.nn.Parameter(torch.ones(3, 4))
    opt = ak.Adam([{"params": [a]}, {"params": [b]}], nonfinite="raise")
    a.grad, b.grad = torch.ones(2), torch.ones(3, 4)
    b.grad[1, 1] = math.inf
    with pytest.raises(FloatingPointError, match=r"param_groups\[1\]\['params'\]\[0\] of shape \(3, 4\)"):
        opt.step()
    assert torch.equal(a, torch.ones(2)), "nothing is updated when a step raises"


def test_clipping_matches_torch_utilities():
    torch.manual_seed(0)
    grads = [torch.randn(4, 3, dtype=torch.float64) * 10, torch.randn(5, dtype=torch.float64)]
    for option, apply in [
        ({"clip_value": 0.5}, lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.5)),
        ({"clip_global_norm": 1.0}, lambda ps: torch.nn.utils.clip_grad_norm_(ps, 1.0)),
        ({"clip_norm": 1.0}, lambda ps: [torch.nn.utils.clip_grad_norm_([p], 1.0) for p in ps]),
    ]:
        ours = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        peer = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
        o1 = ak.SGD(ours, lr=1.0, **option)
        o2 = torch.optim.SGD(peer, lr=1.0)
        for p, q, g in zip(ours, peer, grads):
            p.grad, q.grad = g.clone(), g.clone()
        o1.step()
        apply(peer)
        o2.step()
        for p, q, g in zip(ours, peer, grads):
            torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)
            assert torch.equal(p.grad, g), "param.grad itself is not modified"


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1}), ("Adagrad", {"lr": 0.1})])
def test_sparse_gradients_where_torch_takes_them(name, kwargs):
    ours = torch.nn.Embedding(10, 3, sparse=True).double()
    peer = torch.nn.Embedding(10, 3, sparse=True).double()
    peer.load_state_dict(ours.state_dict())
    o1 = getattr(ak, name)(ours.parameters(), **kwargs)
    o2 = getattr(torch.optim, name)(peer.parameters(), **kwargs)
    for ids in ([1, 2, 2], [5, 1], [9]):
        for model, opt in ((ours, o1), (peer, o2)):
            opt.zero_grad()
            model(torch.tensor(ids)).pow(2).sum().backward()
            opt.step()
    torch.testing.assert_close(ours.weight, peer.weight, rtol=1e-12, atol=1e-14)


def test_sparse_gradient_refused_by_adam_naming_the_tensor():
    emb = torch.nn.Embedding(10, 3, sparse=True)
    opt = ak.Adam(emb.named_parameters())
    emb(torch.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="'weight'.*SparseAdam"):
        opt.step()


INVALID = [
    ("Adam", {"lr": -1.0}, "Invalid learning rate: -1.0; valid range of lr: \\[0, inf\\)"),
    ("Adam", {"betas": (1.0, 0.999)},
     "Invalid beta parameter at index 0: 1.0; valid range of betas\\[0\\]: \\[0, 1\\)"),
    ("Adam", {"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
    ("Adam", {"betas": (0.9,)}, "betas must be a pair"),
    ("Adam", {"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
    ("Adam", {"weight_decay": -0.1}, "Invalid weight_decay value: -0.1"),
    ("Adam", {"eps_mode": "keras"}, "invalid eps_mode 'keras'; valid: paper, hat, root"),
    ("Adam", {"weight_decay_mode": "l1"}, "valid: l2, decoupled, independent"),
    ("Adam", {"decoupled_weight_decay": True, "weight_decay_mode": "l2"}, "contradicts"),
    ("Adam", {"nonfinite": "ignore"}, "invalid nonfinite 'ignore'"),
    ("Adam", {"clip_global_norm": 0.0}, "invalid clip_global_norm 0.0"),
    ("Adam", {"capturable": True}, "capturable=True"),
    ("AdamW", {"lr": float("nan")}, "Invalid learning rate: nan"),
    ("Adamax", {"betas": (0.9, 1.5)}, "Invalid beta parameter at index 1: 1.5"),
    ("NAdam", {"momentum_decay": -1.0}, "Invalid momentum_decay value: -1.0"),
    ("RAdam", {"eps": -1.0}, "Invalid epsilon value: -1.0"),
    ("SGD", {"momentum": -0.5}, "Invalid momentum value: -0.5"),
    ("SGD", {"nesterov": True}, "nesterov=True requires momentum > 0"),
    ("SGD", {"dampening": 2.0}, "Invalid dampening value: 2.0; valid range of dampening: \\[0, 1\\]"),
    ("RMSprop", {"alpha": -0.1}, "Invalid alpha value: -0.1"),
    ("RMSprop", {"momentum": -0.1}, "Invalid momentum value: -0.1"),
    ("Adagrad", {"lr_decay": -0.1}, "Invalid lr_decay value: -0.1"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "Invalid initial_accumulator_value value: -1.0"),
]


@pytest.mark.parametrize("name,kwargs,message", INVALID)
def test_invalid_hyperparameters_are_value_errors_naming_them(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        getattr(ak, name)([torch.nn.Parameter(torch.ones(1))], **kwargs)


@pytest.mark.parametrize("name,kwargs,message", INVALID[:8])
def test_numpy_front_end_validates_the_same_way(name, kwargs, message):
    import adamkit.numpy as aknp

    kwargs = {k: v for k, v in kwargs.items() if k not in ("nonfinite", "capturable", "differentiable")}
    with pytest.raises(ValueError, match=message):
        getattr(aknp, name)(**kwargs)


def test_invalid_value_in_a_param_group_names_the_group():
    a, b = torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))
    with pytest.raises(ValueError, match=r"param_groups\[1\]: adam: Invalid learning rate: -0.5"):
        ak.Adam([{"params": [a]}, {"params": [b], "lr": -0.5}])


def test_params_must_be_an_iterable_of_tensors():
    with pytest.raises(TypeError):
        ak.Adam(torch.ones(3))
    with pytest.raises(TypeError):
        ak.Adam(42)


def test_a_parameter_in_two_groups_is_refused():
    a = torch.nn.Parameter(torch.ones(1))
    with pytest.raises(ValueError, match="more than one parameter group"):
        ak.Adam([{"params": [a]}, {"params": [a]}])


def test_unknown_hyperparameter_in_numpy_front_end():
    import adamkit.numpy as aknp

    with pytest.raises(ValueError, match="unknown hyperparameter.*momentum.*valid:"):
        aknp.Adam(momentum=0.9)


def test_constructor_defaults_equal_torch_optim():
    import inspect

    for name in ("Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SGD", "RMSprop", "Adagrad"):
        ours = inspect.signature(getattr(ak, name).__init__).parameters
        peer = inspect.signature(getattr(torch.optim, name).__init__).parameters
        for arg, spec in peer.items():
            assert arg in ours, f"{name} lacks {arg}"
            assert ours[arg].default == spec.default, f"{name}.{arg}"
            assert ours[arg].kind == spec.kind, f"{name}.{arg} kind"
        positional = [a for a, s in peer.items() if s.kind == s.POSITIONAL_OR_KEYWORD]
        assert [a for a, s in ours.items() if s.kind == s.POSITIONAL_OR_KEYWORD] == positional


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adagrad"])
def test_low_precision_state_is_refused_where_there_are_no_adam_moments(name):
    with pytest.raises(ValueError, match=f"{name}: state_precision='8bit' applies to Adam-family"):
        getattr(ak, name)([torch.nn.Parameter(torch.ones(1))], state_precision="8bit")



def test_lbfgs_is_not_here_and_says_why():
    import adamkit.torch as akt

    with pytest.raises(AttributeError, match="LBFGS is a line search over closures, not a "
                                             "per-element update rule: use torch.optim.LBFGS"):
        akt.LBFGS  # noqa: B018
