"""Cohorts: who is still active, still ordering and still spending, by the period they joined.

Every censoring decision is taken against ``as_of``: a cohort cell whose period has not fully
elapsed is *unknown* (``complete=False``, rate NaN), never 0%. The heavy work (joining orders to
members and aggregating) is written once against Narwhals, so pandas, Polars, PyArrow, DuckDB and
PySpark inputs give the same numbers; the small aggregate is then finished in pandas and handed
back as the kind of frame that came in.
"""

from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.censoring import (
    ORDINAL_PERIODS,
    check_period,
    naive_utc,
    period_ordinal,
    period_ordinal_of,
    period_ordinals,
    period_start,
)
from toolkit.frames import collect, from_native, hand_off, lazy_polars, to_kind, to_pandas
from toolkit.rates import check_alpha, wilson_interval, z_value
from toolkit.schema import CUSTOMER_ROLES, EXAMPLES_SHOWN, REP_ROLES, ROLES, _Problems

METRICS = ("active", "ordering", "revenue", "volume")
REFERENCES = ("initial", "previous")
# the open ends of a member's first and last role spell, as period ordinals
_ALL_TIME = (-(2**40), 2**40)


def _check_period(period: str) -> str:
    return check_period(period, ORDINAL_PERIODS).code


# --------------------------------------------------------------------------------------------
# engine plumbing


def _as_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _flag(condition: nw.Expr) -> nw.Expr:
    """1 where ``condition`` holds, 0 elsewhere (also where it is null), for summing."""
    return nw.when(condition).then(nw.lit(1)).otherwise(nw.lit(0))


def _problem_line(
    frame, mask: nw.Expr, table: str, column: str, what: str, id_col: str
) -> str | None:
    """One line in the style of :func:`toolkit.validate`: count of rows and the first ids."""
    bad = frame.filter(mask)
    count = collect(bad.select(nw.len())).item()
    if not count:
        return None
    ids = collect(bad.select(id_col).head(EXAMPLES_SHOWN)).get_column(id_col).to_list()
    noun = "row" if count == 1 else "rows"
    return f"{table}.{column}: {count:,} {noun} {what} (first {id_col}: {', '.join(map(str, ids))})"


def _latest(frames: list[tuple[nw.DataFrame | nw.LazyFrame, list[str]]]) -> pd.Timestamp | None:
    latest = []
    for frame, cols in frames:
        row = collect(frame.select(*[nw.col(c).max() for c in cols])).row(0)
        latest += [naive_utc(pd.Timestamp(v)) for v in row if v is not None and pd.notna(v)]
    return max(latest) if latest else None


def _prepare(members, orders, by, period, as_of, order_cols):
    """Wrap the inputs, settle ``as_of``, and check members (and orders) against the contract."""
    members_nw = from_native(members, "members", ["member_id", "joined_at", "left_at", *by])
    orders_nw = None
    if orders is not None:
        orders_nw = from_native(orders, "orders", ["member_id", "ordered_at", *order_cols])
    # one pass over members gives the latest timestamps and whether any left before joining
    row = collect(
        members_nw.select(
            nw.col("joined_at").max(),
            nw.col("left_at").max(),
            _flag(nw.col("left_at") < nw.col("joined_at")).sum().alias("_bad"),
        )
    ).row(0)
    latest = _latest([(orders_nw, ["ordered_at"])] if orders_nw is not None else [])
    stamps = [naive_utc(pd.Timestamp(v)) for v in row[:2] if v is not None and pd.notna(v)]
    if latest is not None:
        stamps.append(latest)
    latest = max(stamps) if stamps else None
    problems = _Problems()
    if as_of is None:
        as_of = latest
    else:
        as_of = naive_utc(pd.Timestamp(as_of))
        if latest is not None and latest > as_of:
            lit = nw.lit(as_of.to_pydatetime())
            for frame, cols, table, id_col in (
                (members_nw, ["joined_at", "left_at"], "members", "member_id"),
                (
                    orders_nw,
                    ["ordered_at"],
                    "orders",
                    "order_id"
                    if orders_nw is not None and "order_id" in orders_nw.columns
                    else "member_id",
                ),
            ):
                if frame is None:
                    continue
                for col in cols:
                    problems.lines.append(
                        _problem_line(
                            frame, nw.col(col) > lit, table, col, f"after as_of ({as_of})", id_col
                        )
                    )
    problems.lines = [line for line in problems.lines if line]
    if row[2]:
        problems.note(
            _problem_line(
                members_nw,
                nw.col("left_at") < nw.col("joined_at"),
                "members",
                "left_at",
                "before joined_at",
                "member_id",
            )
        )
    problems.raise_if_any()
    return lazy_polars(members_nw), lazy_polars(orders_nw), as_of


