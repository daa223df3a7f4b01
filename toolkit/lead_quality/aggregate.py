"""Leads reduced to sufficient statistics by their own engine: one row per covariate pattern
with trials (leads whose window has passed by ``as_of``) and successes per outcome
(:func:`aggregate_leads`). Large pandas inputs are counted by Polars
(:func:`toolkit.frames.hand_off`)."""

from __future__ import annotations

from collections.abc import Iterable

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit import fastpath
from toolkit.censoring import offset, parse_duration
from toolkit.checks import check_frame
from toolkit.frames import collect, from_native, hand_off
from toolkit.schema import DataError


def _base_columns(features: Iterable[str]) -> list[str]:
    out: list[str] = []
    for feature in features:
        for part in feature.split(":"):
            if part not in out:
                out.append(part)
    return out


def aggregate_leads(
    leads,
    events,
    *,
    by: Iterable[str],
    outcomes: Iterable[str],
    window,
    as_of,
    cost_col: str | None = "cost",
) -> pd.DataFrame:
    """Leads reduced to one row per value of ``by``, computed by the leads' own engine.

    Parameters
    ----------
    leads, events : dataframe (pandas, Polars, PyArrow, DuckDB or PySpark; both of one kind)
        The contract's ``leads`` (``lead_id``, ``created_at`` and the ``by`` columns) and
        ``events`` (``lead_id``, ``stage``, ``at``) tables.
    by : columns to group by (features and price).
    outcomes : stages counted as conversions, each separately.
    window : duration such as ``"90D"``: a lead converts if it reaches the stage within it.
    as_of : timestamp; leads created later than ``as_of - window`` are in progress.
    cost_col : column with the price paid per lead, summed over the counted leads (or None).

    Returns
    -------
    pandas.DataFrame
        One row per pattern, with the ``by`` columns and:

        - ``leads``: all leads of the pattern, including those still in progress;
        - ``trials``: leads whose window has passed by ``as_of`` (the ones a rate can use);
        - ``s_<outcome>``: how many of the ``trials`` reached ``outcome`` within the window;
        - ``spend``: the summed ``cost_col`` of the ``trials`` (0 without ``cost_col``).
    """
    by, outcomes = list(by), list(outcomes)
    window = parse_duration(window)
    required = list(
        dict.fromkeys(["lead_id", "created_at", *by, *([cost_col] if cost_col else [])])
    )
    if fastpath.covers(events, leads):
        from_native(leads, "leads", required)
        from_native(events, "events", ["lead_id", "stage", "at"])
        fastpath.check_inputs(events, leads, required[1:])
        fast = _numpy_aggregate(leads, events, by, outcomes, window, as_of, cost_col)
        if fast is not None:
            return fast
    handed = hand_off(
        {"leads": leads, "events": events},
        {"leads": required, "events": ["lead_id", "stage", "at"]},
    )
    leads, events = handed["leads"], handed["events"]
    # frames passed without validate: no lead twice, no unknown stage or NaT time, no negative
    # or infinite cost; timezone-aware times as naive UTC
    lf = check_frame(from_native(leads, "leads", required), "leads", required)
    ev = from_native(events, "events", ["lead_id", "stage", "at"])
    ev = check_frame(ev, "events", ["lead_id", "stage", "at"])
    if type(lf) is not type(ev) or lf.implementation != ev.implementation:
        raise DataError(
            "leads and events must be frames of the same kind; got "
            f"{type(nw.to_native(lf)).__name__} and {type(nw.to_native(ev)).__name__}"
        )
    if lf.implementation is nw.Implementation.POLARS and not isinstance(lf, nw.LazyFrame):
        lf, ev = lf.lazy(), ev.lazy()  # one optimised query instead of step-by-step eager work
    cutoff = (pd.Timestamp(as_of) - window).to_pydatetime()
    first = (
        ev.filter(nw.col("stage").is_in(outcomes))
        .with_columns(
            **{f"_first_{o}": nw.when(nw.col("stage") == o).then(nw.col("at")) for o in outcomes}
        )
        .group_by("lead_id")
        .agg(*[nw.col(f"_first_{o}").min() for o in outcomes])
    )
    elapsed = nw.col("created_at") <= cutoff
    deadline = nw.col("created_at").dt.offset_by(offset(window))
    keys = by or ["_all"]
    lf = lf.select(*required).with_columns(_all=nw.lit(1)) if not by else lf.select(*required)
    # Two small queries instead of one big one: counts per pattern need no join at all, and only
    # leads with an outcome event are joined (a fraction of them), not every lead.
    counts = (
        lf.with_columns(
            _elapsed=elapsed.cast(nw.Int64),
            _spend=(
                nw.when(elapsed).then(nw.col(cost_col).cast(nw.Float64)).otherwise(0.0)
                if cost_col
                else nw.lit(0.0)
            ),
        )
        .group_by(*keys)
        .agg(
            nw.len().alias("leads"),
            nw.col("_elapsed").sum().alias("trials"),
            nw.col("_spend").sum().alias("spend"),
        )
    )
    successes = (
        lf.filter(elapsed)
        .join(first, on="lead_id", how="inner")
        .with_columns(
            **{
                f"_s_{o}": (nw.col(f"_first_{o}") <= deadline).fill_null(False).cast(nw.Int64)
                for o in outcomes
            }
        )
        .group_by(*keys)
        .agg(*[nw.col(f"_s_{o}").sum().alias(f"s_{o}") for o in outcomes])
    )
    if counts.implementation is nw.Implementation.POLARS and isinstance(counts, nw.LazyFrame):
        import polars as pl

        # both queries at once, on Polars' streaming engine (about a third faster here)
        parts = pl.collect_all([nw.to_native(counts), nw.to_native(successes)], engine="streaming")
        counts_pd, successes_pd = (part.to_pandas() for part in parts)
    else:
        counts_pd, successes_pd = collect(counts).to_pandas(), collect(successes).to_pandas()
    out = counts_pd.merge(successes_pd, on=keys, how="left")
    if not by:
        out = out.drop(columns="_all")
    for col in ("leads", "trials", *[f"s_{o}" for o in outcomes]):
        out[col] = out[col].fillna(0).astype("int64")
    out["spend"] = out["spend"].fillna(0.0).astype("float64")
    return out.sort_values(by).reset_index(drop=True) if by else out


