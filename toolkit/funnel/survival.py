"""Time to convert: Kaplan-Meier from one step to another, leads that have not converted yet
censored at ``as_of`` (:class:`TimeToConvert`, :func:`time_to_convert`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit import fastpath
from toolkit.censoring import (
    resolve_as_of,
)
from toolkit.frames import to_pandas
from toolkit.funnel import _fast
from toolkit.funnel._plan import (
    _attach_by,
    _by_list,
    _derived,
    _empty,
    _lead_columns,
    _numpy_step_times,
    _wrap_inputs,
)
from toolkit.funnel.steps import check_stages_present, parse_steps
from toolkit.rates import check_alpha, z_value
from toolkit.schema import NOT_SHOWN


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
        return head + self.summary.to_html(index=False, na_rep=NOT_SHOWN)


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
    counts = _numpy_durations(events, leads, steps, by_cols, as_of)
    if counts is None:
        counts = _engine_durations(events, leads, steps, by_cols, as_of)
    counts["_n"] = pd.to_numeric(counts["_n"]).astype("int64")
    counts["_event"] = pd.to_numeric(counts["_event"]).astype("int64")
    counts["days"] = pd.to_numeric(counts["_us"]).astype("float64") / 86_400e6

    tables, summaries, results = [], [], {}
    z = z_value(alpha)
    days_all = counts["days"].to_numpy()
    event_all = counts["_event"].to_numpy()
    n_all = counts["_n"].to_numpy()
    for key_t, rows in _segment_rows(counts, by_cols):
        rows = rows[np.argsort(days_all[rows], kind="stable")]
        days, event, repeat = days_all[rows], event_all[rows], n_all[rows]
        # one row per lead again: with freq_weights statsmodels switches from Greenwood's
        # variance to Tsiatis', and Greenwood's is the one every reference uses
        sf = SurvfuncRight(np.repeat(days, repeat), np.repeat(event, repeat))
        results[key_t] = sf
        times = np.asarray(sf.surv_times, dtype=float)
        surv = np.asarray(sf.surv_prob, dtype=float)
        se = np.asarray(sf.surv_prob_se, dtype=float)
        s_lo, s_hi = _loglog_interval(surv, se, z)
        n_total = int(repeat.sum())
        n_conv = int(repeat[event == 1].sum())
        # the by columns first, each one value (as DataFrame.insert of the key would give)
        curve = {col: key_t[i] for i, col in enumerate(by_cols)} | {
            "days": np.concatenate([[0.0], times]),
            "converted_share": np.concatenate([[0.0], 1 - surv]),
            "ci_lower": np.concatenate([[0.0], 1 - s_hi]),
            "ci_upper": np.concatenate([[0.0], 1 - s_lo]),
            "at_risk": np.concatenate([[n_total], np.asarray(sf.n_risk, dtype=float)]).astype(
                "int64"
            ),
        }
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
            "followup_days": float(days.max()),
        }
        if by_cols:
            summary = {c: key_t[i] for i, c in enumerate(by_cols)} | summary
        tables.append(pd.DataFrame(curve))
        summaries.append(summary)
    cols = [*by_cols, "days", "converted_share", "ci_lower", "ci_upper", "at_risk"]
    table = (
        pd.concat(tables, ignore_index=True) if tables else _empty(by_cols, cols[len(by_cols) :])
    )
    summary = pd.DataFrame(summaries) if summaries else pd.DataFrame(columns=[*by_cols, "leads"])
    return TimeToConvert(steps[0].label, steps[1].label, by_cols, alpha, table, summary, results)


def _numpy_durations(events, leads, steps, by_cols, as_of):
    """Counts per segment, duration and outcome by the numpy route (:mod:`toolkit.fastpath`);
    None when it does not serve these inputs."""
    prepared = _numpy_step_times(events, leads, steps, None, by_cols, as_of)
    if prepared is None:
        return None
    st = prepared[1]
    return _fast.duration_counts(st, leads, by_cols, _derived)


def _engine_durations(events, leads, steps, by_cols, as_of):
    """Counts per segment, duration (``_us``) and outcome (``_event``): ``_n`` leads, computed
    by the input's engine."""
    _, ev, ld = _wrap_inputs(events, leads, _lead_columns(by_cols, leads))
    check_stages_present(steps, ev)
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
    return counts


def _segment_rows(counts: pd.DataFrame, by_cols: list[str]):
    """(key, row positions) per segment of ``counts``, in ``groupby(sort=True)`` order: by the
    values of ``by_cols``, missing values last; one (None, all rows) without ``by_cols``."""
    if not by_cols:
        return [(None, np.arange(len(counts)))]
    which, keys = fastpath.group([counts[c] for c in by_cols])
    keys = keys.sort_values(by_cols, na_position="last", kind="stable")
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(len(keys) + 1))
    return [
        (tuple(keys[c].iloc[i] for c in by_cols), order[bounds[g] : bounds[g + 1]])
        for i, g in enumerate(keys.index)
    ]


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
