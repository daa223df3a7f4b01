"""Funnels: hand-checked numbers on the four tiny leads, the same numbers on every engine, the
traps (recent leads counted as lost, repeated stages, late conversions), reference values, and
property tests against a brute-force per-lead implementation."""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import toolkit
from tests.support import REFERENCE, to_engine, to_pandas
from toolkit import funnel as F
from toolkit.funnel import _plan

AS_OF = pd.Timestamp("2025-06-30")
STEPS4 = ("contact", "lead", "prospect", "customer")


def table(events, **kw):
    kw.setdefault("as_of", AS_OF)
    return to_pandas(toolkit.funnel_table(events, **kw))


def col(frame, name):
    return frame[name].tolist()


# --------------------------------------------------------------------------------------------
# hand-checked on the tiny fixture


def test_tiny_censored_rates_by_hand(tiny, engine):
    t = table(to_engine(tiny.events, engine))
    assert col(t, "step") == list(STEPS4)
    assert col(t, "step_index") == [0, 1, 2, 3]
    assert col(t, "reached") == [4, 3, 2, 1]
    # L4 (contacted 10 days before as_of) is in progress at every later step, never lost
    assert col(t, "in_progress") == [0, 1, 1, 1]
    assert col(t, "dropped") == [0, 0, 1, 1]  # L3 lost at prospect, L2 at customer
    # rates over the three leads whose 90 days are over: 3/3, 2/3, 1/3 of the start
    assert col(t, "eligible") == [3, 3, 3, 2]
    assert col(t, "converted") == [3, 3, 2, 1]
    assert t["conversion_from_start"].tolist() == pytest.approx([1, 1, 2 / 3, 1 / 3])
    assert t["conversion_from_previous"].tolist()[1:] == pytest.approx([1, 2 / 3, 1 / 2])
    assert np.isnan(t["conversion_from_previous"].iloc[0])
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert t["ci_lower"].iloc[2] == pytest.approx(lo) and t["ci_upper"].iloc[2] == pytest.approx(hi)
    lo, hi = proportion_confint(1, 3, alpha=0.05, method="wilson")  # 1 customer of 3 entrants
    assert t["start_ci_lower"].iloc[3] == pytest.approx(lo)
    assert t["start_ci_upper"].iloc[3] == pytest.approx(hi)


def test_tiny_naive_rates_count_the_recent_lead_as_lost(tiny):
    # the error of most funnel tools, on request: L4 counts as a failure
    t = table(tiny.events, include_in_progress=True)
    assert t["conversion_from_start"].tolist() == pytest.approx([1, 0.75, 0.5, 0.25])
    assert t["conversion_from_previous"].tolist()[1:] == pytest.approx([0.75, 2 / 3, 0.5])
    assert col(t, "eligible") == [4, 4, 3, 2]


def test_tiny_by_lead_type_with_leads(tiny, engine):
    t = table(to_engine(tiny.events, engine), by="lead_type", leads=to_engine(tiny.leads, engine))
    assert list(t.columns[:3]) == ["lead_type", "step", "step_index"]
    generic = t[t["lead_type"] == "generic"]
    assert col(generic, "reached") == [2, 1, 1, 0]  # L2 and the recent L4
    assert col(generic, "in_progress") == [0, 1, 1, 1]
    assert col(generic, "dropped") == [0, 0, 0, 1]
    unq = t[t["lead_type"] == "unqualified"]
    # after the chain broke nobody is eligible: NaN, not 0
    assert np.isnan(unq["conversion_from_previous"].iloc[3])
    assert unq["conversion_from_start"].iloc[3] == 0


@pytest.mark.parametrize("by", ["created_month", "entry_month"])
def test_entry_periods(tiny, engine, by):
    leads = to_engine(tiny.leads, engine) if by.startswith("created") else None
    t = table(to_engine(tiny.events, engine), by=by, leads=leads)
    first = t[t["step_index"] == 0]
    months = pd.to_datetime(first[by]).dt.strftime("%Y-%m").tolist()
    assert months == ["2025-01", "2025-02", "2025-06"]
    assert col(first, "reached") == [2, 1, 1]


