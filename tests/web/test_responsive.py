"""The page on a phone (390 px), a tablet (768 px) and a desktop (1280 px), in headless Chromium.

At each width: the number of columns (measured from the sections' boxes), no sideways scrolling,
every slider named for a screen reader, a slider moved by the keyboard re-runs the race, and (on
the phone, with touch) a tap on the map and on a slider works. A full-page screenshot per width
goes to ``test-artifacts/web/responsive-<width>.png``, and one in step-through mode to
``responsive-<width>-step.png``.
"""

from __future__ import annotations

import pytest
from tests.web.conftest import ARTIFACTS, ready

WIDTHS = {390: 1, 768: 2, 1280: 3}  # viewport width -> columns the three sections take


@pytest.fixture(scope="module", params=sorted(WIDTHS), ids=lambda w: f"{w}px")
def page(browser, server, request):
    """One page per width, shared by the tests below (in order: they look, then they touch)."""
    width = request.param
    context = browser.new_context(viewport={"width": width, "height": 900}, has_touch=width < 700,
                                  is_mobile=width < 700, device_scale_factor=1)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(server)
    ready(pg, 4)
    pg.width = width  # type: ignore[attr-defined]
    yield pg
    context.close()
    assert not errors, errors


def columns(pg) -> int:
    """Distinct left edges of the three sections: 1, 2 or 3 columns."""
    lefts = pg.evaluate("['left', 'middle', 'right'].map((id) => "
                        "Math.round(document.getElementById(id).getBoundingClientRect().left))")
    return len(set(lefts))


def shoot(pg, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.wait_for_function("window.adamkitApp.sweep !== null")  # the last panel drawn
    pg.screenshot(path=str(ARTIFACTS / f"responsive-{pg.width}{name}.png"), full_page=True)


def no_sideways_scroll(pg) -> None:
    sizes = pg.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,"
                        " body: document.body.scrollWidth})")
    assert sizes["scroll"] <= sizes["inner"] and sizes["body"] <= sizes["inner"], sizes


def test_columns_and_no_sideways_scroll(page):
    shoot(page, "")
    assert columns(page) == WIDTHS[page.width]
    no_sideways_scroll(page)
    # nothing sticks out of the viewport on the right (a wide child clipped by overflow would not
    # show in scrollWidth but would be cut off)
    widest = page.evaluate("""Math.max(...[...document.querySelectorAll('main *')]
        .filter((e) => !e.closest('#update-body, #internals') && e.getClientRects().length)
        .map((e) => e.getBoundingClientRect().right))""")
    assert widest <= page.width + 0.5
    # the canvases scale with their column and keep their aspect ratio
    box = page.locator("#map").bounding_box()
    assert box["width"] <= page.width and abs(box["width"] - box["height"]) < 2


def test_every_slider_has_a_name(page):
    sliders = page.locator("input[type=range]")
    n = sliders.count()
    assert n >= 10  # four cards' sliders and the frame slider
    names = sliders.evaluate_all("(all) => all.map((s) => s.getAttribute('aria-label') || "
                                 "(s.labels && s.labels[0] ? s.labels[0].textContent.trim() : ''))")
    assert all(names), names
    # the names as the accessibility tree computes them: playwright's role query finds each
    assert page.get_by_role("slider", name="adam lr", exact=True).count() == 1
    assert page.get_by_role("slider", name="step shown", exact=True).count() == 1
    # the value read out is the hyperparameter's, not the slider's 0..1000 position
    lr = page.evaluate("window.adamkitApp.state.optimizers[0].hp.lr")
    assert float(page.get_by_role("slider", name="adam lr").get_attribute("aria-valuetext")) == \
        pytest.approx(lr, rel=1e-2)


def test_keyboard_moves_a_slider_and_reruns(page):
    slider = page.get_by_role("slider", name="adam lr", exact=True)
    before = int(slider.input_value())
    lr = page.evaluate("window.adamkitApp.runs[0].hyperparameters.lr")
    page.evaluate("window.adamkitApp.latency = null")
    slider.focus()
    for _ in range(3):  # one notch is 1/1000 of the slider (lr: ~1.4% on its log scale)
        page.keyboard.press("ArrowRight")
    page.wait_for_function("window.adamkitApp.latency !== null")
    assert int(slider.input_value()) == before + 3
    page.wait_for_function(f"window.adamkitApp.runs[0].hyperparameters.lr > {lr}")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "adam lr"


def test_touch_taps_the_map_and_a_slider(page):
    if page.width >= 700:
        pytest.skip("touch is tested on the phone width")
    page.evaluate("window.adamkitApp.latency = null")
    box = page.locator("#map").bounding_box()
    # the map is scaled to the phone's column: a tap at its centre is the window's centre
    page.locator("#map").tap(position={"x": box["width"] / 2, "y": box["height"] / 2})
    page.wait_for_function("window.adamkitApp.latency !== null")
    assert page.evaluate("window.adamkitApp.state.start") == pytest.approx([0.0, 1.0], abs=0.03)
    slider = page.get_by_role("slider", name="adam beta1", exact=True)
    slider.scroll_into_view_if_needed()
    before = int(slider.input_value())
    page.evaluate("window.adamkitApp.latency = null")
    sbox = slider.bounding_box()
    slider.tap(position={"x": sbox["width"] * 0.2, "y": sbox["height"] / 2})
    page.wait_for_function("window.adamkitApp.latency !== null")
    assert abs(int(slider.input_value()) - 200) < 60 and int(slider.input_value()) != before
    assert sbox["height"] >= 24  # a finger-sized target


def test_step_through_fits(page):
    """The step-through table, the widest thing the page shows, stays inside the screen."""
    page.get_by_role("button", name="step through one update").click()
    page.wait_for_function("window.adamkitApp.update && window.adamkitApp.update.step == 1")
    page.get_by_role("button", name="next update").click()
    page.wait_for_function("window.adamkitApp.update.step == 2")
    no_sideways_scroll(page)
    table = page.locator("#update-body table").bounding_box()
    assert table["x"] >= 0 and table["x"] + table["width"] <= page.width
    shoot(page, "-step")
    # another rule's update: its formula (a preformatted block, wide) scrolls inside its box
    page.select_option("#inspect", "2")
    page.wait_for_function("window.adamkitApp.update && window.adamkitApp.update.optimizer == 'momentum'")
    no_sideways_scroll(page)
    formula = page.locator("#update-body pre").bounding_box()
    assert formula["x"] >= 0 and formula["x"] + formula["width"] <= page.width
