"""Funnel at notebook sizes (issue 18): toolkit ``funnel_table`` on pandas, cold, against
retentioneering 5.2.4's funnel call on the same simple_shop-shaped clickstream, at about 32k,
323k and 3.2M events. Prints both sides' counts per step (they must agree), the times and the
ratio (target: toolkit / retentioneering <= 1 at every size).

    .venv/bin/python benchmarks/funnel_small.py                  # all three sizes
    .venv/bin/python benchmarks/funnel_small.py --scales 1 10    # 32k and 323k only
    make bench-peers                                              # the same, venv made first

The data: retentioneering 5.2.4 no longer ships simple_shop (only ``ecom``), so this script
generates the same shape: 3,751 users per scale unit and about 8.6 events each (32k events),
the twelve simple_shop event names, sessions walked through a Markov chain from ``main`` or
``catalog`` to ``payment_done``, times strictly increasing within a user. The funnel is
simple_shop's four-step ordered one, catalog -> cart -> delivery_choice -> payment_done, with
no window (retentioneering's funnel has none; the toolkit gets a 100-year one). The toolkit
reads the same events with the four funnel events named by the data contract's stages
(contact, lead, prospect, customer); the other eight keep their names and are filtered out.

Candidates take turns in one run: retentioneering runs in its own interpreter
(benchmarks/.peer-venv, telemetry off, see benchmarks/peers/) as a subprocess that builds its
Eventstream once (printed, not counted) and then times one funnel call per request, while
this process times one cold ``funnel_table`` call (a plain pandas frame, nothing prepared or
cached) between requests. Medians are printed. If the peer environment cannot be made, the
comparison is against a hand-written DuckDB query on a prepared (registered, sorted) table,
and the output says so.
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

import numpy as np

HERE = Path(__file__).resolve().parent
USERS_PER_SCALE = 3_751  # simple_shop: 3,751 users, 32,283 events
EVENTS = (
    "main",
    "catalog",
    "product1",
    "product2",
    "cart",
    "delivery_choice",
    "delivery_courier",
    "delivery_pickup",
    "payment_choice",
    "payment_card",
    "payment_cash",
    "payment_done",
)
END = len(EVENTS)
# next event (or END of the session) after each event
CHAIN = {
    "main": {"catalog": 0.7, END: 0.3},
    "catalog": {"product1": 0.27, "product2": 0.27, "catalog": 0.1, "main": 0.05, END: 0.31},
    "product1": {"cart": 0.3, "catalog": 0.4, END: 0.3},
    "product2": {"cart": 0.3, "catalog": 0.4, END: 0.3},
    "cart": {"delivery_choice": 0.6, "catalog": 0.2, END: 0.2},
    "delivery_choice": {"delivery_courier": 0.45, "delivery_pickup": 0.3, END: 0.25},
    "delivery_courier": {"payment_choice": 0.8, END: 0.2},
    "delivery_pickup": {"payment_choice": 0.8, END: 0.2},
    "payment_choice": {"payment_card": 0.6, "payment_cash": 0.2, END: 0.2},
    "payment_card": {"payment_done": 0.85, END: 0.15},
    "payment_cash": {"payment_done": 0.85, END: 0.15},
    "payment_done": {"main": 0.2, "catalog": 0.2, END: 0.6},
}
NEW_SESSION = 0.6  # chance of another session after one ends
PEER_STEPS = ("catalog", "cart", "delivery_choice", "payment_done")
TOOLKIT_STEPS = ("contact", "lead", "prospect", "customer")
WINDOW = "36500D"  # no window in retentioneering's funnel: 100 years is none here


def simple_shop(n_users: int, seed: int = 0):
    """A simple_shop-shaped clickstream: user_id, event, timestamp (pandas, sorted by nothing)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    index = {name: i for i, name in enumerate(EVENTS)}
    cum = np.zeros((END, END + 1))
    for name, nxt in CHAIN.items():
        row = np.zeros(END + 1)
        for target, p in nxt.items():
            row[END if target == END else index[target]] = p
        cum[index[name]] = np.cumsum(row / row.sum())
    start = np.datetime64("2019-11-01T00:00:00", "us")
    users = np.arange(n_users)
    clock = start + rng.integers(0, 180 * 86_400 * 10**6, n_users).astype("timedelta64[us]")
    state = np.where(rng.random(n_users) < 0.5, index["main"], index["catalog"])
    ids, codes, times = [], [], []
    alive = np.ones(n_users, bool)
    for _ in range(200):
        if not alive.any():
            break
        u = users[alive]
        ids.append(u)
        codes.append(state[alive])
        times.append(clock[alive])
        s = state[alive]
        draw = rng.random(u.size)
        nxt = (draw[:, None] > cum[s]).sum(axis=1)
        gap = (rng.exponential(40.0, u.size) * 10**6).astype("int64") + 10**6
        ended = nxt == END
        again = ended & (rng.random(u.size) < NEW_SESSION)
        gap = np.where(again, gap + (rng.exponential(5.0, u.size) * 86_400e6).astype("int64"), gap)
        nxt = np.where(
            again, np.where(rng.random(u.size) < 0.5, index["main"], index["catalog"]), nxt
        )
        state[u] = np.minimum(nxt, END - 1)
        clock[u] = clock[u] + gap.astype("timedelta64[us]")
        alive[u[ended & ~again]] = False
    order = np.random.default_rng(seed + 1).permutation(sum(a.size for a in ids))
    return pd.DataFrame(
        {
            "user_id": np.concatenate(ids)[order],
            "event": np.array(EVENTS)[np.concatenate(codes)][order],
            "timestamp": np.concatenate(times)[order],
        }
    )


