"""Invariants over random hyperparameters and shapes (hypothesis)."""

import io

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import adamkit.numpy as aknp
import adamkit.torch as ak

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
adam_hp = st.fixed_dictionaries(
    {
        "lr": st.floats(0, 1),
        "betas": st.tuples(st.floats(0, 0.999), st.floats(0, 0.9999)),
        "eps": st.floats(1e-12, 1e-2),
        "weight_decay": st.floats(0, 0.5),
        "amsgrad": st.booleans(),
        "eps_mode": st.sampled_from(["paper", "hat", "root"]),
        "weight_decay_mode": st.sampled_from(["l2", "decoupled", "independent"]),
    }
)
SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(hp=adam_hp, data=st.data(), shape=shapes)
def test_adam_updates_are_finite_and_bounded(hp, data, shape):
    x = data.draw(arrays(np.float64, shape, elements=finite))
    opt = aknp.Adam(**hp)
    b1, b2 = hp["betas"]
    for t in range(1, 4):
        g = data.draw(arrays(np.float64, shape, elements=finite))
        new = opt.update(x, g)
        assert np.all(np.isfinite(new))
        if hp["weight_decay"] == 0 and hp["eps_mode"] == "paper" and b2 >= 1e-3:
            # Adam's trust region: Cauchy-Schwarz on the two EMAs bounds |m_hat| / sqrt(v_hat),
            # hence each coordinate's move, whatever the gradients were.
            ratio = sum((b1 * b1 / b2) ** k for k in range(t))
            bound = hp["lr"] * (1 - b1) / (1 - b1**t) * np.sqrt((1 - b2**t) / (1 - b2) * ratio)
            assert np.all(np.abs(new - x) <= bound * (1 + 1e-9) + 1e-12)
        x = new


@SETTINGS
@given(name=st.sampled_from(["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "SGD", "RMSprop", "Adagrad"]),
       lr=st.floats(1e-4, 1), shape=shapes, data=st.data())
def test_zero_gradient_moves_nothing_without_weight_decay(name, lr, shape, data):
    x = data.draw(arrays(np.float64, shape, elements=finite))
    extra = {"weight_decay": 0.0} if name == "AdamW" else {}
    opt = getattr(aknp, name)(lr=lr, **extra)
    for _ in range(3):
        new = opt.update(x, np.zeros(shape))
        np.testing.assert_array_equal(new, x)


@SETTINGS
@given(hp=adam_hp, data=st.data(), shape=array_shapes(min_dims=1, max_dims=2, max_side=5))
def test_torch_front_end_equals_numpy_reference(hp, data, shape):
    x0 = data.draw(arrays(np.float64, shape, elements=finite))
    grads = [data.draw(arrays(np.float64, shape, elements=finite)) for _ in range(4)]
    ours = aknp.Adam(**hp)
    p = torch.nn.Parameter(torch.tensor(x0))
    opt = ak.Adam([p], **hp)
    x = x0
    for g in grads:
        x = ours.update(x, g)
        p.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), x, rtol=1e-10, atol=1e-10 * (1 + np.abs(x).max()))


@SETTINGS
@given(hp=adam_hp, steps=st.integers(1, 4), data=st.data())
def test_saved_and_loaded_state_continues_bitwise(hp, steps, data):
    x0 = data.draw(arrays(np.float32, (3, 2), elements=st.floats(-10, 10, width=32)))
    p = torch.nn.Parameter(torch.tensor(x0))
    opt = ak.Adam([p], **hp)
    for _ in range(steps):
        p.grad = torch.randn(3, 2)
        opt.step()
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    q = torch.nn.Parameter(p.detach().clone())
    twin = ak.Adam([q], **hp)
    buffer.seek(0)
    twin.load_state_dict(torch.load(buffer))
    for _ in range(3):
        g = torch.randn(3, 2)
        p.grad, q.grad = g.clone(), g.clone()
        opt.step()
        twin.step()
    assert torch.equal(p, q)
