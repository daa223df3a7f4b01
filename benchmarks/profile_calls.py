"""Where the time of each of benchmarks/calls.py's five calls goes (issue 18): pyinstrument's
call tree of ``--repeat`` warm calls on the bundled sample, the top lines of each.

    .venv/bin/python benchmarks/profile_calls.py                # all five, 20 calls each
    .venv/bin/python benchmarks/profile_calls.py --only funnel --depth 30
    .venv/bin/python benchmarks/profile_calls.py --only check_frame --engine   # the engine route

Besides the five calls, ``check_frame(events)`` and ``check_frame(leads)``: the cheap contract
checks every call runs on frames passed without validate. ``--engine`` switches the numpy
route off (:data:`toolkit.fastpath.ENABLED`), giving the engine route's profile.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calls import calls  # noqa: E402

from toolkit import fastpath  # noqa: E402

EVENT_COLUMNS = ("lead_id", "stage", "at")
LEAD_COLUMNS = ("lead_id", "lead_type", "created_at", "cost")


def checks(data) -> dict:
    """checks.check_frame on the sample's events and leads, as the funnel's route runs it."""
    import narwhals as nw

    from toolkit.checks import check_frame

    def events():
        check_frame(nw.from_native(data.events, eager_only=True), "events", EVENT_COLUMNS)

    def leads():
        check_frame(nw.from_native(data.leads, eager_only=True), "leads", LEAD_COLUMNS)

    return {"check_frame(events)": events, "check_frame(leads)": leads}


def main() -> None:
    from pyinstrument import Profiler

    import toolkit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--lines", type=int, default=40, help="lines of each tree printed")
    parser.add_argument("--only", default="", help="calls whose name contains this")
    parser.add_argument("--engine", action="store_true", help="numpy route off")
    args = parser.parse_args()
    fastpath.ENABLED = not args.engine
    data = toolkit.load_sample()
    for name, fn in {**calls(data), **checks(data)}.items():
        if args.only not in name:
            continue
        fn()  # warm
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.repeat):
            fn()
        profiler.stop()
        text = profiler.output_text(unicode=False, color=False, short_mode=True, show_all=False)
        lines = [line for line in text.splitlines() if line.strip()]
        print(f"===== {name}: {args.repeat} warm calls =====")
        print("\n".join(lines[: args.lines]))
        print()


if __name__ == "__main__":
    main()
