"""Every control of every exported explorer page is live and exact: moving it changes what is
plotted; what the page shows is what the Python computes for the value the control shows
(moved by the keyboard, as a reader would); 20 random settings equal the headless twin."""

from __future__ import annotations

import re

import numpy as np
import pytest

import toolkit
from toolkit.explorers import (
    cohort_explorer,
    funnel_explorer,
    growth_explorer,
    income_explorer,
    lead_budget_explorer,
)
from toolkit.funnel import funnel_outlook
from toolkit.lead_quality import budget_outlook

from .conftest import FIND_MODEL

PRICES = {"generic": 1.5, "qualified": 10.0}
MIX = {"generic": 0.5, "qualified": 0.5}

# what a control change may alter: every named source's data and every named text, newest doc
SNAPSHOT = """
() => {
  const doc = [...Bokeh.documents].reverse().find((d) => d.roots().length);
  const out = {};
  for (const m of doc.all_models) {
    if (!m.name) continue;
    if (m.data !== undefined) {
      const cols = m.data instanceof Map ? [...m.data.entries()] : Object.entries(m.data);
      out[m.name] = cols.map(([k, v]) => [k, Array.from(v, (x) => String(x))]);
    } else if (typeof m.text === "string") out[m.name] = m.text;
  }
  return JSON.stringify(out);
}"""
READ = """
([name, cols]) => {
  for (const doc of [...Bokeh.documents].reverse()) {
    const m = doc.get_model_by_name(name);
    if (!m) continue;
    if (cols === null) return m.text;
    const get = (k) => (m.data instanceof Map ? m.data.get(k) : m.data[k]);
    return Object.fromEntries(cols.map((c) => [c, Array.from(get(c), (x) => (x === null ? NaN : x))]));
  }
  return null;
}"""
SET_ALL = """
(values) => {
  for (const doc of [...Bokeh.documents].reverse()) {
    let found = false;
    for (const [name, v] of Object.entries(values)) {
      const m = doc.get_model_by_name(name);
      if (m) { m.value = v; found = true; }
    }
    if (found) return true;
  }
  return false;
}"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """One exported page per explorer, on the bundled sample, as a notebook would set them."""
    root = tmp_path_factory.mktemp("sliders")
    data = toolkit.load_sample()
    model = toolkit.LeadQualityModel(features=("lead_type",)).fit(data)
    explorers = {
        "funnel": funnel_explorer(toolkit.funnel_table(data.events, as_of=data.as_of)),
        "budget": lead_budget_explorer(model, prices=PRICES, mix=MIX),
        "growth": growth_explorer(),
        "cohorts": cohort_explorer(data.members, data.orders, as_of=data.as_of),
        "income": income_explorer(months=6, runs=8),
    }
    out = {}
    for key, explorer in explorers.items():
        path = root / f"{key}.html"
        path.write_text(explorer.static_html(), encoding="utf-8")
        out[key] = (path, explorer)
    out["model"] = model
    return out


def open_page(page, path, first_model):
    page.page.goto(path.as_uri())
    page.page.wait_for_selector("canvas", timeout=20_000)
    page.page.wait_for_function(FIND_MODEL, arg=first_model, timeout=20_000)


def wait_change(pg, before, timeout=5.0):
    pg.wait_for_function(f"() => ({SNAPSHOT})() !== {before!r}", timeout=timeout * 1000)


def slider(pg, label):
    """The slider titled ``label``: its shown value and its handle."""
    title = pg.locator(".bk-slider-title", has_text=f"{label}:").first
    group = pg.locator(".bk-input-group", has=title).first
    return title, group.locator(".noUi-handle").first


def shown(title) -> str:
    return title.inner_text().split(":", 1)[1].strip()


def number(text: str) -> float:
    value = float(re.sub(r"[^0-9.\-]", "", text))
    return value / 100 if text.endswith("%") else value


@pytest.mark.parametrize(
    "key, first", [("funnel", "funnel_explorer_source"), ("budget", "lead_budget_explorer_counts")]
)
def test_every_slider_and_select_changes_the_plot(pages, page, key, first):
    path, explorer = pages[key]
    pg = page.page
    open_page(page, path, first)
    for control in [*explorer.grid_controls, *explorer.page_controls]:
        before = pg.evaluate(SNAPSHOT)
        name = f"{explorer.name}_{control.name}"
        if control.is_choice:
            other = next(str(v) for v in control.values if v != explorer.values[control.name])
            assert pg.evaluate(SET_ALL, {name: other}), name
        else:
            title, handle = slider(pg, control.label)
            was = shown(title)
            handle.focus()
            pg.keyboard.press("ArrowRight")
            if shown(title) == was:  # at the end of its range
                pg.keyboard.press("ArrowLeft")
            assert shown(title) != was, control.label
        try:
            wait_change(pg, before)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"{name} moved but nothing plotted changed") from exc
    assert page.errors == []
    assert page.external == []


def test_growth_cohort_and_income_controls_change_the_plot(pages, page):
    for key, first in (
        ("growth", "growth_fan_expected"),
        ("cohorts", "cohort_heatmap_observed"),
        ("income", "income_explorer_distribution"),
    ):
        path, explorer = pages[key]
        pg = page.page
        open_page(page, path, first)
        for control in [*explorer.grid_controls, *explorer.page_controls]:
            before = pg.evaluate(SNAPSHOT)
            name = f"{explorer.name}_{control.name}"
            if control.is_choice:
                other = [str(v) for v in control.values if v != explorer.values[control.name]][-1]
                assert pg.evaluate(SET_ALL, {name: other}), name
            else:
                _, handle = slider(pg, control.label)
                handle.focus()
                pg.keyboard.press("End")
            try:
                wait_change(pg, before)
            except Exception as exc:  # pragma: no cover
                raise AssertionError(f"{key}: {name} moved but nothing plotted changed") from exc
        page.screenshot(f"exported_{key}_explorer.png")
    assert page.errors == []
    assert page.external == []


def test_funnel_first_bar_is_the_contacts_shown(pages, page):
    path, explorer = pages["funnel"]
    pg = page.page
    open_page(page, path, "funnel_explorer_source")
    title, handle = slider(pg, "Contacts")
    handle.focus()
    for keys in (["ArrowRight"], ["ArrowRight"] * 3, ["PageUp"], ["ArrowLeft"] * 7, ["Home"]):
        before = pg.evaluate(SNAPSHOT)
        for k in keys:
            pg.keyboard.press(k)
        wait_change(pg, before)
        contacts = int(number(shown(title)))
        first = pg.evaluate(READ, ["funnel_explorer_source", ["expected"]])["expected"][0]
        assert first == contacts
        assert f"Out of <b>{contacts:,}</b>" in pg.evaluate(READ, ["funnel_explorer_readout", None])
    for control in explorer.page_controls[1:-1]:  # every rate: five moves, the page = Python
        title, handle = slider(pg, control.label)
        handle.focus()
        for keys in (["ArrowLeft"], ["ArrowLeft"] * 4, ["PageDown"], ["ArrowRight"] * 9, ["End"]):
            for k in keys:
                pg.keyboard.press(k)
            pg.wait_for_timeout(150)
            values = pg.evaluate(
                "(names) => names.map((n) => { for (const d of Bokeh.documents) {"
                " const m = d.get_model_by_name(n); if (m) return m.value; } })",
                [f"funnel_explorer_{c.name}" for c in explorer.controls],
            )
            values = dict(zip([c.name for c in explorer.controls], values, strict=True))
            assert shown(title) == _numbro_pct(values[control.name])
            check_funnel(pg, explorer, values)
    page.screenshot("exported_funnel_explorer.png")
    assert page.errors == []


def _numbro_pct(rate: float) -> str:
    """The slider's "0.[0]%" format."""
    text = f"{round(rate * 100, 1):.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def check_funnel(pg, explorer, values):
    rates = [float(values[f"rate_{i}"]) for i in range(len(explorer.controls) - 2)]
    trials = int(values["rate_trials"]) or None
    steps = list(pg.evaluate(READ, ["funnel_explorer_source", ["step"]])["step"])
    want = funnel_outlook(rates, int(values["contacts"]), steps=steps, rate_trials=trials).table
    got = pg.evaluate(
        READ,
        [
            "funnel_explorer_source",
            ["expected", "likely_lower", "likely_upper", "probability_of_none"],
        ],
    )
    np.testing.assert_allclose(got["expected"], want["expected"], rtol=1e-9, atol=0)
    np.testing.assert_allclose(
        got["probability_of_none"], want["probability_of_none"], rtol=1e-9, atol=1e-300
    )
    assert got["likely_lower"] == want["likely_lower"].tolist()
    assert got["likely_upper"] == want["likely_upper"].tolist()


