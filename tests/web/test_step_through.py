"""Step through one update: /api/step's numbers and the page's table, against references.

References, computed here: the race's own path (``adamkit.lab.run``, bit for bit: the point the
breakdown starts from must be the one drawn), ``adamkit.numpy``'s optimizers stepped by hand (bit
for bit: the state before and after), and the source documents' Adam written out in float64
(m, v, m̂, v̂, the step), which may differ from the rule's operation order in the last bits: rel
1e-12. The page shows five significant digits, so its cells are compared at rel 5e-5 (half a unit
in the fifth digit).
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.web.conftest import ARTIFACTS, post, ready

from adamkit import numpy as ak_numpy
from adamkit.lab import run
from adamkit.lab.functions import get as get_function

ADAM_HP = {"lr": 0.05, "beta1": 0.8, "beta2": 0.99, "eps": 1e-3}  # a large ε, so it shows
STEP = 7


def seeds_adam(fn, start, steps, lr, beta1, beta2, eps):
    """Adam as the source documents write it (float64, from scratch); the quantities of the last step."""
    theta = np.array(start, dtype=np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t in range(1, steps + 1):
        g = fn.grad(theta[None])[0]
        m_prev, v_prev = m, v
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        step = -lr * m_hat / (np.sqrt(v_hat) + eps)
        point, theta = theta, theta + step
    return {"point": point, "gradient": g, "m_prev": m_prev, "v_prev": v_prev, "m": m, "v": v,
            "bias_correction1": 1 - beta1**steps, "bias_correction2": 1 - beta2**steps,
            "m_hat": m_hat, "v_hat": v_hat, "denominator": np.sqrt(v_hat) + eps,
            "effective_lr": lr / (np.sqrt(v_hat) + eps), "update": step,
            "eps_share": eps / (np.sqrt(v_hat) + eps), "next_point": theta}


def by_hand(name, steps, start, **hp):
    """adamkit.numpy's optimizer for a variant, stepped on rosenbrock: state before/after step ``steps``."""
    from adamkit import rules

    fn = get_function("rosenbrock")
    v = rules.variant(name)
    opt = ak_numpy.for_rule(v.rule)(**{**v.settings, **hp})
    p = np.array([start], dtype=np.float64)
    for _ in range(steps - 1):
        p = opt.update(p, fn.grad(p))
    before = {k: np.array(a) for k, a in next(iter(opt.state.values()), {}).items()}
    p = opt.update(p, fn.grad(p))
    after = {k: np.array(a) for k, a in next(iter(opt.state.values())).items()}
    return before, after, p[0]


