"""adamkit.torch's Lion, Lamb, ADOPT and AdEMAMix (torch.optim has none): their constructors, their
steps against the NumPy float64 rule, their checkpoints.

Without a torch peer, the reference for the step is the rule in NumPy float64 (itself tested
against optax and Keras in tests/rules): float64 params agree to 1e-14 relative (torch and NumPy
round a few operations differently: LAMB's norms sum in another order), float32 params to 2e-5
(float32 rounding over 25 steps). A checkpoint taken mid-run and loaded into a fresh optimizer
continues bit for bit.
"""

import copy
import inspect

import numpy as np
import pytest
import torch
from tests.rules.peers import agree, problem, run_rule

import adamkit.torch as ak
from adamkit.errors import HyperparameterError
from adamkit.rules import get

# class name -> (rule, the signature's head as declared: torch.optim's style, the reference's
# defaults: Lion the authors' (google/automl), Lamb and ADOPT optax's, AdEMAMix the authors'
# (apple/ml-ademamix, alpha 2))
SIGNATURES = {
    "Lion": ("lion", {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0, "maximize": False}),
    "Lamb": ("lamb", {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-6, "weight_decay": 0.0,
                      "maximize": False, "eps_root": 0.0, "decay_in_trust_ratio": True}),
    "ADOPT": ("adopt", {"lr": 1e-3, "betas": (0.9, 0.9999), "eps": 1e-6, "weight_decay": 0.0,
                        "maximize": False, "nesterov": False, "use_clipping": True}),
    "AdEMAMix": ("ademamix", {"lr": 1e-3, "betas": (0.9, 0.999), "beta3": 0.9999, "mix_alpha": 2.0,
                              "beta3_warmup": None, "alpha_warmup": None, "eps": 1e-8,
                              "weight_decay": 0.0, "maximize": False, "eps_root": 0.0}),
}

CASES = [
    ("Lion", {"lr": 0.01}),
    ("Lion", {"lr": 0.01, "weight_decay": 0.5, "betas": (0.8, 0.9)}),
    ("Lion", {"lr": 0.01, "maximize": True, "weight_decay": 0.1, "weight_decay_mode": "l2"}),
    ("Lamb", {"lr": 0.01}),
    ("Lamb", {"lr": 0.01, "weight_decay": 0.1}),
    ("Lamb", {"lr": 0.01, "weight_decay": 0.1, "decay_in_trust_ratio": False, "maximize": True}),
    ("ADOPT", {"lr": 0.01}),
    ("ADOPT", {"lr": 0.01, "nesterov": True, "weight_decay": 0.1}),
    ("ADOPT", {"lr": 0.01, "use_clipping": False, "weight_decay": 0.1, "weight_decay_mode": "decoupled"}),
    ("AdEMAMix", {"lr": 0.01}),
    ("AdEMAMix", {"lr": 0.01, "alpha_warmup": 10, "beta3_warmup": 15, "weight_decay": 0.1}),
    ("AdEMAMix", {"lr": 0.01, "betas": (0.9, 0.99, 0.999), "mix_alpha": 8.0, "maximize": True}),
]


def case_id(case):
    return f"{case[0]}({', '.join(f'{k}={v}' for k, v in case[1].items())})"


def _rule_hp(name, kwargs):
    """The torch class's arguments as the rule's hyperparameters (its defaults, the authors')."""
    rule, defaults = SIGNATURES[name]
    hp = {**defaults, **kwargs}
    if len(hp["betas"]) == 3:
        hp["betas"], hp["beta3"] = hp["betas"][:2], hp["betas"][2]
    return get(rule), hp


def _stepped(name, kwargs, params, grads, dtype=torch.float64, optimizer=None):
    ps = [torch.tensor(p, dtype=dtype, requires_grad=True) for p in params]
    opt = optimizer(ps) if optimizer else getattr(ak, name)(ps, **kwargs)
    for gs in grads:
        for p, g in zip(ps, gs, strict=True):
            p.grad = torch.tensor(g, dtype=dtype)
        opt.step()
    return ps, opt


