"""The funnel table: conversion through ordered steps, censored at ``as_of``, with an interval on
every rate (:func:`funnel_table`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.frames import to_kind
from toolkit.funnel._plan import (
    _COUNT_NAMES,
    _by_list,
    _empty,
    _step_counts,
)
from toolkit.rates import check_alpha, wilson_interval

TABLE_COLUMNS = (
    "step",
    "step_index",
    "reached",
    "in_progress",
    "dropped",
    "conversion_from_start",
    "conversion_from_previous",
    "ci_lower",
    "ci_upper",
    "start_ci_lower",
    "start_ci_upper",
    "eligible",
    "converted",
)


def funnel_table(
    events,
    steps=("contact", "lead", "prospect", "customer"),
    *,
    window="90D",
    order="ordered",
    by=None,
    leads=None,
    as_of=None,
    include_in_progress=False,
    alpha=0.05,
):
    """Conversion through ordered funnel steps, with censoring at ``as_of`` and Wilson intervals.

    A lead enters the funnel when it first reaches ``steps[0]``. It reaches step k when a stage
    of step k happens within the conversion window (and, in the ordered modes, at or after step
    k-1). A lead that has not reached step k while its window is still open at ``as_of`` is
    **in progress** at step k: it has not had its chance yet, and by default it is left out of
    the rates, so a recent lead is never counted as lost. ``include_in_progress=True`` gives
    the naive rates of most analytics tools, which count it as a failure.

    Parameters
    ----------
    events : dataframe
        The events table (``lead_id``, ``stage``, ``at``): pandas, Polars (eager or lazy),
        PyArrow, a DuckDB relation or a PySpark DataFrame.
    steps : sequence
        Stage names in funnel order. An item may be a group of stages that count as one step,
        written ``{"enrolled": ("customer", "rep")}`` or ``("enrolled", ["customer", "rep"])``.
        A dict ``{label: stage or stages}`` also works. At least two steps.
    window : duration or sequence of durations
        With a unit (``"90D"``, ``"12W"``, ``pd.Timedelta``). One duration counts from the
        lead's first step; a sequence gives one window per transition (``len(steps) - 1``
        values), each counted from the time the previous step was reached.
    order : {"ordered", "strict", "any"}
        "ordered": each step at or after the previous one. "strict": as ordered, and no other
        listed stage happens strictly between the previous step and this one. "any": the step
        counts when it and every earlier step happened within the window, in any order.
    by : str or list of str, optional
        Lead attributes joined from ``leads`` (``lead_type``, ``source``, ``owner_id``, any
        extra column), or an entry period: ``created_month`` (from ``leads.created_at``) or
        ``entry_month`` (from the first step), with day, week, quarter or year in place of month.
    leads : dataframe, optional
        The leads table, same kind as ``events``; needed when ``by`` names a lead attribute.
    as_of : timestamp-like, optional
        When the data was exported; later events are ignored. Default: the latest event.
    include_in_progress : bool
        False (default): rates use only leads whose window for the step has elapsed.
        True: naive rates, counting in-progress leads as not converted.
    alpha : float
        Intervals are at level ``1 - alpha``.

    Returns
    -------
    dataframe, the same kind as ``events``, one row per segment and step
        - the ``by`` columns (null for leads missing from ``leads``).
        - ``step``: the step's label; ``step_index``: 0, 1, ... in funnel order.
        - ``reached``: leads that reached the step (recent ones included).
        - ``in_progress``: leads that have not reached the step and whose window is still open
          (they may still get there). 0 at the first step; never decreases along the steps for a
          single window.
        - ``dropped``: leads that reached the previous step, not this one, and whose window
          has closed: the ones lost at this step. 0 at the first step.
        - ``conversion_from_start``: share of entrants that reached the step (the product of
          ``conversion_from_previous`` so far). 1 at the first step; NaN when no lead counts.
        - ``conversion_from_previous``: ``converted / eligible``. NaN at the first step and
          when ``eligible`` is 0.
        - ``ci_lower``, ``ci_upper``: Wilson interval of ``conversion_from_previous``
          (statsmodels ``proportion_confint``), NaN where it is NaN.
        - ``start_ci_lower``, ``start_ci_upper``: interval of ``conversion_from_start``
          (Wilson with a single window; Greenwood's log interval of the product with per-step
          windows). NaN at the first step.
        - ``eligible``: leads at the previous step counted in the rate (whose window has elapsed,
          unless ``include_in_progress``); at the first step, the entrants counted.
        - ``converted``: those of them that reached the step.

    Raises
    ------
    DataError
        Unknown stage names (the message lists the valid ones), missing columns.
    ValueError
        Fewer than two steps, a window without a unit, a bad ``order``.

    Examples
    --------
    Four leads exported on 2025-06-30: L1 reached customer, L2 stopped at prospect, L3 at lead
    (all three entered in January or February, so their 90 days are over) and L4 was contacted
    on 2025-06-20. L4 is in progress at every later step, so the censored rates use three
    leads: lead 3/3, prospect 2/3, customer 1/3 of the start. The naive rates would say 3/4,
    2/4 and 1/4, as if L4 had been lost.

    >>> t = funnel_table(data.events, as_of="2025-06-30")  # doctest: +SKIP
    >>> t[["step", "reached", "in_progress", "dropped", "conversion_from_start",
    ...    "conversion_from_previous"]]  # doctest: +SKIP
           step  reached  in_progress  dropped  conversion_from_start  conversion_from_previous
    0   contact        4            0        0               1.000000                       NaN
    1      lead        3            1        0               1.000000                  1.000000
    2  prospect        2            1        1               0.666667                  0.666667
    3  customer        1            1        1               0.333333                  0.500000
    """
    check_alpha(alpha)
    by_cols = _by_list(by)
    counts, like, steps, windows, _ = _step_counts(
        events,
        steps,
        window=window,
        order=order,
        by=by_cols,
        leads=leads,
        as_of=as_of,
        include_in_progress=include_in_progress,
    )
    table = _long_table(counts, steps, by_cols, windows, include_in_progress, alpha)
    return to_kind(table, like)


def _long_table(counts, steps, by, windows, include_in_progress, alpha) -> pd.DataFrame:
    if counts.empty:
        return _empty(by, TABLE_COLUMNS)

    counts = counts.sort_values(by, na_position="last") if by else counts
    n_seg, n_steps = len(counts), len(steps)
    # one block of all the counts (columns name_k), then one (segment, step) array per name
    block = counts[[f"{name}_{k}" for k in range(n_steps) for name in _COUNT_NAMES]].to_numpy()
    block = block.astype(np.int64).reshape(n_seg, n_steps, len(_COUNT_NAMES))
    get = {name: block[:, :, i] for i, name in enumerate(_COUNT_NAMES)}
    eligible, converted = get["eligible"].astype(float), get["converted"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        from_previous = np.where(
            eligible > 0, converted / np.where(eligible > 0, eligible, 1), np.nan
        )
    from_previous[:, 0] = np.nan
    lower, upper = wilson_interval(get["converted"], get["eligible"], alpha=alpha)
    lower[:, 0] = upper[:, 0] = np.nan

    single = not isinstance(windows, tuple) or include_in_progress
    start = np.ones((n_seg, n_steps))
    start_lo = np.full((n_seg, n_steps), np.nan)
    start_hi = np.full((n_seg, n_steps), np.nan)
    if single:
        # one window: every rate uses the same mature entrants, so the product telescopes to a
        # plain proportion of them
        base = np.repeat(eligible[:, :1], n_steps, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            start = np.where(base > 0, converted / np.where(base > 0, base, 1), np.nan)
        start[:, 0] = 1.0
        start_lo[:, 1:], start_hi[:, 1:] = wilson_interval(
            get["converted"][:, 1:],
            np.repeat(get["eligible"][:, :1], n_steps - 1, axis=1),
            alpha=alpha,
        )
    else:
        # per-step windows: each rate has its own mature leads, and the rate from the start is
        # the product of the conditional rates. Its interval is Wilson's at the effective sample
        # size that Greenwood's variance of the product implies (as for a Kaplan-Meier curve).
        var_log = np.zeros(n_seg)
        min_n = np.full(n_seg, np.inf)
        for k in range(1, n_steps):
            p, n = from_previous[:, k], eligible[:, k]
            prev = start[:, k - 1]
            start[:, k] = np.where(prev == 0, 0.0, prev * p)
            min_n = np.minimum(min_n, n)
            with np.errstate(divide="ignore", invalid="ignore"):
                var_log = var_log + np.where(p > 0, (1 - p) / (n * p), 0.0)
                s = start[:, k]
                n_eff = np.where(var_log > 0, (1 - s) / (s * var_log), min_n)
            ok = np.isfinite(s) & (s > 0) & np.isfinite(n_eff) & (n_eff > 0)
            lo = np.full(n_seg, np.nan)
            hi = np.full(n_seg, np.nan)
            lo[ok], hi[ok] = wilson_interval(s[ok] * n_eff[ok], n_eff[ok], alpha=alpha)
            # a step nobody passed: 0, bounded above by the step where the chain broke
            first_zero = (s == 0) & (prev > 0)
            if first_zero.any():
                _, zero_hi = wilson_interval(np.zeros(first_zero.sum()), n[first_zero], alpha=alpha)
                hi[first_zero] = (
                    np.fmin(1.0, start_hi[first_zero, k - 1] if k > 1 else 1.0) * zero_hi
                )
                lo[first_zero] = 0.0
            later_zero = (s == 0) & (prev == 0)
            lo[later_zero], hi[later_zero] = 0.0, start_hi[later_zero, k - 1]
            start_lo[:, k], start_hi[:, k] = lo, hi

    rows = {c: np.repeat(counts[c].to_numpy(), n_steps) for c in by}
    rows |= {
        "step": np.tile(np.array([s.label for s in steps], dtype=object), n_seg),
        "step_index": np.tile(np.arange(n_steps), n_seg),
        "reached": get["reached"].ravel(),
        "in_progress": get["in_progress"].ravel(),
        "dropped": get["dropped"].ravel(),
        "conversion_from_start": start.ravel(),
        "conversion_from_previous": from_previous.ravel(),
        "ci_lower": lower.ravel(),
        "ci_upper": upper.ravel(),
        "start_ci_lower": start_lo.ravel(),
        "start_ci_upper": start_hi.ravel(),
        "eligible": get["eligible"].ravel(),
        "converted": get["converted"].ravel(),
    }
    out = pd.DataFrame(rows)
    out["step"] = out["step"].astype("str")
    return out
