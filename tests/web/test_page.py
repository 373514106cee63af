"""The real page in headless Chromium (Debian's, driven by PyPI's playwright): a screenshot per test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from tests.web.conftest import ARTIFACTS, ready

from adamkit.lab import run


@pytest.fixture
def page(browser, server, request):
    pg = browser.new_page(viewport={"width": 1560, "height": 1100})
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server)
    ready(pg, 4)
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    pg.close()
    assert not errors, errors


def drawn(pg, k=0):
    return pg.evaluate(f"window.adamkitApp.runs[{k}]")


def test_drawn_paths_equal_the_lab_and_a_slider_recomputes(page):
    first = drawn(page)
    np.testing.assert_array_equal(np.array(first["path"]), run("rosenbrock", "adam", steps=1000).path[0])
    page.evaluate("window.adamkitApp.latency = null")
    slider = page.locator(".card").first.locator("input[name=lr]")
    slider.evaluate("(s) => { s.value = 300; s.dispatchEvent(new Event('input')); }")
    page.wait_for_function("window.adamkitApp.latency !== null")
    now = drawn(page)
    lr = now["hyperparameters"]["lr"]
    assert lr != first["hyperparameters"]["lr"]
    np.testing.assert_array_equal(np.array(now["path"]), run("rosenbrock", "adam", steps=1000, lr=lr).path[0])


def test_click_on_the_map_sets_the_start(page):
    page.evaluate("window.adamkitApp.latency = null")
    page.locator("#map").click(position={"x": 130, "y": 390})  # window x [-2, 2], y [-1, 3], 520 px
    page.wait_for_function("window.adamkitApp.latency !== null && window.adamkitApp.runs[3]")
    start = page.evaluate("window.adamkitApp.state.start")
    assert start == pytest.approx([-1.0, 0.0], abs=0.02)
    assert drawn(page, 1)["path"][0] == start


def test_pick_a_function_and_a_bad_expression(page):
    page.select_option("#function", "himmelblau")
    page.wait_for_function("window.adamkitApp.fn.name == 'himmelblau' && window.adamkitApp.runs[0]"
                           " && window.adamkitApp.runs[0].path[0][0] == -4")
    page.fill("#expression", "x**2 + sin(y")
    page.locator("#expression").dispatch_event("change")
    page.wait_for_selector("#expression-error:not([hidden])")
    assert "column 11" in page.inner_text("#expression-error")


def test_play_the_animation_and_reload_the_shared_url(page, browser):
    page.click("#play")
    page.wait_for_timeout(300)
    t = page.evaluate("window.adamkitApp.t")
    assert 0 < t < 1000
    page.click("#play")  # pause
    page.locator(".card").nth(1).locator("input[name=lr]").evaluate(
        "(s) => { s.value = 600; s.dispatchEvent(new Event('input')); }")
    page.wait_for_timeout(500)
    url = page.url
    state = json.loads(page.evaluate("decodeURIComponent(location.hash.slice(1))"))
    other = browser.new_page(viewport={"width": 1560, "height": 1100})
    other.goto(url)
    ready(other, 4)
    assert other.evaluate("window.adamkitApp.state") == state
    assert drawn(other, 1)["path"] == drawn(page, 1)["path"]
    other.close()


def test_sensitivity_map_and_internals(page):
    page.wait_for_function("window.adamkitApp.sweep && window.adamkitApp.sweep.configurations == 4096",
                           timeout=30000)
    assert "after step" in page.inner_text("#internals")
    assert page.evaluate("window.adamkitApp.sweep.engine") in ("fused", "engine")


def test_more_optimizers_than_one_request_takes(page):
    """A map click recomputes every optimizer: 13 go to the server as two requests (12 + 1)."""
    for n in range(5, 14):
        page.click("#add")
        # wait for each new path before the next click: a redraw that wraps the legend onto
        # another line moves the button, and a click racing it was lost under load
        ready(page, n)
    page.evaluate("window.adamkitApp.latency = null")
    page.locator("#map").click(position={"x": 130, "y": 390})
    page.wait_for_function("window.adamkitApp.latency !== null")
    start = page.evaluate("window.adamkitApp.state.start")
    assert [drawn(page, k)["path"][0] for k in range(13)] == [start] * 13
    assert page.is_hidden("#error")
