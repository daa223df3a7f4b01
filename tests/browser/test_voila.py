"""Voila (make present): the training notebook renders with code hidden and a slider updates the plot."""

from __future__ import annotations

from .conftest import READ_COLUMN
from .test_jupyterlab import move_slider, wait_for_change


def test_voila_renders_and_a_slider_updates_the_plot(voila, page):
    pg = page.page
    pg.goto(voila.url, timeout=120_000)
    pg.wait_for_selector(".widget-hslider .noUi-handle", timeout=120_000)
    pg.wait_for_selector("canvas", timeout=60_000)
    assert "import toolkit" not in pg.inner_text("body")  # code hidden (--strip_sources=True)
    before = pg.evaluate(READ_COLUMN, ["growth_fan_expected", "expected"])
    assert before is not None
    move_slider(page, "Contacts per rep per month")
    after = wait_for_change(page, ["growth_fan_expected", "expected"], before)
    assert after != before
    page.screenshot("voila_growth.png")