def _by_week(frame: pd.DataFrame, day: str, week: str, keys, counts) -> pd.DataFrame:
    """A table by day summed into weeks from Monday (the pandas reference for weekly tables)."""
    out = frame.assign(**{week: pd.to_datetime(frame[day]).dt.to_period("W-SUN").dt.start_time})
    return out.groupby([week, *keys], as_index=False)[counts].sum()


@pytest.mark.parametrize("kind", ["created", "entry"])
def test_weekly_funnel_on_every_engine_equals_the_pandas_weeks(small_world, engine, kind):
    # trap (issues 12/13): by="entry_week" raised "Invalid every string: 1w" on every engine
    data = small_world
    kw = dict(steps=STEPS4[:3], as_of=data.as_of)
    daily = table(data.events, by=f"{kind}_day", leads=data.leads, **kw)
    ref = _by_week(daily, f"{kind}_day", f"{kind}_week", ["step_index"], ["reached"])
    got = table(
        to_engine(data.events, engine),
        by=f"{kind}_week",
        leads=to_engine(data.leads, engine),
        **kw,
    )
    got[f"{kind}_week"] = pd.to_datetime(got[f"{kind}_week"]).dt.tz_localize(None)
    got = got.sort_values([f"{kind}_week", "step_index"]).reset_index(drop=True)
    assert pd.to_datetime(got[f"{kind}_week"]).dt.day_of_week.eq(0).all()  # every week a Monday
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_dtype=False)


def test_result_is_the_same_kind_and_lazy_stays_lazy(tiny, engine):
    out = toolkit.funnel_table(to_engine(tiny.events, engine), as_of=AS_OF)
    assert type(out) is type(to_engine(tiny.events, engine))


def test_engines_agree_on_the_sample(sample, engine):
    kw = dict(steps=STEPS4, by="lead_type", as_of=sample.as_of)
    ref = table(sample.events, leads=sample.leads, **kw)
    got = table(to_engine(sample.events, engine), leads=to_engine(sample.leads, engine), **kw)
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)


def test_pandas_handoff_to_polars_gives_the_same_table(sample, monkeypatch):
    kw = dict(steps=STEPS4, by="lead_type", leads=sample.leads, as_of=sample.as_of)
    slow = table(sample.events, **kw)
    monkeypatch.setattr(toolkit.frames, "HANDOFF_ROWS", 0)
    fast = toolkit.funnel_table(sample.events, **kw)
    assert isinstance(fast, pd.DataFrame)  # pandas in, pandas out
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)


def _with_repeats(events: pd.DataFrame) -> pd.DataFrame:
    """The sample's events plus repeated stages (a second contact and lead for some leads, a
    lead before the contact for others): leads that take the join route."""
    ev = events.sort_values(["lead_id", "at"]).reset_index(drop=True)
    some = ev[ev.index % 7 == 0].copy()
    some["at"] = some["at"] + pd.Timedelta(days=3)
    early = ev[(ev["stage"] == "lead") & (ev.index % 5 == 0)].copy()
    early["at"] = early["at"] - pd.Timedelta(days=400)
    return pd.concat([ev, some, early], ignore_index=True)


