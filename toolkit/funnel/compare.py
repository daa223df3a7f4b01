"""Two segments compared step by step (:func:`compare_segments`): the toolkit's one
two-proportion test (:func:`toolkit.rates.compare_proportions`) on the censored counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.frames import to_kind
from toolkit.funnel._plan import (
    _step_counts,
)
from toolkit.rates import check_alpha, compare_proportions


def compare_segments(
    events,
    by,
    a,
    b,
    *,
    steps=("contact", "lead", "prospect", "customer"),
    window="90D",
    leads=None,
    as_of=None,
    rate="from_previous",
    order="ordered",
    alpha=0.05,
):
    """Difference in conversion between segments ``a`` and ``b`` of ``by``, at each step.

    Both rates are censored as in :func:`funnel_table`. The interval of the difference is
    Newcombe's (built from Wilson intervals) and the p-value is the score test of equal rates,
    both from statsmodels through :func:`toolkit.rates.compare_proportions` (the test
    :func:`toolkit.compare_sources` uses too).

    Parameters
    ----------
    by : str
        The lead attribute (or entry period) that defines the segments, e.g. "lead_type".
    a, b : values of ``by``
        The two segments; the difference is ``a - b``.
    rate : {"from_previous", "from_start"}
        Compare step-by-step rates (where in the funnel they differ) or rates from the start.
    steps, window, leads, as_of, order, alpha
        As in :func:`funnel_table` (``rate="from_start"`` needs a single window).

    Returns
    -------
    dataframe, the same kind as ``events``, one row per step after the first
        - ``step``, ``step_index``.
        - ``converted_a``, ``eligible_a``, ``rate_a``; the same for ``b``.
        - ``difference``: ``rate_a - rate_b``.
        - ``ci_lower``, ``ci_upper``: its interval at level ``1 - alpha``.
        - ``p_value``: two-sided test of equal rates. NaN where a segment has no eligible lead.
    """
    if rate not in ("from_previous", "from_start"):
        raise ValueError(f"rate must be 'from_previous' or 'from_start', got {rate!r}")
    if rate == "from_start" and isinstance(window, (list, tuple)):
        raise ValueError("rate='from_start' compares plain proportions: give a single window")
    if not isinstance(by, str):
        raise ValueError(f"by must name one column, got {by!r}")
    check_alpha(alpha)
    counts, like, steps, windows, _ = _step_counts(
        events,
        steps,
        window=window,
        order=order,
        by=[by],
        leads=leads,
        as_of=as_of,
        include_in_progress=False,
    )
    rows = []
    segments = {}
    for name, value in (("a", a), ("b", b)):
        match = counts[counts[by] == value]
        if match.empty:
            known = sorted(map(str, counts[by].dropna().unique()))
            raise ValueError(f"no lead has {by} == {value!r}; values present: {known}")
        segments[name] = match.iloc[0]
    for k in range(1, len(steps)):
        row = {"step": steps[k].label, "step_index": k}
        for name, seg in segments.items():
            n = int(seg["eligible_0"] if rate == "from_start" else seg[f"eligible_{k}"])
            x = int(seg[f"converted_{k}"])
            row |= {
                f"converted_{name}": x,
                f"eligible_{name}": n,
                f"rate_{name}": x / n if n else np.nan,
            }
        test = compare_proportions(
            row["converted_a"],
            row["eligible_a"],
            row["converted_b"],
            row["eligible_b"],
            alpha=alpha,
        )
        row["difference"] = row["rate_a"] - row["rate_b"]
        lo, hi, p = test.ci_lower, test.ci_upper, test.p_value
        row |= {"ci_lower": float(lo), "ci_upper": float(hi), "p_value": float(p)}
        rows.append(row)
    return to_kind(pd.DataFrame(rows), like)
