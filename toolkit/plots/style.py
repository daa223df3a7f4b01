"""One look for every figure: palettes per vocabulary, figure defaults, frame-to-source conversion."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bokeh.models import ColumnDataSource
from bokeh.palettes import Category10_10
from bokeh.plotting import figure

from toolkit.schema import LEAD_TYPES, ROLES, STAGES

# Lead types run from cheap-and-poor to dear-and-good; the colours say so at a glance.
LEAD_TYPE_COLORS = dict(zip(LEAD_TYPES, ("#8c8c8c", "#d95f02", "#1b9e77"), strict=True))
ROLE_COLORS = dict(zip(ROLES, ("#a6cee3", "#1f78b4", "#b2df8a", "#33a02c", "#e31a1c"), strict=True))
STAGE_COLORS = dict(zip(STAGES, Category10_10, strict=False))
OBSERVED, INCOMPLETE, PROJECTED = "#2b8cbe", "#e0e0e0", "#fdae6b"


def palette(labels) -> list[str]:
    """A colour per label: the vocabulary's colour where it has one, Category10 otherwise."""
    known = {**LEAD_TYPE_COLORS, **ROLE_COLORS}
    return [known.get(str(label), Category10_10[i % 10]) for i, label in enumerate(labels)]


def new_figure(name: str, **kwargs) -> figure:
    """A figure with the toolkit's defaults; ``name`` lets tests find it in the Bokeh document."""
    options = {
        "height": 360,
        "sizing_mode": "stretch_width",
        "toolbar_location": "above",
        "tools": "pan,wheel_zoom,box_zoom,reset,save",
    }
    options.update(kwargs)
    fig = figure(name=name, **options)
    fig.title.text_font_size = "13pt"
    fig.xgrid.grid_line_alpha = 0.3
    fig.ygrid.grid_line_alpha = 0.3
    return fig


def source_data(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Columns as plain arrays: Bokeh's own DataFrame path triggers a pandas deprecation warning,
    and a dict is what ``ColumnDataSource.data`` is replaced with in live explorers anyway."""
    return {str(col): frame[col].to_numpy() for col in frame.columns}


def new_source(frame: pd.DataFrame, name: str) -> ColumnDataSource:
    return ColumnDataSource(source_data(frame), name=name)
