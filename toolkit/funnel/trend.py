"""Conversion by entry period, unfinished periods flagged (:func:`conversion_trend`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.censoring import (
    check_period,
)
from toolkit.frames import to_kind
from toolkit.funnel._plan import (
    _by_list,
    _empty,
    _step_counts,
)
from toolkit.funnel.table import _long_table
from toolkit.rates import check_alpha

# conversion_trend's columns after "period" and the by columns
TREND_COLUMNS = (
    "step",
    "step_index",
    "entered",
    "reached",
    "in_progress",
    "eligible",
    "conversion",
    "ci_lower",
    "ci_upper",
    "complete",
)


def conversion_trend(
    events,
    steps,
    *,
    period="M",
    window="90D",
    leads=None,
    as_of=None,
    by=None,
    alpha=0.05,
):
    """Conversion from the first step, per entry period, with unfinished periods flagged.

    Leads are grouped by when they reached the first step (the entry period). A period is
    ``complete`` once the window of its last possible entrant has elapsed by ``as_of``; in an
    incomplete period the rate uses only the entrants whose window has elapsed (NaN when none
    has), so the last months are neither zero nor falsely low: they are marked unfinished.

    Parameters
    ----------
    events, steps, window, leads, as_of, alpha
        As in :func:`funnel_table` (one window, not per-step windows).
    period : {"D", "W", "M", "Q", "Y"}
        Length of an entry period (calendar weeks start on Monday).
    by : str or list of str, optional
        Lead attributes to break each period down by (needs ``leads``).

    Returns
    -------
    dataframe, the same kind as ``events``, one row per period (and segment) and step
        - ``period``: start of the entry period.
        - the ``by`` columns.
        - ``step``, ``step_index``.
        - ``entered``: leads that entered in the period.
        - ``reached``, ``in_progress``: as in :func:`funnel_table`.
        - ``eligible``: entrants whose window has elapsed (the base of the rate).
        - ``conversion``: ``reached`` among ``eligible`` entrants (the censored
          ``conversion_from_start``), NaN when ``eligible`` is 0.
        - ``ci_lower``, ``ci_upper``: its Wilson interval.
        - ``complete``: True when every entrant of the period has had its full window.
    """
    if isinstance(window, (list, tuple)):
        raise ValueError("conversion_trend takes one window, not per-step windows")
    # the letter in either case, as conversion_trend always took it
    calendar = check_period(period.upper() if isinstance(period, str) else period)
    check_alpha(alpha)
    by_cols = _by_list(by)
    entry = f"entry_{calendar.word}"
    counts, like, steps, windows, as_of_dt = _step_counts(
        events,
        steps,
        window=window,
        order="ordered",
        by=[entry, *by_cols],
        leads=leads,
        as_of=as_of,
        include_in_progress=False,
    )
    columns = TREND_COLUMNS
    if counts.empty:
        return to_kind(_empty(["period", *by_cols], columns), like)
    table = _long_table(counts, steps, [entry, *by_cols], windows, False, alpha)
    table = table.rename(columns={entry: "period"})
    table["period"] = pd.to_datetime(table["period"]).astype("datetime64[us]")
    n_steps = len(steps)
    entered = table.groupby(["period", *by_cols], dropna=False, sort=False)["reached"].transform(
        "first"
    )
    base = table.groupby(["period", *by_cols], dropna=False, sort=False)["eligible"].transform(
        "first"
    )
    period_end = table["period"] + calendar.length
    out = table[["period", *by_cols, "step", "step_index", "reached", "in_progress"]].copy()
    out.insert(len(by_cols) + 3, "entered", entered.to_numpy())
    out["eligible"] = base.to_numpy()
    out["conversion"] = table["conversion_from_start"].to_numpy()
    out["ci_lower"] = table["start_ci_lower"].to_numpy()
    out["ci_upper"] = table["start_ci_upper"].to_numpy()
    first = out["step_index"] == 0
    out.loc[first, ["ci_lower", "ci_upper"]] = np.nan
    out.loc[out["eligible"] == 0, "conversion"] = np.nan
    out["complete"] = (period_end + windows <= pd.Timestamp(as_of_dt)).to_numpy()
    out = out.sort_values(["period", *by_cols, "step_index"]).reset_index(drop=True)
    assert out["step_index"].max() < n_steps
    return to_kind(out, like)
