"""Explorers: one definition, two renderers. The static grid and the live callbacks must show
exactly what the headless function returns; the exported form must stay small."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.explorers import Control, Explorer, Preset, renderer
from toolkit.explorers.static import StaticGrid

MAX_EXPLORER_BYTES = 2_000_000


def toy_compute(rate, n, shape):
    months = np.arange(12)
    scale = 1.0 if shape == "up" else 0.5
    return pd.DataFrame({"month": months, "value": n * (1 + rate) ** months * scale})


def toy_build(result):
    from bokeh.layouts import column
    from bokeh.models import Div

    from toolkit.plots.style import new_figure, new_source

    fig = new_figure("toy_figure")
    fig.line("month", "value", source=new_source(result, "toy_source"))
    return column(Div(text=f"total {result['value'].sum():.0f}", name="toy_readout"), fig)


def toy(**kw):
    controls = [
        Control("rate", "Growth per month", 0.1, 0.0, 0.5, 0.05),
        Control("n", "Start", 10, 1, 100, 1, integer=True, static=False),
        Control("shape", "Shape", "up", options=("up", "down")),
    ]
    return Explorer(
        "toy",
        "Toy",
        controls,
        toy_compute,
        toy_build,
        presets=[Preset("Big", {"rate": 0.3, "n": 50})],
        **kw,
    )


def doc_bytes(layout) -> int:
    """Size of the explorer itself in an exported page (its Bokeh document, without BokehJS)."""
    from bokeh.embed import components

    script, div = components(layout)
    return len(script) + len(div)


def test_control_validation():
    # a default outside its own range would make the first render lie about the slider
    with pytest.raises(ValueError, match="outside"):
        Control("x", "X", 2.0, 0.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="not an option"):
        Control("x", "X", "c", options=("a", "b"))
    with pytest.raises(ValueError, match="needs options"):
        Control("x", "X", 1.0)
    explorer = toy()
    with pytest.raises(ValueError, match="unknown control"):
        explorer.results(speed=3)
    with pytest.raises(ValueError, match=r"rate must lie in"):
        explorer.set(rate=0.9)


def test_grid_values_include_the_notebook_value():
    # a notebook may set a value between the grid's steps; the export must still show it
    control = Control("rate", "Rate", 0.1, 0.0, 0.5, 0.2)
    assert control.grid_values(0.1) == (0.0, 0.1, 0.2, 0.4)
    assert Control("n", "N", 3, 1, 5, 2, integer=True).grid_values(3) == (1, 3, 5)


def test_static_grid_drops_constant_columns_and_keeps_varying_ones():
    grid = toy().static_grid()
    assert len(grid.states) == 11 * 2  # rate steps x shape options (n is not static)
    state = grid.states[StaticGrid.key([2, 1])]
    # month never changes: it stays in the page once, not in every state
    assert set(state["toy_source"]["data"]) == {"value"}
    assert "toy_readout" in state


@settings(max_examples=15, deadline=None)
@given(i=st.integers(0, 10), j=st.integers(0, 1))
def test_static_grid_matches_the_headless_function(i, j):
    explorer = toy()
    if "toy" not in _GRID_CACHE:
        _GRID_CACHE["toy"] = explorer.static_grid()
    grid = _GRID_CACHE["toy"]
    rate, shape = grid.steps[0][i], grid.steps[1][j]
    expected = toy_compute(rate, 10, shape)["value"].to_numpy()
    got = grid.states[StaticGrid.key([i, j])]["toy_source"]["data"]["value"]
    np.testing.assert_allclose(got, expected, rtol=1e-6)  # float32 in the page


_GRID_CACHE: dict = {}


def test_presets_are_precomputed_with_their_non_static_values():
    grid = toy().static_grid()
    # n=50 is not on the static grid: the preset state carries it anyway
    np.testing.assert_allclose(grid.presets["Big"]["toy_source"]["data"]["value"][0], 50.0)


def test_live_widget_updates_the_same_sources_in_place():
    explorer = toy()
    box = explorer.widget()
    source = box.models["toy_source"]
    before = source
    box.inputs["rate"].value = 0.2
    assert box.models["toy_source"] is before  # built once, data replaced
    np.testing.assert_allclose(source.data["value"], toy_compute(0.2, 10, "up")["value"])
    assert (
        box.models["toy_readout"].text == f"total {toy_compute(0.2, 10, 'up')['value'].sum():.0f}"
    )
    assert explorer.values["rate"] == 0.2


def test_live_widget_reports_bad_combinations_without_breaking():
    def compute(rate, n, shape):
        if rate > 0.4:
            raise ValueError("rate too high for <this> model")
        return toy_compute(rate, n, shape)

    explorer = Explorer("toy", "Toy", toy().controls, compute, toy_build)
    box = explorer.widget()
    box.inputs["rate"].value = 0.45
    status = box.children[-2].value
    assert "&lt;this&gt;" in status  # escaped
    np.testing.assert_allclose(
        box.models["toy_source"].data["value"], toy_compute(0.1, 10, "up")["value"]
    )


def test_static_layout_size_and_names():
    layout = toy().static_layout()
    names = {m.name for m in layout.references() if m.name}
    assert {"toy_rate", "toy_shape", "toy_source", "toy_static_note"} <= names
    assert doc_bytes(layout) < MAX_EXPLORER_BYTES


def test_renderer_is_read_at_display_time(monkeypatch):
    monkeypatch.delenv("TOOLKIT_RENDERER", raising=False)
    assert renderer() == "live"
    monkeypatch.setenv("TOOLKIT_RENDERER", "static")
    assert renderer() == "static"
    monkeypatch.setenv("TOOLKIT_RENDERER", "bogus")
    with pytest.raises(ValueError, match="TOOLKIT_RENDERER"):
        renderer()


def test_static_html_is_self_contained():
    page = toy().static_html()
    assert "cdn.bokeh.org" not in page and "<script src=" not in page.replace(
        '<script src="data:', ""
    )
    assert "toy_source" in page


# -- the toolkit's explorers ------------------------------------------------------------------


def test_funnel_outlook_by_hand():
    from toolkit.funnel import funnel_outlook

    outlook = funnel_outlook([0.5, 0.3, 0.2], 150)
    assert (outlook.contacts, outlook.level, outlook.rate_trials) == (150, 0.9, None)
    out = outlook.table
    # 150 x 0.5 x 0.3 x 0.2 = 4.5 customers expected (3 in 100, the seeds' national average)
    assert out["expected"].tolist() == pytest.approx([150, 75, 22.5, 4.5])
    assert out.loc[0, ["likely_lower", "likely_upper"]].tolist() == [150, 150]
    # binomial(150, 0.03): the 90% range is 1 to 8 (scipy.stats.binom(150, .03).interval(.9))
    assert out.loc[3, ["likely_lower", "likely_upper"]].tolist() == [1, 8]
    assert out.loc[3, "probability_of_none"] == pytest.approx(0.97**150)
    with pytest.raises(ValueError, match="need 3 rates"):
        funnel_outlook([0.5], 150)


def test_funnel_explorer_from_a_fitted_table(tiny):
    import toolkit
    from toolkit.explorers import funnel_explorer

    table = toolkit.funnel_table(tiny.events, as_of=tiny.as_of)
    before = table.copy()
    explorer = funnel_explorer(table, contacts=100)
    # tiny: lead 3/3, prospect 2/3, customer 1/2 of the 3 leads whose window has elapsed
    assert [explorer.values[f"rate_{i}"] for i in range(3)] == pytest.approx([1.0, 0.6667, 0.5])
    # 3 leads is small data: the ranges include the rates' own uncertainty by default
    assert explorer.values["rate_trials"] == 3
    result = explorer.results()
    assert result.table["expected"].iloc[-1] == pytest.approx(100 * 1.0 * 0.6667 * 0.5)
    pd.testing.assert_frame_equal(table, before)  # input not mutated


def test_funnel_explorer_page_computes_every_slider_and_stays_small():
    from bokeh.models import Select, Slider

    from toolkit.explorers import funnel_explorer

    explorer = funnel_explorer()
    # no grid: the page computes the product of rates and its range for every control
    assert explorer.grid_controls == []
    assert [c.name for c in explorer.page_controls] == [c.name for c in explorer.controls]
    assert len(explorer.static_grid().states) == 1
    layout = explorer.static_layout()
    widgets = {m.name: m for m in layout.references() if isinstance(m, (Slider, Select))}
    for control in explorer.controls:
        widget = widgets[f"funnel_explorer_{control.name}"]
        if not control.is_choice:  # the live slider's own range and step
            assert (widget.start, widget.end, widget.step) == (
                control.start,
                control.end,
                control.step,
            )
    assert doc_bytes(layout) < MAX_EXPLORER_BYTES
    assert len(explorer.static_html().encode()) < MAX_EXPLORER_BYTES


def test_grid_sliders_offer_only_grid_values():
    from bokeh.models import Slider

    from toolkit.explorers import growth_explorer

    explorer = growth_explorer(runs=20)
    grid = explorer.static_grid()
    layout = explorer.static_layout()
    sliders = {m.name: m for m in layout.references() if isinstance(m, Slider)}
    for control, steps in zip(grid.controls, grid.steps, strict=True):
        if control.is_choice:
            continue
        slider = sliders[f"growth_explorer_{control.name}"]
        gaps = np.diff(np.asarray(steps, float))
        if np.allclose(gaps, gaps[0]):
            assert (slider.start, slider.end) == (steps[0], steps[-1])
            assert slider.step == pytest.approx(gaps[0])
        else:  # uneven: stepped by position, each position showing its grid value
            assert (slider.start, slider.end, slider.step) == (0, len(steps) - 1, 1)
            assert slider.format.args["shown"] == [control.display(v) for v in steps]


def test_growth_explorer_state_mirrors_the_fan_chart():
    # the fast state path must show what toolkit.plots.growth_fan draws, or the two drift apart
    from toolkit.explorers import growth_explorer
    from toolkit.explorers.core import model_state
    from toolkit.plots.growth_plots import growth_outlook_figure as plot_outlook

    explorer = growth_explorer(runs=50)
    for preset in explorer.presets:
        outlook = explorer.results(**preset.values)
        fast, built = explorer.state(outlook), model_state(plot_outlook(outlook))
        assert set(fast) == set(built)
        for name, props in built.items():
            if "data" in props:
                for col, arr in props["data"].items():
                    np.testing.assert_allclose(
                        np.asarray(fast[name]["data"][col], float), np.asarray(arr, float)
                    )
            else:
                assert fast[name] == props


def test_growth_explorer_presets_and_size():
    from toolkit.explorers import growth_explorer

    explorer = growth_explorer(runs=50)
    story = explorer.results(**explorer.presets[1].values)
    # the 001 story: about 5,000 reps expected after 12 months (GrowthParams.five_thousand_story)
    assert 4_000 < story.claim.expected < 6_500
    town = explorer.results(**explorer.presets[2].values)
    assert (town.wall["market"] == 20_000).all()
    assert town.wall["remaining_expected"].iloc[-1] < 20_000
    assert doc_bytes(explorer.static_layout()) < MAX_EXPLORER_BYTES
    assert len(explorer.static_html().encode()) < MAX_EXPLORER_BYTES  # the whole page


# -- lead budget explorer -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def budget_model(sample):
    import toolkit

    return toolkit.LeadQualityModel(features=("lead_type",)).fit(sample)


def _paid(model) -> dict:
    return model.cost_per("customer").set_index("level")["cost_per_lead"].to_dict()


def test_budget_outlook_is_lead_budget_and_costs_match_cost_per(budget_model):
    import toolkit
    from toolkit.lead_quality import budget_outlook

    paid = _paid(budget_model)
    prices = {t: paid[t] for t in ("generic", "qualified")}
    mix = {"generic": 0.7, "qualified": 0.3}
    out = budget_outlook(budget_model, 800.0, prices, mix)
    # the twin passes lead_budget's numbers through untouched
    pd.testing.assert_frame_equal(out.budget, toolkit.lead_budget(budget_model, 800.0, prices, mix))
    cost = out.cost.set_index(["outcome", "level"])
    # at the data's own prices, cost per customer of a level is model.cost_per's price / rate
    # (an independent path: cost_per reads spend / leads and the fitted rate per level)
    want = budget_model.cost_per("customer").set_index("level")
    for level in ("generic", "qualified"):
        got = cost.loc[("customer", level)]
        assert got["cost_per"] == pytest.approx(want.loc[level, "cost_per"], rel=1e-9)
        # lead_budget's range is on the log scale, cost_per's on the logit scale: near, not equal
        assert got["ci_lower"] == pytest.approx(want.loc[level, "ci_lower"], rel=0.01)
        assert got["ci_upper"] == pytest.approx(want.loc[level, "ci_upper"], rel=0.01)
    total = out.budget.query("outcome == 'rep' and level == 'total'").iloc[0]
    assert cost.loc[("rep", "total"), "cost_per"] == pytest.approx(800.0 / total["expected"])
    # the interval runs the other way round: the most customers make the cheapest customer
    assert cost.loc[("rep", "total"), "ci_lower"] == pytest.approx(800.0 / total["ci_upper"])


def test_budget_outlook_lists_unbought_levels_as_unknown(budget_model):
    from toolkit.lead_quality import budget_outlook

    paid = _paid(budget_model)
    out = budget_outlook(
        budget_model,
        300.0,
        {t: paid[t] for t in ("generic", "qualified")},
        {"generic": 0.0, "qualified": 1.0},
    )
    # a level with no share buys nothing: its cost per customer is unknown, not 0 or infinite
    row = out.cost.set_index(["outcome", "level"]).loc[("customer", "generic")]
    assert np.isnan(row["cost_per"]) and np.isnan(row["expected"])
    assert len(out.cost) == 3 * 3  # customer, rep, leader x (generic, qualified, total)


def test_lead_budget_explorer_state_mirrors_its_figures(budget_model):
    # the fast state path must hold exactly the columns and text the built figures carry
    from toolkit.explorers import lead_budget_explorer
    from toolkit.explorers.core import model_state
    from toolkit.plots.lead_quality_plots import budget_outlook_figure as plot_outlook

    paid = _paid(budget_model)
    explorer = lead_budget_explorer(
        budget_model,
        prices={t: paid[t] for t in ("generic", "qualified")},
        mix={"generic": 0.5, "qualified": 0.5},
    )
    for share in (0.0, 0.5, 1.0):
        outlook = explorer.results(share_0=share)
        fast, built = explorer.state(outlook), model_state(plot_outlook(outlook))
        assert set(fast) == set(built)
        for name, props in built.items():
            if "data" not in props:
                assert fast[name] == props
                continue
            assert set(fast[name]["data"]) == set(props["data"])
            for col, arr in props["data"].items():
                got = np.asarray(fast[name]["data"][col])
                if got.dtype.kind == "f":
                    np.testing.assert_array_equal(got, np.asarray(arr, float))
                else:
                    assert list(got) == list(arr)


def test_lead_budget_explorer_static_grid_matches_headless_and_stays_small(budget_model):
    from toolkit.explorers import lead_budget_explorer
    from toolkit.lead_quality import budget_outlook

    paid = _paid(budget_model)
    prices = {t: paid[t] + 1.0 for t in ("generic", "qualified")}
    mix = {"generic": 0.5, "qualified": 0.5}
    before = (dict(prices), dict(mix), budget_model.summary.copy())
    explorer = lead_budget_explorer(budget_model, budget=500.0, prices=prices, mix=mix)
    grid = explorer.static_grid()
    budgets, shares = grid.steps
    assert 500.0 in budgets and 0.5 in shares  # the notebook's values are on the grid
    # evenly spaced, so each slider's step is the grid's: it never shows a value off the grid
    assert len(set(np.round(np.diff(budgets), 9))) == 1
    assert len(set(np.round(np.diff(shares), 9))) == 1
    for i, k in ((0, 0), (2, 3), (len(budgets) - 1, len(shares) - 1)):
        want = budget_outlook(
            budget_model,
            budgets[i],
            prices,
            {"generic": shares[k], "qualified": 1 - shares[k]},
        )
        totals = want.budget.query("level == 'total'")
        state = grid.states[StaticGrid.key([i, k])]
        counts = state["lead_budget_explorer_counts"]["data"]
        # the grid carries only the Monte Carlo range; the page computes the rest
        # (tests/test_page_formulas.py)
        assert set(counts) == {"likely_lower", "likely_upper"}
        for col in ("likely_lower", "likely_upper"):
            np.testing.assert_allclose(counts[col], totals[col], rtol=1e-6)  # float32 in page
        assert "lead_quality_cost_per_source" not in state
    size = doc_bytes(explorer.static_layout())
    assert size < MAX_EXPLORER_BYTES, size
    assert len(explorer.static_html().encode()) < MAX_EXPLORER_BYTES
    # inputs are not mutated
    assert prices == before[0] and mix == before[1]
    pd.testing.assert_frame_equal(budget_model.summary, before[2])


def test_lead_budget_explorer_live_and_bad_splits(budget_model):
    from toolkit.explorers import lead_budget_explorer
    from toolkit.lead_quality import budget_outlook

    paid = _paid(budget_model)
    prices = {t: paid[t] for t in ("unqualified", "generic", "qualified")}
    explorer = lead_budget_explorer(
        budget_model, prices=prices, mix={"unqualified": 0.2, "generic": 0.3, "qualified": 0.5}
    )
    # three lead types: two share sliders, the last type gets the rest
    assert [c.name for c in explorer.controls if c.name.startswith("share")] == [
        "share_0",
        "share_1",
    ]
    box = explorer.widget()
    box.inputs["share_1"].value = 0.6
    want = budget_outlook(
        budget_model, 500.0, prices, {"unqualified": 0.2, "generic": 0.6, "qualified": 0.2}
    ).budget.query("level == 'total'")
    np.testing.assert_allclose(
        box.models["lead_budget_explorer_counts"].data["expected"], want["expected"]
    )
    box.inputs["share_0"].value = 0.5  # 50% + 60%: more than the whole budget
    assert "more than the whole budget" in box.children[-2].value
    np.testing.assert_allclose(  # the plot keeps the last possible split
        box.models["lead_budget_explorer_counts"].data["expected"], want["expected"]
    )
    with pytest.raises(ValueError, match="add up to 1"):
        lead_budget_explorer(budget_model, prices=prices, mix={"generic": 0.5})
    with pytest.raises(ValueError, match="fitted"):
        lead_budget_explorer(type(budget_model)())


# -- cohort explorer ----------------------------------------------------------------------------


def _cohort_members():
    t = pd.Timestamp
    return pd.DataFrame(
        {
            "member_id": ["A", "B", "C", "D"],
            "sponsor_id": [None, "A", "A", "B"],
            "joined_at": [t("2025-01-05"), t("2025-01-20"), t("2025-02-03"), t("2025-03-09")],
            "role": ["retail_customer", "retailer", "retail_customer", "retailer"],
            "left_at": [pd.NaT, pd.NaT, t("2025-03-15"), pd.NaT],
            "lead_id": [None, None, None, None],
        }
    )


def test_cohort_outlook_by_hand():
    import toolkit
    from toolkit.cohorts import cohort_outlook

    members = _cohort_members()
    before = members.copy()
    as_of = pd.Timestamp("2025-04-10")
    out = cohort_outlook(members, as_of=as_of, recent=2)
    pd.testing.assert_frame_equal(out["table"], toolkit.cohort_table(members, as_of=as_of))
    table = out["table"].set_index(["cohort", "period"])
    # February's only member left on 15 March: active at the end of February, not of March
    assert table.loc[(pd.Timestamp("2025-02-01"), 0), "rate"] == 1.0
    assert table.loc[(pd.Timestamp("2025-02-01"), 1), "rate"] == 0.0
    # April has not ended: unknown, never 0
    assert np.isnan(table.loc[(pd.Timestamp("2025-01-01"), 3), "rate"])
    # curves: the two latest cohorts with a finished first month (March's month 0 ended)
    assert sorted(out["curves"]["cohort"].unique()) == [
        t for t in pd.to_datetime(["2025-02-01", "2025-03-01"])
    ]
    by_role = cohort_outlook(members, as_of=as_of, segment="role", recent=1)
    latest = by_role["curves"].drop_duplicates("role").set_index("role")["cohort"]
    assert latest.to_dict() == {
        "retail_customer": pd.Timestamp("2025-02-01"),
        "retailer": pd.Timestamp("2025-03-01"),
    }
    pd.testing.assert_frame_equal(members, before)
    with pytest.raises(ValueError, match="recent"):
        cohort_outlook(members, as_of=as_of, recent=0)


@pytest.fixture(scope="module")
def cohort_sample_explorer(sample):
    from toolkit.explorers import cohort_explorer

    members, orders = sample.members.copy(), sample.orders.copy()
    explorer = cohort_explorer(sample.members, sample.orders, as_of=sample.as_of)
    grid = explorer.static_grid()
    pd.testing.assert_frame_equal(sample.members, members)  # inputs not mutated
    pd.testing.assert_frame_equal(sample.orders, orders)
    return explorer, grid


def test_cohort_explorer_fast_state_mirrors_the_plots(cohort_sample_explorer):
    # the fast path must show exactly what cohort_heatmap and retention_curves draw
    from toolkit.explorers.cohorts import _read_state

    explorer, grid = cohort_sample_explorer
    metrics, segments = grid.steps
    for metric in metrics:
        for segment in segments:
            outlook = explorer.results(metric=metric, segment=segment)
            fast, built = explorer.state(outlook), _read_state(explorer.build(outlook))
            assert set(fast) == set(built)
            for name, props in built.items():
                assert set(props) == set(fast[name]), name
                for prop, value in props.items():
                    if prop != "data":
                        assert fast[name][prop] == value, (name, prop)
                        continue
                    assert set(value) == set(fast[name]["data"]), name
                    for col, arr in value.items():
                        got, arr = np.asarray(fast[name]["data"][col]), np.asarray(arr)
                        assert got.dtype.kind == arr.dtype.kind, (name, col)
                        if arr.dtype.kind == "f":
                            np.testing.assert_array_equal(got, arr)
                        else:
                            assert list(got) == list(arr), (name, col)


def test_cohort_explorer_static_grid_matches_cohort_table_and_stays_small(
    cohort_sample_explorer, sample
):
    import toolkit

    explorer, grid = cohort_sample_explorer
    metrics, segments = grid.steps
    assert set(metrics) == {"active", "ordering", "revenue"} and set(segments) == {"none", "role"}
    for metric, cumulative, segment in (("revenue", True, "role"), ("active", False, "none")):
        i, j = metrics.index(metric), segments.index(segment)
        table = toolkit.cohort_table(
            sample.members,
            sample.orders,
            metric=metric,
            cumulative=cumulative,
            by=None if segment == "none" else segment,
            as_of=sample.as_of,
        )
        done = table[table["complete"]]
        state = grid.states[StaticGrid.key([i, j])]
        np.testing.assert_allclose(
            state["cohort_heatmap_observed"]["data"]["rate"], done["rate"], rtol=1e-6
        )
        np.testing.assert_allclose(
            state["cohort_heatmap_observed"]["data"]["ci_upper"], done["ci_upper"], rtol=1e-6
        )
        # unfinished cells travel as unknown (NaN), never as 0
        assert np.isnan(state["cohort_heatmap_incomplete"]["data"]["rate"]).all()
        assert len(state["cohort_heatmap_incomplete"]["data"]["rate"]) == (~table["complete"]).sum()
    size = doc_bytes(explorer.static_layout())
    assert size < MAX_EXPLORER_BYTES, size
    # the whole page, BokehJS included (repeated cell texts travel once, then as codes)
    assert len(explorer.static_html().encode()) < MAX_EXPLORER_BYTES


def test_grid_text_columns_travel_as_codes_into_a_dictionary():
    grid = StaticGrid(
        controls=[],
        steps=[],
        states={
            "0": {"m": {"data": {"t": ["75%", "50%", "75%"]}}},
            "1": {"m": {"data": {"t": ["50%"]}}},
        },
    )
    (entry,) = grid.pack()["entries"]
    assert entry["dictionary"] == ["50%", "75%"]
    assert entry["codes"].tolist() == [1, 0, 1, 0]
    assert entry["offsets"].tolist() == [0, 3, 4]


def test_cohort_explorer_keeps_big_grids_out_of_the_page(sample, monkeypatch):
    # a long history split by role would make a page of many MB: the split is then fixed
    from toolkit.explorers import cohort_explorer
    from toolkit.explorers import cohorts as module

    monkeypatch.setattr(module, "MAX_GRID_CELLS", 3 * 784)
    explorer = cohort_explorer(sample.members, sample.orders, as_of=sample.as_of)
    static = {c.name: c.static for c in explorer.controls}
    assert static == {"period": False, "metric": True, "segment": False}
    monkeypatch.setattr(module, "MAX_GRID_CELLS", 100)
    explorer = cohort_explorer(sample.members, sample.orders, as_of=sample.as_of)
    assert not any(c.static for c in explorer.controls)
    assert len(explorer.static_grid().states) == 1


def test_cohort_explorer_live_and_without_orders(sample):
    from toolkit.explorers import cohort_explorer

    explorer = cohort_explorer(sample.members, as_of=sample.as_of)
    metric = next(c for c in explorer.controls if c.name == "metric")
    assert metric.values == ("active",)  # the others need the orders table
    with pytest.raises(ValueError, match="orders table"):
        cohort_explorer(sample.members, metric="revenue", as_of=sample.as_of)
    box = explorer.widget()
    heat = box.models["cohort_explorer_heatmap"]
    height = heat.height
    box.inputs["segment"].value = "role"
    assert heat.height > height  # five roles: more rows
    assert (
        box.models["cohort_explorer_cohorts"]
        .factors[0]
        .startswith(("retail", "preferred", "retailer", "business", "leader"))
    )
    box.inputs["period"].value = "Q"
    assert len(box.models["cohort_explorer_periods"].factors) < 12
    assert box.children[-2].value == ""


def test_headless_twins_are_frozen_result_objects_with_documented_fields():
    import dataclasses

    from toolkit.funnel import FunnelOutlook, funnel_outlook
    from toolkit.growth import GrowthOutlook, growth_outlook

    funnel = funnel_outlook([0.5, 0.3, 0.2], 150)
    growth = growth_outlook(months=2, runs=5)
    for outlook, cls in ((funnel, FunnelOutlook), (growth, GrowthOutlook)):
        assert isinstance(outlook, cls) and dataclasses.is_dataclass(outlook)
        for f in dataclasses.fields(outlook):
            assert f.name in cls.__doc__, f.name  # every field is documented
            assert outlook[f.name] is getattr(outlook, f.name)  # the dict-style convenience
        with pytest.raises(KeyError):
            outlook["nope"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            outlook.table = None
    assert funnel.last["step"] == "customer"
    assert growth.claim.runs == 5 and growth.claim.at_month == 2


def test_live_refresh_sends_only_what_changed():
    from toolkit.explorers.live import _unchanged

    data = {"x": np.array([1.0, np.nan]), "label": ["a", "b"]}
    assert _unchanged(data, {"x": np.array([1.0, np.nan]), "label": ["a", "b"]})
    assert not _unchanged(data, {"x": np.array([1.0, 2.0]), "label": ["a", "b"]})
    assert not _unchanged(data, {"x": np.array([1.0, np.nan])})  # a column less
    assert not _unchanged(None, "")  # a text the page never held is sent
    assert _unchanged("<b>1</b>", "<b>1</b>") and not _unchanged("<b>1</b>", "<b>2</b>")


def test_growth_page_blanks_everything_the_grid_carries_away_from_its_values():
    """What the exported growth page looks up is Monte Carlo, run only at the notebook's values
    of the formula's controls: every model the grid carries is one the page blanks elsewhere
    (and the formula computes the rest)."""
    import toolkit
    from toolkit.explorers import growth_explorer

    explorer = growth_explorer(runs=20, months=6)
    grid = explorer.static_grid()
    carried = {
        name if "data" not in props else f"{name}.{col}"
        for state in [*grid.states.values(), *grid.presets.values()]
        for name, props in state.items()
        for col in props.get("data", [None])
    }
    blanked = set(explorer.page.grid_only)
    assert carried
    assert {
        item for item in carried if item not in blanked and item.split(".")[0] not in blanked
    } == set()
    # with a plan, the money panels are simulated too
    paid = growth_explorer(runs=20, months=6, plan=toolkit.CompensationPlan.unilevel_example())
    assert {"growth_explorer_income", "growth_explorer_income_claim"} <= set(paid.page.grid_only)
