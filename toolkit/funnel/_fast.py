"""The funnel's counts on plain pandas tables by the numpy route (:mod:`toolkit.fastpath`).

``_plan._step_counts`` and ``survival.time_to_convert`` come here first; None sends them the
engine route. Each function gives what its engine counterpart in ``_plan`` gives (the same
rows in some order, the same numbers and column types).
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit import fastpath
from toolkit.censoring import CALENDAR_PERIODS
from toolkit.fastpath import NOT_REACHED, StepTimes


def lead_code(st: StepTimes, windows) -> np.ndarray:
    """``_plan._lead_code`` per entrant: bit k for step k reached, bit ``n + k`` for its window
    elapsed by ``as_of``."""
    n_steps = len(st.times)
    as_of_us = fastpath.us_of(st.as_of)
    code = np.zeros(len(st.lead_id), np.int64)
    for k in range(n_steps):
        code |= st.reached(k).astype(np.int64) << k
    if isinstance(windows, tuple):
        code |= 1 << n_steps  # the first step's window: always elapsed
        for k in range(1, n_steps):
            limit = fastpath.from_us(as_of_us - fastpath.us_span(windows[k - 1]), st.unit)
            prev = st.times[k - 1]
            mature = (prev != NOT_REACHED) & (prev <= limit)
            code |= mature.astype(np.int64) << (n_steps + k)
    else:
        limit = fastpath.from_us(as_of_us - fastpath.us_span(windows), st.unit)
        mature = (st.times[0] <= limit).astype(np.int64)
        for k in range(n_steps):
            code |= mature << (n_steps + k)
    return code


def needs_leads(by: list[str], leads, derived) -> bool:
    """True when a ``by`` column comes from the leads table (joined on ``lead_id``)."""
    if leads is None:
        return False
    return any(name in leads.columns or (derived(name) or ("",))[0] == "created_at" for name in by)


def segments(st: StepTimes, leads, by: list[str], derived):
    """Each entrant's segment (an index into the table) and the table of segments (the ``by``
    columns, one row per segment present), as ``_plan._attach_by`` gives them: a lead missing
    from ``leads`` has missing values. None when ``leads`` lists a lead twice (the engine's
    join then counts it twice: the engine route does that)."""
    if not by:
        return np.zeros(len(st.lead_id), np.int64), pd.DataFrame(index=range(1))
    rows = None
    if st.leads_codes is not None:
        listed = st.leads_codes >= 0
        if np.bincount(st.leads_codes[listed], minlength=st.n_codes).max(initial=0) > 1:
            return None
        row_of = np.full(st.n_codes, -1, np.int64)
        row_of[st.leads_codes[listed]] = np.flatnonzero(listed)
        rows = row_of[st.code]
    lead_cols, entry_cols = [], []
    for name in by:
        kind = derived(name)
        if leads is not None and name in leads.columns:
            lead_cols.append(leads[name])
        elif kind and kind[0] == "entry":
            every = CALENDAR_PERIODS[kind[1]].every
            t0 = pd.DataFrame({name: st.times[0].view(f"datetime64[{st.unit}]")})
            entry_cols.append(_truncated(t0, name, every))
        else:
            every = CALENDAR_PERIODS[kind[1]].every
            lead_cols.append(_truncated(leads[["created_at"]], "created_at", every).rename(name))
    if lead_cols and entry_cols:
        # lead columns are per leads row, entry periods per entrant: group the first, then both
        lead_group, lead_table = fastpath.group(lead_cols, rows)
        which, table = fastpath.group([pd.Series(lead_group, name="_lead"), *entry_cols])
        first = lead_table.take(table["_lead"].to_numpy()).reset_index(drop=True)
        table = pd.concat([first, table.drop(columns="_lead")], axis=1)
    elif lead_cols:
        which, table = fastpath.group(lead_cols, rows)
    else:
        which, table = fastpath.group(entry_cols)
    return which, table[list(by)]


def _truncated(frame: pd.DataFrame, col: str, every: str) -> pd.Series:
    """``col`` truncated to calendar periods by Narwhals, as the engine route truncates it."""
    out = nw.from_native(frame).select(nw.col(col).dt.truncate(every)).to_native()
    return out[col]


def histogram(st: StepTimes, code: np.ndarray, leads, by: list[str], derived):
    """``_plan._histogram``: leads per segment and code (the ``by`` columns, ``_code``, ``_n``);
    None for the engine route (see :func:`segments`)."""
    found = segments(st, leads, by, derived)
    if found is None:
        return None
    which, table = found
    width = 1 << (2 * len(st.times))
    keys, counts = np.unique(which * width + code, return_counts=True)
    seg, lead_code_ = np.divmod(keys, width)
    frame = table.take(seg).reset_index(drop=True) if by else pd.DataFrame(index=range(len(keys)))
    frame["_code"] = lead_code_
    frame["_n"] = counts.astype(np.int64)
    return frame


def duration_counts(st: StepTimes, leads, by: list[str], derived):
    """``time_to_convert``'s counts per segment, duration and outcome: the ``by`` columns,
    ``_us`` (microseconds from the first step to the second, or to ``as_of`` when not
    converted), ``_event`` (1 converted, 0 censored) and ``_n``; None for the engine route.

    Durations are exact integers (the engine's pandas route goes through float seconds and
    can be a microsecond short: 1e-11 days)."""
    found = segments(st, leads, by, derived)
    if found is None:
        return None
    which, table = found
    t0, t1 = st.times
    converted = t1 != NOT_REACHED
    as_of_us = fastpath.us_of(st.as_of)
    if st.unit == "ns":
        us = (np.where(converted, t1, as_of_us * 1000) - t0) // 1000
    else:
        per = {"s": 10**6, "ms": 10**3, "us": 1}[st.unit]
        us = np.where(converted, t1 * per, as_of_us) - t0 * per
    flag = converted.astype(np.int64)
    if len(us) and us.min() >= 0 and int(us.max()) < 1 << 52 and len(table) < 1 << 10:
        # one sort of (segment, duration, outcome) packed in one integer
        keys, n = np.unique((which << 53) | (us << 1) | flag, return_counts=True)
        seg, us_, event = keys >> 53, (keys >> 1) & ((1 << 52) - 1), keys & 1
    else:
        frame = pd.DataFrame({"_seg": which, "_us": us, "_event": flag})
        sizes = frame.groupby(["_seg", "_us", "_event"], sort=False).size()
        seg, us_, event = (sizes.index.get_level_values(c).to_numpy() for c in sizes.index.names)
        n = sizes.to_numpy()
    out = table.take(seg).reset_index(drop=True) if by else pd.DataFrame(index=range(len(n)))
    out["_us"] = np.asarray(us_, np.int64)
    out["_event"] = np.asarray(event, np.int64)
    out["_n"] = np.asarray(n, np.int64)
    return out