def _numpy_aggregate(leads, events, by, outcomes, window, as_of, cost_col):
    """:func:`aggregate_leads` by the numpy route (:mod:`toolkit.fastpath`): the same rows and
    numbers (``spend`` summed in another order: equal to rounding); None when ``created_at``
    is not a numpy datetime column (the engine route then does it)."""
    created = leads["created_at"]
    if not fastpath.is_numpy_time(created):
        return None
    unit, c_unit = fastpath.time_unit(events["at"]), fastpath.time_unit(created)
    bits = fastpath.stage_bits(events["stage"], [(o,) for o in outcomes])
    t = events["at"].to_numpy().view("int64")
    keep = (bits != 0) & (t != np.iinfo(np.int64).min)
    codes, id_of, lead_codes = fastpath.lead_codes(events["lead_id"].array[keep], leads["lead_id"])
    t, bits = t[keep], bits[keep]
    c = created.to_numpy().view("int64")
    cutoff = pd.Timestamp(as_of) - window
    elapsed = np.zeros(len(c), bool)  # no as_of (no leads, no events): nothing has elapsed
    if not pd.isna(cutoff):
        limit = fastpath.from_us(fastpath.us_of(cutoff.to_pydatetime()), c_unit)
        elapsed = (c != np.iinfo(np.int64).min) & (c <= limit)
    # created_at + window against the first outcome times, exactly, in one unit
    fine = "ns" in (unit, c_unit)
    deadline = fastpath.scaled(c, c_unit, fine) + fastpath.us_span(window) * (1000 if fine else 1)
    if by:
        which, out = fastpath.group([leads[b] for b in by])
    else:
        # one pattern of all leads (none without leads, as the engine's group_by gives)
        which, out = np.zeros(len(leads), np.int64), pd.DataFrame(index=range(min(1, len(leads))))
    m = len(out)
    out["leads"] = np.bincount(which, minlength=m).astype(np.int64)
    out["trials"] = np.bincount(which, weights=elapsed, minlength=m).astype(np.int64)
    spend = np.zeros(len(leads))
    if cost_col:
        cost = leads[cost_col].to_numpy(dtype="float64", na_value=np.nan)
        spend = np.where(elapsed & ~np.isnan(cost), cost, 0.0)
    out["spend"] = np.bincount(which, weights=spend, minlength=m).astype(np.float64)
    for k, outcome in enumerate(outcomes):
        mine = (bits >> k) & 1 != 0
        first = np.full(len(id_of) + 1, fastpath.NOT_REACHED)  # the last: leads without events
        np.minimum.at(first, codes[mine], t[mine])
        when = first[np.where(lead_codes >= 0, lead_codes, len(id_of))]
        hit = (when != fastpath.NOT_REACHED) & (fastpath.scaled(when, unit, fine) <= deadline)
        out[f"s_{outcome}"] = np.bincount(which, weights=hit & elapsed, minlength=m).astype(
            np.int64
        )
    return out.sort_values(by).reset_index(drop=True) if by else out