def toolkit_events(clicks):
    """The same events for the toolkit: lead_id, stage (the funnel's four events renamed to the
    contract's stages, the others as they are), at."""
    import pandas as pd

    rename = dict(zip(PEER_STEPS, TOOLKIT_STEPS, strict=True))
    return pd.DataFrame(
        {
            "lead_id": clicks["user_id"].to_numpy(),
            "stage": clicks["event"].map(lambda e: rename.get(e, e)).astype("str"),
            "at": clicks["timestamp"].to_numpy(),
        }
    )


def toolkit_call(events):
    import toolkit

    table = toolkit.funnel_table(
        events, TOOLKIT_STEPS, window=WINDOW, order="ordered", include_in_progress=True
    )
    return [int(x) for x in table["reached"]]


class Peer:
    """retentioneering in its own interpreter, one timed funnel call per request."""

    def __init__(self, python: Path, path: Path):
        sys.path.insert(0, str(HERE))
        from peers import peer_env

        self.proc = subprocess.Popen(
            [
                str(python),
                str(HERE / "peers" / "retentioneering_funnel.py"),
                str(path),
                *PEER_STEPS,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=peer_env(),
        )
        self.info = json.loads(self.proc.stdout.readline())
        self.label = f"retentioneering {self.info['version']} funnel_data"

    def call(self) -> tuple[float, float, list[int]]:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        return reply["secs"], reply["cpu"], reply["counts"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class DuckDBQuery:
    """Fallback peer: a hand-written DuckDB query (retentioneering's own SQL) on a prepared
    table (registered once, sorted by user and time, not counted)."""

    def __init__(self, clicks):
        import duckdb

        self.con = duckdb.connect()
        self.con.register("raw", clicks)
        start = time.perf_counter()
        self.con.execute("CREATE TABLE df AS SELECT * FROM raw ORDER BY user_id, timestamp")
        self.info = {"build": time.perf_counter() - start}
        self.label = "hand-written DuckDB query (retentioneering unavailable)"
        ctes = [
            "s1 AS (SELECT user_id, MIN(timestamp) t FROM df WHERE event = 'catalog' GROUP BY 1)"
        ]
        for k, step in enumerate(PEER_STEPS[1:], start=2):
            ctes.append(
                f"s{k} AS (SELECT df.user_id, MIN(df.timestamp) t FROM df JOIN s{k - 1} p "
                f"ON df.user_id = p.user_id WHERE df.event = '{step}' AND df.timestamp > p.t "
                "GROUP BY 1)"
            )
        counts = ", ".join(f"(SELECT COUNT(*) FROM s{k})" for k in range(1, len(PEER_STEPS) + 1))
        self.sql = f"WITH {', '.join(ctes)} SELECT {counts}"

    def call(self) -> tuple[float, float, list[int]]:
        start, cpu = time.perf_counter(), time.process_time()
        row = self.con.execute(self.sql).fetchall()[0]
        return time.perf_counter() - start, time.process_time() - cpu, [int(x) for x in row]

    def close(self) -> None:
        self.con.close()


def run_size(scale: int, repeat: int, python: Path | None) -> None:
    clicks = simple_shop(USERS_PER_SCALE * scale, seed=scale)
    events = toolkit_events(clicks)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clicks.parquet"
        clicks.to_parquet(path, index=False)
        peer = Peer(python, path) if python is not None else DuckDBQuery(clicks)
        try:
            toolkit_call(events)  # warm: imports, first-call caches (not a prepared form)
            ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
            for _ in range(repeat):
                start, cpu = time.perf_counter(), time.process_time()
                our_counts = toolkit_call(events)
                ours_cpu.append(time.process_time() - cpu)
                ours.append(time.perf_counter() - start)
                secs, secs_cpu, their_counts = peer.call()
                theirs.append(secs)
                theirs_cpu.append(secs_cpu)
        finally:
            peer.close()
    t_ours, t_theirs = statistics.median(ours), statistics.median(theirs)
    agree = "agree" if our_counts == their_counts else "DISAGREE"
    print(
        f"\n{len(clicks):,} events, {clicks['user_id'].nunique():,} users "
        f"(median of {repeat}, taking turns)"
    )
    print(f"  counts per step: toolkit {our_counts}, peer {their_counts}: {agree}")
    print(
        f"  toolkit funnel_table (pandas, cold) {1000 * t_ours:9.1f} ms  (min {1000 * min(ours):.1f})"
    )
    print(
        f"  {peer.label:34s} {1000 * t_theirs:9.1f} ms  (min {1000 * min(theirs):.1f}; "
        f"its one-off build {1000 * peer.info['build']:.0f} ms, not counted)"
    )
    c_ours, c_theirs = statistics.median(ours_cpu), statistics.median(theirs_cpu)
    print(f"  CPU (all threads): toolkit {1000 * c_ours:.1f} ms, peer {1000 * c_theirs:.1f} ms")
    print(
        f"  toolkit / peer = {t_ours / t_theirs:.2f} wall, {c_ours / c_theirs:.2f} CPU  "
        f"(target <= 1.00; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeat", type=int, default=0, help="calls per size (default by size)")
    parser.add_argument("--duckdb", action="store_true", help="compare with DuckDB, not the peer")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from peers import ensure_venv

    python = None if args.duckdb else ensure_venv()
    if python is None:
        print(
            "retentioneering could not be installed in the benchmarks' environment: comparing "
            "with a hand-written DuckDB query on a prepared table instead"
        )
    for scale in args.scales:
        repeat = args.repeat or {1: 15, 10: 7}.get(scale, 3)
        run_size(scale, repeat, python)


if __name__ == "__main__":
    main()
