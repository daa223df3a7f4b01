"""Genealogy analytics: levels, downlines, legs, volume by level, and bad genealogies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import toolkit

T = pd.Timestamp


@pytest.fixture
def tree():
    """A -> B -> D -> E and A -> C; F a second root. Volumes A 10, B 20, C 5, D 40, E 100, F 7.

    E also has an order after as_of (2025-07-01) that must not count, and D an old order that a
    30-day window drops.
    """
    members = pd.DataFrame(
        {
            "member_id": ["A", "B", "C", "D", "E", "F"],
            "sponsor_id": [None, "A", "A", "B", "D", None],
            "joined_at": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-02-15", "2024-03-01", "2024-04-01", "2024-01-05"]
            ),
            "role": [
                "leader",
                "business_builder",
                "retail_customer",
                "business_builder",
                "preferred_customer",
                "retailer",
            ],
            "left_at": pd.to_datetime([None, None, "2025-01-01", None, None, None]),
            "lead_id": None,
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(8)],
            "member_id": ["A", "B", "C", "D", "E", "F", "E", "D"],
            "ordered_at": pd.to_datetime(
                [
                    "2025-06-10",
                    "2025-06-11",
                    "2024-12-01",
                    "2025-06-12",
                    "2025-06-13",
                    "2025-06-14",
                    "2025-07-01",
                    "2025-01-01",
                ]
            ),
            "amount": 1.0,
            "volume": [10.0, 20.0, 5.0, 30.0, 100.0, 7.0, 999.0, 10.0],
            "autoship": False,
        }
    )
    return members, orders


AS_OF = T("2025-06-30")


def test_downline_by_hand(tree):
    members, orders = tree
    out = toolkit.downline(members, orders, as_of=AS_OF).set_index("member_id")
    assert out["level"].to_dict() == {"A": 0, "B": 1, "C": 1, "D": 2, "E": 3, "F": 0}
    assert out["root_id"].to_dict() == {"A": "A", "B": "A", "C": "A", "D": "A", "E": "A", "F": "F"}
    assert out["personal_recruits"].to_dict() == {"A": 2, "B": 1, "C": 0, "D": 1, "E": 0, "F": 0}
    assert out["downline_size"].to_dict() == {"A": 4, "B": 2, "C": 0, "D": 1, "E": 0, "F": 0}
    assert out["downline_depth"].to_dict() == {"A": 3, "B": 2, "C": 0, "D": 1, "E": 0, "F": 0}
    # legs: frontline lines that duplicated. A: B's line goes on, C's does not -> 1.
    assert out["legs"].to_dict() == {"A": 1, "B": 1, "C": 0, "D": 0, "E": 0, "F": 0}
    # D has 30 + 10 = 40; E's 999 is after as_of and must not count
    assert out["personal_volume"].to_dict() == {"A": 10, "B": 20, "C": 5, "D": 40, "E": 100, "F": 7}
    assert out["group_volume"].to_dict() == {"A": 175, "B": 160, "C": 5, "D": 140, "E": 100, "F": 7}
    assert out["largest_leg_volume"].to_dict() == {
        "A": 160,
        "B": 140,
        "C": 0,
        "D": 100,
        "E": 0,
        "F": 0,
    }
    assert out["active"].to_dict() == {
        "A": True,
        "B": True,
        "C": False,
        "D": True,
        "E": True,
        "F": True,
    }


def test_window_keeps_recent_orders_only(tree):
    members, orders = tree
    out = toolkit.downline(members, orders, as_of=AS_OF, window="30D").set_index("member_id")
    # C's December order and D's January order fall outside the last 30 days
    assert out["personal_volume"].to_dict() == {"A": 10, "B": 20, "C": 0, "D": 30, "E": 100, "F": 7}
    assert out.loc["A", "group_volume"] == 160


def test_members_who_join_after_as_of_are_not_there_yet(tree):
    members, orders = tree
    out = toolkit.downline(members, None, as_of=T("2024-03-15")).set_index("member_id")
    assert list(out.index) == ["A", "B", "C", "D", "F"]  # E joined in April
    assert out.loc["A", "downline_size"] == 3
    assert (out["personal_volume"] == 0).all()  # no orders given: zero volume, not an error


def test_inputs_are_not_mutated(tree):
    members, orders = tree
    before_m, before_o = members.copy(), orders.copy()
    toolkit.downline(members, orders, as_of=AS_OF)
    toolkit.volume_by_level(members, orders, root="A", max_level=1, as_of=AS_OF)
    pd.testing.assert_frame_equal(members, before_m)
    pd.testing.assert_frame_equal(orders, before_o)


def test_volume_by_level_beyond_the_printout(tree):
    members, orders = tree
    out = toolkit.volume_by_level(members, orders, root="A", max_level=1, as_of=AS_OF)
    assert out["level"].tolist() == [0, 1, 2, 3]
    assert out["members"].tolist() == [1, 2, 1, 1]
    assert out["active_members"].tolist() == [1, 1, 1, 1]  # C left
    assert out["volume"].tolist() == [10, 25, 40, 100]
    np.testing.assert_allclose(out["share_of_volume"], np.array([10, 25, 40, 100]) / 175)
    assert out["on_printout"].tolist() == [True, True, False, False]
    # 004's point: most of the volume sits below what a one-level printout shows
    assert out.loc[~out["on_printout"], "share_of_volume"].sum() == pytest.approx(140 / 175)
    below_b = toolkit.volume_by_level(members, orders, root="B", as_of=AS_OF)
    assert below_b["volume"].tolist() == [20, 40, 100] and below_b["on_printout"].all()
    everyone = toolkit.volume_by_level(members, orders, as_of=AS_OF)
    assert everyone["volume"].tolist() == [17, 25, 40, 100]
    with pytest.raises(ValueError, match="root 'Z'"):
        toolkit.volume_by_level(members, orders, root="Z", as_of=AS_OF)


@pytest.mark.parametrize("no_orders", ["none", "empty", "crm_without_orders"])
def test_volume_by_level_without_orders_says_so(tree, no_orders):
    # trap: without orders every level showed a volume of 0, a figure drawn from nothing
    members, orders = tree
    if no_orders == "crm_without_orders":
        args = (toolkit.CRMData(members=members, orders=None, as_of=AS_OF),)
    else:
        args = (members, None if no_orders == "none" else orders.iloc[:0])
    with pytest.raises(toolkit.DataError, match="no orders table") as err:
        toolkit.volume_by_level(*args, as_of=AS_OF)
    assert str(err.value) == toolkit.schema.missing_piece("orders")
    assert "volume" in str(err.value)  # what the orders would show


def test_unknown_sponsor_is_named(tree):
    members, _ = tree
    bad = members.assign(sponsor_id=["X9", "A", "A", "B", "D", None])
    with pytest.raises(
        toolkit.DataError,
        match=r"members\.sponsor_id: 1 rows referring to sponsors not in the members table.*A.*X9",
    ):
        toolkit.downline(bad)


def test_sponsor_cycle_is_named(tree):
    members, _ = tree
    # A -> E -> D -> B -> A: a loop; C hangs below it
    bad = members.assign(sponsor_id=["E", "A", "A", "B", "D", None])
    with pytest.raises(
        toolkit.DataError, match=r"5 rows in a sponsor cycle.*first member_id: A, B, C, D, E"
    ):
        toolkit.downline(bad)


def test_orders_for_unknown_members(tree):
    members, orders = tree
    bad = pd.concat([orders, orders.head(1).assign(member_id="GHOST")], ignore_index=True)
    with pytest.raises(toolkit.DataError, match="orders.member_id.*GHOST"):
        toolkit.downline(members, bad, as_of=AS_OF)


def test_missing_column():
    with pytest.raises(toolkit.DataError, match="missing required column"):
        toolkit.downline(pd.DataFrame({"member_id": ["A"]}))


def test_crmdata_in(tiny):
    # tiny: M1 sponsors M2; M2 orders 56 + 56, M1 96
    out = toolkit.downline(tiny).set_index("member_id")
    assert out.loc["M1", "group_volume"] == 208
    assert out.loc["M2", "level"] == 1


def _naive(parent, volume):
    """Reference by plain recursion: the definition, not the algorithm."""
    n = len(parent)
    children = [[] for _ in range(n)]
    for i, p in enumerate(parent):
        if p >= 0:
            children[p].append(i)

    def walk(i):
        size, deep, vol = 0, 0, volume[i]
        for c in children[i]:
            s, d, v = walk(c)
            size, deep, vol = size + s + 1, max(deep, d + 1), vol + v
        return size, deep, vol

    def level(i):
        return 0 if parent[i] < 0 else 1 + level(parent[i])

    return [walk(i) for i in range(n)], [level(i) for i in range(n)]


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 50)), min_size=1, max_size=40),
    seed=st.integers(0, 1000),
)
def test_downline_matches_plain_recursion(data, seed):
    n = len(data)
    # node i's sponsor is an earlier node (or none), then rows are shuffled: order must not matter
    parent = [-1 if i == 0 or u < 0.2 else int(u * i) % i for i, (u, _) in enumerate(data)]
    volume = [float(v) for _, v in data]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    ids = np.array([f"N{i}" for i in range(n)])
    members = pd.DataFrame(
        {
            "member_id": ids[order],
            "sponsor_id": [ids[parent[i]] if parent[i] >= 0 else None for i in order],
            "joined_at": T("2025-01-01"),
        }
    )
    orders = pd.DataFrame({"member_id": ids, "ordered_at": T("2025-01-02"), "volume": volume})
    out = toolkit.downline(members, orders).set_index("member_id")
    walked, levels = _naive(parent, volume)
    for i in range(n):
        size, deep, vol = walked[i]
        row = out.loc[ids[i]]
        assert (row["downline_size"], row["downline_depth"], row["level"]) == (
            size,
            deep,
            levels[i],
        )
        assert row["group_volume"] == pytest.approx(vol)
    assert out["downline_size"].sum() == out["level"].sum()


def test_sample_organisation(sample):
    out = toolkit.downline(sample)
    assert len(out) == len(sample.members)
    assert out["downline_size"].sum() == out["level"].sum()
    roots = out[out["level"] == 0]
    # every order's volume is somewhere in exactly one root's group volume
    assert roots["group_volume"].sum() == pytest.approx(sample.orders["volume"].sum())


def test_volume_by_level_figure(tree):
    from toolkit import plots

    members, orders = tree
    table = toolkit.volume_by_level(members, orders, root="A", max_level=1, as_of=AS_OF)
    fig = plots.volume_by_level(table)
    data = fig.select_one({"name": "volume_by_level_source"}).data
    assert list(data["volume"]) == [10, 25, 40, 100]
    assert list(data["where"]) == ["on the printout"] * 2 + ["below the printout"] * 2
