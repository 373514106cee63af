"""The NumPy rules (float64 reference) against torch.optim, the seeds' own code and hand formulas."""

import math

import numpy as np
import pytest
import torch
from tests.torch.configs import CONFIGS, config_id

import adamkit.numpy as aknp
from adamkit import rules


def _numpy_kwargs(kwargs):
    return {k: (v.item() if torch.is_tensor(v) else v) for k, v in kwargs.items()}


@pytest.fixture
def float64_scalars():
    """torch keeps scalar state (NAdam's mu_product) in the default dtype: make that float64 too."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_numpy_reference_equals_torch_optim(config, float64_scalars):
    name, kwargs = config
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4, 3))
    ours = getattr(aknp, name)(**_numpy_kwargs(kwargs))
    p = torch.tensor(x0, requires_grad=True)
    peer = getattr(torch.optim, name)([p], **_numpy_kwargs(kwargs))
    x = x0
    for _ in range(30):
        g = rng.standard_normal((4, 3))
        x = ours.update(x, g)
        p.grad = torch.tensor(g)
        peer.step()
    np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_update_does_not_modify_inputs_and_keeps_structure():
    opt = aknp.Adam(lr=0.1)
    params = {"w": np.ones(3), "b": np.zeros(())}
    grads = {"w": np.full(3, 0.5), "b": np.array(2.0)}
    before = {k: v.copy() for k, v in params.items()}
    out = opt.update(params, grads)
    assert set(out) == {"w", "b"} and out["b"].shape == ()
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    listed = aknp.SGD(lr=0.1).update([np.ones(2), np.ones(1)], [np.ones(2), np.ones(1)])
    assert isinstance(listed, list) and len(listed) == 2


class SeedSlide7Adam:
    """Slide 7 of the source documents, verbatim but for the class name."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.m = None
        self.v = None
        self.t = 0

    def update(self, params, grads):
        if self.m is None:
            self.m = np.zeros_like(params)
            self.v = np.zeros_like(params)
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grads
        self.v = self.beta2 * self.v + (1 - self.beta2) * (grads**2)
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        params -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon)
        return params


def test_reproduces_the_seeds_from_scratch_class():
    seed, ours = SeedSlide7Adam(), aknp.Adam()
    a, b = np.array([1.0, 2.0]), np.array([1.0, 2.0])
    rng = np.random.default_rng(3)
    for _ in range(200):
        g = rng.standard_normal(2)
        a = seed.update(a, g)
        b = ours.update(b, g)
        np.testing.assert_allclose(b, a, rtol=1e-14, atol=0)


def test_reproduces_the_seeds_quadratic_trajectory():
    """The (x-2)^2 example: alpha 0.1, 50 steps from 8.0, written as the seed writes it."""
    x_seed, m, v = 8.0, 0, 0
    opt, x = aknp.Adam(lr=0.1), np.array(8.0)
    for t in range(1, 51):
        g = 2 * (x_seed - 2)
        m = 0.9 * m + (1 - 0.9) * g
        v = 0.999 * v + (1 - 0.999) * (g**2)
        m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
        x_seed -= 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
        x = opt.update(x, 2 * (x - 2))
        assert abs(float(x) - x_seed) <= 1e-14 * abs(x_seed)


@pytest.mark.parametrize("g", [1e-3, 0.5, -7.0, 1e4])
def test_golden_first_step_moves_each_coordinate_by_about_lr(g):
    # m_hat = g and v_hat = g^2 after one step, so the move is lr * g / (|g| + eps).
    lr, eps = 0.01, 1e-8
    x = aknp.Adam(lr=lr).update(np.array([1.0]), np.array([g]))
    assert float(x[0]) == pytest.approx(1.0 - lr * g / (abs(g) + eps), rel=1e-15)


def test_golden_second_step_by_hand():
    b1, b2, lr, eps, g1, g2 = 0.9, 0.999, 0.1, 1e-8, 3.0, -1.0
    m = (1 - b1) * g1
    v = (1 - b2) * g1**2
    x = 0.0 - lr * (m / (1 - b1)) / (math.sqrt(v / (1 - b2)) + eps)
    m = b1 * m + (1 - b1) * g2
    v = b2 * v + (1 - b2) * g2**2
    x = x - lr * (m / (1 - b1**2)) / (math.sqrt(v / (1 - b2**2)) + eps)
    opt = aknp.Adam(lr=lr)
    y = opt.update(np.array(0.0), np.array(g1))
    y = opt.update(y, np.array(g2))
    assert float(y) == pytest.approx(x, rel=1e-14)


def keras_adam_reference(x, grads, lr, b1, b2, eps, amsgrad=False):
    """tf.keras.optimizers.Adam.update_step, written out from its documented formula."""
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    v_hat = np.zeros_like(x)
    for t, g in enumerate(grads, start=1):
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        denominator_v = v
        if amsgrad:  # Keras rebinds v to v_hat for this step only; the stored v stays the EMA
            v_hat = np.maximum(v_hat, v)
            denominator_v = v_hat
        x = x - (m * alpha) / (np.sqrt(denominator_v) + eps)
    return x


