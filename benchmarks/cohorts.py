"""Cohort table speed: toolkit on pandas and on Polars against a hand-written Polars query.

The issue's targets (1M members, 20M orders, monthly, 36 periods, metrics "ordering" and
"revenue"): toolkit on pandas / hand-written Polars at most 2.0; toolkit on Polars /
hand-written Polars at most 1.2. Run the full size one at a time on the shared machine:

    flock /tmp/toolkit-bench.lock .venv/bin/python benchmarks/cohorts.py
    .venv/bin/python benchmarks/cohorts.py --members 20000 --orders 400000   # quick check
"""

from __future__ import annotations

import argparse
import gc
import time
from datetime import datetime

import numpy as np
import polars as pl

import toolkit

START = datetime(2023, 1, 1)
AS_OF = datetime(2025, 12, 31, 23, 59)  # 36 monthly periods


def _stamps(seconds: np.ndarray) -> pl.Series:
    """Seconds after START (NaN for none) as microsecond timestamps."""
    epoch = (START - datetime(1970, 1, 1)).total_seconds()
    micros = pl.Series((seconds + epoch) * 1e6).fill_nan(None)
    return micros.cast(pl.Int64).cast(pl.Datetime("us"))


def make_data(n_members: int, n_orders: int, seed: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    span = (AS_OF - START).total_seconds()
    joined = np.sort(rng.uniform(0, span, n_members))
    stays = rng.exponential(span / 2, n_members)
    left = np.where(joined + stays < span, joined + stays, np.nan)
    members = pl.DataFrame(
        {
            "member_id": pl.int_range(n_members, eager=True).cast(pl.String).str.zfill(8),
            "joined_at": _stamps(joined),
            "left_at": _stamps(left),
            "role": rng.choice(toolkit.ROLES, n_members),
        }
    ).with_columns(pl.col("member_id").str.replace("^", "M"))
    who = rng.integers(0, n_members, n_orders)
    end = np.where(np.isnan(left), span, left)[who]
    at = joined[who] + rng.uniform(0, 1, n_orders) * (end - joined[who])
    amount = rng.gamma(2.0, 40.0, n_orders).round(2)
    orders = pl.DataFrame(
        {
            "order_id": pl.int_range(n_orders, eager=True).cast(pl.String).str.zfill(9),
            "member_id": members["member_id"].gather(who),
            "ordered_at": _stamps(at),
            "amount": amount,
            "volume": (amount * 0.8).round(2),
            "autoship": rng.random(n_orders) < 0.5,
        }
    )
    return members, orders


def hand_written(members: pl.DataFrame, orders: pl.DataFrame, metric: str) -> pl.DataFrame:
    """What an analyst fluent in Polars would write for the same cohort grid."""
    month = lambda c: pl.col(c).dt.year().cast(pl.Int64) * 12 + pl.col(c).dt.month().cast(pl.Int64)  # noqa: E731
    now = AS_OF.year * 12 + AS_OF.month
    people = members.lazy().select("member_id", month("joined_at").alias("cohort"))
    sizes = people.group_by("cohort").agg(pl.len().alias("size"))
    value = pl.col("member_id").n_unique() if metric == "ordering" else pl.col("amount").sum()
    cells = (
        orders.lazy()
        .select("member_id", "amount", month("ordered_at").alias("month"))
        .join(people, on="member_id")
        .with_columns((pl.col("month") - pl.col("cohort")).alias("period"))
        .group_by("cohort", "period")
        .agg(value.alias("value"))
    )
    return (
        cells.join(sizes, on="cohort")
        .with_columns(
            (pl.col("value") / pl.col("size")).alias("rate"),
            (pl.col("cohort") + pl.col("period") < now).alias("complete"),
        )
        .collect()
    )


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    t0 = time.perf_counter()
    members_pl, orders_pl = make_data(args.members, args.orders)
    members_pd = members_pl.to_pandas(use_pyarrow_extension_array=False)
    orders_pd = orders_pl.to_pandas(use_pyarrow_extension_array=False)
    for frame in (members_pd, orders_pd):
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = frame[col].astype("str")
    print(
        f"data: {args.members:,} members, {args.orders:,} orders, built in {time.perf_counter() - t0:.1f} s"
    )

    for metric in ("ordering", "revenue"):
        base = hand_written(members_pl, orders_pl, metric)
        ours = toolkit.cohort_table(members_pl, orders_pl, metric=metric, as_of=AS_OF).to_pandas()
        # same numbers on the complete cells (the baseline has no censoring or empty cells)
        check = base.to_pandas().query("complete")
        ours["month"] = ours["cohort"].dt.year * 12 + ours["cohort"].dt.month
        merged = check.merge(
            ours, left_on=["cohort", "period"], right_on=["month", "period"], suffixes=("_b", "")
        )
        assert len(merged) == len(check) and np.allclose(merged["rate_b"], merged["rate"]), (
            "results differ"
        )

        baseline = timed(lambda m=metric: hand_written(members_pl, orders_pl, m), args.repeat)
        on_polars = timed(
            lambda m=metric: toolkit.cohort_table(members_pl, orders_pl, metric=m, as_of=AS_OF),
            args.repeat,
        )
        on_pandas = timed(
            lambda m=metric: toolkit.cohort_table(members_pd, orders_pd, metric=m, as_of=AS_OF),
            args.repeat,
        )
        if metric == "revenue":
            # money intervals need every member's total per period; without them the toolkit
            # does what the baseline does
            fast_pl = timed(
                lambda: toolkit.cohort_table(
                    members_pl, orders_pl, metric="revenue", as_of=AS_OF, intervals=False
                ),
                args.repeat,
            )
            fast_pd = timed(
                lambda: toolkit.cohort_table(
                    members_pd, orders_pd, metric="revenue", as_of=AS_OF, intervals=False
                ),
                args.repeat,
            )
            print(
                f"revenue, intervals=False: toolkit on Polars {fast_pl:6.2f} s (ratio {fast_pl / baseline:4.2f}) | "
                f"toolkit on pandas {fast_pd:6.2f} s (ratio {fast_pd / baseline:4.2f})"
            )
        print(
            f"{metric:9s} hand-written Polars {baseline:6.2f} s | toolkit on Polars {on_polars:6.2f} s "
            f"(ratio {on_polars / baseline:4.2f}, target <= 1.2) | toolkit on pandas {on_pandas:6.2f} s "
            f"(ratio {on_pandas / baseline:4.2f}, target <= 2.0)"
        )


if __name__ == "__main__":
    main()
