"""Funnels: ordered steps with conversion windows, censoring at ``as_of``, intervals, breakdowns,
time to convert and trends by entry period.

The per-lead work is written once against Narwhals, so ``events`` (and ``leads``) may be pandas,
Polars (eager or lazy), PyArrow, a DuckDB relation or a PySpark DataFrame; the engine does the
heavy lifting and only the per-step counts (a few rows per segment) come back to Python, where
statsmodels puts an interval on every rate. Results come back as the same kind of frame as
``events`` (a lazy input gives a lazy result). Large pandas inputs are handed to Polars
internally when it is installed: pandas in, pandas out, a few times faster.

Memory: the engine counts leads per segment and per code (which steps a lead reached, whether
its window had elapsed), never one indicator column per step and count; the per-lead
aggregation runs once (kept, not recomputed, where two parts of the plan read it); big
in-memory Polars inputs run in slices of leads. A funnel of 10M leads peaks near 2.5 times its
input (``benchmarks/funnel.py``).

Censoring is the point of this module: a lead whose conversion window has not elapsed by
``as_of`` and that has not reached a step yet is *in progress* at that step, not lost, and by
default it is left out of the rates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.censoring import (
    CALENDAR_PERIODS,
    PERIOD_WORDS,
    check_period,
    offset,
    parse_duration,
    resolve_as_of,
    within,
)
from toolkit.frames import (
    from_native,
    hand_off,
    in_memory,
    lazy,
    materialize,
    to_kind,
    to_pandas,
)
from toolkit.rates import check_alpha, compare_proportions, wilson_interval, z_value
from toolkit.schema import STAGES, DataError

ORDERS = ("ordered", "strict", "any")
# Large pandas inputs handed to Polars are processed from SLICE_FROM events on in at least two
# slices of leads, of at most SLICE_EVENTS events each: the per-lead aggregation then holds one
# slice at a time (10M leads, 16.6M events: peak 3.3x the input whole, 2.5x sliced). A Polars
# input runs whole: 3.0x, and slicing it cost 1.20x the hand-written query's time against 0.90x.
SLICE_FROM = 1_000_000
SLICE_EVENTS = 10_000_000

# conversion_trend's columns after "period" and the by columns
TREND_COLUMNS = (
    "step",
    "step_index",
    "entered",
    "reached",
    "in_progress",
    "eligible",
    "conversion",
    "ci_lower",
    "ci_upper",
    "complete",
)
TABLE_COLUMNS = (
    "step",
    "step_index",
    "reached",
    "in_progress",
    "dropped",
    "conversion_from_start",
    "conversion_from_previous",
    "ci_lower",
    "ci_upper",
    "start_ci_lower",
    "start_ci_upper",
    "eligible",
    "converted",
)


# --------------------------------------------------------------------------------------------
# arguments


@dataclass(frozen=True)
class Step:
    """One funnel step: a label and the stages that count as reaching it."""

    label: str
    stages: tuple[str, ...]


def _check_stages(stages: Sequence[str]) -> None:
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise DataError(
            f"unknown stage name(s) {unknown}; valid stages: {', '.join(STAGES)} "
            "(a group of stages is written {'label': ('customer', 'rep')})"
        )


def _parse_step(item: Any) -> Step:
    if isinstance(item, Step):
        _check_stages(item.stages)
        return item
    if isinstance(item, str):
        _check_stages([item])
        return Step(item, (item,))
    if isinstance(item, Mapping):
        if len(item) != 1:
            raise ValueError(f"a step group is one {{label: stages}} pair, got {dict(item)!r}")
        ((label, stages),) = item.items()
        stages = (stages,) if isinstance(stages, str) else tuple(stages)
        _check_stages(stages)
        return Step(str(label), stages)
    if isinstance(item, (tuple, list)):
        if len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], (tuple, list)):
            label, stages = item[0], tuple(item[1])
        else:
            stages = tuple(item)
            label = " or ".join(map(str, stages))
        _check_stages(stages)
        return Step(label, stages)
    raise ValueError(f"cannot read a funnel step from {item!r}")


def parse_steps(steps: Any, *, minimum: int = 2) -> list[Step]:
    """Steps from stage names, ``{label: stages}`` groups, or a dict of ``label -> stages``."""
    if isinstance(steps, str):
        raise ValueError(f"steps must be a sequence of stages, got the single stage {steps!r}")
    items = [{k: v} for k, v in steps.items()] if isinstance(steps, Mapping) else list(steps)
    parsed = [_parse_step(item) for item in items]
    if len(parsed) < minimum:
        raise ValueError(f"a funnel needs at least {minimum} steps, got {len(parsed)}")
    seen: dict[str, str] = {}
    for step in parsed:
        for stage in step.stages:
            if stage in seen:
                raise ValueError(
                    f"stage {stage!r} appears in two steps ({seen[stage]!r} and {step.label!r})"
                )
            seen[stage] = step.label
    labels = [s.label for s in parsed]
    if len(set(labels)) != len(labels):
        raise ValueError(f"step labels must be distinct, got {labels}")
    return parsed


def _parse_windows(
    window: Any, n_steps: int, order: str
) -> tuple[pd.Timedelta, ...] | pd.Timedelta:
    if isinstance(window, (list, tuple)):
        if order == "any":
            raise ValueError("per-step windows need an order ('ordered' or 'strict'), not 'any'")
        if len(window) != n_steps - 1:
            raise ValueError(
                f"per-step windows: give one per transition ({n_steps - 1} for {n_steps} steps), "
                f"got {len(window)}"
            )
        return tuple(parse_duration(w, "window") for w in window)
    return parse_duration(window, "window")


# --------------------------------------------------------------------------------------------
# frames: wrap, hand pandas to Polars, join lead attributes


EVENT_COLUMNS = ("lead_id", "stage", "at")


def _wrap_inputs(events, leads, lead_cols):
    """Narwhals frames for events and leads (lazy API), plus the events frame as given."""
    like = from_native(events, "events", EVENT_COLUMNS)
    ld = None if leads is None else from_native(leads, "leads", ("lead_id", *lead_cols))
    handed = hand_off(
        {"events": events, "leads": leads},
        {"events": EVENT_COLUMNS, "leads": ("lead_id", *lead_cols)},
    )
    ev = lazy(nw.from_native(handed["events"]))
    if ld is not None:
        ld = lazy(nw.from_native(handed["leads"]))
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
            every = CALENDAR_PERIODS[derived[1]].every
            entry_exprs.append(nw.col("t0").dt.truncate(every).alias(name))
        else:
            every = CALENDAR_PERIODS[derived[1]].every
            lead_exprs.append(nw.col("created_at").dt.truncate(every).alias(name))
    out = per_lead
    if lead_exprs:
        out = out.join(ld.select(nw.col("lead_id"), *lead_exprs), on="lead_id", how="left")
    if entry_exprs:
        out = out.with_columns(*entry_exprs)
    return out


# --------------------------------------------------------------------------------------------
# per-lead step times


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
    frame = pd.DataFrame(cols)
    if not by:
        return frame.sum().to_frame().T.astype("int64")
    for c in by:
        frame[c] = hist[c].to_numpy()
    counts = frame.groupby(by, dropna=False, sort=False, as_index=False)[names].sum()
    return counts[[*by, *names]]


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
    like, ev, ld = _wrap_inputs(events, leads, _lead_columns(by, leads))
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


def _empty(by: list[str], columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in by} | {c: [] for c in columns})


# --------------------------------------------------------------------------------------------
# funnel_table


def funnel_table(
    events,
    steps=("contact", "lead", "prospect", "customer"),
    *,
    window="90D",
    order="ordered",
    by=None,
    leads=None,
    as_of=None,
    include_in_progress=False,
    alpha=0.05,
):
    """Conversion through ordered funnel steps, with censoring at ``as_of`` and Wilson intervals.

    A lead enters the funnel when it first reaches ``steps[0]``. It reaches step k when a stage
    of step k happens within the conversion window (and, in the ordered modes, at or after step
    k-1). A lead that has not reached step k while its window is still open at ``as_of`` is
    **in progress** at step k: it has not had its chance yet, and by default it is left out of
    the rates, so a recent lead is never counted as lost. ``include_in_progress=True`` gives
    the naive rates of most analytics tools, which count it as a failure.

    Parameters
    ----------
    events : dataframe
        The events table (``lead_id``, ``stage``, ``at``): pandas, Polars (eager or lazy),
        PyArrow, a DuckDB relation or a PySpark DataFrame.
    steps : sequence
        Stage names in funnel order. An item may be a group of stages that count as one step,
        written ``{"enrolled": ("customer", "rep")}`` or ``("enrolled", ["customer", "rep"])``.
        A dict ``{label: stage or stages}`` also works. At least two steps.
    window : duration or sequence of durations
        With a unit (``"90D"``, ``"12W"``, ``pd.Timedelta``). One duration counts from the
        lead's first step; a sequence gives one window per transition (``len(steps) - 1``
        values), each counted from the time the previous step was reached.
    order : {"ordered", "strict", "any"}
        "ordered": each step at or after the previous one. "strict": as ordered, and no other
        listed stage happens strictly between the previous step and this one. "any": the step
        counts when it and every earlier step happened within the window, in any order.
    by : str or list of str, optional
        Lead attributes joined from ``leads`` (``lead_type``, ``source``, ``owner_id``, any
        extra column), or an entry period: ``created_month`` (from ``leads.created_at``) or
        ``entry_month`` (from the first step), with day, week, quarter or year in place of month.
    leads : dataframe, optional
        The leads table, same kind as ``events``; needed when ``by`` names a lead attribute.
    as_of : timestamp-like, optional
        When the data was exported; later events are ignored. Default: the latest event.
    include_in_progress : bool
        False (default): rates use only leads whose window for the step has elapsed.
        True: naive rates, counting in-progress leads as not converted.
    alpha : float
        Intervals are at level ``1 - alpha``.

    Returns
    -------
    dataframe, the same kind as ``events``, one row per segment and step
        - the ``by`` columns (null for leads missing from ``leads``).
        - ``step``: the step's label; ``step_index``: 0, 1, ... in funnel order.
        - ``reached``: leads that reached the step (recent ones included).
        - ``in_progress``: leads that have not reached the step and whose window is still open
          (they may still get there). 0 at the first step; never decreases along the steps for a
          single window.
        - ``dropped``: leads that reached the previous step, not this one, and whose window
          has closed: the ones lost at this step. 0 at the first step.
        - ``conversion_from_start``: share of entrants that reached the step (the product of
          ``conversion_from_previous`` so far). 1 at the first step; NaN when no lead counts.
        - ``conversion_from_previous``: ``converted / eligible``. NaN at the first step and
          when ``eligible`` is 0.
        - ``ci_lower``, ``ci_upper``: Wilson interval of ``conversion_from_previous``
          (statsmodels ``proportion_confint``), NaN where it is NaN.
        - ``start_ci_lower``, ``start_ci_upper``: interval of ``conversion_from_start``
          (Wilson with a single window; Greenwood's log interval of the product with per-step
          windows). NaN at the first step.
        - ``eligible``: leads at the previous step counted in the rate (whose window has elapsed,
          unless ``include_in_progress``); at the first step, the entrants counted.
        - ``converted``: those of them that reached the step.

    Raises
    ------
    DataError
        Unknown stage names (the message lists the valid ones), missing columns.
    ValueError
        Fewer than two steps, a window without a unit, a bad ``order``.

    Examples
    --------
    Four leads exported on 2025-06-30: L1 reached customer, L2 stopped at prospect, L3 at lead
    (all three entered in January or February, so their 90 days are over) and L4 was contacted
    on 2025-06-20. L4 is in progress at every later step, so the censored rates use three
    leads: lead 3/3, prospect 2/3, customer 1/3 of the start. The naive rates would say 3/4,
    2/4 and 1/4, as if L4 had been lost.

    >>> t = funnel_table(data.events, as_of="2025-06-30")  # doctest: +SKIP
    >>> t[["step", "reached", "in_progress", "dropped", "conversion_from_start",
    ...    "conversion_from_previous"]]  # doctest: +SKIP
           step  reached  in_progress  dropped  conversion_from_start  conversion_from_previous
    0   contact        4            0        0               1.000000                       NaN
    1      lead        3            1        0               1.000000                  1.000000
    2  prospect        2            1        1               0.666667                  0.666667
    3  customer        1            1        1               0.333333                  0.500000
    """
    check_alpha(alpha)
    by_cols = _by_list(by)
    counts, like, steps, windows, _ = _step_counts(
        events,
        steps,
        window=window,
        order=order,
        by=by_cols,
        leads=leads,
        as_of=as_of,
        include_in_progress=include_in_progress,
    )
    table = _long_table(counts, steps, by_cols, windows, include_in_progress, alpha)
    return to_kind(table, like)


def _long_table(counts, steps, by, windows, include_in_progress, alpha) -> pd.DataFrame:
    if counts.empty:
        return _empty(by, TABLE_COLUMNS)

    counts = counts.sort_values(by, na_position="last") if by else counts
    n_seg, n_steps = len(counts), len(steps)
    get = {
        name: np.stack([counts[f"{name}_{k}"].to_numpy() for k in range(n_steps)], axis=1)
        for name in _COUNT_NAMES
    }
    eligible, converted = get["eligible"].astype(float), get["converted"].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        from_previous = np.where(
            eligible > 0, converted / np.where(eligible > 0, eligible, 1), np.nan
        )
    from_previous[:, 0] = np.nan
    lower, upper = wilson_interval(get["converted"], get["eligible"], alpha=alpha)
    lower[:, 0] = upper[:, 0] = np.nan

    single = not isinstance(windows, tuple) or include_in_progress
    start = np.ones((n_seg, n_steps))
    start_lo = np.full((n_seg, n_steps), np.nan)
    start_hi = np.full((n_seg, n_steps), np.nan)
    if single:
        # one window: every rate uses the same mature entrants, so the product telescopes to a
        # plain proportion of them
        base = np.repeat(eligible[:, :1], n_steps, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            start = np.where(base > 0, converted / np.where(base > 0, base, 1), np.nan)
        start[:, 0] = 1.0
        start_lo[:, 1:], start_hi[:, 1:] = wilson_interval(
            get["converted"][:, 1:],
            np.repeat(get["eligible"][:, :1], n_steps - 1, axis=1),
            alpha=alpha,
        )
    else:
        # per-step windows: each rate has its own mature leads, and the rate from the start is
        # the product of the conditional rates. Its interval is Wilson's at the effective sample
        # size that Greenwood's variance of the product implies (as for a Kaplan-Meier curve).
        var_log = np.zeros(n_seg)
        min_n = np.full(n_seg, np.inf)
        for k in range(1, n_steps):
            p, n = from_previous[:, k], eligible[:, k]
            prev = start[:, k - 1]
            start[:, k] = np.where(prev == 0, 0.0, prev * p)
            min_n = np.minimum(min_n, n)
            with np.errstate(divide="ignore", invalid="ignore"):
                var_log = var_log + np.where(p > 0, (1 - p) / (n * p), 0.0)
                s = start[:, k]
                n_eff = np.where(var_log > 0, (1 - s) / (s * var_log), min_n)
            ok = np.isfinite(s) & (s > 0) & np.isfinite(n_eff) & (n_eff > 0)
            lo = np.full(n_seg, np.nan)
            hi = np.full(n_seg, np.nan)
            lo[ok], hi[ok] = wilson_interval(s[ok] * n_eff[ok], n_eff[ok], alpha=alpha)
            # a step nobody passed: 0, bounded above by the step where the chain broke
            first_zero = (s == 0) & (prev > 0)
            if first_zero.any():
                _, zero_hi = wilson_interval(np.zeros(first_zero.sum()), n[first_zero], alpha=alpha)
                hi[first_zero] = (
                    np.fmin(1.0, start_hi[first_zero, k - 1] if k > 1 else 1.0) * zero_hi
                )
                lo[first_zero] = 0.0
            later_zero = (s == 0) & (prev == 0)
            lo[later_zero], hi[later_zero] = 0.0, start_hi[later_zero, k - 1]
            start_lo[:, k], start_hi[:, k] = lo, hi

    rows = {c: np.repeat(counts[c].to_numpy(), n_steps) for c in by}
    rows |= {
        "step": np.tile(np.array([s.label for s in steps], dtype=object), n_seg),
        "step_index": np.tile(np.arange(n_steps), n_seg),
        "reached": get["reached"].ravel(),
        "in_progress": get["in_progress"].ravel(),
        "dropped": get["dropped"].ravel(),
        "conversion_from_start": start.ravel(),
        "conversion_from_previous": from_previous.ravel(),
        "ci_lower": lower.ravel(),
        "ci_upper": upper.ravel(),
        "start_ci_lower": start_lo.ravel(),
        "start_ci_upper": start_hi.ravel(),
        "eligible": get["eligible"].ravel(),
        "converted": get["converted"].ravel(),
    }
    out = pd.DataFrame(rows)
    out["step"] = out["step"].astype("str")
    return out


# --------------------------------------------------------------------------------------------
# conversion_trend


def conversion_trend(
    events,
    steps,
    *,
    period="M",
    window="90D",
    leads=None,
    as_of=None,
    by=None,
    alpha=0.05,
):
    """Conversion from the first step, per entry period, with unfinished periods flagged.

    Leads are grouped by when they reached the first step (the entry period). A period is
    ``complete`` once the window of its last possible entrant has elapsed by ``as_of``; in an
    incomplete period the rate uses only the entrants whose window has elapsed (NaN when none
    has), so the last months are neither zero nor falsely low: they are marked unfinished.

    Parameters
    ----------
    events, steps, window, leads, as_of, alpha
        As in :func:`funnel_table` (one window, not per-step windows).
    period : {"D", "W", "M", "Q", "Y"}
        Length of an entry period (calendar weeks start on Monday).
    by : str or list of str, optional
        Lead attributes to break each period down by (needs ``leads``).

    Returns
    -------
    dataframe, the same kind as ``events``, one row per period (and segment) and step
        - ``period``: start of the entry period.
        - the ``by`` columns.
        - ``step``, ``step_index``.
        - ``entered``: leads that entered in the period.
        - ``reached``, ``in_progress``: as in :func:`funnel_table`.
        - ``eligible``: entrants whose window has elapsed (the base of the rate).
        - ``conversion``: ``reached`` among ``eligible`` entrants (the censored
          ``conversion_from_start``), NaN when ``eligible`` is 0.
        - ``ci_lower``, ``ci_upper``: its Wilson interval.
        - ``complete``: True when every entrant of the period has had its full window.
    """
    if isinstance(window, (list, tuple)):
        raise ValueError("conversion_trend takes one window, not per-step windows")
    calendar = check_period(period)
    check_alpha(alpha)
    by_cols = _by_list(by)
    entry = f"entry_{calendar.word}"
    counts, like, steps, windows, as_of_dt = _step_counts(
        events,
        steps,
        window=window,
        order="ordered",
        by=[entry, *by_cols],
        leads=leads,
        as_of=as_of,
        include_in_progress=False,
    )
    columns = TREND_COLUMNS
    if counts.empty:
        return to_kind(_empty(["period", *by_cols], columns), like)
    table = _long_table(counts, steps, [entry, *by_cols], windows, False, alpha)
    table = table.rename(columns={entry: "period"})
    table["period"] = pd.to_datetime(table["period"]).astype("datetime64[us]")
    n_steps = len(steps)
    entered = table.groupby(["period", *by_cols], dropna=False, sort=False)["reached"].transform(
        "first"
    )
    base = table.groupby(["period", *by_cols], dropna=False, sort=False)["eligible"].transform(
        "first"
    )
    period_end = table["period"] + calendar.length
    out = table[["period", *by_cols, "step", "step_index", "reached", "in_progress"]].copy()
    out.insert(len(by_cols) + 3, "entered", entered.to_numpy())
    out["eligible"] = base.to_numpy()
    out["conversion"] = table["conversion_from_start"].to_numpy()
    out["ci_lower"] = table["start_ci_lower"].to_numpy()
    out["ci_upper"] = table["start_ci_upper"].to_numpy()
    first = out["step_index"] == 0
    out.loc[first, ["ci_lower", "ci_upper"]] = np.nan
    out.loc[out["eligible"] == 0, "conversion"] = np.nan
    out["complete"] = (period_end + windows <= pd.Timestamp(as_of_dt)).to_numpy()
    out = out.sort_values(["period", *by_cols, "step_index"]).reset_index(drop=True)
    assert out["step_index"].max() < n_steps
    return to_kind(out, like)


# --------------------------------------------------------------------------------------------
# compare_segments


def compare_segments(
    events,
    by,
    a,
    b,
    *,
    steps=("contact", "lead", "prospect", "customer"),
    window="90D",
    leads=None,
    as_of=None,
    rate="from_previous",
    order="ordered",
    alpha=0.05,
):
    """Difference in conversion between segments ``a`` and ``b`` of ``by``, at each step.

    Both rates are censored as in :func:`funnel_table`. The interval of the difference is
    Newcombe's (built from Wilson intervals) and the p-value is the score test of equal rates,
    both from statsmodels through :func:`toolkit.rates.compare_proportions` (the test
    :func:`toolkit.compare_sources` uses too).

    Parameters
    ----------
    by : str
        The lead attribute (or entry period) that defines the segments, e.g. "lead_type".
    a, b : values of ``by``
        The two segments; the difference is ``a - b``.
    rate : {"from_previous", "from_start"}
        Compare step-by-step rates (where in the funnel they differ) or rates from the start.
    steps, window, leads, as_of, order, alpha
        As in :func:`funnel_table` (``rate="from_start"`` needs a single window).

    Returns
    -------
    dataframe, the same kind as ``events``, one row per step after the first
        - ``step``, ``step_index``.
        - ``converted_a``, ``eligible_a``, ``rate_a``; the same for ``b``.
        - ``difference``: ``rate_a - rate_b``.
        - ``ci_lower``, ``ci_upper``: its interval at level ``1 - alpha``.
        - ``p_value``: two-sided test of equal rates. NaN where a segment has no eligible lead.
    """
    if rate not in ("from_previous", "from_start"):
        raise ValueError(f"rate must be 'from_previous' or 'from_start', got {rate!r}")
    if rate == "from_start" and isinstance(window, (list, tuple)):
        raise ValueError("rate='from_start' compares plain proportions: give a single window")
    if not isinstance(by, str):
        raise ValueError(f"by must name one column, got {by!r}")
    check_alpha(alpha)
    counts, like, steps, windows, _ = _step_counts(
        events,
        steps,
        window=window,
        order=order,
        by=[by],
        leads=leads,
        as_of=as_of,
        include_in_progress=False,
    )
    rows = []
    segments = {}
    for name, value in (("a", a), ("b", b)):
        match = counts[counts[by] == value]
        if match.empty:
            known = sorted(map(str, counts[by].dropna().unique()))
            raise ValueError(f"no lead has {by} == {value!r}; values present: {known}")
        segments[name] = match.iloc[0]
    for k in range(1, len(steps)):
        row = {"step": steps[k].label, "step_index": k}
        for name, seg in segments.items():
            n = int(seg["eligible_0"] if rate == "from_start" else seg[f"eligible_{k}"])
            x = int(seg[f"converted_{k}"])
            row |= {
                f"converted_{name}": x,
                f"eligible_{name}": n,
                f"rate_{name}": x / n if n else np.nan,
            }
        test = compare_proportions(
            row["converted_a"],
            row["eligible_a"],
            row["converted_b"],
            row["eligible_b"],
            alpha=alpha,
        )
        row["difference"] = row["rate_a"] - row["rate_b"]
        lo, hi, p = test.ci_lower, test.ci_upper, test.p_value
        row |= {"ci_lower": float(lo), "ci_upper": float(hi), "p_value": float(p)}
        rows.append(row)
    return to_kind(pd.DataFrame(rows), like)


# --------------------------------------------------------------------------------------------
# time_to_convert


@dataclass
class TimeToConvert:
    """Kaplan-Meier estimate of the time from one step to another, per segment.

    Attributes
    ----------
    table : DataFrame
        ``by`` columns, ``days`` (0, then each day a conversion happened), ``converted_share``
        (estimated share converted by then, 1 - survival), ``ci_lower``, ``ci_upper``
        (pointwise, log-log transform as in lifelines) and ``at_risk`` (leads still waiting
        just before that time).
    summary : DataFrame
        Per segment: ``leads`` (that reached the first step), ``converted``, ``censored``,
        ``median_days`` with ``median_ci_lower`` and ``median_ci_upper`` (NaN when fewer than
        half ever convert within the follow-up), ``never_converts`` (the estimated share not
        converted at the end of the follow-up: the plateau, an estimate of the share that never
        converts once the follow-up is long compared with the times to convert), with
        ``never_ci_lower`` and ``never_ci_upper``, and ``followup_days`` (the longest).
    results_ : dict
        The statsmodels ``SurvfuncRight`` per segment (key: tuple of ``by`` values, or None).
    """

    from_step: str
    to_step: str
    by: list[str]
    alpha: float
    table: pd.DataFrame
    summary: pd.DataFrame
    results_: dict = field(repr=False, default_factory=dict)

    def _repr_html_(self) -> str:
        head = f"<p><b>Time to convert</b> from {self.from_step} to {self.to_step} (Kaplan-Meier, censored at as_of)</p>"
        return head + self.summary.to_html(index=False)


def time_to_convert(events, from_step, to_step, *, by=None, leads=None, as_of=None, alpha=0.05):
    """Time from one step to another, with leads that have not converted yet censored at ``as_of``.

    A lead starts the clock when it first reaches ``from_step`` and converts at the first
    ``to_step`` at or after that. A lead that has not converted by ``as_of`` is censored there:
    it counts as "not yet", never as "never". The estimate is Kaplan-Meier (statsmodels
    ``SurvfuncRight`` with Greenwood's variance). The engine reduces the events to counts per
    distinct duration; only those come back to Python.

    Parameters
    ----------
    events : dataframe
        The events table, any engine (the durations are computed by the engine).
    from_step, to_step : stage name or ``{label: stages}`` group
    by : str or list of str, optional
        Lead attributes (need ``leads``) or entry periods, as in :func:`funnel_table`.
    leads : dataframe, optional
    as_of : timestamp-like, optional
        Default: the latest event.
    alpha : float
        Intervals at level ``1 - alpha``.

    Returns
    -------
    TimeToConvert
        ``.table`` (the curve, tidy) and ``.summary`` (median days and never-converting share).
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    check_alpha(alpha)
    steps = parse_steps([from_step, to_step])
    by_cols = _by_list(by)
    _, ev, ld = _wrap_inputs(events, leads, _lead_columns(by_cols, leads))
    as_of_dt = resolve_as_of(as_of, ev, ["at"])
    ev = ev.filter(nw.col("at") <= as_of_dt)
    start = (
        ev.filter(nw.col("stage").is_in(list(steps[0].stages)))
        .group_by("lead_id")
        .agg(nw.col("at").min().alias("t0"))
    )
    end = (
        ev.filter(nw.col("stage").is_in(list(steps[1].stages)))
        .select("lead_id", "at")
        .join(start, on="lead_id")
        .filter(nw.col("at") >= nw.col("t0"))
        .group_by("lead_id")
        .agg(nw.col("at").min().alias("t1"))
    )
    per_lead = _attach_by(start.join(end, on="lead_id", how="left"), ld, by_cols)
    per_lead = per_lead.with_columns(
        nw.col("t1").fill_null(as_of_dt).alias("_t1"),
        (~nw.col("t1").is_null()).cast(nw.Int64).alias("_event"),
    )
    try:
        durations = per_lead.with_columns(
            (nw.col("_t1") - nw.col("t0")).dt.total_microseconds().alias("_us")
        )
        agg = durations.group_by(*by_cols, "_us", "_event").agg(nw.len().alias("_n"))
        counts = to_pandas(agg)
    except NotImplementedError:
        # PySpark cannot measure a duration through Narwhals: count per pair of timestamps
        # instead (few pairs when timestamps are whole days) and subtract here
        agg = per_lead.group_by(*by_cols, "t0", "_t1", "_event").agg(nw.len().alias("_n"))
        counts = to_pandas(agg)
        delta = pd.to_datetime(counts["_t1"]) - pd.to_datetime(counts["t0"])
        counts["_us"] = delta // pd.Timedelta(microseconds=1)
        counts = counts.groupby([*by_cols, "_us", "_event"], dropna=False, as_index=False)[
            "_n"
        ].sum()
    counts["_n"] = pd.to_numeric(counts["_n"]).astype("int64")
    counts["_event"] = pd.to_numeric(counts["_event"]).astype("int64")
    counts["days"] = pd.to_numeric(counts["_us"]).astype("float64") / 86_400e6

    groups = counts.groupby(by_cols, dropna=False, sort=True) if by_cols else [(None, counts)]
    tables, summaries, results = [], [], {}
    z = z_value(alpha)
    for key, part in groups:
        key_t = None if key is None else (key if isinstance(key, tuple) else (key,))
        part = part.sort_values("days")
        # one row per lead again: with freq_weights statsmodels switches from Greenwood's
        # variance to Tsiatis', and Greenwood's is the one every reference uses
        repeat = part["_n"].to_numpy()
        sf = SurvfuncRight(
            np.repeat(part["days"].to_numpy(), repeat), np.repeat(part["_event"].to_numpy(), repeat)
        )
        results[key_t] = sf
        times = np.asarray(sf.surv_times, dtype=float)
        surv = np.asarray(sf.surv_prob, dtype=float)
        se = np.asarray(sf.surv_prob_se, dtype=float)
        s_lo, s_hi = _loglog_interval(surv, se, z)
        n_total = int(part["_n"].sum())
        n_conv = int(part.loc[part["_event"] == 1, "_n"].sum())
        curve = pd.DataFrame(
            {
                "days": np.concatenate([[0.0], times]),
                "converted_share": np.concatenate([[0.0], 1 - surv]),
                "ci_lower": np.concatenate([[0.0], 1 - s_hi]),
                "ci_upper": np.concatenate([[0.0], 1 - s_lo]),
                "at_risk": np.concatenate([[n_total], np.asarray(sf.n_risk, dtype=float)]).astype(
                    "int64"
                ),
            }
        )
        median = lo_m = hi_m = np.nan
        if n_conv:
            median = float(sf.quantile(0.5))
            # statsmodels takes log(-log S) over the whole curve: S = 0 at its end is expected
            with np.errstate(divide="ignore", invalid="ignore"):
                lo_m, hi_m = sf.quantile_ci(0.5, alpha=alpha, method="cloglog")
        last = (surv[-1], s_lo[-1], s_hi[-1]) if len(surv) else (1.0, np.nan, np.nan)
        summary = {
            "leads": n_total,
            "converted": n_conv,
            "censored": n_total - n_conv,
            "median_days": median,
            "median_ci_lower": _finite(lo_m),
            "median_ci_upper": _finite(hi_m),
            "never_converts": float(last[0]),
            "never_ci_lower": float(last[1]),
            "never_ci_upper": float(last[2]),
            "followup_days": float(part["days"].max()),
        }
        for i, col in enumerate(by_cols):
            curve.insert(i, col, key_t[i])
        if by_cols:
            summary = {c: key_t[i] for i, c in enumerate(by_cols)} | summary
        tables.append(curve)
        summaries.append(summary)
    cols = [*by_cols, "days", "converted_share", "ci_lower", "ci_upper", "at_risk"]
    table = (
        pd.concat(tables, ignore_index=True) if tables else _empty(by_cols, cols[len(by_cols) :])
    )
    summary = pd.DataFrame(summaries) if summaries else pd.DataFrame(columns=[*by_cols, "leads"])
    return TimeToConvert(steps[0].label, steps[1].label, by_cols, alpha, table, summary, results)


def _finite(x) -> float:
    x = float(x)
    return x if np.isfinite(x) else np.nan


def _loglog_interval(surv: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval of a survival curve on the log(-log) scale (lifelines' default),
    from the Greenwood standard errors statsmodels gives; stays inside [0, 1]."""
    lower, upper = surv.copy(), surv.copy()
    inside = (surv > 0) & (surv < 1)
    s = surv[inside]
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(-np.log(s))
        se_v = se[inside] / (s * np.abs(np.log(s)))
    lower[inside] = np.exp(-np.exp(v + z * se_v))
    upper[inside] = np.exp(-np.exp(v - z * se_v))
    return lower, upper
