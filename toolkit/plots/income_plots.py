"""Money figures: the income distribution, income by rank, where the commissions go (a Lorenz
curve) and the income disclosure table as a notebook renders it.

Each takes a frame computed by :mod:`toolkit.income` (:func:`toolkit.participant_income` or
:func:`toolkit.income_disclosure`, pandas or any other kind) and never computes a figure of its
own beyond ordering and accumulating what it draws. Text from the data (rank names, groups)
reaches the page only as Bokeh text (drawn on the canvas) or HTML-escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from bokeh.models import HoverTool, Label, NumeralTickFormatter, Span

from toolkit.frames import to_pandas
from toolkit.income.disclosure import MEASURES, dollars
from toolkit.plots.style import INCOMPLETE, OBSERVED, PROJECTED, new_figure, new_source

MEASURE_WORDS = {
    "gross": "gross income (every commission and bonus)",
    "net": "net income (after fees, lead spend and other costs)",
    "net_after_purchases": "net income after their own purchases",
}
MEAN_COLOR, MEDIAN_COLOR, ZERO_COLOR = "#d95f02", "#1b9e77", "#7570b3"
# the most points a curve sends to the page (a company's genealogy has millions of participants)
MAX_POINTS = 2_000


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} needs columns {missing}; got {list(frame.columns)}")


def _one_period(frame: pd.DataFrame, period, what: str) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The rows of ``period`` (the latest when None) and that period."""
    periods = pd.to_datetime(frame["period"])
    if frame.empty or periods.isna().all():
        raise ValueError(f"{what}: the table has no rows with a period; there is nothing to draw")
    chosen = periods.max() if period is None else pd.Timestamp(period)
    rows = frame[periods == chosen]
    if rows.empty:
        raise ValueError(f"{what}: no rows for period {chosen:%Y-%m-%d}")
    return rows, chosen


def _when(period: pd.Timestamp) -> str:
    return f"{period.year}" if period.month == 1 else f"period from {period:%Y-%m-%d}"


