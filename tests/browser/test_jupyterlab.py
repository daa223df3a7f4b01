"""JupyterLab: the notebooks run without error output and the live explorers respond to sliders."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from .conftest import READ_COLUMN, ROOT, Page, shutdown_kernels

TOUR = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
# evaluated over page.locator("canvas"), which pierces Bokeh's shadow DOM
CANVAS_HASH = """(canvases) => {
  let h = 0;
  for (const c of canvases) {
    const s = c.toDataURL();
    for (let i = 0; i < s.length; i += 97) h = (h * 31 + s.charCodeAt(i)) | 0;
  }
  return h;
}"""


def open_and_run(page: Page, lab, name: str, timeout: float = 240) -> None:
    """Open ``name`` in JupyterLab and Run All Cells until every code cell has run.

    On a busy machine a click can land before the kernel connection is ready, or run only the
    active cell: whenever the kernel sits idle with cells not yet run, run all again (the tour
    notebooks can be rerun), and reload the page if that did not help twice."""
    pg = page.page
    # a workspace per notebook: the default one would reopen every notebook opened before
    workspace = Path(name).stem
    pg.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?token={lab.token}")
    visible = ".jp-NotebookPanel:not(.lm-mod-hidden)"
    idle = f"{visible} [data-status='idle']"
    pg.wait_for_selector(idle, timeout=60_000)
    deadline = time.monotonic() + timeout
    clicked, attempts = float("-inf"), 0
    while time.monotonic() < deadline:
        dialog = pg.locator(".jp-Dialog")
        if dialog.count():  # e.g. "Select Kernel", which the Makefile's lab settings turn off
            page.screenshot(f"dialog_{name}.png")
            raise AssertionError(
                f"{name}: JupyterLab shows a dialog: {dialog.first.inner_text()!r}"
            )
        prompts = [p.strip() for p in pg.locator(f"{visible} .jp-InputPrompt").all_inner_texts()]
        code = [p for p in prompts if p]  # markdown cells have an empty prompt
        is_idle = pg.locator(idle).count() > 0
        if code and all(re.fullmatch(r"\[\d+\]:", p) for p in code) and is_idle:
            return
        if is_idle and "[*]:" not in code and time.monotonic() - clicked > 20:
            if attempts and attempts % 2 == 0:
                pg.reload()
                pg.wait_for_selector(idle, timeout=60_000)
            pg.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
            pg.locator(".lm-Menu-itemLabel").filter(has_text=re.compile("^Run All Cells$")).click()
            clicked, attempts = time.monotonic(), attempts + 1
        pg.wait_for_timeout(500)
    page.screenshot(f"timeout_{name}.png")
    raise TimeoutError(f"{name} did not finish in {timeout} s: prompts {prompts!r}")


def error_outputs(page: Page) -> list[str]:
    texts = page.page.locator(
        ".jp-NotebookPanel:not(.lm-mod-hidden) [data-mime-type='application/vnd.jupyter.stderr']"
    ).all_inner_texts()
    return [t for t in texts if "Traceback" in t or "Error" in t]


def move_slider(page: Page, label: str) -> None:
    slider = page.page.locator(".widget-hslider").filter(
        has=page.page.locator(".widget-label", has_text=re.compile(f"^{re.escape(label)}$"))
    )
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")


def wait_for_change(page: Page, arg, before, timeout=30.0):
    deadline = time.monotonic() + timeout
    value = page.page.evaluate(READ_COLUMN, arg)
    while value == before and time.monotonic() < deadline:
        page.page.wait_for_timeout(100)
        value = page.page.evaluate(READ_COLUMN, arg)
    return value


def test_live_explorers_respond_in_jupyterlab(jupyterlab, page):
    open_and_run(page, jupyterlab, "90_explorers.ipynb")
    assert error_outputs(page) == []
    for label, source, col in (
        ("Contacts", "funnel_explorer_source", "expected"),
        ("Contacts per rep per month", "growth_fan_expected", "expected"),
    ):
        before = page.page.evaluate(READ_COLUMN, [source, col])
        assert before is not None, f"{source} not found in the page's Bokeh documents"
        pixels = page.page.locator("canvas").evaluate_all(CANVAS_HASH)
        move_slider(page, label)
        after = wait_for_change(page, [source, col], before)
        assert after != before, f"moving {label!r} did not change {source}.{col}"
        page.page.wait_for_timeout(300)
        assert page.page.locator("canvas").evaluate_all(CANVAS_HASH) != pixels, (
            "the canvas did not re-render"
        )
    page.screenshot("jupyterlab_explorers.png")
    shutdown_kernels(jupyterlab)


@pytest.mark.parametrize("name", TOUR)
def test_tour_notebook_runs_in_jupyterlab(jupyterlab, page, name):
    open_and_run(page, jupyterlab, name)
    assert error_outputs(page) == [], f"{name} shows an error"
    # jupyterlab-overrides.json (installed by the Makefile) turns the news question off
    assert page.page.get_by_text("official Jupyter news").count() == 0, "the news pop-up showed"
    page.screenshot(f"jupyterlab_{Path(name).stem}.png")
    shutdown_kernels(jupyterlab)
