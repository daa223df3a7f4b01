"""The per-lead engine query behind every funnel: inputs wrapped (large pandas handed to Polars),
cut into slices of leads, step times per lead, one small code per lead, and the counts per
segment and code that come back to Python.

The per-lead work is written once against Narwhals, so ``events`` (and ``leads``) may be pandas,
Polars (eager or lazy), PyArrow, a DuckDB relation or a PySpark DataFrame; the engine does the
heavy lifting and only the per-step counts (a few rows per segment) come back to Python.

Memory: the engine counts leads per segment and per code (which steps a lead reached, whether
its window had elapsed), never one indicator column per step and count; the per-lead
aggregation runs once (kept, not recomputed, where two parts of the plan read it); big
in-memory Polars inputs run in slices of leads. A funnel of 10M leads peaks near 2.5 times its
input (``benchmarks/funnel.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit import fastpath
from toolkit.censoring import (
    PERIOD_WORDS,
    offset,
    resolve_as_of,
    truncate,
    within,
)
from toolkit.checks import check_frame
from toolkit.frames import from_native, hand_off, in_memory, lazy, materialize, to_pandas
from toolkit.funnel import _fast
from toolkit.funnel.steps import ORDERS, Step, _parse_windows, check_stages_present, parse_steps
from toolkit.schema import OPTIONAL_COLUMNS, DataError, missing_piece

# Large pandas inputs handed to Polars are processed from SLICE_FROM events on in at least two
# slices of leads, of at most SLICE_EVENTS events each: the per-lead aggregation then holds one
# slice at a time (10M leads, 16.6M events: peak 3.3x the input whole, 2.5x sliced). A Polars
# input runs whole: 3.0x, and slicing it cost 1.20x the hand-written query's time against 0.90x.
SLICE_FROM = 1_000_000

SLICE_EVENTS = 10_000_000

EVENT_COLUMNS = ("lead_id", "stage", "at")


def _wrap_inputs(events, leads, lead_cols):
    """Narwhals frames for events and leads (lazy API), plus the events frame as given."""
    like = from_native(events, "events", EVENT_COLUMNS)
    ld = None if leads is None else from_native(leads, "leads", ("lead_id", *lead_cols))
    handed = hand_off(
        {"events": events, "leads": leads},
        {"events": EVENT_COLUMNS, "leads": ("lead_id", *lead_cols)},
    )
    # frames passed without validate get the cheap checks that keep a funnel right (a lead
    # listed twice entering twice, a "Customer " stage dropped, a NaT time) and naive UTC times
    ev = check_frame(lazy(nw.from_native(handed["events"])), "events", EVENT_COLUMNS)
    if ld is not None:
        ld = check_frame(lazy(nw.from_native(handed["leads"])), "leads", ("lead_id", *lead_cols))
        if ld.implementation != ev.implementation:
            raise ValueError(
                "events and leads must be the same kind of frame, got "
                f"{ev.implementation} and {ld.implementation}"
            )
    return like, ev, ld


def _slices(ev: nw.LazyFrame, ld) -> list[tuple[nw.LazyFrame, Any]]:
    """The inputs cut into slices of leads (by a hash of ``lead_id``), to run one after another.

    The per-lead aggregation holds one entry (about 100 bytes) per lead, as much as the input
    itself; in slices it holds one slice's leads at a time. Only in-memory Polars frames are cut
    (a pandas input handed to Polars, an eager Polars frame, or ``DataFrame.lazy()``), since
    each slice reads the input again: a lazy query or a file scan is run once, whole. Events
    and leads are cut alike, so a lead and its attributes land in the same slice.
    """
    whole = [(ev, ld)]
    if not ev.implementation.is_polars():
        return whole
    import polars as pl

    frames = [ev] if ld is None else [ev, ld]
    natives = [frame.to_native() for frame in frames]
    if not all(in_memory(native) for native in natives):
        return whole
    if len({frame.collect_schema()["lead_id"] for frame in frames}) > 1:
        return whole  # ids of different types hash differently
    rows = natives[0].select(pl.len()).collect().item()
    if rows < SLICE_FROM:
        return whole
    n = max(2, -(-rows // SLICE_EVENTS))

    def cut(native, i):
        return nw.from_native(native.filter(pl.col("lead_id").hash(seed=0) % n == i))

    return [(cut(natives[0], i), None if ld is None else cut(natives[1], i)) for i in range(n)]


def _by_list(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _derived(name: str) -> tuple[str, str] | None:
    """('created_at' or 'entry', period letter) for names such as 'created_month', 'entry_week'."""
    m = re.fullmatch(r"(created|entry)_(day|week|month|quarter|year)", name)
    if not m:
        return None
    return ("created_at" if m.group(1) == "created" else "entry", PERIOD_WORDS[m.group(2)])


def _lead_columns(by: list[str], leads) -> list[str]:
    """The leads columns that ``by`` needs (checked against ``leads``)."""
    needed = []
    present = set() if leads is None else set(nw.from_native(leads).columns)
    for name in by:
        derived = _derived(name)
        if name in present:
            needed.append(name)
        elif derived and derived[0] == "entry":
            continue
        elif derived:
            needed.append("created_at")
        elif leads is None:
            raise ValueError(
                f"by={name!r} is a lead attribute: pass the leads table (leads=data.leads), "
                "or use an entry period such as 'entry_month'"
            )
        elif ("leads", name) in OPTIONAL_COLUMNS:
            raise DataError(f"{missing_piece('leads', [name])}; columns present: {sorted(present)}")
        else:
            raise DataError(
                f"leads: no column {name!r} to break the funnel down by; columns present: "
                f"{sorted(present)} (or an entry period: 'created_month', 'entry_month', ...)"
            )
    return list(dict.fromkeys(needed))


def _attach_by(per_lead: nw.LazyFrame, ld, by: list[str]) -> nw.LazyFrame:
    """Add the ``by`` columns to a per-lead frame that has ``lead_id`` and ``t0``."""
    if not by:
        return per_lead
    present = set() if ld is None else set(ld.columns)
    lead_exprs, entry_exprs = [], []
    for name in by:
        derived = _derived(name)
        if name in present:
            lead_exprs.append(nw.col(name))
        elif derived and derived[0] == "entry":
            entry_exprs.append(truncate("t0", derived[1]).alias(name))
        else:
            lead_exprs.append(truncate("created_at", derived[1]).alias(name))
    out = per_lead
    if lead_exprs:
        out = out.join(ld.select(nw.col("lead_id"), *lead_exprs), on="lead_id", how="left")
    if entry_exprs:
        out = out.with_columns(*entry_exprs)
    return out


def _lead_code(n_steps: int, windows, as_of: dt.datetime) -> nw.Expr:
    """One small integer per lead, from its step times ``t0`` ... : bit k says that step k was
    reached, bit ``n_steps + k`` that the window for step k had elapsed by ``as_of``.

    Every count of the funnel table is a function of these bits (see ``_indicator_counts``), so
    the engine only counts leads per segment and code: no per-lead indicator columns.
    """
    per_step = isinstance(windows, tuple)
    if per_step:
        # the window for step k opens when step k-1 is reached
        mature = [nw.lit(True)] + [
            (nw.col(f"t{k - 1}") <= as_of - windows[k - 1].to_pytimedelta()).fill_null(False)
            for k in range(1, n_steps)
        ]
    else:
        mature = [nw.col("t0") <= as_of - windows.to_pytimedelta()] * n_steps
    bits = [~nw.col(f"t{k}").is_null() for k in range(n_steps)] + mature
    return sum(bit.cast(nw.Int64) * (1 << i) for i, bit in enumerate(bits))


def _chain(wide: nw.LazyFrame, n_steps: int, windows) -> nw.LazyFrame:
    """Add step times ``t0`` ... from first times ``m0`` ... (exact when each step happened
    once): step k counts when its time is at or after step k-1 and within its window.

    Each ``t{k}`` is computed from the column ``t{k-1}``, so the expressions stay short and an
    engine that does not share sub-expressions (DuckDB) does not redo the chain for each step.
    """
    per_step = isinstance(windows, tuple)
    out = wide.with_columns(nw.col("m0").alias("t0"))
    if not per_step:
        out = out.with_columns(nw.col("m0").dt.offset_by(offset(windows)).alias("_deadline"))
    for k in range(1, n_steps):
        prev, this = nw.col(f"t{k - 1}"), nw.col(f"m{k}")
        if per_step:
            deadline = prev.dt.offset_by(offset(windows[k - 1]))
        else:
            deadline = nw.col("_deadline")
        ok = (this >= prev) & (this <= deadline)  # null (not reached) when either is null
        out = out.with_columns(nw.when(ok.fill_null(False)).then(this).alias(f"t{k}"))
    return out


def _histogram(
    ev: nw.LazyFrame, ld, steps: list[Step], windows, order: str, as_of: dt.datetime, by: list[str]
) -> pd.DataFrame:
    """Leads per segment and code (``_lead_code``): the ``by`` columns, ``_code``, ``_n``.

    "ordered" takes one pass over the events for the leads with at most one event per step
    (the common case: first times are then exact), and a join per step only for the few leads
    with a repeated step. The one pass is run once and its small result kept (``materialize``)
    because both routes read it.
    """
    n = len(steps)
    code = _lead_code(n, windows, as_of).alias("_code")
    keep_t0 = ["t0"] if any(_derived(b) and _derived(b)[0] == "entry" for b in by) else []

    def counted(times: nw.LazyFrame) -> nw.LazyFrame:
        per_lead = _attach_by(times.select("lead_id", *keep_t0, code), ld, by)
        return per_lead.group_by(*by, "_code").agg(nw.len().alias("_n"))

    if order == "strict":
        return to_pandas(counted(_joined_times(ev, steps, windows, strict=True)))
    wide = ev.with_columns(
        nw.when(nw.col("stage").is_in(list(s.stages))).then(nw.col("at")).alias(f"m{k}")
        for k, s in enumerate(steps)
    )
    wide = wide.group_by("lead_id").agg(
        *[nw.col(f"m{k}").min() for k in range(n)], nw.len().alias("_events")
    )
    wide = wide.filter(~nw.col("m0").is_null())
    if order == "any":
        cols = [nw.col("m0").alias("t0")]
        ok = nw.lit(True)
        for k in range(1, n):
            ok = ok & ~nw.col(f"m{k}").is_null() & within(f"m{k}", "m0", windows)
            done = nw.max_horizontal(*[nw.col(f"m{j}") for j in range(k + 1)])
            cols.append(nw.when(ok.fill_null(False)).then(done).alias(f"t{k}"))
        return to_pandas(counted(wide.select(nw.col("lead_id"), *cols)))

    steps_seen = sum((~nw.col(f"m{k}").is_null()).cast(nw.Int64) for k in range(n))
    wide = wide.with_columns((nw.col("_events") > steps_seen).alias("_repeat"))
    single = _chain(wide, n, windows)
    # a lead with a repeated step is kept by its id (its code from first times may be wrong);
    # the others are counted per segment and code: a few rows per segment, plus the repeats
    per_lead = _attach_by(single.select("lead_id", "_repeat", *keep_t0, code), ld, by)
    per_lead = per_lead.with_columns(
        nw.when(nw.col("_repeat")).then(nw.col("lead_id")).alias("_rep"),
        nw.when(~nw.col("_repeat")).then(nw.col("_code")).alias("_code"),
    )
    first = materialize(per_lead.group_by(*by, "_code", "_rep").agg(nw.len().alias("_n")))
    repeats = first.filter(~nw.col("_rep").is_null()).select(nw.col("_rep").alias("lead_id"))
    hist = to_pandas(first.filter(nw.col("_rep").is_null()).drop("_rep"))
    if not to_pandas(repeats.select(nw.len().alias("n")))["n"].iloc[0]:
        return hist
    repeated = materialize(ev.join(repeats, on="lead_id", how="semi"))
    rest = to_pandas(counted(_joined_times(repeated, steps, windows, strict=False)))
    parts = [part for part in (hist, rest) if not part.empty]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _joined_times(ev: nw.LazyFrame, steps: list[Step], windows, *, strict: bool) -> nw.LazyFrame:
    """Step times by one left join per step: the earliest event of step k at or after step k-1.

    With ``strict``, an event of another listed stage strictly between step k-1 and that
    earliest event breaks the chain.
    """
    listed = [stage for s in steps for stage in s.stages]
    per_step = isinstance(windows, tuple)
    cur = (
        ev.filter(nw.col("stage").is_in(list(steps[0].stages)))
        .group_by("lead_id")
        .agg(nw.col("at").min().alias("t0"))
    )
    for k in range(1, len(steps)):
        prev, this = f"t{k - 1}", f"t{k}"
        anchor, limit = (prev, windows[k - 1]) if per_step else ("t0", windows)
        others = [s for s in listed if s not in steps[k - 1].stages + steps[k].stages]
        wanted = list(steps[k].stages) + (others if strict else [])
        right = ev.filter(nw.col("stage").is_in(wanted)).select("lead_id", "stage", "at")
        joined = cur.join(right, on="lead_id", how="left")
        is_step = nw.col("stage").is_in(list(steps[k].stages))
        hit = is_step & (nw.col("at") >= nw.col(prev)) & within("at", anchor, limit)
        extra = [nw.when(hit.fill_null(False)).then(nw.col("at")).alias(this)]
        if strict:
            block = ~is_step & (nw.col("at") > nw.col(prev))
            extra.append(nw.when(block.fill_null(False)).then(nw.col("at")).alias("_block"))
        joined = joined.with_columns(*extra)
        keep = [f"t{i}" for i in range(k + 1)] + (["_block"] if strict else [])
        cur = joined.group_by("lead_id").agg(nw.col(c).min() for c in keep)
        if strict:
            clear = nw.col("_block").is_null() | (nw.col("_block") >= nw.col(this))
            cur = cur.with_columns(
                nw.when(clear.fill_null(False)).then(nw.col(this)).alias(this)
            ).drop("_block")
    return cur


_COUNT_NAMES = ("reached", "in_progress", "dropped", "eligible", "converted")


def _indicator_counts(
    hist: pd.DataFrame, by: list[str], n_steps: int, per_step: bool, include_in_progress: bool
) -> pd.DataFrame:
    """Per-segment counts ``reached_k``, ``in_progress_k``, ``dropped_k``, ``eligible_k``,
    ``converted_k`` (see ``funnel_table``) from the leads per segment and code."""
    names = [f"{name}_{k}" for k in range(n_steps) for name in _COUNT_NAMES]
    if hist.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in by} | {c: [] for c in names})
    code = pd.to_numeric(hist["_code"]).to_numpy().astype(np.int64)
    weight = pd.to_numeric(hist["_n"]).to_numpy().astype(np.int64)
    reached = [(code >> k) & 1 == 1 for k in range(n_steps)]
    mature = [(code >> (n_steps + k)) & 1 == 1 for k in range(n_steps)]
    no = np.zeros(len(code), dtype=bool)
    cols = {}
    in_progress_prev = no
    for k in range(n_steps):
        if k == 0:
            in_progress = dropped = no
            eligible = reached[0] if (include_in_progress or per_step) else mature[0]
            converted = eligible
        else:
            if per_step:
                open_k = np.where(reached[k - 1], ~mature[k], in_progress_prev)
            else:
                open_k = ~mature[k]  # one window, opened at the first step, for every step
            in_progress = ~reached[k] & open_k
            dropped = reached[k - 1] & ~reached[k] & mature[k]
            if include_in_progress:
                eligible, converted = reached[k - 1], reached[k]
            else:
                eligible, converted = reached[k - 1] & mature[k], reached[k] & mature[k]
        for name, flag in (
            ("reached", reached[k]),
            ("in_progress", in_progress),
            ("dropped", dropped),
            ("eligible", eligible),
            ("converted", converted),
        ):
            cols[f"{name}_{k}"] = np.where(flag, weight, 0)
        in_progress_prev = in_progress
    # the sums per segment by numpy (a pandas groupby of the few rows costs more than the rest)
    if by:
        segment, counts = fastpath.group([hist[c] for c in by])
    else:
        segment, counts = np.zeros(len(code), np.int64), pd.DataFrame(index=range(1))
    sums = {
        name: np.bincount(segment, weights=cols[name], minlength=len(counts)).astype(np.int64)
        for name in names
    }
    return pd.concat([counts.reset_index(drop=True), pd.DataFrame(sums)], axis=1)


def _step_counts(
    events, steps, *, window, order, by, leads, as_of, include_in_progress
) -> tuple[pd.DataFrame, Any, list[Step], Any, dt.datetime]:
    """Per-segment sums of the indicators, as a small pandas frame (the engine counts leads per
    segment and code, numpy turns those into the funnel's counts)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    steps = parse_steps(steps)
    windows = _parse_windows(window, len(steps), order)
    by = _by_list(by)
    if order == "ordered":
        fast = _numpy_counts(events, steps, windows, by, leads, as_of, include_in_progress)
        if fast is not None:
            return fast
    like, ev, ld = _wrap_inputs(events, leads, _lead_columns(by, leads))
    check_stages_present(steps, ev)
    as_of = resolve_as_of(as_of, ev, ["at"])
    listed = [stage for s in steps for stage in s.stages]
    parts = []
    pieces = _slices(ev, ld) if isinstance(events, pd.DataFrame) else [(ev, ld)]
    for ev_part, ld_part in pieces:
        ev_part = ev_part.filter(nw.col("at") <= as_of).filter(nw.col("stage").is_in(listed))
        parts.append(_histogram(ev_part, ld_part, steps, windows, order, as_of, by))
    full = [part for part in parts if not part.empty]
    hist = pd.concat(full, ignore_index=True) if len(full) > 1 else (full or parts)[0]
    counts = _indicator_counts(
        hist, by, len(steps), isinstance(windows, tuple), include_in_progress
    )
    counts = counts[counts["reached_0"] > 0]
    return counts, like, steps, windows, as_of


def _numpy_step_times(events, leads, steps, windows, by, as_of):
    """The inputs checked as the engine route checks them and each lead's step times, for the
    numpy route (:mod:`toolkit.fastpath`): ``(like, step times, as_of)``, or None when that
    route does not serve these tables (funnel counts and time to convert share it)."""
    like = from_native(events, "events", EVENT_COLUMNS)
    lead_cols = _lead_columns(by, leads)
    if leads is not None:
        from_native(leads, "leads", ("lead_id", *lead_cols))
    if not fastpath.covers(events, leads):
        return None
    fastpath.check_inputs(events, leads, lead_cols)
    check_stages_present(steps, nw.from_native(events, eager_only=True))  # as the engine route
    as_of = resolve_as_of(events["at"].max() if as_of is None else as_of, None, None)
    need = _fast.needs_leads(by, leads, _derived)
    st = fastpath.step_times(
        events,
        [s.stages for s in steps],
        windows,
        as_of,
        leads_ids=leads["lead_id"] if need else None,
    )
    return like, st, as_of


def _numpy_counts(events, steps, windows, by, leads, as_of, include_in_progress):
    """``_step_counts`` by the numpy route (:mod:`toolkit.fastpath`) for plain pandas tables;
    None when it does not serve them (the engine route then does)."""
    prepared = _numpy_step_times(events, leads, steps, windows, by, as_of)
    if prepared is None:
        return None
    like, st, as_of = prepared
    hist = _fast.histogram(st, _fast.lead_code(st, windows), leads, by, _derived)
    if hist is None:
        return None
    per_step = isinstance(windows, tuple)
    counts = _indicator_counts(hist, by, len(steps), per_step, include_in_progress)
    return counts[counts["reached_0"] > 0], like, steps, windows, as_of


def _empty(by: list[str], columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in by} | {c: [] for c in columns})
