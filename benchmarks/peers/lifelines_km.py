"""lifelines' KaplanMeierFitter, timed in its own interpreter (run by benchmarks/calls.py).

    python lifelines_km.py EVENTS.parquet AS_OF REPEAT

Times (wall and this process's CPU), as medians of REPEAT calls, (a) the fit alone given each lead's duration and outcome,
(b) the whole job from the events table: the durations from the first ``lead`` to the first
``customer`` at or after it (censored at AS_OF) with pandas, then the fit. Prints one JSON line
with both, the number of leads and the estimate at 30 days, for comparing with the toolkit.
"""

import json
import statistics
import sys
import time

import lifelines
import pandas as pd
from lifelines import KaplanMeierFitter


def durations(events: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    ev = events[events["at"] <= as_of]
    start = ev[ev["stage"] == "lead"].groupby("lead_id", as_index=False)["at"].min()
    ends = ev.loc[ev["stage"] == "customer", ["lead_id", "at"]].merge(
        start, on="lead_id", suffixes=("", "_start")
    )
    ends = ends[ends["at"] >= ends["at_start"]].groupby("lead_id")["at"].min()
    frame = start.set_index("lead_id").join(ends.rename("end"), how="left")
    converted = frame["end"].notna()
    stop = frame["end"].where(converted, as_of)
    days = (stop - frame["at"]) / pd.Timedelta(days=1)
    return pd.DataFrame({"duration": days.to_numpy(), "event": converted.to_numpy()})


def main() -> None:
    events = pd.read_parquet(sys.argv[1])
    as_of, repeat = pd.Timestamp(sys.argv[2]), int(sys.argv[3])
    table = durations(events, as_of)
    KaplanMeierFitter().fit(table["duration"], table["event"])  # warm
    fit_only, whole, fit_cpu, whole_cpu = [], [], [], []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        km = KaplanMeierFitter().fit(table["duration"], table["event"])
        fit_only.append(time.perf_counter() - start)
        fit_cpu.append(time.process_time() - cpu)
        start, cpu = time.perf_counter(), time.process_time()
        d = durations(events, as_of)
        KaplanMeierFitter().fit(d["duration"], d["event"])
        whole.append(time.perf_counter() - start)
        whole_cpu.append(time.process_time() - cpu)
    print(
        json.dumps(
            {
                "version": lifelines.__version__,
                "n": len(table),
                "converted": int(table["event"].sum()),
                "s30": float(km.predict(30.0)),
                "from_durations": 1000 * statistics.median(fit_only),
                "from_events": 1000 * statistics.median(whole),
                "from_durations_cpu": 1000 * statistics.median(fit_cpu),
                "from_events_cpu": 1000 * statistics.median(whole_cpu),
            }
        )
    )


if __name__ == "__main__":
    main()