@pytest.mark.parametrize(
    "kw",
    [
        dict(by=["lead_type", "entry_month"]),
        dict(order="any", by="source"),
        dict(order="strict"),
        dict(window=["30D", "60D", "90D"], by="lead_type"),
        dict(include_in_progress=True, by="created_quarter"),
    ],
)
def test_slices_of_leads_give_the_same_table(sample, monkeypatch, kw):
    # big pandas inputs handed to Polars run in slices of leads (memory); the trap is a lead or
    # a segment split across slices, or a repeated-step lead counted in the wrong slice
    import polars as pl

    events = _with_repeats(sample.events)
    kw = dict(steps=STEPS4, leads=sample.leads, as_of=sample.as_of) | kw
    whole = table(events, **kw)  # pandas, small: no hand-off, no slices
    monkeypatch.setattr(_plan, "SLICE_FROM", 1)
    monkeypatch.setattr(_plan, "SLICE_EVENTS", 4_000)
    ev_pl, ld_pl = pl.from_pandas(events), pl.from_pandas(sample.leads)
    wrapped = _plan._wrap_inputs(ev_pl, ld_pl, ["lead_type"])
    assert len(_plan._slices(wrapped[1], wrapped[2])) == -(-len(events) // 4_000)
    sliced = table(ev_pl, **kw | {"leads": ld_pl})
    pd.testing.assert_frame_equal(sliced, whole, check_dtype=False)
    monkeypatch.setattr(
        toolkit.frames, "HANDOFF_ROWS", 0
    )  # pandas handed to Polars (stage as codes)
    handed = toolkit.funnel_table(events, **kw)
    pd.testing.assert_frame_equal(handed, whole, check_dtype=False)


def test_a_lazy_query_is_not_sliced(sample, monkeypatch):
    # each slice reads its input again: only frames already in memory are cut
    import polars as pl

    monkeypatch.setattr(_plan, "SLICE_FROM", 1)
    monkeypatch.setattr(_plan, "SLICE_EVENTS", 4_000)
    lazy = pl.from_pandas(sample.events).lazy()
    assert len(_plan._slices(toolkit.frames.lazy(nw.from_native(lazy)), None)) > 1
    query = lazy.filter(pl.col("stage") != "leader")
    assert len(_plan._slices(toolkit.frames.lazy(nw.from_native(query)), None)) == 1
    # ids of another type hash differently: not cut
    ld = pl.from_pandas(sample.leads).with_columns(pl.col("lead_id").cast(pl.Categorical)).lazy()
    assert len(_plan._slices(toolkit.frames.lazy(nw.from_native(lazy)), nw.from_native(ld))) == 1


@pytest.mark.spark
def test_pyspark_local_mode(spark, tiny):
    events = spark.createDataFrame(tiny.events)
    leads = spark.createDataFrame(tiny.leads)
    out = toolkit.funnel_table(events, by="lead_type", leads=leads, as_of=AS_OF)
    assert type(out).__name__ == "DataFrame" and hasattr(out, "toPandas")
    got = to_pandas(out).sort_values(["lead_type", "step_index"]).reset_index(drop=True)
    ref = table(tiny.events, by="lead_type", leads=tiny.leads)
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)
    km = toolkit.time_to_convert(events, "contact", "prospect", as_of=AS_OF)
    assert km.table["converted_share"].tolist() == pytest.approx([0, 0.25, 0.625])
    # a repeated stage takes the join route, which reads the checkpointed per-lead counts;
    # no as_of: the latest event (Spark refuses greatest() of one column)
    ev = _events(
        [
            ("A", "lead", "2025-01-01"),
            ("A", "contact", "2025-01-02"),
            ("A", "lead", "2025-01-05"),
            ("A", "prospect", "2025-01-06"),
            ("B", "contact", "2025-01-02"),
        ]
    )
    t = to_pandas(toolkit.funnel_table(spark.createDataFrame(ev), ["contact", "lead", "prospect"]))
    assert col(t, "reached") == [2, 1, 1]


# --------------------------------------------------------------------------------------------
# traps


def _events(rows):
    return pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "stage": [r[1] for r in rows],
            "at": pd.to_datetime([r[2] for r in rows]).astype("datetime64[us]"),
        }
    )


def test_a_repeated_stage_before_the_previous_step_does_not_hide_a_later_one(engine):
    # trap: first-time-per-stage pivots (the usual recipe) see 'lead' on Jan 1, before the
    # 'contact' of Jan 2, and call the lead lost; the lead of Jan 10 is a real conversion
    ev = _events(
        [
            ("A", "lead", "2025-01-01"),
            ("A", "contact", "2025-01-02"),
            ("A", "lead", "2025-01-05"),
            ("A", "lead", "2025-01-10"),
            ("A", "prospect", "2025-01-06"),
            ("B", "contact", "2025-01-02"),
            ("B", "lead", "2025-01-02"),  # same moment as the previous step: counts (at or after)
        ]
    )
    t = table(to_engine(ev, engine), steps=["contact", "lead", "prospect"])
    assert col(t, "reached") == [2, 2, 1]  # A: lead on Jan 5, prospect on Jan 6


