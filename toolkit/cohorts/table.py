"""The cohort table: members grouped by the period they joined, followed period by period
(:func:`cohort_table`), its wide view (:func:`cohort_matrix`) and all cohorts pooled
(:func:`pool_cohorts`).

Every censoring decision is taken against ``as_of``: a cohort cell whose period has not fully
elapsed is *unknown* (``complete=False``, rate NaN), never 0%. A table says what it holds in its
own columns (``metric``, ``reference``, ``alpha``), the same on every engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.censoring import (
    period_ordinal_of,
    period_start,
)
from toolkit.cohorts._cells import (
    _as_list,
    _check_period,
    _member_periods,
    _order_cells,
    _order_problems,
    _ordinals,
    _plain_pandas,
    _prepare,
)
from toolkit.frames import collect, from_native, hand_off, require_rows, to_kind, to_pandas
from toolkit.rates import check_alpha, wilson_interval, z_value

METRICS = ("active", "ordering", "revenue", "volume")

REFERENCES = ("initial", "previous")

# what the table holds, in its own columns (one value on every row): readable alike from a
# pandas, Polars or Spark result, where pandas ``attrs`` would be lost
DESCRIPTION_COLUMNS = ["metric", "reference", "alpha"]

_COLUMNS = [
    "cohort",
    "period",
    "size",
    "value",
    "rate",
    "ci_lower",
    "ci_upper",
    "complete",
    *DESCRIPTION_COLUMNS,
]

# every column of a (projected) cohort table that is not a ``by`` column
CELL_COLUMNS = (*_COLUMNS, "projected")


def _empty_table(by: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in by})
    frame["cohort"] = pd.Series(dtype="datetime64[us]")
    frame["period"] = pd.Series(dtype="int64")
    frame["size"] = pd.Series(dtype="int64")
    for col in ("value", "rate", "ci_lower", "ci_upper"):
        frame[col] = pd.Series(dtype="float64")
    frame["complete"] = pd.Series(dtype="bool")
    frame["metric"] = pd.Series(dtype="str")
    frame["reference"] = pd.Series(dtype="str")
    frame["alpha"] = pd.Series(dtype="float64")
    return frame


def cohort_table(
    members,
    orders=None,
    *,
    period: str = "M",
    metric: str = "active",
    by: str | Sequence[str] | None = None,
    reference: str = "initial",
    cumulative: bool = False,
    as_of=None,
    intervals: bool = True,
    alpha: float = 0.05,
):
    """Members grouped by the period they joined, followed period by period.

    Parameters
    ----------
    members : dataframe (pandas, Polars, PyArrow, DuckDB or PySpark)
        The contract's members table; needs ``member_id``, ``joined_at``, ``left_at`` and the
        ``by`` columns.
    orders : dataframe, optional
        The contract's orders table (``member_id``, ``ordered_at``, ``amount``, ``volume``);
        required for every metric but "active".
    period : {"W", "M", "Q", "Y"}
        Calendar week (Monday start), month, quarter or year. Period 0 is the joining period.
    metric : {"active", "ordering", "revenue", "volume"}
        "active": members who joined and had not left by the end of the period.
        "ordering": members who placed at least one order in the period.
        "revenue" / "volume": the sum of ``amount`` / ``volume`` the cohort bought in the period.
    by : str or list of str, optional
        Members' columns to split cohorts by (e.g. "role").
    reference : {"initial", "previous"}
        "initial": share of the cohort's starting size (for revenue and volume: per starting
        member, i.e. residual income per recruit). "previous": relative to the previous period
        (period 0 compares with the starting size for counts; it is NaN for money, which has no
        previous period).
    cumulative : bool
        Count everything up to the end of the period: "ordering" becomes "has ever ordered",
        revenue and volume become running totals. Not defined for "active", which is a state.
    as_of : timestamp-like, optional
        When the data were exported. Defaults to the latest timestamp in the inputs.
    intervals : bool
        For "revenue" and "volume" the interval needs every member's total per period, an extra
        aggregation over the orders (1.6 to 1.9 times as long on 20M orders). False skips it
        (``ci_lower`` and ``ci_upper`` are then NaN for money); counts always have theirs.
    alpha : float
        Intervals at level ``1 - alpha`` (0.05: 95%).

    Returns
    -------
    Same kind of frame as ``members`` (pandas in, pandas out; a lazy input gives a lazy result),
    one row per cohort (and ``by`` group) and period, with columns:

    - the ``by`` columns
    - ``cohort``: start of the joining period (``datetime64[us]``)
    - ``period``: 0, 1, 2 ... periods since joining; every cohort runs to the period containing
      ``as_of`` of the oldest cohort, so the table is a full rectangle
    - ``size``: members who joined in the cohort
    - ``value``: members active / members ordering / amount / volume in that period; observed so
      far for the period in progress, NaN for periods that have not begun
    - ``rate``: ``value`` over ``size`` (reference "initial") or over the previous period's
      ``value`` (reference "previous"); NaN when the cell is incomplete or its base is 0
    - ``ci_lower``, ``ci_upper``: interval of ``rate`` at level ``1 - alpha`` (Wilson for shares; normal
      approximation for money per member; log-ratio approximation, ignoring the correlation
      between periods and so conservative, for ratios that are not shares); NaN when ``rate`` is
    - ``complete``: True when the period ended on or before ``as_of``. Incomplete cells are
      unknown, never 0: all members of a calendar cohort reach a period together, so only cells
      that have fully elapsed enter a rate.
    - ``metric``, ``reference``, ``alpha``: what the table holds, the same on every row (the
      arguments given), so that :func:`pool_cohorts`, :func:`project_cohorts` and the plots read
      it from any engine's result.

    Raises
    ------
    DataError
        Orders for unknown members or before the member joined, ``left_at`` before
        ``joined_at``, timestamps after ``as_of``, missing columns (table, column, rows, first
        ids as :func:`toolkit.validate` reports them).
    ValueError
        An unknown ``metric``, ``period`` or ``reference`` (the message lists the valid ones).
    """
    _check_period(period)
    check_alpha(alpha)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {', '.join(REFERENCES)}; got {reference!r}")
    if cumulative and metric == "active":
        raise ValueError(
            "cumulative applies to ordering, revenue and volume; 'active' is already a state"
        )
    if metric != "active":
        require_rows(orders, "orders")  # without orders a revenue cell would be 0, not unknown
    by = _as_list(by)
    value_col = {"revenue": "amount", "volume": "volume"}.get(metric)
    like = from_native(members, "members", ["member_id"])
    frames = hand_off(
        {"members": members, "orders": orders if metric != "active" else None},
        {
            "members": ["member_id", "joined_at", "left_at", *by],
            "orders": ["member_id", "ordered_at", value_col or "amount"],
        },
    )
    members_nw, orders_nw, as_of = _prepare(
        frames["members"], frames["orders"], by, period, as_of, [value_col] if value_col else []
    )

    native = _plain_pandas(members_nw) if metric == "active" else None
    if native is not None:
        # the numpy route (issue 18): the same groups as the engine's, built by pandas
        cohort = _ordinals(native["joined_at"], period)
        people = pd.DataFrame(
            {
                **{c: native[c].array for c in by},
                "_cohort": cohort,
                "_left_period": _ordinals(native["left_at"], period) - cohort,
            }
        )
        left = people.groupby(
            by + ["_cohort", "_left_period"], dropna=False, sort=False, observed=True
        )
        left = left.size().rename("_n").reset_index()
    else:
        people = _member_periods(members_nw, by, period)
        if metric == "active":
            left = collect(
                people.group_by(*by, "_cohort", "_left_period").agg(nw.len().alias("_n"))
            ).to_pandas()
    if metric == "active":
        sizes = (
            left.groupby(by + ["_cohort"], dropna=False, sort=True)["_n"]
            .sum()
            .rename("size")
            .reset_index()
        )
    else:
        sizes = collect(people.group_by(*by, "_cohort").agg(nw.len().alias("size"))).to_pandas()
    if sizes.empty or as_of is None:
        return to_kind(_empty_table(by), like)

    now = period_ordinal_of(as_of, period)
    first = int(sizes["_cohort"].min())
    periods = np.arange(now - first + 1)
    grid = sizes.loc[sizes.index.repeat(len(periods))].reset_index(drop=True)
    grid["period"] = np.tile(periods, len(sizes))
    grid["size"] = grid["size"].astype("int64")
    calendar = grid["_cohort"].to_numpy() + grid["period"].to_numpy()
    grid["complete"] = calendar < now
    begun = calendar <= now
    keys = by + ["_cohort", "period"]

    sumsq = None
    if metric == "active":
        # members still there at the end of period k: those who never left or left after k
        left = left[left["_left_period"].notna()]
        gone = (
            left.groupby(by + ["_cohort", "_left_period"], dropna=False)["_n"].sum().reset_index()
        )
        gone = gone.rename(columns={"_left_period": "period"})
        gone["period"] = gone["period"].astype("int64")
        merged = grid[keys].merge(gone, on=keys, how="left")
        left_by_k = merged["_n"].fillna(0).to_numpy()
        cum_left = (
            pd.Series(left_by_k)
            .groupby([merged[k] for k in by + ["_cohort"]], dropna=False)
            .cumsum()
        )
        value = grid["size"].to_numpy() - cum_left.to_numpy()
    else:
        cells = _order_cells(
            members_nw,
            orders_nw,
            by,
            period,
            value_col,
            cumulative,
            intervals,
            grid=(first, len(periods), int(sizes["size"].sum())),
        )
        if cells["_unknown"].sum() or cells["_early"].sum():
            _order_problems(from_native(members, "members", []), from_native(orders, "orders", []))
        cells = cells[cells["_cohort"].notna()].copy()
        cells["period"] = cells["period"].astype("int64")
        cells["_cohort"] = cells["_cohort"].astype(grid["_cohort"].dtype)
        merged = grid[keys].merge(cells, on=keys, how="left")
        col = "_n" if metric == "ordering" else "_x"
        value = merged[col].fillna(0).to_numpy(dtype="float64")
        sumsq = (
            merged["_xsq"].fillna(0).to_numpy(dtype="float64")
            if intervals
            else np.full(len(merged), np.nan)
        )
        if cumulative:
            groups = [merged[k] for k in by + ["_cohort"]]
            value = pd.Series(value).groupby(groups, dropna=False).cumsum().to_numpy()
            sumsq = pd.Series(sumsq).groupby(groups, dropna=False).cumsum().to_numpy()
    value = np.where(begun, value.astype("float64"), np.nan)
    grid["value"] = value
    _rates(grid, by, metric, reference, cumulative, sumsq, alpha)
    grid["metric"], grid["reference"], grid["alpha"] = metric, reference, float(alpha)

    grid["cohort"] = period_start(grid["_cohort"], period)
    out = grid[by + _COLUMNS].sort_values(by + ["cohort", "period"]).reset_index(drop=True)
    return to_kind(out, like)


def _rates(grid: pd.DataFrame, by, metric, reference, cumulative, sumsq, alpha) -> None:
    """Fill rate and its interval in place (on the grid, a frame this module built)."""
    size = grid["size"].to_numpy(dtype="float64")
    value = grid["value"].to_numpy()
    complete = grid["complete"].to_numpy()
    money = metric in ("revenue", "volume")
    groups = [grid[k] for k in by + ["_cohort"]]
    previous = pd.Series(value).groupby(groups, dropna=False).shift(1).to_numpy()
    first = grid["period"].to_numpy() == 0
    z = z_value(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        if money:
            n = size
            mean = value / n
            var = np.maximum(sumsq - value**2 / n, 0) / np.maximum(n - 1, 1)
            if reference == "initial":
                rate = mean
                half = np.where(n > 1, z * np.sqrt(var / n), np.nan)
                lower, upper = np.maximum(rate - half, 0), rate + half
            else:
                prev_mean = previous / n
                prev_sq = pd.Series(sumsq).groupby(groups, dropna=False).shift(1).to_numpy()
                prev_var = np.maximum(prev_sq - previous**2 / n, 0) / np.maximum(n - 1, 1)
                rate = mean / prev_mean
                se = np.where(
                    n > 1, np.sqrt(var / n / mean**2 + prev_var / n / prev_mean**2), np.nan
                )
                lower, upper = rate * np.exp(-z * se), rate * np.exp(z * se)
        else:
            base = size if reference == "initial" else np.where(first, size, previous)
            rate = value / base
            nested = metric == "active" or cumulative or reference == "initial"
            # Wilson for shares only: members ordering now need not have ordered before, so a
            # ratio to the previous period can exceed 1 (its interval comes below)
            share = nested | first
            lower, upper = wilson_interval(
                np.where(share, value, 0.0), np.where(share, base, 0.0), alpha=alpha
            )
            if not nested:
                # members ordering now need not have ordered before: a ratio of counts, not a share
                se = np.sqrt(1 / value + 1 / base)
                ratio_lo, ratio_hi = rate * np.exp(-z * se), rate * np.exp(z * se)
                lower = np.where(first, lower, ratio_lo)
                upper = np.where(first, upper, ratio_hi)
    bad = ~complete | ~np.isfinite(rate)
    for col, values in (("rate", rate), ("ci_lower", lower), ("ci_upper", upper)):
        values = np.where(bad | ~np.isfinite(values), np.nan, values)
        grid[col] = values


def cohort_matrix(table, value: str = "rate") -> pd.DataFrame:
    """The wide view of a cohort table for display: one row per cohort, one column per period.

    Parameters
    ----------
    table : dataframe
        A result of :func:`cohort_table` (or :func:`project_cohorts`), any engine.
    value : str
        The column to spread ("rate", "value", "ci_lower" ...).

    Returns
    -------
    pandas.DataFrame
        Index: the ``by`` columns (if any) and ``cohort``; columns: ``period`` 0, 1, 2 ...
        Incomplete cells stay NaN (unknown), unless the table is projected.
    """
    frame = to_pandas(table)
    if value not in frame.columns:
        raise ValueError(
            f"value must be a column of the table ({', '.join(map(str, frame.columns))}); got {value!r}"
        )
    index = [c for c in frame.columns if c not in _COLUMNS and c not in _PROJECTION_COLUMNS] + [
        "cohort"
    ]
    # unstack keeps only the cohorts that exist (a pivot_table would add empty by x cohort rows)
    wide = frame.set_index([*index, "period"])[value].unstack("period")
    wide.columns.name = "period"
    return wide


def _described(frame: pd.DataFrame, column: str, default=None):
    """The value of a description column of a cohort table (one value on every row)."""
    if column not in frame.columns:
        return default
    values = frame[column].dropna().unique()
    if len(values) > 1:
        raise ValueError(f"the table mixes {column}s {sorted(map(str, values))}: pass one table")
    return values[0] if len(values) else default


def pool_cohorts(table, *, metric: str | None = None, alpha: float | None = None) -> pd.DataFrame:
    """All cohorts that have finished a period, together: "after 6 months, 80% (78% to 82%) of
    the members of the 22 cohorts that have got that far were still active".

    Parameters
    ----------
    table : dataframe
        A result of :func:`cohort_table` with ``reference="initial"``, any engine.
    metric : str, optional
        The table's metric, for a table without its ``metric`` column (a cohort table carries
        it, and its ``reference`` and ``alpha``, in its own columns on every engine).
    alpha : float, optional
        Pooled intervals at level ``1 - alpha``; default: the table's own ``alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per ``by`` group and period that at least one cohort has finished: the ``by``
        columns, ``period``, ``cohorts``, ``size`` (their members), ``value``, ``rate`` and its
        interval ``ci_lower`` / ``ci_upper``. Unfinished cells never enter. Shares get a
        Wilson interval on the pooled counts; money per member a normal approximation over all
        the pooled members (each cell's sum of squared member totals is recovered exactly from
        its own interval, so no per-member data is needed again).
    """
    frame = to_pandas(table)
    metric = metric or _described(frame, "metric")
    if metric not in METRICS:
        raise ValueError(
            f"pass metric= (one of {', '.join(METRICS)}): the table does not say which it has"
        )
    table_alpha = float(_described(frame, "alpha", 0.05))
    alpha = table_alpha if alpha is None else alpha
    check_alpha(alpha)
    if _described(frame, "reference", "initial") != "initial":
        raise ValueError(
            "pool_cohorts needs a table with reference='initial': ratios to the previous period "
            "do not add up over cohorts"
        )
    by = [c for c in frame.columns if c not in CELL_COLUMNS]
    done = frame[frame["complete"].astype(bool)].copy()
    done["cohorts"] = 1
    money = metric in ("revenue", "volume")
    if money:
        n, value = done["size"].to_numpy("float64"), done["value"].to_numpy("float64")
        if (np.isnan(done["ci_upper"].to_numpy("float64")) & (n > 1)).any():
            raise ValueError("the table has no intervals: make it with intervals=True")
        # invert cohort_table's interval: half = z sqrt(var / n), var = (sumsq - value^2/n) / (n-1)
        var = (
            (done["ci_upper"] - done["rate"]).to_numpy("float64") / z_value(table_alpha)
        ) ** 2 * n
        done["_sumsq"] = np.where(n > 1, var * (n - 1), 0.0) + value**2 / n
    sums = ["cohorts", "size", "value", *(["_sumsq"] if money else [])]
    pooled = done.groupby([*by, "period"], sort=True, dropna=False)[sums].sum().reset_index()
    n, value = pooled["size"].to_numpy("float64"), pooled["value"].to_numpy("float64")
    pooled["rate"] = value / n
    if money:
        var = np.maximum(pooled["_sumsq"].to_numpy() - value**2 / n, 0) / np.maximum(n - 1, 1)
        half = np.where(n > 1, z_value(alpha) * np.sqrt(var / n), np.nan)
        pooled["ci_lower"] = np.maximum(pooled["rate"] - half, 0)
        pooled["ci_upper"] = pooled["rate"] + half
    else:
        pooled["ci_lower"], pooled["ci_upper"] = wilson_interval(value, n, alpha=alpha)
    columns = [*by, "period", "cohorts", "size", "value", "rate", "ci_lower", "ci_upper"]
    return pooled[columns]


_PROJECTION_COLUMNS = ("projected",)
