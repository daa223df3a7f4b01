"""Explorers: one definition, two renderers. The static grid and the live callbacks must show
exactly what the headless function returns; the exported form must stay small."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.explorers import Control, Explorer, Preset, renderer
from toolkit.explorers.core import StaticGrid

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
    from toolkit.explorers.funnel import funnel_outlook

    out = funnel_outlook([0.5, 0.3, 0.2], 150)
    # 150 x 0.5 x 0.3 x 0.2 = 4.5 customers expected (3 in 100, the seeds' national average)
    assert out["expected"].tolist() == pytest.approx([150, 75, 22.5, 4.5])
    assert out.loc[0, ["lower", "upper"]].tolist() == [150, 150]
    # binomial(150, 0.03): the 90% range is 1 to 8 (scipy.stats.binom(150, .03).interval(.9))
    assert out.loc[3, ["lower", "upper"]].tolist() == [1, 8]
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
    assert result["expected"].iloc[-1] == pytest.approx(100 * 1.0 * 0.6667 * 0.5)
    pd.testing.assert_frame_equal(table, before)  # input not mutated


def test_funnel_explorer_static_grid_matches_headless_and_stays_small():
    from toolkit.explorers import funnel_explorer
    from toolkit.explorers.funnel import funnel_outlook

    explorer = funnel_explorer()
    grid = explorer.static_grid()
    (contacts, last) = grid.steps
    i, k = 3, 4
    expected = funnel_outlook([0.5, 0.3, last[k]], contacts[i])["upper"].to_numpy()
    got = grid.states[StaticGrid.key([i, k])]["funnel_explorer_source"]["data"]["upper"]
    np.testing.assert_array_equal(got, expected)
    assert doc_bytes(explorer.static_layout()) < MAX_EXPLORER_BYTES


def test_growth_explorer_state_mirrors_the_fan_chart():
    # the fast state path must show what toolkit.plots.growth_fan draws, or the two drift apart
    from toolkit.explorers import growth_explorer
    from toolkit.explorers.core import _model_state
    from toolkit.explorers.growth import plot_outlook

    explorer = growth_explorer(runs=50)
    for preset in explorer.presets:
        outlook = explorer.results(**preset.values)
        fast, built = explorer.state(outlook), _model_state(plot_outlook(outlook))
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
    # the 001 story: about 5,000 reps expected after 12 months (GrowthParams.story_001)
    assert 4_000 < story["claim"]["expected"].iloc[0] < 6_500
    town = explorer.results(**explorer.presets[2].values)
    assert (town["wall"]["market"] == 20_000).all()
    assert town["wall"]["remaining_expected"].iloc[-1] < 20_000
    assert doc_bytes(explorer.static_layout()) < MAX_EXPLORER_BYTES