def _order_problems(members_nw, orders_nw) -> None:
    """The slow path, run only when the aggregate showed a problem: name the offending orders."""
    id_col = "order_id" if "order_id" in orders_nw.columns else "member_id"
    joined = orders_nw.join(
        members_nw.select(
            nw.col("member_id"),
            nw.col("joined_at").alias("_joined_at"),
            _flag(nw.lit(True)).alias("_known"),
        ),
        on="member_id",
        how="left",
    )
    problems = _Problems()
    for mask, column, what in (
        (nw.col("_known").is_null(), "member_id", "referring to members not in the members table"),
        (nw.col("ordered_at") < nw.col("_joined_at"), "ordered_at", "before the member joined"),
    ):
        line = _problem_line(joined, mask, "orders", column, what, id_col)
        if line:
            problems.note(line)
    problems.raise_if_any()


def _member_periods(members_nw, by, period):
    """One row per member: cohort ordinal, the period they left in (relative), the by columns."""
    cohort = period_ordinal("joined_at", period)
    return members_nw.select(
        nw.col("member_id"),
        *[nw.col(c) for c in by],
        cohort.alias("_cohort"),
        (period_ordinal("left_at", period) - cohort).alias("_left_period"),
        nw.col("joined_at").alias("_joined_at"),
    )


def _order_cells(
    members_nw, orders_nw, by, period, value_col, cumulative, intervals=True, grid=None
):
    """Orders aggregated to (by, cohort, period): members ordering, value and its sum of squares.

    Orders are first summed per member and period (so counting members is counting rows), then
    joined to the members: unknown members show up as a null cohort and orders before joining as
    a count, both checked by the caller without a second pass over the orders. ``grid`` (first
    cohort, number of periods, number of members) selects the faster keyed plan of
    :func:`_keyed_cells` for the non-cumulative metrics.
    """
    value = nw.col(value_col).cast(nw.Float64) if value_col else nw.lit(1.0)
    if not cumulative and grid is not None:
        # money without intervals needs no member totals; counting members always does
        per_member = intervals or not value_col
        return _keyed_cells(members_nw, orders_nw, by, period, value, *grid, per_member)
    per_member = (
        orders_nw.select(
            nw.col("member_id"),
            period_ordinal("ordered_at", period).alias("_op"),
            value.alias("_x"),
            nw.col("ordered_at"),
        )
        .group_by("member_id", "_op")
        .agg(nw.col("_x").sum(), nw.col("ordered_at").min().alias("_first"))
    )
    people = _member_periods(members_nw, by, period).select(
        "member_id", *by, "_cohort", "_joined_at", _flag(nw.lit(True)).alias("_known")
    )
    cells = per_member.join(people, on="member_id", how="left")
    if cumulative and cells.implementation.is_pyarrow():
        # PyArrow has no running sums per group; the joined per-member table goes through pandas
        cells = nw.from_native(cells.to_pandas())
    if cumulative:
        # running total per member; the change in its square, summed per cell and then cumulated
        # over periods, gives the sum of squared cumulative totals (for the interval) exactly
        cells = cells.with_columns(
            nw.col("_x").cum_sum().over("member_id", order_by="_op").alias("_cum"),
            _flag(nw.col("_op") == nw.col("_op").min().over("member_id")).alias("_n"),
        ).with_columns((nw.col("_cum") ** 2 - (nw.col("_cum") - nw.col("_x")) ** 2).alias("_xsq"))
    else:
        cells = cells.with_columns((nw.col("_x") ** 2).alias("_xsq"), nw.lit(1).alias("_n"))
    cells = cells.with_columns(
        (nw.col("_op") - nw.col("_cohort")).alias("period"),
        _flag(nw.col("_first") < nw.col("_joined_at")).alias("_early"),
        _flag(nw.col("_known").is_null()).alias("_unknown"),
    )
    # sums of integer flags come back as decimals from DuckDB: cast them to plain numbers
    out = (
        cells.group_by(*by, "_cohort", "period")
        .agg(
            nw.col("_n").sum(),
            nw.col("_x").sum(),
            nw.col("_xsq").sum(),
            nw.col("_early").sum(),
            nw.col("_unknown").sum(),
        )
        .with_columns(nw.col("_n", "_early", "_unknown").cast(nw.Float64))
    )
    return collect(out).to_pandas()


def _member_index(members_nw):
    """Members with ``_idx``, a distinct integer per member in 0 .. rows - 1 (in any order)."""
    if members_nw.implementation.is_polars():
        # Polars numbers rows without sorting; the engine-neutral spelling sorts the ids first
        return nw.from_native(nw.to_native(members_nw).with_row_index("_idx"))
    return members_nw.with_row_index("_idx", order_by=["member_id"])