def _thin(n: int) -> np.ndarray:
    """Indices of at most ``MAX_POINTS`` of ``n`` sorted points, the ends always kept."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(int))


def income_distribution(income, *, column="gross", period=None, fig=None, title=None):
    """Everyone's income in one period as an ECDF on a log axis, with the mass at $0 drawn.

    A log axis cannot show $0 or a loss, so those participants are a bar at the left edge
    (labelled with their share); the curve then climbs through every positive income. The
    median and the mean are marked: where the mean sits far right of the median, a few large
    incomes carry the average.

    Parameters
    ----------
    income : frame
        :func:`toolkit.participant_income` (one row per participant and period).
    column : {"gross", "net", "net_after_purchases"}
    period : timestamp-like, optional
        The period drawn (the latest when None).
    """
    if column not in MEASURES:
        raise ValueError(f"column must be one of {MEASURES}, got {column!r}")
    frame = to_pandas(income)
    _require(frame, ["period", column], "income_distribution")
    rows, chosen = _one_period(frame, period, "income_distribution")
    x = np.sort(rows[column].to_numpy(float))
    n = len(x)
    zero_or_less = int((x <= 0).sum())
    share_zero = zero_or_less / n
    positive = x[x > 0]
    mean, median = float(x.mean()), float(np.median(x))
    left = max(1.0, 10 ** np.floor(np.log10(positive.min()))) / 2 if len(positive) else 0.5
    right = max(positive.max() * 1.5, left * 100) if len(positive) else 1000.0
    if fig is None:
        fig = new_figure(
            "income_distribution",
            title=title or f"Who earned how much: {MEASURE_WORDS[column]}, {_when(chosen)}",
            x_axis_type="log",
            x_range=(left / 2, right),
            y_range=(0, 1.02),
            x_axis_label=f"{column} income (log scale; $0 or less drawn at the left edge)",
            y_axis_label="share of participants earning at most this",
        )
    zero = new_source(
        pd.DataFrame(
            {
                "x": [left],
                "top": [share_zero],
                "participants": [zero_or_less],
                "what": ["$0" if column == "gross" else "$0 or less (a loss)"],
            }
        ),
        "income_distribution_zero",
    )
    bar = fig.vbar(
        x="x",
        top="top",
        width=left * 0.6,
        source=zero,
        color=ZERO_COLOR,
        alpha=0.8,
        legend_label=f"{'earned $0' if column == 'gross' else '$0 or a loss'}: {share_zero:.0%}",
    )
    idx = _thin(len(positive))
    ranks = np.arange(zero_or_less + 1, n + 1, dtype=float)
    curve = new_source(
        pd.DataFrame({"income": positive[idx], "share": (ranks / n)[idx]}),
        "income_distribution_source",
    )
    line = fig.step(
        "income",
        "share",
        source=curve,
        mode="after",
        line_width=2,
        color=OBSERVED,
        legend_label="participants earning more than $0",
    )
    for value, colour, name in ((median, MEDIAN_COLOR, "median"), (mean, MEAN_COLOR, "mean")):
        shown = value if value > 0 else left
        fig.add_layout(
            Span(location=shown, dimension="height", line_color=colour, line_dash="dashed")
        )
        fig.add_layout(
            Label(
                x=shown,
                y=0.97 if name == "median" else 0.90,
                text=f" {name} {dollars(value)}",
                text_color=colour,
                text_font_size="10pt",
            )
        )
    fig.add_tools(
        HoverTool(
            renderers=[line],
            tooltips=[("income", "$@income{0,0}"), ("share earning at most this", "@share{0.0%}")],
        ),
        HoverTool(
            renderers=[bar],
            tooltips=[
                ("income", "@what"),
                ("participants", "@participants{0,0}"),
                ("share", "@top{0.0%}"),
            ],
        ),
    )
    fig.xaxis.formatter = NumeralTickFormatter(format="$0,0")
    fig.yaxis.formatter = NumeralTickFormatter(format="0%")
    fig.legend.location = "bottom_right"
    return fig


def _group_order(rows: pd.DataFrame) -> list[str]:
    # the overall row first, then groups from the lowest median up (the order of a rank ladder)
    groups = rows.sort_values("median", kind="stable")["group"].astype(str).tolist()
    overall = [g for g in groups if g == "all participants"]
    return overall + [g for g in groups if g != "all participants"]


def income_by_rank(disclosure, *, measure="gross", period=None, fig=None, title=None):
    """Each rank's median with its interval, its middle half (p25 to p75) and its mean.

    ``disclosure`` is :func:`toolkit.income_disclosure` (``by="rank"`` or any other group);
    the overall row comes first, then the groups from the lowest median up.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    frame = to_pandas(disclosure)
    cols = [
        "period",
        "group",
        "measure",
        "participants",
        "median",
        "median_ci_lower",
        "median_ci_upper",
        "mean",
        "p25",
        "p75",
        "share_earning_nothing",
    ]
    _require(frame, cols, "income_by_rank")
    rows, chosen = _one_period(frame[frame["measure"] == measure], period, "income_by_rank")
    rows = rows.assign(group=rows["group"].astype(str))
    order = _group_order(rows)
    if fig is None:
        fig = new_figure(
            "income_by_rank",
            title=title or f"{MEASURE_WORDS[measure].capitalize()} by rank, {_when(chosen)}",
            y_range=order[::-1],
            height=max(220, 70 + 40 * len(order)),
            x_axis_label=f"{measure} income in the period",
        )
    src = new_source(rows[cols[1:]].reset_index(drop=True), "income_by_rank_source")
    fig.hbar(
        y="group",
        left="p25",
        right="p75",
        height=0.5,
        source=src,
        color=INCOMPLETE,
        legend_label="middle half (25th to 75th percentile)",
    )
    fig.segment(
        "median_ci_lower",
        "group",
        "median_ci_upper",
        "group",
        source=src,
        line_width=3,
        color=MEDIAN_COLOR,
        legend_label="median with its interval",
    )
    dots = fig.scatter("median", "group", source=src, size=10, color=MEDIAN_COLOR)
    fig.scatter(
        "mean",
        "group",
        source=src,
        size=10,
        marker="diamond",
        color=MEAN_COLOR,
        legend_label="mean",
    )
    fig.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[
                ("group", "@group"),
                ("participants", "@participants{0,0}"),
                ("median", "$@median{0,0} ($@median_ci_lower{0,0} to $@median_ci_upper{0,0})"),
                ("mean", "$@mean{0,0}"),
                ("middle half", "$@p25{0,0} to $@p75{0,0}"),
                ("earned nothing", "@share_earning_nothing{0.0%}"),
            ],
        )
    )
    fig.xaxis.formatter = NumeralTickFormatter(format="$0,0")
    fig.legend.location = "bottom_right"
    return fig


