"""The shared plumbing: the one hand-off of large pandas inputs to Polars, results back as the
caller's kind, durations and calendar periods (toolkit.frames, toolkit.censoring)."""

from __future__ import annotations

import narwhals as nw
import pandas as pd
import pytest

from toolkit import censoring, frames


def _events(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": range(n),
            "stage": ["contact", "lead"] * (n // 2),
            "at": pd.date_range("2025-01-01", periods=n, freq="D").astype("datetime64[us]"),
            "email": ["x@example.com"] * n,  # a personal column nobody asked for
        }
    )


def test_hand_off_takes_only_the_columns_asked_for(monkeypatch):
    pl = pytest.importorskip("polars")
    events = _events()
    asked = {"events": ["lead_id", "stage", "at"]}
    assert frames.hand_off({"events": events}, asked)["events"] is events  # small: stays pandas
    monkeypatch.setattr(frames, "HANDOFF_ROWS", 4)
    handed = frames.hand_off({"events": events, "leads": None}, asked)["events"]
    assert isinstance(handed, pl.LazyFrame)
    schema = handed.collect_schema()
    assert list(schema) == ["lead_id", "stage", "at"]  # no e-mail travels
    assert schema["stage"] == pl.Categorical  # a handful of names go as codes
    assert handed.collect()["stage"].cast(pl.String).to_list() == list(events["stage"])


def test_hand_off_is_all_or_nothing(monkeypatch):
    pl = pytest.importorskip("polars")
    monkeypatch.setattr(frames, "HANDOFF_ROWS", 1)
    events = _events()
    # a missing column: the caller's own frame stays, so the error names all its columns
    out = frames.hand_off({"events": events}, {"events": ["lead_id", "nope"]})
    assert out["events"] is events
    # one table already on another engine: none is converted (both must be one kind)
    leads = pl.DataFrame({"lead_id": [0, 1]})
    out = frames.hand_off(
        {"events": events, "leads": leads}, {"events": ["lead_id"], "leads": ["lead_id"]}
    )
    assert out["events"] is events and out["leads"] is leads


@pytest.mark.parametrize("engine", ["polars", "polars_lazy", "pyarrow", "duckdb"])
def test_to_kind_gives_back_the_callers_kind(engine):
    import narwhals as nw

    from tests.support import to_engine

    result = pd.DataFrame({"step": ["a", "b"], "rate": [0.5, float("nan")]})
    like = nw.from_native(to_engine(_events(), engine))
    back = frames.to_kind(result, like)
    assert type(back) is type(like.to_native())
    pd.testing.assert_frame_equal(frames.to_pandas(back), result, check_dtype=False)


def test_one_table_of_calendar_periods():
    # trap (issue 12): two different dicts were both called PERIODS (funnel: truncation strings,
    # cohorts: descriptions); one table now has both, and cohorts allow only their four
    assert list(censoring.CALENDAR_PERIODS) == ["D", "W", "M", "Q", "Y"]
    month = censoring.check_period("M")
    assert (month.word, month.every, month.description) == ("month", "1mo", "calendar month")
    with pytest.raises(ValueError, match=r"'W' \(week \(Monday to Sunday\)\).*got 'D'"):
        censoring.check_period("D", censoring.ORDINAL_PERIODS)
    with pytest.raises(ValueError, match="got 'm'"):
        censoring.check_period("m")  # the letter as documented, not a guess


# a Sunday evening and the Monday after, across a year end and a leap day, and a mid-week time
WEEK_STAMPS = pd.to_datetime(
    [
        "2023-12-31 23:59",
        "2024-01-01 00:00",
        "2024-02-29 12:30",
        "2024-03-03 08:00",
        "2025-06-18 00:00",
    ]
)


@pytest.mark.parametrize("period", ["D", "W", "M", "Q", "Y"])
def test_truncate_to_calendar_periods_on_every_engine(engine, period):
    # trap (issues 12/13): Narwhals' dt.truncate has no weeks ("1w": invalid every string)
    from tests.support import to_engine, to_pandas

    frame = nw.from_native(to_engine(pd.DataFrame({"t": WEEK_STAMPS}), engine))
    got = to_pandas(frame.select(censoring.truncate("t", period)).to_native())["t"]
    ref = WEEK_STAMPS.to_period({"W": "W-SUN"}.get(period, period)).start_time
    assert pd.to_datetime(got).dt.tz_localize(None).tolist() == ref.tolist()


@pytest.mark.spark
def test_truncate_to_weeks_on_pyspark(spark):
    # Narwhals' dt.weekday counts Sunday as 0 on PySpark: the weeks do not rest on it
    from tests.support import to_pandas

    frame = nw.from_native(spark.createDataFrame(pd.DataFrame({"t": WEEK_STAMPS})))
    out = frame.select(nw.col("t"), censoring.truncate("t", "W").alias("week")).to_native()
    got = to_pandas(out).sort_values("t")["week"]
    ref = WEEK_STAMPS.to_period("W-SUN").start_time
    assert pd.to_datetime(got).dt.tz_localize(None).tolist() == ref.tolist()


def test_offsets_keep_whole_days_and_sub_day_windows():
    assert censoring.offset(pd.Timedelta("90D")) == "90d"
    assert censoring.offset(pd.Timedelta("36h")) == f"{36 * 3600 * 10**6}us"


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_period_ordinals_of_numpy_times_are_the_calendar_fields(unit):
    # naive numpy times take one cast to months or days: the ordinals of the calendar fields
    # (year, month, days since 1970), before 1970 too, for every period and time unit
    import numpy as np

    seconds = np.random.default_rng(3).integers(-4 * 10**9, 4 * 10**9, 5000)
    stamps = pd.Series(pd.to_datetime(seconds, unit="s").astype(f"datetime64[{unit}]"))
    for period in censoring.ORDINAL_PERIODS:
        fields = censoring.period_ordinals(stamps.astype(object), period)  # the general route
        np.testing.assert_array_equal(censoring.period_ordinals(stamps, period), fields)
        one_by_one = [censoring.period_ordinal_of(s, period) for s in stamps.iloc[:100]]
        np.testing.assert_array_equal(fields[:100], one_by_one)