def test_conversions_after_the_window_do_not_count(tiny):
    # L2's prospect came 27 days after its contact: inside 30 days, outside 20
    assert col(table(tiny.events, window="30D"), "reached") == [4, 3, 2, 1]
    assert col(table(tiny.events, window="20D"), "reached") == [4, 3, 1, 1]


def test_per_step_windows(tiny):
    # lead -> prospect took 26 days for L2 (Jan 6 to Feb 1) and 7 for L1: a 20-day window for
    # that transition loses L2 there; each window counts from the previous step
    t = table(tiny.events, window=["30D", "20D", "30D"])
    assert col(t, "reached") == [4, 3, 1, 1]
    assert col(t, "dropped") == [0, 0, 2, 0]
    assert t["conversion_from_previous"].tolist()[1:] == pytest.approx([1, 1 / 3, 1])
    assert t["conversion_from_start"].tolist() == pytest.approx([1, 1, 1 / 3, 1 / 3])


def test_order_modes(engine):
    ev = _events(
        [
            ("A", "contact", "2025-01-01"),
            ("A", "prospect", "2025-01-02"),  # before 'lead': breaks strict, not ordered
            ("A", "lead", "2025-01-03"),
            ("A", "customer", "2025-01-04"),
            ("B", "contact", "2025-01-01"),
            ("B", "customer", "2025-01-02"),  # customer before lead and prospect
            ("B", "lead", "2025-01-03"),
            ("B", "prospect", "2025-01-04"),
        ]
    )
    ev = to_engine(ev, engine)
    reached = {o: col(table(ev, order=o), "reached") for o in F.ORDERS}
    # ordered: A's only prospect came before its lead; B's only customer before its prospect
    assert reached["ordered"] == [2, 2, 1, 0]
    # strict: another listed stage sits between contact and lead for both
    assert reached["strict"] == [2, 0, 0, 0]
    # any: all four stages within the window, whatever the order
    assert reached["any"] == [2, 2, 2, 2]


def test_step_groups(tiny):
    steps = ["contact", "prospect", {"enrolled": ("customer", "rep")}]
    t = table(tiny.events, steps=steps)
    assert col(t, "step") == ["contact", "prospect", "enrolled"]
    assert col(t, "reached") == [4, 2, 1]
    same = table(tiny.events, steps=["contact", "prospect", ("enrolled", ["customer", "rep"])])
    pd.testing.assert_frame_equal(t, same)


def test_an_earlier_as_of_ignores_later_events(tiny):
    # exported on Jan 15: L1 reached prospect on Jan 10, L2 only lead; both are in progress
    t = table(tiny.events, as_of="2025-01-15")
    assert col(t, "reached") == [2, 2, 1, 0]
    assert col(t, "in_progress") == [0, 0, 1, 2]
    assert col(t, "dropped") == [0, 0, 0, 0]
    assert np.isnan(t["conversion_from_previous"].iloc[1])  # nobody has had the full 90 days


# --------------------------------------------------------------------------------------------
# bad input


def test_unknown_stage_lists_the_stages_present(tiny):
    present = ", ".join(sorted(tiny.events["stage"].unique()))
    with pytest.raises(toolkit.DataError, match=f"'signup'.*stages present: {present}"):
        toolkit.funnel_table(tiny.events, ["contact", "signup"])


@pytest.mark.parametrize("window", ["90", 90, 90.0, "ninety"])
def test_window_without_a_unit(tiny, window):
    with pytest.raises(ValueError, match="unit|duration"):
        toolkit.funnel_table(tiny.events, window=window)


def test_bad_arguments(tiny):
    with pytest.raises(ValueError, match="at least 2 steps"):
        toolkit.funnel_table(tiny.events, ["contact"])
    with pytest.raises(ValueError, match="order must be"):
        toolkit.funnel_table(tiny.events, order="sorted")
    with pytest.raises(ValueError, match="one per transition"):
        toolkit.funnel_table(tiny.events, window=["30D"])
    with pytest.raises(ValueError, match="pass the leads table"):
        toolkit.funnel_table(tiny.events, by="lead_type")
    with pytest.raises(toolkit.DataError, match="no column 'colour'"):
        toolkit.funnel_table(tiny.events, by="colour", leads=tiny.leads)
    with pytest.raises(toolkit.DataError, match="events: missing required column"):
        toolkit.funnel_table(tiny.events.drop(columns="at"))
    with pytest.raises(ValueError, match="two steps"):
        toolkit.funnel_table(tiny.events, ["contact", "lead", {"again": "lead"}])