@pytest.mark.parametrize("amsgrad", [False, True])
def test_eps_hat_mode_is_keras_formula(amsgrad):
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(6) * 1e-4 for _ in range(40)]  # small: eps placement matters
    x0 = rng.standard_normal(6)
    expected = keras_adam_reference(x0, grads, 1e-3, 0.9, 0.999, 1e-7, amsgrad)
    opt = aknp.Adam(lr=1e-3, eps=1e-7, eps_mode="hat", amsgrad=amsgrad)
    x = x0
    for g in grads:
        x = opt.update(x, g)
    np.testing.assert_allclose(x, expected, rtol=1e-12)
    paper = aknp.Adam(lr=1e-3, eps=1e-7, amsgrad=amsgrad)
    y = x0
    for g in grads:
        y = paper.update(y, g)
    assert np.max(np.abs(x - y)) > 1e-6, "the two conventions must differ visibly on small gradients"


def test_eps_root_mode_is_optax_formula():
    rng = np.random.default_rng(6)
    x0, eps_root, lr = rng.standard_normal(5), 1e-6, 1e-2
    grads = [rng.standard_normal(5) * 1e-3 for _ in range(20)]
    m = v = np.zeros(5)
    x = x0
    for t, g in enumerate(grads, start=1):  # optax.scale_by_adam(eps=0, eps_root=eps_root)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t) + eps_root) + 0)
    opt, y = aknp.Adam(lr=lr, eps=eps_root, eps_mode="root"), x0
    for g in grads:
        y = opt.update(y, g)
    np.testing.assert_allclose(y, x, rtol=1e-12)


def test_eps_root_with_paper_eps_is_optax_formula_in_numpy_torch_and_the_fused_engine():
    """optax.adam(eps, eps_root): m̂ / (sqrt(v̂ + eps_root) + eps), both non-zero."""
    import torch

    import adamkit.torch as ak

    rng = np.random.default_rng(7)
    x0, eps, eps_root, lr = rng.standard_normal(5), 1e-4, 1e-5, 1e-2
    grads = [rng.standard_normal(5) * 1e-2 for _ in range(20)]
    m = v = np.zeros(5)
    x = x0
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        x = x - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t) + eps_root) + eps)
    opt, y = aknp.Adam(lr=lr, eps=eps, eps_root=eps_root), x0
    for g in grads:
        y = opt.update(y, g)
    np.testing.assert_allclose(y, x, rtol=1e-12)
    # torch: the per-tensor rule path and the fused engine (a group large enough to take it)
    tiles = 40_000 // 5
    kinds = set()
    for fused in (False, None):
        p = torch.nn.Parameter(torch.tensor(np.tile(x0, tiles)))
        topt = ak.Adam([p], lr=lr, eps=eps, eps_root=eps_root, fused=fused)
        for g in grads:
            p.grad = torch.tensor(np.tile(g, tiles))
            topt.step()
        kinds.add(topt.paths()[0].kind)
        np.testing.assert_allclose(p.detach().numpy(), np.tile(x, tiles), rtol=1e-12)
    assert kinds == {"rule", "engine"}


@pytest.mark.parametrize("mode", ["hat", "root"])
def test_eps_root_with_another_eps_mode_is_refused_naming_paper(mode):
    import torch

    import adamkit.torch as ak

    with pytest.raises(ValueError, match=f"invalid eps_mode '{mode}' with eps_root 1e-08; "
                                         "valid: 'paper'"):
        aknp.Adam(eps_root=1e-8, eps_mode=mode)
    with pytest.raises(ValueError, match="valid: 'paper'"):
        ak.AdamW([torch.zeros(1, requires_grad=True)], eps_root=1e-8, eps_mode=mode)


@pytest.mark.parametrize(("name", "mode", "valid"), [
    ("rmsprop", "hat", "paper, root"), ("adagrad", "hat", "paper, root"),
    ("adamax", "root", "paper, hat")])
def test_eps_mode_choices_are_the_rules_own(name, mode, valid):
    with pytest.raises(ValueError, match=f"{name}: invalid eps_mode '{mode}'; valid: {valid}$"):
        rules.get(name).validate(eps_mode=mode)