@pytest.mark.parametrize("name", list(SIGNATURES))
def test_signature_is_torch_style_with_the_reference_defaults(name):
    rule, declared = SIGNATURES[name]
    parameters = inspect.signature(getattr(ak, name).__init__).parameters
    assert list(parameters)[:2] == ["self", "params"]
    for key, default in declared.items():
        assert parameters[key].default == default, key
    assert set(get(rule).takes) <= set(parameters)  # every hyperparameter of the rule is settable


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_steps_equal_the_float64_rule(case):
    name, kwargs = case
    params, grads = problem(0)
    ps, _ = _stepped(name, kwargs, params, grads)
    rule, hp = _rule_hp(name, kwargs)
    agree([p.detach().numpy() for p in ps], run_rule(rule, hp, params, grads), 1e-14,
          f"torch {case_id(case)} vs numpy rule")


@pytest.mark.parametrize("case", CASES[::3], ids=case_id)
def test_float32_params_stay_float32_and_near_the_float64_rule(case):
    name, kwargs = case
    params, grads = problem(1)
    ps, opt = _stepped(name, kwargs, params, grads, dtype=torch.float32)
    assert all(v.dtype == torch.float32 for s in opt.state.values() for k, v in s.items() if k != "step")
    rule, hp = _rule_hp(name, kwargs)
    agree([p.detach().double().numpy() for p in ps], run_rule(rule, hp, params, grads), 2e-5,
          f"torch float32 {case_id(case)} vs numpy rule")


CHECKPOINT_CASES = [pytest.param(*c, id=case_id(c)) for c in CASES]


@pytest.mark.parametrize(("name", "kwargs"), CHECKPOINT_CASES)
def test_checkpoint_continues_bit_for_bit(name, kwargs):
    params, grads = problem(2, steps=20)
    whole, _ = _stepped(name, kwargs, params, grads)
    first, opt = _stepped(name, kwargs, params, grads[:9])
    saved = copy.deepcopy(opt.state_dict())
    rule = get(SIGNATURES[name][0])
    assert set(saved["state"][0]) == {"step", *rule.state_keys}  # torch's step, the rule's names
    resumed = [p.detach().clone().requires_grad_(True) for p in first]
    fresh = getattr(ak, name)(resumed, lr=0.5)  # other settings: the checkpoint's groups win
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    for gs in grads[9:]:
        for p, g in zip(resumed, gs, strict=True):
            p.grad = torch.tensor(g)
        fresh.step()
    for a, b in zip(resumed, whole, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_two_groups_and_a_param_without_gradient():
    params, grads = problem(3)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    opt = ak.AdEMAMix([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05, "mix_alpha": 1.0}], lr=0.01)
    for gs in grads:
        ps[0].grad, ps[1].grad = torch.tensor(gs[0]), None  # ps[1] never gets one: never moves
        ps[2].grad = torch.tensor(gs[2])
        opt.step()
    rule = get("ademamix")
    hp = {"betas": (0.9, 0.999), "beta3": 0.9999, "eps": 1e-8}
    first = run_rule(rule, {**hp, "lr": 0.01, "mix_alpha": 2.0}, params[:1], [g[:1] for g in grads])
    third = run_rule(rule, {**hp, "lr": 0.05, "mix_alpha": 1.0}, params[2:], [g[2:] for g in grads])
    agree([ps[0].detach().numpy(), ps[2].detach().numpy()], first + third, 1e-14, "ademamix groups")
    np.testing.assert_array_equal(ps[1].detach().numpy(), params[1])
    assert ps[1] not in opt.state


def test_closure_is_called_and_its_loss_returned():
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = ak.Lion([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 5.0
    torch.testing.assert_close(p.detach(), torch.tensor([0.9, -1.9]))


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("Lion", {"lr": -1.0}, "Invalid learning rate: -1.0"),
    ("Lamb", {"betas": (0.9, 1.0)}, "Invalid beta parameter at index 1: 1.0"),
    ("Lamb", {"weight_decay_mode": "independent"}, "invalid weight_decay_mode 'independent'"),
    ("ADOPT", {"eps": -1e-6}, "Invalid epsilon value: -1e-06"),
    ("AdEMAMix", {"beta3": 1.5}, "Invalid beta parameter at index 2: 1.5"),
    ("AdEMAMix", {"mix_alpha": -1.0}, "Invalid alpha value: -1.0"),
    ("AdEMAMix", {"betas": (0.9, 0.999, 0.99), "beta3": 0.9}, "give beta3 or betas\\[2\\], not both"),
    ("AdEMAMix", {"alpha_warmup": 0}, "alpha_warmup"),
])
def test_invalid_settings_are_refused_in_one_line(name, kwargs, message):
    with pytest.raises(HyperparameterError, match=message) as info:
        getattr(ak, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    assert "\n" not in str(info.value)
