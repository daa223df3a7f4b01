"""Where the time of each of benchmarks/calls.py's five calls goes (issue 18): pyinstrument's
call tree of ``--repeat`` warm calls on the bundled sample, the top lines of each.

    .venv/bin/python benchmarks/profile_calls.py                # all five, 20 calls each
    .venv/bin/python benchmarks/profile_calls.py --only funnel --depth 30
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calls import calls  # noqa: E402


def main() -> None:
    from pyinstrument import Profiler

    import toolkit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--lines", type=int, default=40, help="lines of each tree printed")
    parser.add_argument("--only", default="", help="calls whose name contains this")
    args = parser.parse_args()
    data = toolkit.load_sample()
    for name, fn in calls(data).items():
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
