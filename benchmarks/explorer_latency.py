"""Explorer latency in a real browser: from a slider change to the updated plot.

Targets: live renderer p95 (JupyterLab, kernel round trip included) <= 100 ms for the funnel
and growth explorers (issue 18; 150 ms in issue 7) and <= 150 ms for the income explorer
(issue 17); static renderer p95 <= 50 ms (exported HTML, CustomJS lookup); each at its defaults.

Static: the explorer's standalone page is opened in Chromium; each sample sets the Bokeh slider's
value from JavaScript and waits until the source's data has been replaced and two animation
frame has run (the canvas repaints in it).
Live: JupyterLab runs a notebook showing both explorers; each sample presses an arrow key on the
ipywidgets slider and measures, in the page, from the keydown to the new data plus the next animation frame.

    flock /tmp/toolkit-bench.lock .venv/bin/python benchmarks/explorer_latency.py [--n 30]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser.conftest import ARGS, CHROMIUM, explorer_notebook, start_lab  # noqa: E402

TARGET_LIVE_MS = {"funnel": 100, "growth": 100, "income": 150}
TARGET_STATIC_MS = 50
CASES = {  # explorer -> (control, source, column)
    "funnel": ("contacts", "funnel_explorer_source", "expected"),
    "growth": ("contacts_per_rep_per_month", "growth_fan_expected", "expected"),
    "income": ("unilevel_scale", "income_explorer_distribution", "gross"),
}
LABELS = {
    "funnel": "Contacts",
    "growth": "Contacts per rep per month",
    "income": "Unilevel rates (x the plan's)",
}

STATIC_STEP = """
async ([wname, sname, value, position]) => {
  let w = null, s = null;
  for (const d of Bokeh.documents) { w = w || d.get_model_by_name(wname); s = s || d.get_model_by_name(sname); }
  // from the slider change to the first animation frame after the data changed (the repaint)
  const changed = new Promise(r => s.properties.data.change.connect(() => r()));
  const t0 = performance.now();
  w.value = w.tags.includes("indexed") ? position : value;  // an uneven grid steps by position
  const late = new Promise(r => setTimeout(() => r("late"), 5000));
  if ((await Promise.race([changed, late])) === "late") return null;  // nothing changed
  await new Promise(r => requestAnimationFrame(r));
  return performance.now() - t0;
}"""
ARM = """
(sname) => {
  let s = null;
  for (const d of Bokeh.documents) s = s || d.get_model_by_name(sname);
  window.__before = s.data;
  window.__source = s;
  window.__t0 = null;
  if (!window.__armed) {
    document.addEventListener('keydown', () => { if (window.__t0 === null) window.__t0 = performance.now(); }, true);
    window.__armed = true;
  }
}"""
WAIT = """
async () => {
  const s = window.__source;
  const deadline = performance.now() + 10000;
  while (s.data === window.__before && performance.now() < deadline) await new Promise(r => setTimeout(r, 1));
  await new Promise(r => requestAnimationFrame(r));
  return s.data === window.__before ? null : performance.now() - window.__t0;
}"""


def summary(samples) -> str:
    a = np.asarray([x for x in samples if x is not None])
    return f"median {np.median(a):6.1f} ms  p95 {np.percentile(a, 95):6.1f} ms  (n={len(a)})"


def static_latency(browser, n: int) -> dict[str, list[float]]:
    from toolkit.explorers import funnel_explorer, growth_explorer, income_explorer

    makers = {"funnel": funnel_explorer, "growth": growth_explorer, "income": income_explorer}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in makers.items():
            explorer = make()
            t0 = time.perf_counter()
            page_html = explorer.static_html()
            build = time.perf_counter() - t0
            path = Path(tmp) / f"{name}.html"
            path.write_text(page_html)
            control, source, _ = CASES[name]
            steps = next(c for c in explorer.controls if c.name == control).grid_values(
                explorer.values[control]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(path.as_uri())
            page.wait_for_selector("canvas")
            page.wait_for_timeout(500)
            samples = []
            for i in range(n + 3):
                position = (i + 1) % len(steps)
                ms = page.evaluate(
                    STATIC_STEP, [f"{explorer.name}_{control}", source, steps[position], position]
                )
                if i >= 3:  # the first callbacks compile the CustomJS code
                    samples.append(ms)
            page.close()
            out[name] = samples
            print(
                f"static {name:7s} {summary(samples)}   page {len(page_html) / 1e6:.2f} MB, built in {build:.1f} s"
            )
    return out


def live_latency(browser, n: int) -> dict[str, list[float]]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        explorer_notebook(
            root / "bench.ipynb",
            extra_cells=["from toolkit.explorers import income_explorer\nincome_explorer()"],
        )
        server = start_lab(root)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}/lab/tree/bench.ipynb?token={server.token}")
            visible = ".jp-NotebookPanel:not(.lm-mod-hidden)"
            page.wait_for_selector(f"{visible} [data-status='idle']", timeout=60_000)
            deadline = time.monotonic() + 180
            last = page.locator(
                ".widget-label", has_text=re.compile(f"^{re.escape(LABELS['income'])}$")
            )
            while last.count() == 0 and time.monotonic() < deadline:
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
                page.locator(".lm-Menu-itemLabel").filter(
                    has_text=re.compile("^Run All Cells$")
                ).click()
                page.wait_for_timeout(8000)
            page.wait_for_selector(f"{visible} [data-status='idle']", timeout=120_000)
            page.wait_for_timeout(2000)
            for name, (_control, source, _col) in CASES.items():
                slider = page.locator(".widget-hslider").filter(
                    has=page.locator(
                        ".widget-label", has_text=re.compile(f"^{re.escape(LABELS[name])}$")
                    )
                )
                handle = slider.locator(".noUi-handle").first
                handle.scroll_into_view_if_needed()
                samples = []
                for i in range(n + 2):
                    page.evaluate(ARM, source)
                    handle.focus()
                    handle.press("ArrowRight" if (i // 5) % 2 == 0 else "ArrowLeft")
                    ms = page.evaluate(WAIT)
                    if i >= 2:
                        samples.append(ms)
                    page.wait_for_timeout(100)
                out[name] = samples
                print(f"live   {name:7s} {summary(samples)}")
            page.close()
        finally:
            server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="slider moves per explorer and renderer")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        static = static_latency(browser, args.n)
        live = live_latency(browser, args.n)
        browser.close()
    print()
    for label, results, targets in (
        ("static", static, dict.fromkeys(CASES, TARGET_STATIC_MS)),
        ("live", live, TARGET_LIVE_MS),
    ):
        for name, samples in results.items():
            target = targets[name]
            p95 = float(np.percentile([x for x in samples if x is not None], 95))
            verdict = "ok" if p95 <= target else "OVER"
            print(
                f"{label:6s} {name:7s} p95 {p95:6.1f} ms / target {target} ms = {p95 / target:.2f}x  {verdict}"
            )


if __name__ == "__main__":
    main()
