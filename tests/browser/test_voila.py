"""The presenter's view (``make present``) in Chromium: each screen shows one explorer, large
type, presets first, no code, no request leaving the machine, and its controls change the plot.

The server is the real one (``python -m toolkit present``) on the real screens of
``notebooks/present/``. Screenshots go to tests/artifacts/presenter_*.png for a person to look at.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import psutil
import pytest

from .conftest import ROOT, Page, free_port, wait_port
from .test_jupyterlab import CANVAS_HASH

# screen -> (its title in the menu, the label of the control moved, whether that is a menu)
SCREENS = {
    "growth": ("Growth", "Contacts per rep per month", False),
    "funnel": ("Funnel", "Contacts", False),
    "lead_budget": ("Lead budget", "Budget ($)", False),
    "cohorts": ("Cohorts", "Metric", True),
    "income": ("Income", "Unilevel rates (x the plan's)", False),
}
# Every named data source of the newest Bokeh document (the explorer's), as one string.
SOURCES = """() => {
  const docs = [...(window.Bokeh ? Bokeh.documents : [])];
  if (!docs.length) return null;
  const out = {};
  for (const m of docs[docs.length - 1].all_models) {
    if (m.name && m.data) {
      out[m.name] = Object.fromEntries(
        Object.entries(m.data).map(([k, v]) => [k, Array.from(v, String)]));
    }
  }
  return JSON.stringify(out);
}"""
# Words a room cannot act on in Voila (there is no cell to edit or run).
EDIT_WORDS = re.compile(
    r"\b(edit|change|run)\b[^.]{0,40}\bcell|parameters? cell|run (it )?again|re-?run|import toolkit",
    re.I,
)


@pytest.fixture(scope="module")
def presenter():
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "toolkit", "present", f"--port={port}", "--max-kernels=4"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    first = proc.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)/voila/render/growth\.ipynb\?token=(\S+)", first)
    assert match, f"no presenter URL with a token printed first: {first!r}"
    wait_port(port, proc)
    proc.base, proc.token = match.group(1), match.group(2)
    yield proc
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    proc.stdout.close()


def kernels(server) -> int:
    """Kernels the presenter server runs now (its ipykernel child processes)."""
    children = psutil.Process(server.pid).children(recursive=True)
    return sum("ipykernel" in " ".join(c.cmdline()) for c in children if c.is_running())


def wait_kernels(server, n: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while kernels(server) != n and time.monotonic() < deadline:
        time.sleep(0.25)
    return kernels(server)


@pytest.fixture(scope="module")
def room_page(browser):
    # a projector's 1280x800, every request routed: anything but 127.0.0.1 is recorded and aborted
    p = Page(browser, viewport=(1280, 800))
    yield p
    p.close()


def test_the_menu_offers_every_screen_offline(presenter, room_page):
    pg = room_page.page
    pg.goto(f"{presenter.base}/?token={presenter.token}", timeout=60_000)
    links = pg.locator(".toolkit-menu a")
    assert links.all_inner_texts() == [title for title, _, _ in SCREENS.values()]
    hrefs = links.evaluate_all("(as) => as.map((a) => a.getAttribute('href'))")
    assert hrefs == [f"/voila/render/{name}.ipynb" for name in SCREENS]
    room_page.screenshot("presenter_menu.png")
    assert room_page.external == [] and room_page.errors == []


@pytest.mark.parametrize("name", list(SCREENS))
def test_a_presenter_screen(presenter, room_page, name):
    title, label, is_menu = SCREENS[name]
    pg = room_page.page
    # later screens are reached from the menu bar, the way a presenter moves between them
    if name == "growth":
        pg.goto(
            f"{presenter.base}/voila/render/{name}.ipynb?token={presenter.token}", timeout=60_000
        )
    else:
        pg.goto(f"{presenter.base}/?token={presenter.token}", timeout=60_000)
        pg.locator(".toolkit-menu a").filter(has_text=re.compile(f"^{title}$")).click()
    control = ".widget-dropdown select" if is_menu else ".widget-hslider .noUi-handle"
    pg.wait_for_selector(control, timeout=180_000)
    pg.wait_for_selector("canvas", timeout=60_000)
    pg.wait_for_function(f"() => ({SOURCES})() !== null", timeout=60_000)
    pg.wait_for_timeout(1000)  # let BokehJS finish its first paint

    text = pg.inner_text("body")
    assert not EDIT_WORDS.search(text), EDIT_WORDS.search(text)
    assert "Traceback" not in text and "Error" not in text
    assert pg.locator(".jp-InputArea").count() == 0  # no code
    assert pg.locator(".toolkit-room").count() == 1  # one explorer on the screen
    size = pg.locator(".toolkit-room .widget-label").first.evaluate(
        "(e) => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 20, f"control labels at {size}px: too small for a room"
    presets = pg.locator(".toolkit-room-presets .widget-button")
    if presets.count():  # presets above the controls
        first_control = pg.locator(".toolkit-room .widget-slider, .toolkit-room .widget-dropdown")
        assert presets.first.bounding_box()["y"] < first_control.first.bounding_box()["y"]
    room_page.screenshot(f"presenter_{name}.png")
    # leaving a screen shut its kernel down: only this screen's kernel runs
    assert wait_kernels(presenter, 1) == 1

    before, pixels = pg.evaluate(SOURCES), pg.locator("canvas").evaluate_all(CANVAS_HASH)
    if is_menu:
        box = pg.locator(".widget-dropdown").filter(has=pg.locator("label", has_text=label))
        select = box.locator("select")
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("(s) => s.options[s.selectedIndex].text")
        select.select_option(label=next(o for o in options if o != current))
    else:
        slider = pg.locator(".widget-hslider").filter(
            has=pg.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$"))
        )
        handle = slider.locator(".noUi-handle").first
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
    pg.wait_for_function(f"(b) => ({SOURCES})() !== b", arg=before, timeout=60_000)
    pg.wait_for_timeout(1000)
    assert pg.locator("canvas").evaluate_all(CANVAS_HASH) != pixels, "the plot did not redraw"
    room_page.screenshot(f"presenter_{name}_moved.png")
    assert room_page.external == [], f"requests left the machine: {room_page.external}"
    assert room_page.errors == [], room_page.errors
