"""retentioneering's funnel, timed in its own interpreter (run by benchmarks/funnel_small.py).

    python retentioneering_funnel.py EVENTS.parquet STEP [STEP ...]

Builds the Eventstream once (timed apart: the issue compares the funnel call without it), then
answers each line read on stdin with one JSON line: the seconds of one ``funnel_data`` call
(wall and CPU, all its threads) and the paths counted at each step. The parent alternates these calls with its own, so the
candidates take turns. Telemetry off (see benchmarks/peers/__init__.py).
"""

import json
import os
import sys
import time

os.environ.setdefault("RETENTIONEERING_NO_TRACK", "1")

import pandas as pd  # noqa: E402
import retentioneering as rete  # noqa: E402
from retentioneering import _tracking  # noqa: E402

_tracking._ph = None  # belt and braces: no PostHog client even if the opt-out were ignored


def main() -> None:
    path, steps = sys.argv[1], sys.argv[2:]
    df = pd.read_parquet(path)
    start = time.perf_counter()
    stream = rete.Eventstream(df)
    build = time.perf_counter() - start
    print(json.dumps({"version": rete.__version__, "build": build, "events": len(df)}), flush=True)
    for _line in sys.stdin:
        start, cpu = time.perf_counter(), time.process_time()
        result = stream.funnel_data(steps=steps)
        secs, cpu = time.perf_counter() - start, time.process_time() - cpu
        counts = [row["unique_paths"] for row in result["steps"]]
        print(json.dumps({"secs": secs, "cpu": cpu, "counts": counts}), flush=True)


if __name__ == "__main__":
    main()