def test_empty_events_give_an_empty_table_with_the_columns(tiny, engine):
    empty = tiny.events.iloc[:0]
    t = table(to_engine(empty, engine))
    assert len(t) == 0
    assert list(t.columns) == list(F.TABLE_COLUMNS)
    t = table(to_engine(empty, "pandas"), by="lead_type", leads=tiny.leads)
    assert list(t.columns) == ["lead_type", *F.TABLE_COLUMNS]


def test_inputs_are_never_mutated(tiny):
    before = (tiny.events.copy(), tiny.leads.copy())
    toolkit.funnel_table(tiny.events, by="lead_type", leads=tiny.leads, as_of=AS_OF)
    toolkit.time_to_convert(tiny.events, "contact", "customer", by="lead_type", leads=tiny.leads)
    toolkit.conversion_trend(tiny.events, STEPS4, leads=tiny.leads, as_of=AS_OF)
    pd.testing.assert_frame_equal(tiny.events, before[0])
    pd.testing.assert_frame_equal(tiny.leads, before[1])


# --------------------------------------------------------------------------------------------
# property tests against a brute-force per-lead walk


def brute_force(ev: pd.DataFrame, steps, window: pd.Timedelta, as_of: pd.Timestamp, naive: bool):
    """Each lead walked in Python: earliest event of each step at or after the previous one."""
    ev = ev[ev["at"] <= as_of]
    k_steps = len(steps)
    sums = {
        n: [0] * k_steps for n in ("reached", "in_progress", "dropped", "eligible", "converted")
    }
    for _, g in ev.groupby("lead_id"):
        firsts = g.loc[g["stage"] == steps[0], "at"]
        if firsts.empty:
            continue
        t0 = firsts.min()
        times = [t0]
        for s in steps[1:]:
            prev = times[-1]
            cand = (
                g.loc[
                    (g["stage"] == s)
                    & (g["at"] >= prev if prev is not None else False)
                    & (g["at"] <= t0 + window),
                    "at",
                ]
                if prev is not None
                else []
            )
            times.append(cand.min() if len(cand) else None)
        mature = t0 + window <= as_of
        for k in range(k_steps):
            got = times[k] is not None
            sums["reached"][k] += got
            if k == 0:
                sums["eligible"][0] += naive or mature
                sums["converted"][0] += naive or mature
                continue
            had_prev = times[k - 1] is not None
            sums["in_progress"][k] += (not got) and not mature
            sums["dropped"][k] += had_prev and not got and mature
            sums["eligible"][k] += had_prev and (naive or mature)
            sums["converted"][k] += got and (naive or mature)
    return sums


STAGE_POOL = ["contact", "lead", "prospect", "customer"]
event_rows = st.lists(
    st.tuples(st.sampled_from("ABCDEFG"), st.sampled_from(STAGE_POOL), st.integers(0, 200)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_rows, st.integers(10, 120), st.booleans())
def test_matches_brute_force_and_invariants(rows, window_days, naive):
    start = pd.Timestamp("2025-01-01")
    ev = pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "stage": [r[1] for r in rows],
            "at": [start + pd.Timedelta(days=r[2]) for r in rows],
        }
    ).astype({"at": "datetime64[us]"})
    as_of = start + pd.Timedelta(days=150)
    window = pd.Timedelta(days=window_days)
    t = table(
        ev, steps=STAGE_POOL, window=f"{window_days}D", as_of=as_of, include_in_progress=naive
    )
    ref = brute_force(ev, STAGE_POOL, window, as_of, naive)
    if not ref["reached"][0]:
        assert t.empty
        return
    for name, values in ref.items():
        assert col(t, name) == values, name
    reached = np.array(col(t, "reached"))
    assert (np.diff(reached) <= 0).all()  # funnels never widen
    rates = t[["conversion_from_start", "conversion_from_previous", "ci_lower", "ci_upper"]]
    assert ((rates.fillna(0) >= 0) & (rates.fillna(0) <= 1)).all().all()
    # every entrant is at the last step, lost on the way, or still in progress
    last = len(reached) - 1
    assert reached[0] == reached[last] + sum(col(t, "dropped")) + col(t, "in_progress")[last]
    # polars takes the one-pass route for most leads and the join route for repeats: same
    pl_t = table(
        to_engine(ev, "polars_lazy"),
        steps=STAGE_POOL,
        window=f"{window_days}D",
        as_of=as_of,
        include_in_progress=naive,
    )
    pd.testing.assert_frame_equal(pl_t, t, check_dtype=False)


