"""Money figures: what each draws is what the income tables say, hostile names stay inert, and the
disclosure table never shows NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from bokeh.embed import components
from bokeh.models import Label, Span

import toolkit
from tests.support import to_engine
from toolkit import plots
from toolkit.plots.income_plots import NOBODY, lorenz_data

HOSTILE = '</script><script>alert("x")</script><img src=x onerror=alert(1)>'
YEAR = pd.Timestamp("2025-01-01")


def income(gross, *, net=None, rank=None, months=12, period=YEAR):
    n = len(gross)
    gross = np.asarray(gross, dtype=float)
    net = gross - 100 if net is None else np.asarray(net, dtype=float)
    return pd.DataFrame(
        {
            "member_id": [f"M{i}" for i in range(n)],
            "period": [period] * n,
            "role": ["business_builder"] * n,
            "rank": rank if rank is not None else [None] * n,
            "months_active": [months] * n,
            "gross": gross,
            "fees": [100.0] * n,
            "lead_spend": [0.0] * n,
            "other_costs": [0.0] * n,
            "purchases": [50.0] * n,
            "net": net,
            "net_after_purchases": net - 50,
        }
    )


def source(fig, name):
    return fig.select_one({"name": name}).data


def test_distribution_draws_the_zeros_and_marks_median_and_mean():
    table = income([0.0] * 6 + [10.0, 100.0, 1_000.0, 50_000.0])
    fig = plots.income_distribution(table)
    assert fig.name == "income_distribution"
    zero = source(fig, "income_distribution_zero")
    assert zero["top"][0] == pytest.approx(0.6) and zero["participants"][0] == 6
    curve = source(fig, "income_distribution_source")
    assert list(curve["income"]) == [10.0, 100.0, 1_000.0, 50_000.0]
    assert list(curve["share"]) == pytest.approx([0.7, 0.8, 0.9, 1.0])
    labels = {lab.text.strip() for lab in fig.select({"type": Label})}
    assert labels == {"median $0", "mean $5,111"}
    spans = sorted(s.location for s in fig.select({"type": Span}))
    # a median of $0 cannot sit on a log axis: it is drawn on the $0 bar at the left edge
    assert spans == [pytest.approx(zero["x"][0]), pytest.approx(5_111.0)]


def test_distribution_of_net_lumps_losses_with_zero_and_takes_a_period():
    early = income([500.0, 800.0], net=[-200.0, 300.0], period=pd.Timestamp("2024-01-01"))
    table = pd.concat([early, income([0.0, 0.0, 900.0], net=[-100.0, -100.0, 800.0])])
    fig = plots.income_distribution(table, column="net", period="2024-01-01")
    assert source(fig, "income_distribution_zero")["top"][0] == pytest.approx(0.5)
    assert list(source(fig, "income_distribution_source")["income"]) == [300.0]
    with pytest.raises(ValueError, match="column must be one of"):
        plots.income_distribution(table, column="fees")
    with pytest.raises(ValueError, match="no rows for period 2023-01-01"):
        plots.income_distribution(table, period="2023-01-01")


def test_lorenz_top_shares_count_every_participant():
    gross = [0.0] * 89 + [1.0] * 10 + [100.0]
    curve, info = lorenz_data(income(gross))
    assert info["top_1"] == pytest.approx(100 / 110)
    assert info["top_10"] == pytest.approx(109 / 110)
    assert curve["people"].iloc[-1] == 1.0 and curve["money"].iloc[-1] == pytest.approx(1.0)
    assert (np.diff(curve["money"]) >= 0).all()
    fig = plots.commission_lorenz(to_engine(income(gross), "polars"))
    marks = source(fig, "commission_lorenz_top")
    assert list(marks["text"]) == ["top 10% got 99%", "top 1% got 91%"]


def test_lorenz_with_nothing_paid_says_so():
    _, info = lorenz_data(income([0.0, 0.0, 0.0]))
    assert info["top_1"] is None and info["top_10"] is None
    fig = plots.commission_lorenz(income([0.0, 0.0, 0.0]))
    assert any("No commissions were paid" in lab.text for lab in fig.select({"type": Label}))


def test_lorenz_sends_at_most_a_few_thousand_points():
    curve, _ = lorenz_data(income(np.arange(50_000, dtype=float)))
    assert len(curve) <= 2_000 and curve["people"].iloc[0] == 0 and curve["people"].iloc[-1] == 1


def disclosure(ranks=("Member", "Manager", HOSTILE)):
    rng = np.random.default_rng(3)
    rank = list(np.repeat(ranks, 20))
    gross = np.where(
        np.array(rank) == "Member", 0.0, rng.gamma(2.0, 3_000.0, size=len(rank)).round(2)
    )
    return toolkit.income_disclosure(income(gross, rank=rank))


def test_income_by_rank_orders_groups_and_draws_the_disclosure():
    table = disclosure()
    fig = plots.income_by_rank(table)
    gross = table[table["measure"] == "gross"]
    medians = gross.set_index("group")["median"]
    factors = list(fig.y_range.factors)[::-1]
    assert factors[0] == "all participants"
    assert [medians[g] for g in factors[1:]] == sorted(medians.drop("all participants"))
    data = source(fig, "income_by_rank_source")
    assert dict(zip(data["group"], data["median_ci_lower"], strict=True)) == dict(
        zip(gross["group"], gross["median_ci_lower"], strict=True)
    )


def test_hostile_rank_names_stay_inert_in_the_figures():
    fig = plots.income_by_rank(disclosure())
    script, div = components(fig)
    assert HOSTILE not in script and "<script>alert" not in script
    assert "onerror=alert" not in div


def test_disclosure_table_has_intervals_no_nan_and_escapes_names():
    table = disclosure()
    rendered = plots.disclosure_table(table, caption="Sample <b>plan</b>")
    page = rendered._repr_html_()
    assert "nan" not in page.lower()
    assert HOSTILE not in page and "&lt;/script&gt;&lt;script&gt;alert" in page
    assert "Sample &lt;b&gt;plan&lt;/b&gt;" in page
    assert page.count('<table class="tk-disclosure">') == 3
    # the Members earned nothing: nobody made a gross profit, so the under-$5,000 share is unknown
    member = table[(table["group"] == "Member") & (table["measure"] == "gross")].iloc[0]
    assert pd.isna(member["share_of_profitable_under_5000"])
    assert NOBODY in page
    # each group's median comes with its interval
    row = table[(table["group"] == "Manager") & (table["measure"] == "gross")].iloc[0]
    lo, hi = (f"${row[f'median_{b}']:,.0f}" for b in ("ci_lower", "ci_upper"))
    assert f"<small>{lo} to {hi}</small>" in page


def test_disclosure_table_of_nobody_says_so():
    empty = toolkit.income_disclosure(income([]).astype({"gross": float}))
    page = plots.disclosure_table(empty).html
    assert "No participants in the data" in page and "nan" not in page.lower()
