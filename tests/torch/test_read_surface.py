"""The torch optimizers' public read surface: ``internals(param)``, ``state_bytes()``, ``paths()``."""

import pytest
import torch

import adamkit.torch as ak
from adamkit import rules


def _stepped(opt_class, shapes=((300, 40), (7,)), steps=3, **options):
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
    opt = opt_class(params, **options)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen)
        opt.step()
    return opt, params


@pytest.mark.parametrize("precision", ["fp32", "bf16", "8bit"])
@pytest.mark.parametrize("fused", [True, False], ids=["engine", "rule"])
def test_internals_are_the_rule_on_the_decoded_state(precision, fused):
    opt, params = _stepped(ak.AdamW, lr=0.01, amsgrad=True, state_precision=precision,
                           fused=fused)
    big = params[0]
    inner = opt.internals(big)
    assert set(inner) == {"m_hat", "v_hat", "effective_lr", "update", "eps_dominates"}
    assert inner["m_hat"].shape == big.shape and inner["m_hat"].dtype == torch.float32
    # fp32 moments from the same gradients: the codes' rounding apart, the same numbers
    fp32, fp32_params = _stepped(ak.AdamW, lr=0.01, amsgrad=True, fused=fused)
    expected = fp32.internals(fp32_params[0])
    rtol = {"fp32": 1e-6, "bf16": 2e-2, "8bit": 5e-2}[precision]
    assert inner["effective_lr"].median() == pytest.approx(
        float(expected["effective_lr"].median()), rel=rtol)
    # and exactly what the rule says of the decoded state, with the group's hyperparameters now
    opt.param_groups[0]["lr"] = 0.02  # e.g. a scheduler's change
    state = {k: v for k, v in opt.state[big].items() if k != "step"}
    if precision == "fp32":
        hp = rules.get("adamw").validate({"lr": 0.02, "amsgrad": True})
        direct = rules.adam_internals(state, 3, hp, torch)
        torch.testing.assert_close(opt.internals(big)["effective_lr"], direct["effective_lr"])
    torch.testing.assert_close(opt.internals(big)["effective_lr"], 2 * inner["effective_lr"])


def test_internals_refuse_what_they_cannot_describe():
    sgd, params = _stepped(ak.SGD, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="rule 'sgd' keeps no Adam moments"):
        sgd.internals(params[0])
    fresh = torch.nn.Parameter(torch.zeros(3))
    adam = ak.Adam([fresh])
    with pytest.raises(ValueError, match=r"parameter param_groups\[0\]\['params'\]\[0\] of shape "
                                         r"\(3,\) has no optimizer state yet"):
        adam.internals(fresh)
    with pytest.raises(ValueError, match="not a parameter of this optimizer"):
        adam.internals(torch.zeros(3))
    with pytest.raises(ValueError, match="not a parameter of this optimizer"):
        adam.state_bytes(torch.zeros(3))


def test_sparse_adam_internals_use_its_epsilon_hat():
    emb = torch.nn.Embedding(50, 8, sparse=True)
    opt = ak.SparseAdam(emb.parameters(), lr=0.01)
    emb(torch.tensor([1, 2, 3])).sum().backward()
    opt.step()
    inner = opt.internals(emb.weight)
    # one step on rows 1-3: m_hat = g = 1, v_hat = 1, the hat form's lr / (1 + eps / sqrt(bc2))
    eps_hat = 1e-8 / (1 - 0.999) ** 0.5
    assert float(inner["effective_lr"][1, 0]) == pytest.approx(0.01 / (1 + eps_hat), rel=1e-6)
    assert opt.state_bytes() == opt.state_bytes(emb.weight) == 2 * 4 * 50 * 8


def test_state_bytes_count_the_stored_moments():
    for precision, per_param in (("fp32", 8), ("bf16", 4), ("8bit", 2 + 2 * 4 / 256)):
        opt, params = _stepped(ak.Adam, shapes=((256 * 64,),), state_precision=precision)
        assert opt.state_bytes() == opt.state_bytes(params[0]) == per_param * params[0].numel()


def test_paths_say_which_path_each_group_took_and_why():
    gen = torch.Generator().manual_seed(0)
    big = torch.nn.Parameter(torch.randn(1 << 16, generator=gen))
    small = torch.nn.Parameter(torch.randn(10, generator=gen))
    opt = ak.Adam([{"params": [big]}, {"params": [small]}])
    assert opt.paths() == [None, None]
    big.grad, small.grad = torch.ones_like(big), torch.ones_like(small)
    opt.step()
    engine, rule = opt.paths()
    assert (engine.kind, engine.reason, str(engine)) == ("engine", None, "fused engine")
    assert (rule.kind, rule.reason) == ("rule", ak.PathReason.SMALL_GROUP)
    assert str(rule) == "rule path (small group (one tensor of 10 < 32768 elements))"
    nadam, _ = _stepped(ak.NAdam)
    assert str(nadam.paths()[0]) == "fused engine"  # every rule has its kernels
    clipped, _ = _stepped(ak.SGD, clip_global_norm=1.0)
    assert clipped.paths()[0].reason is ak.PathReason.OPTION
