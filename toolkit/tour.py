"""What the tour notebooks share: how a table shows a value that is not there, the funnel's
steps on any export, and the sentence for a section that cannot be shown.

A missing value in a table (the interval of a funnel's first step, a range with too few
conversions) is shown as :data:`NOT_SHOWN`, never ``NaN``: :func:`show_missing_as_dash` sets
that up for the notebook's pandas tables.
"""

from __future__ import annotations

import pandas as pd

from toolkit.schema import NOT_SHOWN, STAGES, CRMData

SAMPLE_STEPS = ("contact", "lead", "prospect", "customer")


def _html(frame) -> str:
    rows, cols = pd.get_option("display.max_rows"), pd.get_option("display.max_columns")
    if len(frame) > rows:
        rows = pd.get_option("display.min_rows") or rows
    return frame.to_html(na_rep=NOT_SHOWN, max_rows=rows, max_cols=cols, show_dimensions=False)


def _text(frame) -> str:
    rows = pd.get_option("display.max_rows")
    if isinstance(frame, pd.Series):
        text = frame.to_string(na_rep=NOT_SHOWN, max_rows=rows, name=True, dtype=False)
        return text
    return frame.to_string(na_rep=NOT_SHOWN, max_rows=rows, max_cols=None)


def show_missing_as_dash() -> None:
    """In the running IPython kernel, show missing values of pandas tables as a dash.

    Nothing happens outside IPython. The tables themselves are unchanged: only how a notebook
    displays them.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the notebooks run in IPython
        return
    shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(pd.DataFrame, _html)
    formatters["text/plain"].for_type(pd.DataFrame, lambda frame, p, cycle: p.text(_text(frame)))
    formatters["text/plain"].for_type(pd.Series, lambda series, p, cycle: p.text(_text(series)))


def funnel_steps(data: CRMData, steps=None) -> tuple[str, ...]:
    """The funnel's steps on ``data``: ``steps`` when given; else the pipeline declared in the
    mapping; else the sample's contact-to-customer steps when the events have them; else the
    export's own stages, most reached first (a funnel narrows)."""
    if steps:
        return tuple(steps)
    if data.stages:
        return tuple(data.stages)
    reached = data.events.groupby("stage", observed=True)["lead_id"].nunique()
    if set(SAMPLE_STEPS) <= set(reached.index):
        return SAMPLE_STEPS
    known = [s for s in STAGES if s in reached.index]
    if len(known) >= 2:
        return tuple(known)
    return tuple(reached.sort_values(ascending=False, kind="stable").index.astype(str))


def largest(data: CRMData, column: str, n: int = 2) -> list[str]:
    """The ``n`` most frequent values of ``leads[column]`` (the sources, the lead types, ...),
    largest first: what the tour compares when the parameters cell names none."""
    counts = data.leads[column].value_counts(sort=False)
    return list(counts.sort_values(ascending=False, kind="stable").index[:n].astype(str))


def not_shown(section: str, reason: str) -> None:
    """Print that ``section`` cannot be shown, and why, in words (for a notebook's output)."""
    print(f"{section} cannot be shown: {reason}.")


def pick(data: CRMData, column: str, named=None, n: int = 2) -> list[str]:
    """The values of ``leads[column]`` a section compares: ``named`` (from the parameters
    cell) when the export has them all, else the ``n`` largest (said so in the output)."""
    if named:
        present = set(data.leads[column].dropna().astype(str))
        absent = [v for v in named if v not in present]
        if not absent:
            return list(named)
        print(
            f"The export has no {column} {', '.join(map(repr, absent))}: comparing the "
            f"{n} largest instead."
        )
    return largest(data, column, n)
