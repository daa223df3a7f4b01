"""Per-call cost on the bundled sample (35k events, 9.8k members, 109k orders): the median of
warm calls of the five calls a notebook re-runs most, against issue 18's target of 30 ms each.

    .venv/bin/python benchmarks/calls.py                 # the five calls, 15 warm calls each
    .venv/bin/python benchmarks/calls.py --repeat 31     # steadier medians
    .venv/bin/python benchmarks/calls.py --lifelines     # also time_to_convert vs lifelines

"Warm" means imports done and one call made first (lazy imports, first-call caches), then
``--repeat`` calls on the same plain frames, nothing prepared between them; the candidates take
turns (one call of each per round) so a busy moment of the shared machine hits all of them.

``--lifelines`` compares ``time_to_convert`` with lifelines' ``KaplanMeierFitter`` (issue 18:
within 1.2x), both from durations (the Kaplan-Meier fit alone, given each lead's time and
whether it converted) and from events (the whole job: the durations derived from the events
table with pandas, then the fit). lifelines is not a project dependency: it runs in the
benchmarks' own environment (benchmarks/peers/, ``make bench-peers``), in its own interpreter,
on durations this script writes to a temporary Parquet file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_MS = 30.0
STEPS = ("contact", "lead", "prospect", "customer")


def calls(data):
    import toolkit

    def funnel():
        return toolkit.funnel_table(
            data.events, STEPS, window="90D", by="lead_type", leads=data.leads, as_of=data.as_of
        )

    def cohorts():
        return toolkit.cohort_table(data.members, data.orders, as_of=data.as_of)

    def mix():
        return toolkit.member_mix(
            data.members, data.orders, as_of=data.as_of, role_history=data.role_history
        )

    def ttc():
        return toolkit.time_to_convert(
            data.events, "lead", "customer", by="lead_type", leads=data.leads, as_of=data.as_of
        )

    def lqm():
        return toolkit.LeadQualityModel(outcome="customer", features=("lead_type",)).fit(data)

    return {
        "funnel_table(by=lead_type)": funnel,
        "cohort_table": cohorts,
        "member_mix": mix,
        "time_to_convert(by=lead_type)": ttc,
        "LeadQualityModel.fit": lqm,
    }


def take_turns(candidates: dict, repeat: int) -> tuple[dict, dict]:
    """Seconds per call of each candidate, one call of each per round: wall-clock times and
    this process's CPU times (on a shared machine the CPU time is the steadier figure: it
    leaves out the time other processes held the cores)."""
    for fn in candidates.values():
        fn()  # warm: lazy imports, first-call caches
    wall: dict[str, list[float]] = {name: [] for name in candidates}
    cpu: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeat):
        for name, fn in candidates.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
    return wall, cpu


def peer_python() -> Path | None:
    """The benchmarks' own interpreter (benchmarks/.peer-venv), made on first use."""
    sys.path.insert(0, str(HERE))
    from peers import ensure_venv

    return ensure_venv()


def lifelines_compare(data, repeat: int) -> None:
    """time_to_convert (lead -> customer, no by) against lifelines in its own interpreter."""
    import toolkit

    python = peer_python()
    if python is None:
        print("lifelines: the benchmarks' environment could not be made; comparison skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        data.events.to_parquet(path)
        out = subprocess.run(
            [
                str(python),
                str(HERE / "peers" / "lifelines_km.py"),
                str(path),
                str(data.as_of),
                str(repeat),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    peer = json.loads(out.stdout.strip().splitlines()[-1])

    def ours():
        return toolkit.time_to_convert(data.events, "lead", "customer", as_of=data.as_of)

    wall, cpu = take_turns({"toolkit": ours}, repeat)
    result = ours()
    curve = result.table
    s30 = 1 - float(curve.loc[curve["days"] <= 30, "converted_share"].iloc[-1])
    ms = 1000 * statistics.median(wall["toolkit"])
    cpu_ms = 1000 * statistics.median(cpu["toolkit"])
    print(
        f"\ntime_to_convert(lead -> customer) vs lifelines {peer['version']} KaplanMeierFitter "
        "(its own interpreter, run just before)"
    )
    print(
        f"  leads {int(result.summary['leads'].iloc[0]):,} / {peer['n']:,}, converted "
        f"{int(result.summary['converted'].iloc[0]):,} / {peer['converted']:,}, "
        f"S(30 days) {s30:.6f} / {peer['s30']:.6f} (toolkit / lifelines)"
    )
    print(f"  toolkit from events          {ms:8.2f} ms wall {cpu_ms:8.2f} ms CPU")
    for key, label in (
        ("from_durations", "lifelines from durations"),
        ("from_events", "lifelines from events"),
    ):
        theirs, theirs_cpu = peer[key], peer[f"{key}_cpu"]
        print(
            f"  {label:28s} {theirs:8.2f} ms wall {theirs_cpu:8.2f} ms CPU   toolkit / "
            f"lifelines = {ms / theirs:.2f} wall, {cpu_ms / theirs_cpu:.2f} CPU (target <= 1.2)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--lifelines", action="store_true")
    args = parser.parse_args()

    import toolkit

    data = toolkit.load_sample()
    wall, cpu = take_turns(calls(data), args.repeat)
    print(
        f"bundled sample: {len(data.events):,} events, {len(data.leads):,} leads, "
        f"{len(data.members):,} members, {len(data.orders):,} orders; "
        f"median of {args.repeat} warm calls, candidates taking turns; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"  {'call':32s} {'wall ms':>8s} {'(min)':>8s} {'CPU ms':>8s}  CPU / {TARGET_MS:.0f} ms target"
    )
    for name, secs in wall.items():
        ms, cpu_ms = 1000 * statistics.median(secs), 1000 * statistics.median(cpu[name])
        print(
            f"  {name:32s} {ms:8.1f} {1000 * min(secs):8.1f} {cpu_ms:8.1f}  "
            f"{cpu_ms / TARGET_MS:5.2f}"
        )
    if args.lifelines:
        lifelines_compare(data, args.repeat)


if __name__ == "__main__":
    main()