def test_funnel_20_random_settings_equal_python(pages, page):
    path, explorer = pages["funnel"]
    pg = page.page
    open_page(page, path, "funnel_explorer_source")
    rng = np.random.default_rng(16)
    trials = [v for v in explorer.controls[-1].values]
    for _ in range(20):
        values = {"contacts": int(rng.integers(1, 101)) * 10}
        for c in explorer.controls[1:-1]:
            values[c.name] = round(float(rng.integers(0, 101)) / 100, 2)
        values["rate_trials"] = trials[int(rng.integers(0, len(trials)))]
        before = pg.evaluate(SNAPSHOT)
        assert pg.evaluate(
            SET_ALL,
            {
                f"funnel_explorer_{k}": (str(v) if k == "rate_trials" else v)
                for k, v in values.items()
            },
        )
        try:
            wait_change(pg, before, timeout=2)
        except Exception:
            pass  # a setting may plot what the previous one did
        pg.wait_for_timeout(100)
        check_funnel(pg, explorer, values)
    assert page.errors == []


def check_budget(pg, model, budget, share):
    want = budget_outlook(
        model, budget, PRICES, {"generic": share, "qualified": max(1 - share, 0.0)}
    )
    totals = want.totals
    got = pg.evaluate(
        READ,
        [
            "lead_budget_explorer_counts",
            ["expected", "ci_lower", "ci_upper", "likely_lower", "likely_upper"],
        ],
    )
    for col in ("expected", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(got[col], totals[col], rtol=1e-9, atol=0)
    for col in ("likely_lower", "likely_upper"):  # the Monte Carlo range, from the grid
        np.testing.assert_allclose(got[col], totals[col], rtol=1e-6)
    cost = pg.evaluate(READ, ["lead_quality_cost_per_source", ["cost_per"]])["cost_per"]
    np.testing.assert_allclose(
        cost,
        want.cost.query("outcome == 'customer'")["cost_per"],
        rtol=1e-9,
        atol=0,
        equal_nan=True,
    )


def test_budget_text_is_the_budget_shown_and_equals_python(pages, page):
    path, explorer = pages["budget"]
    model = pages["model"]
    pg = page.page
    open_page(page, path, "lead_budget_explorer_counts")
    b_title, b_handle = slider(pg, "Budget ($)")
    s_title, s_handle = slider(pg, explorer.controls[1].label)
    moves = (["ArrowRight"], ["ArrowRight"] * 3, ["PageUp"], ["ArrowLeft"] * 2, ["Home"])
    for handle in (b_handle, s_handle):
        handle.focus()
        for keys in moves:
            for k in keys:
                pg.keyboard.press(k)
            pg.wait_for_timeout(200)
            budget = number(shown(b_title))
            share = number(shown(s_title))
            text = pg.evaluate(READ, ["lead_budget_explorer_readout", None])
            assert f"Spending <b>${budget:,.2f}</b>" in text
            check_budget(pg, model, budget, share)
    page.screenshot("exported_budget_explorer.png")
    rng = np.random.default_rng(20)
    budgets, shares = explorer.static_grid().steps
    for _ in range(20):
        budget = float(budgets[int(rng.integers(0, len(budgets)))])
        share = float(shares[int(rng.integers(0, len(shares)))])
        assert pg.evaluate(
            SET_ALL,
            {"lead_budget_explorer_budget": budget, "lead_budget_explorer_share_0": share},
        )
        pg.wait_for_timeout(150)
        check_budget(pg, model, budget, share)
    assert page.errors == []
    assert page.external == []


def test_growth_sliders_show_only_values_the_page_has(pages, page):
    path, explorer = pages["growth"]
    pg = page.page
    open_page(page, path, "growth_fan_expected")
    grid = explorer.static_grid()
    for control, steps in zip(grid.controls, grid.steps, strict=True):
        if control.is_choice:
            continue
        title, handle = slider(pg, control.label)
        handle.focus()
        for keys in (["Home"], ["ArrowRight"], ["ArrowRight"] * 2, ["End"], ["ArrowLeft"]):
            for k in keys:
                pg.keyboard.press(k)
            pg.wait_for_timeout(150)
            text = shown(title)
            on_grid = [control.display(v) for v in steps]
            assert text in on_grid, f"{control.label} shows {text}, not a grid value {on_grid}"
            values = {c.name: explorer.values[c.name] for c in grid.controls}
            for c, s in zip(grid.controls, grid.steps, strict=True):
                if not c.is_choice:
                    t, _ = slider(pg, c.label)
                    values[c.name] = s[[c.display(v) for v in s].index(shown(t))]
            key = grid.key(
                [s.index(values[c.name]) for c, s in zip(grid.controls, grid.steps, strict=True)]
            )
            want = grid.states[key]
            for name, props in want.items():
                if "data" in props:
                    got = pg.evaluate(READ, [name, list(props["data"])])
                    for col, arr in props["data"].items():
                        if np.asarray(arr).dtype.kind in "fiu":
                            np.testing.assert_allclose(got[col], arr, rtol=1e-6)
    assert page.errors == []


def test_income_headline_is_what_python_computes_for_the_values_shown(pages, page):
    from toolkit.growth.income_outlook import income_outlook, scaled_plan
    from toolkit.plots.income_explorer_plots import headline_readout

    path, explorer = pages["income"]
    pg = page.page
    open_page(page, path, "income_explorer_distribution")
    grid = explorer.static_grid()
    plan = toolkit.CompensationPlan.unilevel_example()
    base = toolkit.GrowthParams()
    fixed = {c.name: explorer.values[c.name] for c in explorer.controls}
    for control, steps in zip(grid.controls, grid.steps, strict=True):
        title, handle = slider(pg, control.label)
        handle.focus()
        for keys in (["Home"], ["ArrowRight"], ["End"], ["ArrowLeft"], ["ArrowLeft"]):
            for k in keys:
                pg.keyboard.press(k)
            pg.wait_for_timeout(150)
            on_grid = [control.display(v) for v in steps]
            assert shown(title) in on_grid, f"{control.label}: {shown(title)} not in {on_grid}"
            values = dict(fixed)
            for c, s in zip(grid.controls, grid.steps, strict=True):
                t, _ = slider(pg, c.label)
                values[c.name] = s[[c.display(v) for v in s].index(shown(t))]
            org = {k: values[k] for k in ("contacts_per_rep_per_month", "contact_to_rep",
                                          "monthly_attrition")}  # fmt: skip
            want = income_outlook(
                base.replace(**org),
                scaled_plan(
                    plan,
                    unilevel_scale=values["unilevel_scale"],
                    retail_margin=values["retail_margin"],
                    monthly_fee=values["monthly_fee"],
                    starter_fee=values["starter_fee"],
                ),
                months=6,
                runs=8,
                autoship=values["autoship"],
            )
            got = pg.evaluate(READ, ["income_explorer_headline", None])
            assert got == headline_readout(want.typical), values
    page.screenshot("exported_income_explorer.png")
    assert page.errors == []
    assert page.external == []


def _growth_params(explorer, values):
    from toolkit.growth import GrowthParams

    limits = ("warm_market_size", "market_size")
    return GrowthParams().replace(
        **{k: (None if k in limits and v == 0 else v) for k, v in values.items()}
    )


def _set_growth(pg, explorer, grid, values):
    from toolkit.explorers.static import _evenly_spaced

    widget_values = {}
    for c, steps in zip(grid.controls, grid.steps, strict=True):
        position = steps.index(values[c.name])
        widget_values[c.name] = values[c.name] if _evenly_spaced(steps) else position
    for c in explorer.page_controls:
        widget_values[c.name] = str(values[c.name]) if c.is_choice else values[c.name]
    assert pg.evaluate(SET_ALL, {f"growth_explorer_{k}": v for k, v in widget_values.items()})
    pg.wait_for_timeout(150)


def _band_drawn(pg) -> bool:
    return len(pg.evaluate(READ, ["growth_fan_band", ["median"]])["median"]) > 0


def test_growth_expected_path_20_random_settings_equal_python(pages, page):
    """The page computes the expected path for every control; the simulated runs appear only
    where the grid has them, and elsewhere the page says why instead."""
    from toolkit.growth.projection import project_growth

    path, explorer = pages["growth"]
    pg = page.page
    open_page(page, path, "growth_fan_expected")
    grid = explorer.static_grid()
    rng = np.random.default_rng(16)
    for i in range(20):
        values = {
            c.name: steps[int(rng.integers(0, len(steps)))]
            for c, steps in zip(grid.controls, grid.steps, strict=True)
        }
        for c in explorer.page_controls:
            if i < 3:  # where the notebook set them: the grid has the runs
                values[c.name] = explorer.values[c.name]
            elif c.is_choice:
                values[c.name] = c.values[int(rng.integers(0, len(c.values)))]
            else:
                n = int(round((c.end - c.start) / c.step))
                values[c.name] = round(c.start + int(rng.integers(0, n + 1)) * c.step, 10)
        _set_growth(pg, explorer, grid, values)
        want = project_growth(_growth_params(explorer, values), 12)
        got = pg.evaluate(READ, ["growth_fan_expected", ["month", "expected"]])
        np.testing.assert_allclose(got["month"], want["month"])
        np.testing.assert_allclose(
            got["expected"], np.maximum(want["cumulative_joined"], 0), rtol=1e-9, atol=0
        )
        wall = pg.evaluate(READ, ["growth_explorer_wall", ["remaining_expected", "joined_median"]])
        np.testing.assert_allclose(
            wall["remaining_expected"], want["remaining_market"], rtol=1e-9, equal_nan=True
        )
        claim = pg.evaluate(READ, ["growth_explorer_claim", None])
        on_grid = all(values[c.name] == explorer.values[c.name] for c in explorer.page_controls)
        assert _band_drawn(pg) == on_grid, (i, values)
        assert ("run in advance only" in claim) == (not on_grid), claim
        assert np.isnan(wall["joined_median"]).all() == (not on_grid)
        if on_grid:
            key = grid.key(
                [s.index(values[c.name]) for c, s in zip(grid.controls, grid.steps, strict=True)]
            )
            band = grid.states[key]["growth_fan_band"]["data"]["median"]
            np.testing.assert_allclose(
                pg.evaluate(READ, ["growth_fan_band", ["median"]])["median"], band, rtol=1e-6
            )
    page.screenshot("exported_growth_explorer_expected_only.png")
    assert page.errors == []


def test_growth_preset_keeps_its_runs_until_a_control_leaves_it(pages, page):
    path, explorer = pages["growth"]
    pg = page.page
    open_page(page, path, "growth_fan_expected")
    preset = explorer.presets[-1]  # the saturated town: other limits than the notebook's
    pg.get_by_role("button", name=preset.label).click()
    pg.wait_for_timeout(400)
    assert _band_drawn(pg)
    market = pg.evaluate(READ, ["growth_fan_market", ["market"]])["market"]
    assert set(market) == {float(preset.values["market_size"])}
    share = preset.values["leader_share"]
    moved = round(share + 0.05 if share < 0.9 else share - 0.05, 10)
    assert pg.evaluate(SET_ALL, {"growth_explorer_leader_share": moved})
    pg.wait_for_timeout(300)
    assert not _band_drawn(pg)
    claim = pg.evaluate(READ, ["growth_explorer_claim", None])
    assert "run in advance only" in claim and "Market (town) size 20,000" in claim, claim
    assert pg.evaluate(SET_ALL, {"growth_explorer_leader_share": share})
    pg.wait_for_timeout(300)
    assert _band_drawn(pg)  # back at the preset's values: its runs again
    assert page.errors == []