def lorenz_data(income, *, column="gross", period=None) -> tuple[pd.DataFrame, dict]:
    """The Lorenz curve of ``column`` in one period: cumulative share of participants (lowest
    first) against cumulative share of the money, and the shares of the top 1% and top 10%
    (``{"top_1": ..., "top_10": ..., "participants": n, "total": ..., "period": ...}``;
    the shares are None when nothing was paid). Every participant counts, zero earners included.
    """
    frame = to_pandas(income)
    _require(frame, ["period", column], "commission_lorenz")
    rows, chosen = _one_period(frame, period, "commission_lorenz")
    x = np.sort(np.clip(rows[column].to_numpy(float), 0, None))
    n, total = len(x), float(x.sum())
    info = {"participants": n, "total": total, "period": chosen, "top_1": None, "top_10": None}
    if total <= 0:
        return pd.DataFrame({"people": [0.0, 1.0], "money": [0.0, 0.0]}), info
    people = np.arange(n + 1) / n
    money = np.concatenate([[0.0], np.cumsum(x) / total])
    for top in (1, 10):
        # the top k% are the ceil(k% of n) largest incomes (at least one participant)
        k = max(1, int(np.ceil(n * top / 100)))
        info[f"top_{top}"] = float(x[n - k :].sum() / total)
    idx = _thin(n + 1)
    return pd.DataFrame({"people": people[idx], "money": money[idx]}), info


def commission_lorenz(income, *, column="gross", period=None, fig=None, title=None):
    """Where the commissions go: a Lorenz curve, with the top 1% and top 10% marked.

    ``income`` is :func:`toolkit.participant_income`; every participant counts, those who earned
    nothing included (leaving them out would flatter the curve). The shares are the export's own
    accounting of one period, not estimates, so they carry no interval.
    """
    curve, info = lorenz_data(income, column=column, period=period)
    if fig is None:
        fig = new_figure(
            "commission_lorenz",
            title=title or f"Where the commissions went, {_when(info['period'])}",
            x_range=(0, 1),
            y_range=(0, 1),
            x_axis_label="share of participants, lowest earners first",
            y_axis_label=f"share of all {column} income",
        )
    fig.line([0, 1], [0, 1], color="#999999", line_dash="dashed", legend_label="equal shares")
    src = new_source(curve, "commission_lorenz_source")
    line = fig.line(
        "people", "money", source=src, line_width=2, color=OBSERVED, legend_label="participants"
    )
    if info["top_1"] is None:
        fig.add_layout(
            Label(x=0.05, y=0.5, text="No commissions were paid in this period: no curve to draw.")
        )
    else:
        marks = pd.DataFrame(
            {
                "people": [0.90, 0.99],
                "money": [1 - info["top_10"], 1 - info["top_1"]],
                "top": ["top 10%", "top 1%"],
                "share": [info["top_10"], info["top_1"]],
            }
        )
        marks["text"] = [
            f"{t} got {s:.0%}" for t, s in zip(marks["top"], marks["share"], strict=True)
        ]
        msrc = new_source(marks, "commission_lorenz_top")
        fig.scatter("people", "money", source=msrc, size=9, color=PROJECTED)
        fig.text(
            "people",
            "money",
            text="text",
            source=msrc,
            x_offset=-8,
            y_offset=-4,
            text_align="right",
            text_font_size="10pt",
            text_color="#7f2704",
        )
    fig.add_tools(
        HoverTool(
            renderers=[line],
            tooltips=[("lowest earners", "@people{0.0%}"), ("their share", "@money{0.0%}")],
        )
    )
    fig.xaxis.formatter = NumeralTickFormatter(format="0%")
    fig.yaxis.formatter = NumeralTickFormatter(format="0%")
    fig.legend.location = "top_left"
    return fig


# --------------------------------------------------------------------------------------------
# the disclosure table as a notebook shows it

NOBODY = "nobody to count"
_CSS = """<style>
.tk-disclosure {border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0 1.5em 0}
.tk-disclosure caption {text-align: left; font-weight: bold; padding: 0.3em 0}
.tk-disclosure th, .tk-disclosure td {padding: 0.25em 0.6em; border-bottom: 1px solid #ddd}
.tk-disclosure th {background: #f3f3f3; text-align: center}
.tk-disclosure td {text-align: right; white-space: nowrap}
.tk-disclosure td.tk-group {text-align: left; font-weight: bold}
.tk-disclosure tr.tk-all td {background: #eef5fb}
.tk-disclosure small {color: #666}
</style>"""
SHARES = (
    ("share_earning_nothing", "earned $0"),
    ("share_1000_or_less", "$1,000 or less"),
    ("share_net_loss", "below $0"),
    ("share_profit", "above $0"),
    ("share_of_profitable_under_5000", "of those above $0: under $5,000"),
)


