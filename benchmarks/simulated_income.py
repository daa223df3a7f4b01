"""simulate_income benchmark (issue 17): prints timings against the issue's target.

    flock /tmp/toolkit-bench.lock .venv/bin/python benchmarks/simulated_income.py
    .venv/bin/python benchmarks/simulated_income.py --scale 0.1          # quick look

Target: simulate_income for 1,000 runs of the typical organisation over 24 months with the
unilevel example plan in under 5 s (wall time, best of ``--repeat``; CPU time beside it).
"""

from __future__ import annotations

import argparse
import time

import toolkit
from toolkit.growth import GrowthParams

TARGET = 5.0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 1,000 runs")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (best is kept)")
    args = parser.parse_args(argv)
    runs = max(10, int(1000 * args.scale))
    plan = toolkit.CompensationPlan.unilevel_example()
    toolkit.simulate_income(GrowthParams.typical(), plan, months=3, runs=10)  # warm imports
    best, cpu, result = float("inf"), None, None
    for _ in range(args.repeat):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = toolkit.simulate_income(GrowthParams.typical(), plan, months=24, runs=runs)
        wall = time.perf_counter() - wall0
        if wall < best:
            best, cpu = wall, time.process_time() - cpu0
    print(f"== simulate_income: {runs:,} runs x 24 months, {plan.name} ==")
    print(
        f"participants {len(result.income):,}, orders {len(result.simulation.as_data(0, runs=runs).orders):,} in run 0"
    )
    print(
        f"{'simulate_income':<40} {best:6.2f} s wall (CPU {cpu:.2f} s)  target {TARGET:.0f} s "
        f"({best / TARGET:.0%} of it)"
    )
    print(result.typical())


if __name__ == "__main__":
    main()
