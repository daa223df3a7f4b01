"""The behaviour every small result object shares (toolkit/results.py): a field read like a
dict key, and the old names of renamed interval fields, readable for one release with a warning."""

import pandas as pd
import pytest

import toolkit
from toolkit.growth.income_figures import TypicalIncome
from toolkit.results import FieldReads


def test_a_result_reads_its_fields_like_dict_keys():
    r = toolkit.expected_range(150, 0.03)
    assert r["likely_lower"] == r.likely_lower == 1
    with pytest.raises(KeyError, match="no_such"):
        r["no_such"]
    with pytest.raises(AttributeError, match="no_such"):
        _ = r.no_such


@pytest.mark.parametrize(
    ("result", "old", "new"),
    [
        (toolkit.expected_range(150, 0.03), "lower", "likely_lower"),
        (toolkit.expected_range(150, 0.03), "upper", "likely_upper"),
        (
            TypicalIncome("period", 12, 10, 2, *[float(i) for i in range(1, 15)]),
            "median_net_lower",
            "median_net_ci_lower",
        ),
    ],
)
def test_an_old_interval_name_still_reads_with_a_deprecation_warning(result, old, new):
    with pytest.warns(DeprecationWarning, match=f"{old} is renamed {new}"):
        assert getattr(result, old) == getattr(result, new)
    with pytest.warns(DeprecationWarning):
        assert result[old] == getattr(result, new)


def test_every_renamed_field_points_at_a_field_that_exists():
    from dataclasses import fields

    import toolkit.growth.claims
    import toolkit.growth.income_figures
    import toolkit.income.disclosure
    import toolkit.rates

    classes = [
        toolkit.rates.ExpectedRange,
        toolkit.growth.claims.ClaimCheck,
        toolkit.growth.income_figures.TypicalIncome,
        toolkit.growth.income_figures.IncomeClaim,
        toolkit.income.disclosure.EarningsClaim,
    ]
    for cls in classes:
        assert issubclass(cls, FieldReads)
        names = {f.name for f in fields(cls)}
        assert cls._renamed_fields and set(cls._renamed_fields.values()) <= names, cls
        assert not set(cls._renamed_fields) & names, cls


def test_a_row_result_gives_a_dict_and_a_one_row_frame():
    sim = toolkit.simulate_growth(toolkit.GrowthParams.typical(), months=6, runs=20, seed=1)
    check = toolkit.claim_check(sim, metric="cumulative_joined", at_month=6, value=100)
    frame = check.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 1
    assert frame.loc[0, "probability_ci_upper"] == check.as_dict()["probability_ci_upper"]