def _share_cell(row, name: str) -> str:
    value = row.get(name)
    if value is None or pd.isna(value):
        return NOBODY
    lo, hi = row.get(f"{name}_ci_lower"), row.get(f"{name}_ci_upper")
    if lo is None or pd.isna(lo) or pd.isna(hi):
        return f"{value:.0%}"
    return f"{value:.0%}<br><small>{lo:.0%} to {hi:.0%}</small>"


def _money_cell(row, name: str, interval: bool = False) -> str:
    value = row.get(name)
    if value is None or pd.isna(value):
        return NOBODY
    text = html.escape(dollars(float(value)))
    if interval and pd.notna(row.get(f"{name}_ci_lower")) and pd.notna(row.get(f"{name}_ci_upper")):
        lo, hi = (html.escape(dollars(float(row[f"{name}_{b}"]))) for b in ("ci_lower", "ci_upper"))
        text += f"<br><small>{lo} to {hi}</small>"
    return text


@dataclass(frozen=True)
class DisclosureTable:
    """An income disclosure rendered for a notebook: ``html`` is the page fragment (a styled
    table per measure, every share and the median with its interval, no NaN: a cell with nobody
    in its denominator says so); a notebook shows it as a table."""

    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html


def disclosure_table(disclosure, *, measures=MEASURES, period=None, caption=None):
    """The disclosure table (:func:`toolkit.income_disclosure`) as a styled HTML table.

    Parameters
    ----------
    disclosure : frame
        :func:`toolkit.income_disclosure` (any engine's kind).
    measures : sequence of {"gross", "net", "net_after_purchases"}
        One table per measure, in this order.
    period : timestamp-like, optional
        The period shown (the latest when None).
    caption : str, optional
        Shown above the tables (escaped, like every text from the data).

    Returns
    -------
    DisclosureTable
        ``.html`` holds the fragment; in a notebook the object renders as the table.
    """
    frame = to_pandas(disclosure)
    _require(frame, ["period", "group", "measure", "participants"], "disclosure_table")
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise ValueError(f"measures must be among {MEASURES}, got {unknown}")
    if frame.empty:
        text = "No participants in the data: there is no income to disclose."
        return DisclosureTable(f"<p>{html.escape(text)}</p>")
    rows, chosen = _one_period(frame, period, "disclosure_table")
    head = (
        "<tr><th>group</th><th>participants</th>"
        + "".join(f"<th>{html.escape(label)}</th>" for _, label in SHARES)
        + "<th>median<br><small>(its interval)</small></th><th>mean</th>"
        + "".join(f"<th>{p} percentile</th>" for p in ("10th", "25th", "75th", "90th", "99th"))
        + "</tr>"
    )
    parts = [_CSS]
    if caption:
        parts.append(f"<p>{html.escape(str(caption))}</p>")
    for measure in measures:
        here = rows[rows["measure"] == measure]
        order = _group_order(here) if "median" in here else here["group"].astype(str).tolist()
        body = []
        for group in order:
            row = here[here["group"].astype(str) == group].iloc[0].to_dict()
            cells = [f'<td class="tk-group">{html.escape(group)}</td>']
            cells.append(f"<td>{int(row['participants']):,}</td>")
            cells += [f"<td>{_share_cell(row, name)}</td>" for name, _ in SHARES]
            cells.append(f"<td>{_money_cell(row, 'median', interval=True)}</td>")
            cells.append(f"<td>{_money_cell(row, 'mean')}</td>")
            cells += [f"<td>{_money_cell(row, f'p{q}')}</td>" for q in (10, 25, 75, 90, 99)]
            cls = ' class="tk-all"' if group == "all participants" else ""
            body.append(f"<tr{cls}>{''.join(cells)}</tr>")
        title = f"{MEASURE_WORDS[measure].capitalize()}, {_when(chosen)}"
        parts.append(
            f'<table class="tk-disclosure"><caption>{html.escape(title)}</caption>'
            f"<thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
        )
    parts.append(
        "<p><small>Shares are of the participants in the row, each with its range (Wilson, at "
        "the confidence level the disclosure was computed with, 95% by default); the median's "
        "range is from order statistics; a percentile is the income below which that share "
        f"(10%, 25%, ...) of the row's participants fall. &ldquo;{NOBODY}&rdquo;: no participant in "
        "the row to count (for instance nobody made a profit).</small></p>"
    )
    return DisclosureTable("".join(parts))
