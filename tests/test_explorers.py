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
