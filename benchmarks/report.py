"""The report on the bundled sample, and its privacy check (issues 13 and 16).

Targets: the whole report under 20 s on a quiet two-core machine; the privacy check of a
sample-sized export with four personal columns (name, email, phone, notes) under 5 s.

The report runs on the bundled sample (what ``make report`` does; the target), then on the same
sample written out with name, email, phone and notes columns on every lead and member (CSV, as a
CRM would export it). Each time is split: reading, validating and copying the data, the slowest
kernel start (kernels start at once), notebook execution (summed over the two kernels, and per
notebook), export to HTML, page checks. Then the privacy check alone: building it from the data
(which values may not appear) and scanning every page written.

    flock /tmp/toolkit-bench.lock .venv/bin/python benchmarks/report.py [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import toolkit
from toolkit.report import PrivacyCheck, Timings, build_report, find_notebooks
from toolkit.report.privacy import _allowed_texts, _personal_values

TARGET_REPORT_S, TARGET_CHECK_S = 20, 5
FIRST = ["Ada", "Bob", "Chloe", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Ines", "Jonas"]
LAST = ["Lovelace", "Okafor", "Nguyen", "Schmidt", "Garcia", "Kowalski", "Haddad", "Tanaka"]
NOTES = [
    "met at the gym, keen on the shakes",
    "call back after the holidays",
    "sister of a customer, prefers email",
    "asked about the starter kit price",
    "",
]


def personal(frame, rng, prefix):
    n = len(frame)
    first, last = rng.choice(FIRST, n), rng.choice(LAST, n)
    return frame.assign(
        name=[f"{f} {s}" for f, s in zip(first, last, strict=True)],
        email=[
            f"{f.lower()}.{s.lower()}{i}@example.org"
            for i, (f, s) in enumerate(zip(first, last, strict=True))
        ],
        phone=[f"+1 555 {prefix}{i:05d}" for i in range(n)],
        notes=[f"{rng.choice(NOTES)} ({f} {i})" for i, f in enumerate(first)],
    )


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the kernels)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def report(data_dir, out: Path, jobs: int, what: str) -> list[Path]:
    """Run the report once and print where its time went."""
    timings = Timings()
    cpu0 = cpu_seconds()
    pages = build_report(data_dir, out, jobs=jobs, progress=False, timings=timings)
    cpu = cpu_seconds() - cpu0
    print(
        f"report on {what}: {timings.total:.1f} s wall (target < {TARGET_REPORT_S} s on a quiet "
        f"2-core machine), {cpu:.1f} s CPU over all processes (so at least {cpu / 2:.1f} s on 2 "
        "idle cores)\n"
        f"  prepare: read, validate, copy the data, build the privacy check "
        f"{timings.prepare:5.1f} s\n"
        f"  kernel start and imports (slowest of {jobs}, beside prepare) "
        f"{timings.kernel_start:5.1f} s\n"
        f"  notebook execution (summed over kernels) {timings.execution:5.1f} s\n"
        f"  export to HTML (summed, beside execution) {timings.export:5.1f} s\n"
        f"  page checks (summed, beside execution) {timings.checks:5.1f} s"
    )
    for name, seconds in sorted(timings.by_notebook.items()):
        print(f"    {name:32s} {seconds:5.1f} s")
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    data = toolkit.load_sample()
    leaky = replace(
        data, leads=personal(data.leads, rng, "1"), members=personal(data.members, rng, "2")
    )
    with tempfile.TemporaryDirectory() as tmp:
        export = toolkit.write_crm(leaky, Path(tmp) / "export")
        print(
            f"export: {len(leaky.leads):,} leads, {len(leaky.members):,} members, with name, "
            f"email, phone and notes columns; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
        )
        report(None, Path(tmp) / "sample", args.jobs, "the bundled sample (make report)")
        pages = report(export, Path(tmp) / "out", args.jobs, "the export with personal columns")
        read = toolkit.read_crm(export)
        t0, c0 = time.perf_counter(), time.process_time()
        check = PrivacyCheck(_personal_values(read), _allowed_texts(read, find_notebooks()))
        built = time.perf_counter() - t0
        texts = [p.read_text(encoding="utf-8") for p in pages]
        t1 = time.perf_counter()
        leaks = sum(check.leaks(t) for t in texts)
        scanned = time.perf_counter() - t1
        check_cpu = time.process_time() - c0
        size = sum(map(len, texts)) / 1e6
        print(
            f"privacy check: {built + scanned:.2f} s wall, {check_cpu:.2f} s CPU "
            f"(target < {TARGET_CHECK_S} s): "
            f"{check.count:,} personal values, built in {built:.2f} s; {len(texts)} pages "
            f"({size:.1f} MB) scanned in {scanned:.2f} s; {leaks} leaks"
        )


if __name__ == "__main__":
    main()