def test_keras_eps_placements_of_rmsprop_adagrad_adamax_follow_their_formulas():
    """Keras: RMSprop lr·g/sqrt(v + ε), Adagrad lr·g/sqrt(acc + ε), Adamax
    lr/(1-β1^t)·m/(u + ε) with u = max(β2·u, |g|); by hand, in float64."""
    rng = np.random.default_rng(8)
    x0, lr, eps = rng.standard_normal(4), 1e-2, 1e-2
    grads = [rng.standard_normal(4) for _ in range(10)]
    x, v = x0, np.zeros(4)
    for g in grads:
        v = 0.99 * v + 0.01 * g * g
        x = x - lr * g / np.sqrt(v + eps)
    y, opt = x0, aknp.RMSprop(lr=lr, eps=eps, eps_mode="root")
    for g in grads:
        y = opt.update(y, g)
    np.testing.assert_allclose(y, x, rtol=1e-12)
    x, acc = x0, np.zeros(4)
    for g in grads:
        acc = acc + g * g
        x = x - lr * g / np.sqrt(acc + eps)
    y, opt = x0, aknp.Adagrad(lr=lr, eps=eps, eps_mode="root")
    for g in grads:
        y = opt.update(y, g)
    np.testing.assert_allclose(y, x, rtol=1e-12)
    x, m, u = x0, np.zeros(4), np.zeros(4)
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        u = np.maximum(0.999 * u, np.abs(g))
        x = x - lr / (1 - 0.9**t) * m / (u + eps)
    y, opt = x0, aknp.Adamax(lr=lr, eps=eps, eps_mode="hat")
    for g in grads:
        y = opt.update(y, g)
    np.testing.assert_allclose(y, x, rtol=1e-12)


def test_weight_decay_modes_follow_their_formulas():
    x0, g, lr, wd = np.array([2.0, -3.0]), np.array([0.5, 0.25]), 0.1, 0.2
    adam_move = lambda grad: lr * grad / (np.abs(grad) + 1e-8)  # noqa: E731  first step
    l2 = aknp.Adam(lr=lr, weight_decay=wd).update(x0, g)
    np.testing.assert_allclose(l2, x0 - adam_move(g + wd * x0), rtol=1e-15)
    decoupled = aknp.Adam(lr=lr, weight_decay=wd, weight_decay_mode="decoupled").update(x0, g)
    np.testing.assert_allclose(decoupled, x0 * (1 - lr * wd) - adam_move(g), rtol=1e-15)
    # Fully decoupled: the decay follows the schedule factor only, not lr.
    half = lambda step: 0.5  # noqa: E731
    independent = aknp.Adam(lr=lr, weight_decay=wd, weight_decay_mode="independent", schedule=half)
    np.testing.assert_allclose(
        independent.update(x0, g), x0 * (1 - 0.5 * wd) - 0.5 * adam_move(g), rtol=1e-15
    )
    assert aknp.AdamW().hp["weight_decay_mode"] == "decoupled"


def test_a_batch_of_configurations_equals_each_configuration_alone():
    lrs = np.array([1e-3, 1e-2, 0.1, 0.5])
    beta1s = np.array([0.0, 0.5, 0.9, 0.99])
    amsgrad_batch = aknp.Adam(lr=lrs[:, None], betas=(beta1s[:, None], 0.999), amsgrad=True)
    x = np.tile([1.5, -0.5], (4, 1))
    rosen_grad = lambda p: np.stack(  # noqa: E731
        [-2 * (1 - p[..., 0]) - 400 * p[..., 0] * (p[..., 1] - p[..., 0] ** 2),
         200 * (p[..., 1] - p[..., 0] ** 2)], axis=-1)
    path = [x]
    for _ in range(100):
        x = amsgrad_batch.update(x, rosen_grad(x))
        path.append(x)
    for c in range(4):
        single = aknp.Adam(lr=float(lrs[c]), betas=(float(beta1s[c]), 0.999), amsgrad=True)
        y = np.array([1.5, -0.5])
        for _ in range(100):
            y = single.update(y, rosen_grad(y))
        np.testing.assert_allclose(x[c], y, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(rules.RULES))
def test_every_rule_runs_batched(name):
    rule = rules.get(name)
    hp = rule.validate(lr=np.array([[0.01], [0.02]]))
    p = np.ones((2, 3))
    state = rule.init(p, hp, np)
    for step in range(1, 4):
        p, state = rule.update(p, np.full((2, 3), 0.3), state, step, hp, np)
    assert p.shape == (2, 3) and np.all(np.isfinite(p))
    assert not np.allclose(p[0], p[1])


def test_internals_report_what_adam_does():
    opt = aknp.Adam(lr=0.1, eps=1e-3)
    x = opt.update(np.array([1.0, 1.0]), np.array([2.0, 1e-6]))
    inside = opt.internals()
    np.testing.assert_allclose(inside["m_hat"], [2.0, 1e-6], rtol=1e-12)
    np.testing.assert_allclose(1.0 - inside["update"], x, rtol=1e-15)
    assert inside["eps_dominates"].tolist() == [False, True]


def test_rules_are_pure():
    rule = rules.get("adam")
    hp = rule.validate(amsgrad=True)
    p, g = np.ones(3), np.full(3, 0.1)
    state = rule.init(p, hp, np)
    frozen = {k: v.copy() for k, v in state.items()}
    rule.update(p, g, state, 1, hp, np)
    for k in state:
        np.testing.assert_array_equal(state[k], frozen[k])
    np.testing.assert_array_equal(p, np.ones(3))