# --------------------------------------------------------------------------------------------
# time to convert


def test_time_to_convert_by_hand(tiny, engine):
    # contact -> prospect: L1 after 9 days, L2 after 27; L4 censored at 10 days (exported),
    # L3 censored at 149. Kaplan-Meier: 1/4 by day 9, then 1 - 3/4 x 1/2 = 5/8 by day 27
    km = toolkit.time_to_convert(to_engine(tiny.events, engine), "contact", "prospect", as_of=AS_OF)
    assert km.table["days"].tolist() == [0, 9, 27]
    assert km.table["converted_share"].tolist() == pytest.approx([0, 0.25, 0.625])
    assert km.table["at_risk"].tolist() == [4, 4, 2]
    s = km.summary.iloc[0]
    assert (s["leads"], s["converted"], s["censored"]) == (4, 2, 2)
    assert s["median_days"] == 27
    assert s["never_converts"] == pytest.approx(0.375)
    assert s["followup_days"] == 149
    assert "Kaplan-Meier" in km._repr_html_()


def test_time_to_convert_matches_lifelines():
    """Reference: tests/reference/funnel_km_lifelines.csv, from funnel_km_reference.py (lifelines
    0.30 KaplanMeierFitter in a throwaway venv, per-lead durations computed with plain pandas)."""

    ref_dir = REFERENCE
    events = pd.read_csv(ref_dir / "funnel_km_events.csv", parse_dates=["at"])
    events["at"] = events["at"].astype("datetime64[us]")
    ref = pd.read_csv(ref_dir / "funnel_km_lifelines.csv")
    meta = pd.read_csv(ref_dir / "funnel_km_lifelines_median.csv")
    km = toolkit.time_to_convert(
        events,
        "lead",
        "customer",
        as_of="2025-12-31",
        by="group",
        leads=pd.read_csv(ref_dir / "funnel_km_leads.csv"),
    )
    for group, part in ref.groupby("group"):
        got = km.table[km.table["group"] == group].iloc[1:]  # past the added day-0 start
        assert got["days"].to_numpy() == pytest.approx(part["days"].to_numpy(), abs=1e-9)
        assert got["converted_share"].to_numpy() == pytest.approx(
            1 - part["survival"].to_numpy(), abs=1e-9
        )
        assert got["ci_lower"].to_numpy() == pytest.approx(
            1 - part["survival_upper"].to_numpy(), abs=1e-9
        )
        assert got["ci_upper"].to_numpy() == pytest.approx(
            1 - part["survival_lower"].to_numpy(), abs=1e-9
        )
        assert got["at_risk"].to_numpy() == pytest.approx(part["at_risk"].to_numpy())
    summary = km.summary.set_index("group")
    for _, row in meta.iterrows():
        median = summary.loc[row["group"], "median_days"]
        if np.isinf(row["median"]):  # lifelines says inf where fewer than half convert
            assert np.isnan(median)
        else:
            assert median == pytest.approx(row["median"])


# --------------------------------------------------------------------------------------------
# trend and comparison


