"""Growth and downline benchmarks: prints timings against the issue's targets and baselines.

    flock /tmp/toolkit-bench.lock .venv/bin/python benchmarks/growth.py            # full size
    .venv/bin/python benchmarks/growth.py --scale 0.1                              # quick look

Targets (issue 6): simulate_growth paths for 10,000 runs x 36 months <= 2 s; one run grown to
1,000,000 participants with per-participant outcomes <= 5 s; downline on a 1,000,000-member
genealogy <= 5 s with no Python loop per member.

Baselines, written the plain way:
- paths: a Python loop over runs, each run simulated alone with the same count-based numpy steps
  (timed on a sample of runs and scaled up);
- participants / downline: a Python loop per member (dict of children, iterative walk).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import toolkit
from toolkit.growth import GrowthParams
from toolkit.growth.simulation import _simulate_paths


def timed(fn, *args, repeat=1, **kwargs):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, out


def line(name, seconds, target=None, baseline=None):
    parts = [f"{name:<58} {seconds:7.2f} s"]
    if target is not None:
        parts.append(f"target {target:.0f} s ({seconds / target:.0%} of it)")
    if baseline is not None:
        parts.append(f"baseline {baseline:.2f} s (x{baseline / seconds:.1f} faster)")
    print("  ".join(parts), flush=True)


def bench_paths(scale):
    runs = max(10, int(10_000 * scale))
    print(f"\n== simulate_growth: {runs:,} runs x 36 months ==")
    toolkit.simulate_growth(GrowthParams(), months=3, runs=10)  # warm imports
    for name, params in (
        ("typical participant (warm market 150)", GrowthParams()),
        ("001 story (everyone duplicates the author)", GrowthParams.five_thousand_story()),
        ("saturated town (20,000 people)", GrowthParams.saturated_town()),
    ):
        seconds, result = timed(
            toolkit.simulate_growth, params, months=36, runs=runs, seed=0, repeat=2
        )
        sample = 100
        start = time.perf_counter()
        for r in range(sample):  # the plain way: one run at a time
            _simulate_paths(params, 36, 1, np.random.default_rng(r), False)
        per_run = (time.perf_counter() - start) / sample
        line(f"  {name}", seconds, target=2.0 if runs >= 10_000 else None, baseline=per_run * runs)
        median = result.paths.loc[result.paths["month"] == 36, "cumulative_joined"].median()
        print(f"      median reps who ever joined by month 36: {median:,.0f}")


def python_downline(member_ids, sponsor_ids, volume):
    """Baseline: a Python loop per member (children lists, iterative post-order walk)."""
    index = {m: i for i, m in enumerate(member_ids)}
    children = [[] for _ in member_ids]
    roots = []
    for i, s in enumerate(sponsor_ids):
        if s is None or s != s:
            roots.append(i)
        else:
            children[index[s]].append(i)
    size = [0] * len(member_ids)
    group = list(volume)
    level = [0] * len(member_ids)
    for r in roots:
        stack, order = [r], []
        while stack:
            node = stack.pop()
            order.append(node)
            for c in children[node]:
                level[c] = level[node] + 1
                stack.append(c)
        for node in reversed(order):
            for c in children[node]:
                size[node] += size[c] + 1
                group[node] += group[c]
    return size, group, level


def bench_people(scale):
    target_size = int(1_000_000 * scale)
    params = GrowthParams.five_thousand_story(
        monthly_attrition=0.05, recruit_dispersion=0.5, starting_reps=200
    )
    # the month at which one run's expected size passes the target
    path = toolkit.project_growth(params, months=60)
    months = int(path.index[path["cumulative_joined"] >= target_size][0])
    print(f"\n== one run grown to about {target_size:,} participants ({months} months) ==")

    def grow():
        result = toolkit.simulate_growth(params, months=months, runs=1, seed=1)
        people = result.participants(runs=1, max_participants=5 * target_size)
        return result, people, result.typical(runs=1, max_participants=5 * target_size)

    seconds, (result, people, typical) = timed(grow)
    line(
        f"  simulate + participants() + typical() ({len(people):,} people)",
        seconds,
        target=5.0 if scale >= 1 else None,
    )
    print(f"      typical: {', '.join(f'{k}={v:.3g}' for k, v in typical.items())}")
    return result, people


def bench_downline(result, people, scale):
    members = result.genealogy(runs=1, max_participants=5 * int(1_000_000 * scale))
    n = len(members)
    rng = np.random.default_rng(0)
    n_orders = 3 * n
    orders = pd.DataFrame(
        {
            "member_id": members["member_id"].to_numpy()[rng.integers(0, n, n_orders)],
            "ordered_at": result.as_of - pd.to_timedelta(rng.integers(0, 365, n_orders), unit="D"),
            "volume": rng.gamma(2.0, 40.0, n_orders).round(2),
        }
    )
    print(
        f"\n== downline on a {n:,}-member genealogy ({n_orders:,} orders, depth {people['level'].max()}) =="
    )
    seconds, table = timed(toolkit.downline, members, None, as_of=result.as_of, repeat=2)
    volume = np.zeros(n)
    start = time.perf_counter()
    size, _, _ = python_downline(
        members["member_id"].tolist(), members["sponsor_id"].tolist(), volume
    )
    baseline = time.perf_counter() - start
    assert np.array_equal(np.asarray(size), table["downline_size"].to_numpy())
    line(
        "  downline(members) (no orders)",
        seconds,
        target=5.0 if scale >= 1 else None,
        baseline=baseline,
    )
    seconds, table = timed(toolkit.downline, members, orders, as_of=result.as_of, repeat=2)
    start = time.perf_counter()
    ids = members["member_id"].tolist()
    totals = dict.fromkeys(ids, 0.0)
    for member, at, vol in zip(
        orders["member_id"].tolist(),
        orders["ordered_at"].tolist(),
        orders["volume"].tolist(),
        strict=True,
    ):
        if at <= result.as_of:
            totals[member] += vol
    _, group, _ = python_downline(ids, members["sponsor_id"].tolist(), [totals[m] for m in ids])
    baseline_total = time.perf_counter() - start
    assert np.allclose(group, table["group_volume"].to_numpy())
    line(
        "  downline(members, orders) (with volumes)",
        seconds,
        target=5.0 if scale >= 1 else None,
        baseline=baseline_total,
    )
    seconds, _ = timed(
        toolkit.volume_by_level,
        members,
        orders,
        root=members["member_id"].iloc[0],
        max_level=3,
        as_of=result.as_of,
    )
    line("  volume_by_level(root=the first member, max_level=3)", seconds)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the issue's sizes (default 1)"
    )
    args = parser.parse_args()
    bench_paths(args.scale)
    result, people = bench_people(args.scale)
    bench_downline(result, people, args.scale)


if __name__ == "__main__":
    main()
