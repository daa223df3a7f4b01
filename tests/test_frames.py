"""The shared plumbing: the one hand-off of large pandas inputs to Polars, results back as the
caller's kind, durations and calendar periods (toolkit.frames, toolkit.censoring)."""

from __future__ import annotations

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
    from conftest import to_engine

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


def test_offsets_keep_whole_days_and_sub_day_windows():
    assert censoring.offset(pd.Timedelta("90D")) == "90d"
    assert censoring.offset(pd.Timedelta("36h")) == f"{36 * 3600 * 10**6}us"