def test_adam_step_equals_the_race_numpy_and_the_seeds(server):
    fn = get_function("rosenbrock")
    status, u = post(server + "api/step", {"function": "rosenbrock", "steps": 100, "step": STEP,
                                           "optimizer": {"name": "adam", "hyperparameters": ADAM_HP}})
    assert status == 200, u
    race = run("rosenbrock", "adam", steps=STEP, **ADAM_HP)
    assert u["point"] == race.path[0, STEP - 1].tolist()  # bit for bit: the point drawn
    assert u["next_point"] == race.path[0, STEP].tolist()
    before, after, _ = by_hand("adam", STEP, fn.start, lr=0.05, betas=(0.8, 0.99), eps=1e-3)
    assert u["state_before"] == {k: a[0].tolist() for k, a in before.items()}
    assert u["state_after"] == {k: a[0].tolist() for k, a in after.items()}
    want = seeds_adam(fn, fn.start, STEP, **{k: ADAM_HP[k] for k in ("lr", "beta1", "beta2", "eps")})
    a = u["adam"]
    for key in ("m_prev", "v_prev", "m", "v", "bias_correction1", "bias_correction2", "m_hat",
                "v_hat", "denominator", "effective_lr", "update"):
        np.testing.assert_allclose(a[key], want[key], rtol=1e-12, err_msg=key)
    # the share is 1 - √v̂/divisor on the server (the same for every eps_mode): a difference from 1,
    # exact to a few units of 1's last bit, not relative to a small share
    np.testing.assert_allclose(a["eps_share"], want["eps_share"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(u["gradient"], want["gradient"], rtol=1e-12)
    np.testing.assert_allclose(u["change"], want["update"], rtol=1e-12)
    # ε = 1e-3 against √v̂ of order 1..100: its share is what the formula says, nowhere over half
    assert a["eps_dominates"] == [bool(s > 0.5) for s in want["eps_share"]]


def test_the_seeds_one_dimensional_example(server):
    """The source documents' own race: f(x) = (x - 2)², x₀ = 8, α = 0.1, Adam's 50th update."""
    status, u = post(server + "api/step", {"function": "(x - 2)**2", "start": [8.0], "step": 50,
                                           "optimizer": {"name": "adam", "hyperparameters": {"lr": 0.1}}})
    assert status == 200 and u["dim"] == 1, u
    x, m, v = 8.0, 0.0, 0.0
    for t in range(1, 51):  # the seeds' loop, as they write it
        g = 2 * (x - 2)
        m = 0.9 * m + (1 - 0.9) * g
        v = 0.999 * v + (1 - 0.999) * g**2
        m_hat = m / (1 - 0.9**t)
        v_hat = v / (1 - 0.999**t)
        x_before, x = x, x - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8)
    a = u["adam"]
    np.testing.assert_allclose([u["point"][0], u["gradient"][0], a["m"][0], a["v"][0], a["m_hat"][0],
                                a["v_hat"][0], u["next_point"][0]],
                               [x_before, 2 * (x_before - 2), m, v, m_hat, v_hat, x], rtol=1e-12)


def test_momentum_step_is_its_own_update(server):
    """SGD with momentum: its buffer before and after, and the move -lr·buf, generic over state keys."""
    fn = get_function("rosenbrock")
    status, u = post(server + "api/step", {"function": "rosenbrock", "step": STEP,
                                           "optimizer": {"name": "momentum", "hyperparameters": {"lr": 2e-4}}})
    assert status == 200, u
    assert u["adam"] is None and u["state_keys"] == ["momentum_buffer"]
    assert u["formula"].startswith("buf")
    race = run("rosenbrock", "momentum", steps=STEP, lr=2e-4)
    assert u["point"] == race.path[0, STEP - 1].tolist()
    before, after, nxt = by_hand("momentum", STEP, fn.start, lr=2e-4)
    assert u["state_before"]["momentum_buffer"] == before["momentum_buffer"][0].tolist()
    assert u["state_after"]["momentum_buffer"] == after["momentum_buffer"][0].tolist()
    assert u["next_point"] == nxt.tolist()
    # the heavy ball from scratch: buf = 0.9·buf + g, θ -= lr·buf
    theta, buf = np.array(fn.start, dtype=np.float64), None
    for _ in range(STEP):
        g = fn.grad(theta[None])[0]
        prev, buf = buf, g.copy() if buf is None else 0.9 * buf + g
        theta = theta - 2e-4 * buf
    np.testing.assert_allclose(u["state_before"]["momentum_buffer"], prev, rtol=1e-12)
    np.testing.assert_allclose(u["state_after"]["momentum_buffer"], buf, rtol=1e-12)
    np.testing.assert_allclose(u["next_point"], theta, rtol=1e-12)


def test_every_raceable_optimizer_steps_as_it_races():
    """Generic over the registry: each optimizer's update 3 starts and ends where its race does,
    and shows each state array it keeps (no server: the route's function, called directly)."""
    from adamkit import rules
    from adamkit.web import step

    for name, v in rules.VARIANTS.items():
        if v.shape != "any":
            continue
        u = step.step({"function": "himmelblau", "step": 3, "optimizer": {"name": name}})
        race = run("himmelblau", name, steps=3)
        assert u["point"] == race.path[0, 2].tolist() and u["next_point"] == race.path[0, 3].tolist(), name
        assert set(u["state_keys"]) == set(u["state_before"]) | set(u["state_after"]), name
        assert (u["adam"] is not None) == (rules.get(v.rule).internals is not None), name


def test_a_per_step_scalar_state_is_one_number(server):
    status, u = post(server + "api/step", {"step": 3, "optimizer": {"name": "nadam"}})
    assert status == 200 and len(u["state_after"]["mu_product"]) == 1
    assert len(u["state_after"]["exp_avg"]) == 2


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"steps": 10, "step": 11, "optimizer": {"name": "adam"}}, 400, "invalid step 11; valid range [1, 10]"),
    ({"step": 0, "optimizer": {"name": "adam"}}, 400, "invalid step 0; valid range [1, 10000]"),
    ({"step": 20000, "optimizer": {"name": "adam"}}, 413, "over the limit of 10000"),
    ({"step": 2, "optimizer": "adam"}, 400, "optimizer must be an object"),
    ({"step": 2, "optimizer": {"name": "adam"}, "internals": 0}, 400, "step takes no 'internals'"),
    ({"step": 2, "optimizer": {"name": "adam", "hyperparameters": {"beta1": 1}}}, 400, "Invalid beta parameter"),
    ({"step": 300, "optimizer": {"name": "sgd", "hyperparameters": {"lr": 0.5}}}, 400,
     "comes after the path diverged at step"),
])
def test_bad_requests_are_one_line(server, body, status, words):
    got, out = post(server + "api/step", body)
    assert got == status and words in out["error"] and "\n" not in out["error"], out