def test_conversion_trend_flags_unfinished_periods(tiny, engine):
    t = to_pandas(toolkit.conversion_trend(to_engine(tiny.events, engine), STEPS4[:3], as_of=AS_OF))
    prospect = t[t["step"] == "prospect"]
    assert pd.to_datetime(prospect["period"]).dt.strftime("%Y-%m").tolist() == [
        "2025-01",
        "2025-02",
        "2025-06",
    ]
    assert col(prospect, "entered") == [2, 1, 1]
    assert prospect["conversion"].tolist()[:2] == pytest.approx([1.0, 0.0])
    # June: L4's window is open: unknown (NaN), not zero, and marked incomplete
    assert np.isnan(prospect["conversion"].iloc[2])
    assert col(prospect, "complete") == [True, True, False]
    assert col(prospect, "in_progress") == [0, 0, 1]


def test_weekly_conversion_trend_on_every_engine_equals_the_pandas_weeks(small_world, engine):
    data = small_world
    kw = dict(steps=STEPS4[:3], window="30D", as_of=data.as_of)
    daily = to_pandas(toolkit.conversion_trend(data.events, period="D", **kw))
    ref = _by_week(daily, "period", "period", ["step"], ["entered", "reached"])
    got = to_pandas(toolkit.conversion_trend(to_engine(data.events, engine), period="W", **kw))
    got["period"] = pd.to_datetime(got["period"]).dt.tz_localize(None)
    got = got.sort_values(["period", "step"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[ref.columns], ref, check_dtype=False)


def test_compare_segments_uses_statsmodels_on_the_censored_counts(sample):
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    kw = dict(steps=STEPS4, window="90D", leads=sample.leads, as_of=sample.as_of)
    cmp = to_pandas(
        toolkit.compare_segments(sample.events, "lead_type", "qualified", "generic", **kw)
    )
    ft = table(sample.events, by="lead_type", **kw).set_index(["lead_type", "step"])
    row = cmp[cmp["step"] == "customer"].iloc[0]
    q, g = ft.loc[("qualified", "customer")], ft.loc[("generic", "customer")]
    assert (row["converted_a"], row["eligible_a"]) == (q["converted"], q["eligible"])
    assert row["difference"] == pytest.approx(
        q["conversion_from_previous"] - g["conversion_from_previous"]
    )
    args = (q["converted"], q["eligible"], g["converted"], g["eligible"])
    lo, hi = confint_proportions_2indep(*args, method="newcomb", compare="diff")
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((lo, hi))
    assert row["p_value"] == pytest.approx(test_proportions_2indep(*args, method="score").pvalue)
    with pytest.raises(ValueError, match="values present"):
        toolkit.compare_segments(sample.events, "lead_type", "qualified", "gold", **kw)


def test_sample_shows_the_planted_effects(sample):
    # sample_data/README.md: qualified leads convert several times better than generic ones
    t = table(sample.events, steps=STEPS4, by="lead_type", leads=sample.leads, as_of=sample.as_of)
    end = t[t["step"] == "customer"].set_index("lead_type")["conversion_from_start"]
    assert end["qualified"] > 2 * end["generic"]
    naive = table(
        sample.events,
        steps=STEPS4,
        leads=sample.leads,
        as_of=sample.as_of,
        include_in_progress=True,
    )
    censored = table(sample.events, steps=STEPS4, as_of=sample.as_of)
    # a growing organisation has many recent leads: the naive rate understates conversion
    assert naive["conversion_from_start"].iloc[-1] < censored["conversion_from_start"].iloc[-1]


def test_plots_draw_the_computed_frames_without_computing(tiny):
    from bokeh.models import ColumnDataSource

    t = toolkit.funnel_table(tiny.events, by="lead_type", leads=tiny.leads, as_of=AS_OF)
    fig = toolkit.plots.funnel(t)
    assert fig.name == "funnel"
    sources = [m for m in fig.references() if isinstance(m, ColumnDataSource)]
    assert {s.name for s in sources} == {f"funnel_source_{i}" for i in range(3)}
    generic = next(s for s in sources if s.data["segment"][0] == "generic")
    assert list(generic.data["label_start"])[:2] == ["100% of start", "100% of start"]
    km = toolkit.time_to_convert(tiny.events, "contact", "prospect", as_of=AS_OF)
    assert toolkit.plots.time_to_convert(km).name == "time_to_convert"
    trend = toolkit.conversion_trend(tiny.events, STEPS4, as_of=AS_OF)
    assert toolkit.plots.conversion_trend(trend).name == "conversion_trend"