def _keyed_cells(members_nw, orders_nw, by, period, value, first, span, n_members, per_member=True):
    """Orders aggregated to (by, cohort, period) through one integer key per member and period.

    Grouping 20M orders by (member id, period) is the costly step of money intervals; grouping
    by one integer is about half the work. After the join to the members each order gets
    ``key = cell * n_members + member index``, where ``cell`` numbers (cohort, calendar period)
    within the table's rectangle: the first aggregation (by ``key``) gives every member's total
    per period, the second (by ``key // n_members``, i.e. the cell) counts those members and sums
    their totals and squared totals, all in one lazy plan with one collect. Orders before
    joining get the key ``-n_members`` (cell -1) and orders of unknown members ``-2 n_members``
    (cell -2), so the checks need no extra column. ``per_member=False`` (money without its
    interval) skips the first aggregation: the cells then sum the orders themselves.
    """
    m = max(int(n_members), 1) if per_member else 1
    width = int(span) + 1  # calendar offsets 0 .. span - 1, shifted by one (0 is never used)
    if per_member:
        people = _member_index(members_nw).with_columns(nw.col("_idx").cast(nw.Int64))
    else:
        people = members_nw.with_columns(nw.lit(0).cast(nw.Int8).alias("_idx"))
    people = people.select(
        "member_id",
        "_idx",
        *by,
        (period_ordinal("joined_at", period) - first).alias("_c"),
        nw.col("joined_at").alias("_joined_at"),
    )
    cell = nw.col("_c") * width + period_ordinal("ordered_at", period) - first + 1
    key = (
        nw.when(nw.col("_idx").is_null())
        .then(nw.lit(-2 * m))
        .otherwise(
            nw.when(nw.col("ordered_at") < nw.col("_joined_at"))
            .then(nw.lit(-m))
            .otherwise(cell * m + nw.col("_idx") if per_member else cell)
        )
    )
    totals = (
        orders_nw.select("member_id", "ordered_at", value.alias("_x"))
        .join(people, on="member_id", how="left")
        .select(*by, key.alias("_k"), "_x")
    )
    sums = [nw.len().alias("_n"), nw.col("_x").sum()]
    if per_member:
        totals = totals.group_by("_k", *by).agg(nw.col("_x").sum())
        totals = totals.with_columns((nw.col("_x") ** 2).alias("_xsq"))
        sums.append(nw.col("_xsq").sum())
    out = (
        totals.with_columns((nw.col("_k") // m).alias("_cell"))
        .group_by(*by, "_cell")
        .agg(*sums)
        .with_columns(nw.col("_n").cast(nw.Float64))
    )
    frame = collect(out).to_pandas()
    cells = frame["_cell"].to_numpy(dtype="float64")
    frame["_early"] = np.where(cells == -1, frame["_n"], 0.0)
    frame["_unknown"] = np.where(cells == -2, frame["_n"], 0.0)
    ok = cells >= 0  # a member without joined_at has no cohort, hence no cell (as before)
    c = np.where(ok, cells, 0).astype("int64") // width
    offset = np.where(ok, cells, 0).astype("int64") % width - 1
    frame["_cohort"] = np.where(ok, c + first, np.nan)
    frame["period"] = np.where(ok, offset - c, np.nan)
    if not per_member:
        frame["_n"] = frame["_xsq"] = np.nan  # counts of orders, not of members: not used
    return frame.drop(columns="_cell")


# --------------------------------------------------------------------------------------------
# the cohort table

# what the table holds, in its own columns (one value on every row): readable alike from a
# pandas, Polars or Spark result, where pandas ``attrs`` would be lost
DESCRIPTION_COLUMNS = ["metric", "reference", "alpha"]
_COLUMNS = [
    "cohort",
    "period",
    "size",
    "value",
    "rate",
    "rate_lower",
    "rate_upper",
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
    for col in ("value", "rate", "rate_lower", "rate_upper"):
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
        (``rate_lower`` and ``rate_upper`` are then NaN for money); counts always have theirs.
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
    - ``rate_lower``, ``rate_upper``: interval of ``rate`` at level ``1 - alpha`` (Wilson for shares; normal
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
    if metric != "active" and orders is None:
        raise ValueError(f"metric {metric!r} needs the orders table")
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

    people = _member_periods(members_nw, by, period)
    if metric == "active":
        left = collect(
            people.group_by(*by, "_cohort", "_left_period").agg(nw.len().alias("_n"))
        ).to_pandas()
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
    for col, values in (("rate", rate), ("rate_lower", lower), ("rate_upper", upper)):
        values = np.where(bad | ~np.isfinite(values), np.nan, values)
        grid[col] = values


def cohort_matrix(table, value: str = "rate") -> pd.DataFrame:
    """The wide view of a cohort table for display: one row per cohort, one column per period.

    Parameters
    ----------
    table : dataframe
        A result of :func:`cohort_table` (or :func:`project_cohorts`), any engine.
    value : str
        The column to spread ("rate", "value", "rate_lower" ...).

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
        interval ``rate_lower`` / ``rate_upper``. Unfinished cells never enter. Shares get a
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
        if (np.isnan(done["rate_upper"].to_numpy("float64")) & (n > 1)).any():
            raise ValueError("the table has no intervals: make it with intervals=True")
        # invert cohort_table's interval: half = z sqrt(var / n), var = (sumsq - value^2/n) / (n-1)
        var = (
            (done["rate_upper"] - done["rate"]).to_numpy("float64") / z_value(table_alpha)
        ) ** 2 * n
        done["_sumsq"] = np.where(n > 1, var * (n - 1), 0.0) + value**2 / n
    sums = ["cohorts", "size", "value", *(["_sumsq"] if money else [])]
    pooled = done.groupby([*by, "period"], sort=True, dropna=False)[sums].sum().reset_index()
    n, value = pooled["size"].to_numpy("float64"), pooled["value"].to_numpy("float64")
    pooled["rate"] = value / n
    if money:
        var = np.maximum(pooled["_sumsq"].to_numpy() - value**2 / n, 0) / np.maximum(n - 1, 1)
        half = np.where(n > 1, z_value(alpha) * np.sqrt(var / n), np.nan)
        pooled["rate_lower"] = np.maximum(pooled["rate"] - half, 0)
        pooled["rate_upper"] = pooled["rate"] + half
    else:
        pooled["rate_lower"], pooled["rate_upper"] = wilson_interval(value, n, alpha=alpha)
    columns = [*by, "period", "cohorts", "size", "value", "rate", "rate_lower", "rate_upper"]
    return pooled[columns]


# --------------------------------------------------------------------------------------------
# projections of unfinished cohorts

_PROJECTION_COLUMNS = ("projected",)


def project_cohorts(table, model=None, *, seed: int = 0, draws: int = 2000) -> pd.DataFrame:
    """Fill the incomplete cells of a retention table with shifted-beta-geometric projections.

    Parameters
    ----------
    table : dataframe
        A :func:`cohort_table` with ``metric="active"`` and ``reference="initial"`` (survivors
        that can only fall). Each ``by`` group gets its own model, pooled over its cohorts.
    model : ShiftedBetaGeometric, optional
        An unfitted template (its ``alpha`` sets the interval level); a fitted one is used as it
        is for every group.
    seed, draws : int
        The projection interval simulates ``draws`` parameter sets from the fit's asymptotic
        normal distribution, and the survivors binomially given them.

    Returns
    -------
    pandas.DataFrame
        The table's columns, with ``rate``, ``value`` (expected members), ``rate_lower`` and
        ``rate_upper`` filled in for incomplete cells, and ``projected`` (True for those). A
        projected cell continues its cohort from its last complete period:
        rate = last observed rate x S(k + 1) / S(k_last + 1), with S the model's survival.
    """
    from toolkit.retention import ShiftedBetaGeometric

    frame = to_pandas(table).copy()
    by = [c for c in frame.columns if c not in _COLUMNS and c not in _PROJECTION_COLUMNS]
    if (
        _described(frame, "metric", "active") != "active"
        or _described(frame, "reference", "initial") != "initial"
    ):
        raise ValueError(
            "project_cohorts needs a retention table: cohort_table(..., metric='active', reference='initial')"
        )
    template = model if model is not None else ShiftedBetaGeometric()
    frame["projected"] = False
    if frame.empty:
        return frame
    rng = np.random.default_rng(seed)
    groups = frame.groupby(by, dropna=False, sort=False).groups if by else {None: frame.index}
    for _, index in groups.items():
        part = frame.loc[index]
        fitted = (
            template
            if getattr(template, "alpha_", None) is not None
            else template.__class__(alpha=template.alpha).fit(part)
        )
        params = fitted.sample_params(draws, rng)
        for _, cohort in part.groupby("cohort", sort=False):
            _project_cohort(frame, cohort, fitted, params, rng)
    return frame


def _project_cohort(frame, cohort, fitted, params, rng) -> None:
    cohort = cohort.sort_values("period")
    observed = cohort[cohort["complete"]]
    todo = cohort[~cohort["complete"]]
    if todo.empty:
        return
    size = int(cohort["size"].iloc[0])
    if observed.empty:
        k0, survivors = -1, size
    else:
        k0, survivors = int(observed["period"].iloc[-1]), int(round(observed["value"].iloc[-1]))
    periods = todo["period"].to_numpy()
    # survival to the end of period k is S(k + 1); conditional on surviving to the end of k0
    point = fitted.survival(periods + 1) / fitted.survival(np.array([k0 + 1]))
    sims = fitted._survival_at(params, periods + 1) / fitted._survival_at(
        params, np.array([k0 + 1])
    )
    counts = rng.binomial(survivors, np.clip(sims, 0, 1)) / max(size, 1)
    alpha = fitted.alpha
    lower = np.quantile(counts, alpha / 2, axis=0)
    upper = np.quantile(counts, 1 - alpha / 2, axis=0)
    rate = survivors / max(size, 1) * point
    frame.loc[todo.index, "rate"] = rate
    frame.loc[todo.index, "value"] = rate * size
    frame.loc[todo.index, "rate_lower"] = lower
    frame.loc[todo.index, "rate_upper"] = upper
    frame.loc[todo.index, "projected"] = True


# --------------------------------------------------------------------------------------------
# the customer and rep mix


def member_mix(
    members, orders, *, period: str = "M", as_of=None, role_history=None, alpha: float = 0.05
):
    """Per period: members by role, the customers-to-reps ratio, and who buys the volume.

    A healthy business has more paying customers than reps, and most of its volume bought by
    customers rather than by reps for their own use.

    Parameters
    ----------
    members : dataframe (any engine)
        ``member_id``, ``joined_at``, ``left_at``, ``role`` (the member's current role).
    orders : dataframe (any engine)
        ``member_id``, ``ordered_at``, ``amount``, ``volume``.
    period : {"W", "M", "Q", "Y"}
    as_of : timestamp-like, optional
        Defaults to the latest timestamp in the inputs.
    role_history : dataframe (any engine), optional
        The contract's role_history table (``member_id``, ``role``, ``from_at``). With it each
        member counts, and their orders count, in the role held at the end of each period: a
        preferred customer who became a builder in June is a customer until May. Without it
        every member counts in their current role throughout, which shows past periods with
        too many reps when customers grow into builders.
    alpha : float
        Intervals at level ``1 - alpha``.

    Returns
    -------
    Same kind of frame as ``members``; one row per period and role, with columns:

    - ``period``: start of the calendar period; ``role``; ``group``: "customer" or "rep"
    - ``members``: members of that role who had joined and not left by the end of the period
      (for the period in progress: by ``as_of``)
    - ``ordering``: members of that role who ordered in the period
    - ``amount``, ``volume``: what they bought in the period
    - ``customers``, ``reps``: members per group (repeated on each row of the period)
    - ``customers_per_rep``: customers / reps (NaN without reps)
    - ``paying_customers_per_rep``: customers who ordered in the period / reps
    - ``customer_volume_share``: share of the period's volume bought by customers (the rest is
      reps' own consumption); ``customer_volume_share_lower`` / ``_upper``: interval from a
      normal approximation over the buying members (NaN when nobody bought)
    - ``complete``: False for the period in progress at ``as_of``
    """
    _check_period(period)
    check_alpha(alpha)
    if orders is None:
        raise ValueError("member_mix needs the orders table")
    like = from_native(members, "members", ["member_id"])
    frames = hand_off(
        {"members": members, "orders": orders},
        {
            "members": ["member_id", "joined_at", "left_at", "role"],
            "orders": ["member_id", "ordered_at", "amount", "volume"],
        },
    )
    members_nw, orders_nw, as_of = _prepare(
        frames["members"], frames["orders"], ["role"], period, as_of, ["amount", "volume"]
    )
    columns = [
        "period",
        "role",
        "group",
        "members",
        "ordering",
        "amount",
        "volume",
        "customers",
        "reps",
        "customers_per_rep",
        "paying_customers_per_rep",
        "customer_volume_share",
        "customer_volume_share_lower",
        "customer_volume_share_upper",
        "complete",
    ]
    if as_of is None:
        return to_kind(_empty_mix(columns), like)

    now = period_ordinal_of(as_of, period)
    if role_history is None:
        people = members_nw.select(
            nw.col("role"),
            period_ordinal("joined_at", period).alias("_join"),
            period_ordinal("left_at", period).alias("_left"),
        )
        spans = collect(people.group_by("role", "_join", "_left").agg(nw.len().alias("_n")))
        spans = spans.to_pandas()
    else:
        roles_held = _roles_by_period(members_nw, role_history, period)
        spans = roles_held.groupby(["role", "_join", "_left"], dropna=False).size()
        spans = spans.rename("_n").reset_index()
    if spans.empty:
        return to_kind(_empty_mix(columns), like)
    ordinals = np.arange(int(spans["_join"].min()), now + 1)
    roles = [r for r in ROLES if r in set(spans["role"])] + sorted(set(spans["role"]) - set(ROLES))
    grid = pd.MultiIndex.from_product([ordinals, roles], names=["_p", "role"]).to_frame(index=False)
    # members at the end of period p: joined by p and not left by its end (left in a later period)
    counts = np.zeros(len(grid))
    role_pos = {r: i for i, r in enumerate(roles)}
    for role, join, left, n in spans[["role", "_join", "_left", "_n"]].itertuples(index=False):
        stop = now + 1 if pd.isna(left) else int(left)
        if stop > int(join):
            counts[(np.arange(int(join), stop) - ordinals[0]) * len(roles) + role_pos[role]] += n
    grid["members"] = counts

    # orders per member and period, then per role: members ordering, amount, volume, and the
    # per-member sums of squares the share's interval needs
    per_member = (
        orders_nw.select(
            nw.col("member_id"),
            period_ordinal("ordered_at", period).alias("_p"),
            nw.col("amount").cast(nw.Float64),
            nw.col("volume").cast(nw.Float64),
            nw.col("ordered_at"),
        )
        .group_by("member_id", "_p")
        .agg(
            nw.col("amount").sum(),
            nw.col("volume").sum(),
            nw.col("ordered_at").min().alias("_first"),
        )
    )
    known = members_nw.select(
        "member_id",
        *(["role"] if role_history is None else []),
        nw.col("joined_at").alias("_joined_at"),
        _flag(nw.lit(True)).alias("_known"),
    )
    cells = per_member.join(known, on="member_id", how="left")
    if role_history is not None:
        # the role held at the end of the order's period: the spells cover all time, so each
        # known member's row meets exactly one (an unknown member's meets none and is kept)
        spells = roles_held[["member_id", "role", "_from", "_to"]]
        spells = nw.from_native(to_kind(spells, orders_nw))
        in_spell = (nw.col("_from") <= nw.col("_p")) & (nw.col("_p") < nw.col("_to"))
        cells = cells.join(spells, on="member_id", how="left").filter(
            nw.col("_from").is_null() | in_spell
        )
    cells = (
        cells.with_columns(
            (nw.col("volume") ** 2).alias("_vsq"),
            _flag(nw.col("_first") < nw.col("_joined_at")).alias("_early"),
            _flag(nw.col("_known").is_null()).alias("_unknown"),
            nw.lit(1).alias("ordering"),
        )
        .group_by("role", "_p")
        .agg(
            nw.col("ordering").sum(),
            nw.col("amount").sum(),
            nw.col("volume").sum(),
            nw.col("_vsq").sum(),
            nw.col("_early").sum(),
            nw.col("_unknown").sum(),
        )
        .with_columns(nw.col("ordering", "_early", "_unknown").cast(nw.Float64))
    )
    cells = collect(cells).to_pandas()
    if cells["_unknown"].sum() or cells["_early"].sum():
        _order_problems(from_native(members, "members", []), from_native(orders, "orders", []))
    cells = cells[cells["role"].notna()]
    cells["_p"] = cells["_p"].astype("int64")
    grid = grid.merge(cells, on=["_p", "role"], how="left")
    for col in ("ordering", "amount", "volume", "_vsq"):
        grid[col] = grid[col].fillna(0.0)
    grid["group"] = np.where(
        grid["role"].isin(CUSTOMER_ROLES),
        "customer",
        np.where(grid["role"].isin(REP_ROLES), "rep", "other"),
    )

    is_customer = grid["group"] == "customer"
    is_rep = grid["group"] == "rep"
    per_period = (
        pd.DataFrame(
            {
                "_p": grid["_p"],
                "customers": np.where(is_customer, grid["members"], 0.0),
                "reps": np.where(is_rep, grid["members"], 0.0),
                "paying": np.where(is_customer, grid["ordering"], 0.0),
                "cust_volume": np.where(is_customer, grid["volume"], 0.0),
                "cust_vsq": np.where(is_customer, grid["_vsq"], 0.0),
                "cust_buyers": np.where(is_customer, grid["ordering"], 0.0),
                "volume": grid["volume"],
                "vsq": grid["_vsq"],
                "buyers": grid["ordering"],
            }
        )
        .groupby("_p")
        .sum()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        per_period["customers_per_rep"] = per_period["customers"] / per_period["reps"].where(
            per_period["reps"] > 0
        )
        per_period["paying_customers_per_rep"] = per_period["paying"] / per_period["reps"].where(
            per_period["reps"] > 0
        )
        share, lower, upper = _share_interval(per_period, alpha)
    per_period["customer_volume_share"] = share
    per_period["customer_volume_share_lower"] = lower
    per_period["customer_volume_share_upper"] = upper
    keep = [
        "customers",
        "reps",
        "customers_per_rep",
        "paying_customers_per_rep",
        "customer_volume_share",
        "customer_volume_share_lower",
        "customer_volume_share_upper",
    ]
    grid = grid.merge(per_period[keep], left_on="_p", right_index=True, how="left")
    grid["complete"] = grid["_p"].to_numpy() < now
    grid["period"] = period_start(grid["_p"], period)
    grid["ordering"] = grid["ordering"].astype("int64")
    for col in ("members", "customers", "reps"):
        grid[col] = grid[col].astype("int64")
    out = grid[columns].reset_index(drop=True)
    return to_kind(out, like)


def _share_interval(per_period: pd.DataFrame, alpha: float):
    """Customers' share of volume as a ratio estimator over buying members (delta method).

    With y_i a buyer's volume and c_i 1 for customers, share = sum(c y) / sum(y); its variance
    over buyers treated as a sample is sum((c_i - share)^2 y_i^2) / sum(y)^2, which needs only
    the per-group sums of squares.
    """
    total = per_period["volume"].to_numpy()
    share = per_period["cust_volume"].to_numpy() / total
    cust_sq = per_period["cust_vsq"].to_numpy()
    rep_sq = per_period["vsq"].to_numpy() - cust_sq
    var = ((1 - share) ** 2 * cust_sq + share**2 * rep_sq) / total**2
    half = z_value(alpha) * np.sqrt(var)
    ok = np.isfinite(share) & (total > 0)
    share = np.where(ok, share, np.nan)
    lower = np.where(ok, np.clip(share - half, 0, 1), np.nan)
    upper = np.where(ok, np.clip(share + half, 0, 1), np.nan)
    return share, lower, upper


def _roles_by_period(members_nw, role_history, period: str) -> pd.DataFrame:
    """Each member's role spells in periods, for counting members in the role held at the end
    of each period.

    One row per member and role held at the end of some period: ``_from`` .. ``_to`` - 1 are
    the periods it covers (the first spell reaches back, the last forward, without limit, so
    every order finds its spell), ``_join`` .. ``_left`` - 1 the periods the member counts in
    that role (``_left`` NaN while it lasts). Several changes within one period: the last wins.
    """
    people = collect(members_nw.select("member_id", "role", "joined_at", "left_at")).to_pandas()
    spells = _role_spells(people, role_history)
    spells["_from"] = period_ordinals(spells["from_at"], period)
    spells = spells.drop_duplicates(["member_id", "_from"], keep="last")
    following = spells.groupby("member_id", sort=False)["_from"].shift(-1).to_numpy("float64")
    # the first role recorded holds from joining (and before: an early order is reported, not lost)
    first = ~spells["member_id"].duplicated().to_numpy()
    spells["_from"] = np.where(first, _ALL_TIME[0], spells["_from"])
    spells["_to"] = np.where(np.isnan(following), _ALL_TIME[1], following).astype("int64")
    spells["_join"] = np.maximum(period_ordinals(spells["joined_at"], period), spells["_from"])
    stays = spells["left_at"].isna()
    left = period_ordinals(spells["left_at"].fillna(spells["joined_at"]), period)
    spells["_left"] = np.fmin(np.where(stays, np.nan, left), following)
    return spells


def _role_spells(people: pd.DataFrame, role_history) -> pd.DataFrame:
    """Every member's roles over time: one row per role taken on (``member_id``, ``role``,
    ``from_at``) with the member's other ``people`` columns, sorted by member and ``from_at``.

    Rows come from the contract's role_history; a member without any held their current role
    from joining. History rows for members not in ``people`` are a DataError.
    """
    history_nw = from_native(role_history, "role_history", ["member_id", "role", "from_at"])
    history = collect(history_nw.select("member_id", "role", "from_at")).to_pandas()
    problems = _Problems()
    problems.add(
        "role_history",
        "member_id",
        "referring to members not in the members table",
        ~history["member_id"].isin(people["member_id"]),
        history["member_id"],
    )
    problems.raise_if_any()
    without = people.loc[
        ~people["member_id"].isin(history["member_id"]), ["member_id", "role", "joined_at"]
    ]
    spells = pd.concat(
        [history, without.rename(columns={"joined_at": "from_at"})], ignore_index=True
    )
    spells = spells.merge(people.drop(columns="role"), on="member_id")
    return spells.sort_values(["member_id", "from_at"], kind="stable", ignore_index=True)


def _empty_mix(columns) -> pd.DataFrame:
    dtypes = {
        "period": "datetime64[us]",
        "role": "str",
        "group": "str",
        "complete": "bool",
        "members": "int64",
        "ordering": "int64",
        "customers": "int64",
        "reps": "int64",
    }
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "float64")) for c in columns})


# --------------------------------------------------------------------------------------------
# role transitions


def role_transitions(
    members,
    role_history=None,
    *,
    period: str = "M",
    from_role: str | Sequence[str] | None = "preferred_customer",
    as_of=None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """How members who started in one role come to take on another, by periods since joining.

    Parameters
    ----------
    members : dataframe (any engine)
        ``member_id``, ``joined_at``, ``role``.
    role_history : dataframe (any engine)
        The contract's optional table: ``member_id``, ``role``, ``from_at``, one row per role a
        member took on. A member without rows there held ``members.role`` throughout. Without
        it no change of role can be seen, so it is required.
    period : {"W", "M", "Q", "Y"}
    from_role : str or list of str, optional
        Starting roles to follow (default: preferred customers); None follows every role.
    as_of : timestamp-like, optional
        Defaults to the latest timestamp in the inputs.
    alpha : float
        Intervals at level ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per starting role, later role and period since joining, with columns:

        - ``from_role``: the member's first role; ``to_role``: a role taken on later
        - ``period``: 0, 1, 2 ... calendar periods since the joining period
        - ``base``: members who started in ``from_role`` and whose period ``period`` has fully
          elapsed by ``as_of`` (only those could have been seen to change by then)
        - ``count``: of them, how many had taken on ``to_role`` by the end of that period
        - ``share``, ``share_lower``, ``share_upper``: count / base with its Wilson interval
          (NaN where ``base`` is 0: nobody has been a member that long yet)
    """
    _check_period(period)
    check_alpha(alpha)
    if role_history is None:
        raise ValueError(
            "role_transitions needs the role_history table (member_id, role, from_at): the members "
            "table holds only each member's current role, so a change of role cannot be seen there"
        )
    members_nw = from_native(members, "members", ["member_id", "joined_at", "role"])
    people = collect(members_nw.select("member_id", "joined_at", "role")).to_pandas()
    spells = _role_spells(people, role_history)
    if as_of is None:
        stamps = [spells["joined_at"].max(), spells["from_at"].max()]
        stamps = [pd.Timestamp(s) for s in stamps if pd.notna(s)]
        as_of = max(stamps) if stamps else None
    else:
        as_of = pd.Timestamp(as_of)
    columns = [
        "from_role",
        "to_role",
        "period",
        "base",
        "count",
        "share",
        "share_lower",
        "share_upper",
    ]
    if people.empty or as_of is None:
        return pd.DataFrame(
            {c: pd.Series(dtype="str" if c.endswith("role") else "float64") for c in columns}
        )

    start = spells.groupby("member_id", sort=False)["role"].first().rename("from_role")
    spells = spells.join(start, on="member_id")
    joined = pd.Series(period_ordinals(spells["joined_at"], period), index=spells.index)
    reached = pd.Series(period_ordinals(spells["from_at"], period), index=spells.index) - joined
    spells["_k"] = np.maximum(reached, 0)
    # the first time each member took on each later role
    later = spells[spells["role"] != spells["from_role"]]
    first_time = (
        later.groupby(["member_id", "from_role", "role"], sort=False)["_k"].min().reset_index()
    )

    starters = people.set_index("member_id").join(start, how="inner")
    if from_role is not None:
        keep = _as_list(from_role)
        starters = starters[starters["from_role"].isin(keep)]
        first_time = first_time[first_time["from_role"].isin(keep)]
    now = period_ordinal_of(as_of, period)
    age = now - pd.Series(period_ordinals(starters["joined_at"], period), index=starters.index)
    # periods fully elapsed for each member: 0 .. age - 1
    max_k = int(age.max()) if len(age) else 0
    first_time = first_time.join(age.rename("_age"), on="member_id")
    rows = []
    for from_r, members_in in starters.groupby("from_role"):
        ages = age.loc[members_in.index].to_numpy()
        base = np.array([(ages > k).sum() for k in range(max_k)])
        for to_r in [r for r in ROLES if r != from_r]:
            moves = first_time[(first_time["from_role"] == from_r) & (first_time["role"] == to_r)]
            mk, mage = moves["_k"].to_numpy(), moves["_age"].to_numpy()
            count = np.array([((mk <= k) & (mage > k)).sum() for k in range(max_k)])
            lower, upper = wilson_interval(count, base, alpha=alpha)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(base > 0, count / base, np.nan)
            rows.append(
                pd.DataFrame(
                    {
                        "from_role": from_r,
                        "to_role": to_r,
                        "period": np.arange(max_k),
                        "base": base,
                        "count": count,
                        "share": share,
                        "share_lower": lower,
                        "share_upper": upper,
                    }
                )
            )
    if not rows:
        return pd.DataFrame(
            {c: pd.Series(dtype="str" if c.endswith("role") else "float64") for c in columns}
        )
    return pd.concat(rows, ignore_index=True)[columns]
