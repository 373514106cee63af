"""The hyperparameter declarations: one home for names, defaults, ranges; every front end reads it."""

import inspect
import re

import numpy as np
import pytest
import torch

import adamkit.numpy as aknp
import adamkit.torch as ak
from adamkit import rules
from adamkit.errors import HyperparameterError
from adamkit.rules import HYPERPARAMETERS, VARIANTS, registry


def _torch_api(name):
    """The rule's torch spelling (its declaration's), or a skip where it has none."""
    api = registry.declaration(name).torch
    if api is None:
        pytest.skip(f"{name} has no torch class")
    return api


@pytest.mark.parametrize("name", list(rules.RULES))
def test_rule_defaults_are_torch_defaults(name):
    rule = rules.get(name)
    assert all(k in HYPERPARAMETERS for k in rule.takes)
    api = _torch_api(name)
    if api.peer is None:
        pytest.skip(f"{name}: torch has no such class")
    module, _, attribute = api.peer.rpartition(".")  # torch.optim.Adam, schedulefree.AdamWScheduleFree
    torch_params = inspect.signature(getattr(pytest.importorskip(module), attribute).__init__).parameters
    for key, value in rule.defaults.items():
        # under an alias only where no translate function reshapes the arguments (torch's
        # Adafactor's eps is a pair of the rule's eps1 and eps2)
        spelt = _spelt_in(api, key, torch_params, aliases=api.translate is None)
        if spelt is not None:
            assert torch_params[spelt].default == value, key


def _spelt_in(api, hp, params, aliases=True):
    """The name under which ``params`` take hyperparameter ``hp``: its own, an alias (Adadelta's
    rho is the vocabulary's alpha) or torch's name in the Api's group_names (ASGD's alpha is
    eta_power); None if they do not take it."""
    others = HYPERPARAMETERS[hp].aliases if aliases else ()
    for name in (hp, *others, api.traits.get("group_names", {}).get(hp)):
        if name in params:
            return name
    return None


@pytest.mark.parametrize("name", list(rules.RULES))
def test_adamkit_torch_signatures_take_every_declared_hyperparameter(name):
    params = inspect.signature(getattr(ak, _torch_api(name).name).__init__).parameters
    fixed_by_the_class = {"decoupled_weight_decay"} if name == "adamw" else set()  # as torch's AdamW
    missing = {hp for hp in set(rules.get(name).takes) - fixed_by_the_class
               if _spelt_in(_torch_api(name), hp, params) is None}
    assert not missing


def test_every_variant_names_a_rule_and_valid_settings():
    for v in VARIANTS.values():
        rules.get(v.rule).validate(v.settings)


def test_choices_and_ranges_are_read_from_the_declarations():
    assert rules.EPS_MODES == HYPERPARAMETERS["eps_mode"].valid == ("paper", "hat", "root")
    with pytest.raises(HyperparameterError, match="invalid eps_mode 'keras'; valid: paper, hat, root"):
        rules.get("adam").validate(eps_mode="keras")
    assert HYPERPARAMETERS["weight_decay"].flag == "--weight-decay"


@pytest.mark.parametrize("bad,shown,error", [
    (None, "None", TypeError),  # not "nan" (NumPy's reading of None)
    ("0.1", "0.1", TypeError),  # refused here, not at the first step
    (float("nan"), "nan", ValueError),
    (-1.0, "-1.0", ValueError),
])
def test_lr_that_is_not_a_nonnegative_number_is_refused(bad, shown, error):
    # torch.optim's words first (its comparison raises a TypeError for None and strings), then the range
    with pytest.raises(error, match=re.escape(f"adam: Invalid learning rate: {shown}; ")) as info:
        rules.get("adam").validate(lr=bad)
    assert isinstance(info.value, HyperparameterError) and "[0, inf)" in str(info.value)


def test_numpy_front_end_takes_the_names_the_source_documents_write():
    x = np.array([8.0, -3.0])
    keras_named = aknp.Adam(learning_rate=0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-7)
    torch_named = aknp.Adam(lr=0.1, betas=(0.8, 0.99), eps=1e-7)
    also = aknp.Adam(lr=0.1, beta1=0.8, beta2=0.99, eps=1e-7)
    assert keras_named.hp == torch_named.hp == also.hp
    with pytest.raises(ValueError, match="lr given twice"):
        aknp.Adam(lr=0.1, learning_rate=0.2)
    with pytest.raises(ValueError, match="not both"):
        aknp.Adam(betas=(0.9, 0.99), beta_1=0.8)
    assert np.array_equal(keras_named.update(x, 2 * x), torch_named.update(x, 2 * x))


def test_numpy_front_end_refuses_a_second_array_of_another_shape():
    opt = aknp.Adam(lr=0.1)
    opt.update(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=r"params of shape \(2,\), but its state is for shape \(3,\)"):
        opt.update(np.zeros(2), np.ones(2))
    many = aknp.SGD(lr=0.1)
    many.update({"w": np.zeros((2, 2)), "b": np.zeros(2)}, {"w": np.ones((2, 2)), "b": np.ones(2)})
    with pytest.raises(ValueError, match=r"params\['b'\] of shape \(3,\)"):
        many.update({"w": np.zeros((2, 2)), "b": np.zeros(3)}, {"w": np.ones((2, 2)), "b": np.ones(3)})


def test_radam_with_a_short_memory_never_rectifies_and_does_not_divide_by_zero():
    # beta2 = 0.6: rho_inf = 4, so rho_t <= 5 at every step (momentum SGD throughout)
    rule = rules.get("radam")
    hp = rule.validate(betas=(0.9, 0.6))
    p, g = np.ones(3), np.full(3, 0.5)
    state = rule.init(p, hp, np)
    for step in range(1, 6):
        p, state = rule.update(p, g, state, step, hp, np)
    assert np.isfinite(p).all()


def test_adamw_is_an_adam_and_decays_decoupled_by_default():
    p = torch.nn.Parameter(torch.ones(3))
    opt = ak.AdamW([p])
    assert isinstance(opt, ak.Adam)
    assert opt.param_groups[0]["weight_decay_mode"] == "decoupled"
    assert ak.AdamW([p], weight_decay_mode="independent").param_groups[0]["weight_decay_mode"] \
        == "independent"
    for cls in (ak.Adam, ak.NAdam, ak.RAdam, ak.Adamax, ak.SGD, ak.RMSprop, ak.Adagrad, ak.AdamW):
        assert inspect.signature(cls.__init__).parameters["weight_decay_mode"].default is None