def test_a_matrix_optimizer_is_refused_in_one_line(server):
    from adamkit import rules

    matrix = [name for name, v in rules.VARIANTS.items() if v.shape != "any"]
    if not matrix:
        pytest.skip("no optimizer acting on matrices is declared")
    got, out = post(server + "api/step", {"step": 2, "optimizer": {"name": matrix[0]}})
    assert got == 400 and "acts on weight matrices" in out["error"], out


# --- the page ---------------------------------------------------------------------------------------

@pytest.fixture
def page(browser, server):
    pg = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server)
    ready(pg, 4)
    yield pg
    pg.close()
    assert not errors, errors


def cells(pg) -> dict[str, list[float]]:
    """The table's numbers by quantity: {data-key: [value per coordinate]} as shown."""
    shown = pg.eval_on_selector_all("#update-body td[data-key]",
                                    "(all) => all.map((c) => [c.dataset.key, +c.dataset.i, c.textContent])")
    out: dict[str, list[float]] = {}
    for key, i, text in shown:
        out.setdefault(key, []).insert(i, float(text))
    return out


def go_to(pg, t: int) -> None:
    while pg.evaluate("window.adamkitApp.update ? window.adamkitApp.update.step : 0") < t:
        now = pg.evaluate("window.adamkitApp.t")
        pg.click("#update-next")
        pg.wait_for_function(f"window.adamkitApp.update && window.adamkitApp.update.step == {now + 1}")


def test_the_page_shows_adams_update_and_then_momentums(page):
    page.click("#step-mode")
    page.wait_for_function("window.adamkitApp.update && window.adamkitApp.update.step == 1")
    assert page.get_attribute("#step-mode", "aria-pressed") == "true"
    go_to(page, STEP)
    fn = get_function("rosenbrock")
    hp = page.evaluate("window.adamkitApp.state.optimizers[0].hp")
    want = seeds_adam(fn, fn.start, STEP, hp["lr"], hp["beta1"], hp["beta2"], hp["eps"])
    shown = cells(page)
    for key in ("point", "gradient", "m_prev", "m", "v_prev", "v", "bias_correction1",
                "bias_correction2", "m_hat", "v_hat", "denominator", "effective_lr", "update",
                "next_point"):
        np.testing.assert_allclose(shown[key], np.atleast_1d(want[key]), rtol=5e-5, err_msg=key)
    # the numbers the table was made from are the rule's, exactly as the API gives them
    assert page.evaluate("window.adamkitApp.update.point") == \
        run("rosenbrock", "adam", steps=STEP, lr=hp["lr"]).path[0, STEP - 1].tolist()
    text = page.inner_text("#update-body")
    assert "mₜ" in text and "v̂ₜ" in text and "ε made no difference here" in text
    # the map's frame follows the step; back goes one update back
    assert page.evaluate("window.adamkitApp.t") == STEP
    page.click("#update-back")
    page.wait_for_function(f"window.adamkitApp.update.step == {STEP - 1}")

    # inspect momentum: its own update, its buffer before and after
    page.select_option("#inspect", "2")
    page.wait_for_function("window.adamkitApp.update && window.adamkitApp.update.optimizer == 'momentum'")
    t = page.evaluate("window.adamkitApp.update.step")
    lr = page.evaluate("window.adamkitApp.state.optimizers[2].hp.lr")
    before, after, nxt = by_hand("momentum", t, fn.start, lr=lr)
    shown = cells(page)
    np.testing.assert_allclose(shown["before.momentum_buffer"], before["momentum_buffer"][0], rtol=5e-5)
    np.testing.assert_allclose(shown["after.momentum_buffer"], after["momentum_buffer"][0], rtol=5e-5)
    np.testing.assert_allclose(shown["next_point"], nxt, rtol=5e-5)
    assert "buf" in page.inner_text("#update-body pre")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "step-through-1280.png"), full_page=True)
