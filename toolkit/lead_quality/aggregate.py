"""Leads reduced to sufficient statistics by their own engine: one row per covariate pattern
with trials (leads whose window has passed by ``as_of``) and successes per outcome
(:func:`aggregate_leads`). Large pandas inputs are counted by Polars
(:func:`toolkit.frames.hand_off`)."""

from __future__ import annotations

from collections.abc import Iterable

import narwhals as nw
import pandas as pd

from toolkit.censoring import offset, parse_duration
from toolkit.frames import collect, from_native, hand_off
from toolkit.schema import DataError, check_frame


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
