"""Genealogy figures: volume per level below a member."""

from __future__ import annotations

import pandas as pd
from bokeh.models import HoverTool, NumeralTickFormatter

from toolkit.plots.style import OBSERVED, PROJECTED, new_figure, new_source


def volume_by_level(table: pd.DataFrame, *, fig=None, title=None):
    """Volume per level (from :func:`toolkit.volume_by_level`): levels on the printout in blue,
    levels below what the printout shows in orange."""
    data = table.assign(
        colour=[OBSERVED if on else PROJECTED for on in table["on_printout"]],
        where=["on the printout" if on else "below the printout" for on in table["on_printout"]],
        level_label=table["level"].astype(str),
    )
    if fig is None:
        fig = new_figure(
            "volume_by_level",
            title=title or "Volume by level",
            x_range=list(data["level_label"]),
            x_axis_label="level below the member (0 = the member)",
            y_axis_label="volume",
        )
    src = new_source(
        data[
            [
                "level_label",
                "level",
                "members",
                "active_members",
                "volume",
                "share_of_volume",
                "cumulative_share",
                "colour",
                "where",
            ]
        ],
        "volume_by_level_source",
    )
    bars = fig.vbar(
        x="level_label", top="volume", width=0.8, source=src, color="colour", legend_field="where"
    )
    fig.add_tools(
        HoverTool(
            renderers=[bars],
            tooltips=[
                ("level", "@level"),
                ("members", "@members{0,0} (@active_members{0,0} active)"),
                ("volume", "@volume{0,0}"),
                ("share of volume", "@share_of_volume{0.0%}"),
            ],
        )
    )
    fig.y_range.start = 0
    fig.yaxis.formatter = NumeralTickFormatter(format="0,0[.]0")
    fig.legend.location = "top_right"
    return fig
