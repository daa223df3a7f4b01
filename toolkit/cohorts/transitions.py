"""How members who started in one role come to take on another (:func:`role_transitions`), and
the role spells read from the contract's role_history table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from toolkit.censoring import (
    period_ordinal_of,
    period_ordinals,
)
from toolkit.cohorts._cells import (
    _as_list,
    _check_period,
)
from toolkit.frames import collect, from_native
from toolkit.rates import check_alpha, wilson_interval
from toolkit.schema import ROLES, DataError, Problems, isin, missing_piece


def _role_spells(people: pd.DataFrame, role_history) -> pd.DataFrame:
    """Every member's roles over time: one row per role taken on (``member_id``, ``role``,
    ``from_at``) with the member's other ``people`` columns, sorted by member and ``from_at``.

    Rows come from the contract's role_history; a member without any held their current role
    from joining. History rows for members not in ``people`` are a DataError.
    """
    history_nw = from_native(role_history, "role_history", ["member_id", "role", "from_at"])
    history = collect(history_nw.select("member_id", "role", "from_at")).to_pandas()
    problems = Problems()
    problems.add(
        "role_history",
        "member_id",
        "referring to members not in the members table",
        # Arrow's hash kernel: pandas' isin of Arrow strings loops in Python (a third of
        # member_mix's time on the sample)
        pd.Series(~isin(history["member_id"], people["member_id"]), index=history.index),
        history["member_id"],
    )
    problems.raise_if_any()
    without = people.loc[
        ~isin(people["member_id"], history["member_id"]), ["member_id", "role", "joined_at"]
    ]
    spells = pd.concat(
        [history, without.rename(columns={"joined_at": "from_at"})], ignore_index=True
    )
    spells = spells.merge(people.drop(columns="role"), on="member_id")
    return spells.sort_values(["member_id", "from_at"], kind="stable", ignore_index=True)


def role_transitions(
    members,
    role_history=None,
    *,
    period: str = "M",
    from_role: str | Sequence[str] | None = "preferred_customer",
    as_of=None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """How members who started in one role come to take on another, by periods since joining.

    Parameters
    ----------
    members : dataframe (any engine)
        ``member_id``, ``joined_at``, ``role``.
    role_history : dataframe (any engine)
        The contract's optional table: ``member_id``, ``role``, ``from_at``, one row per role a
        member took on. A member without rows there held ``members.role`` throughout. Without
        it no change of role can be seen, so it is required.
    period : {"W", "M", "Q", "Y"}
    from_role : str or list of str, optional
        Starting roles to follow (default: preferred customers); None follows every role.
    as_of : timestamp-like, optional
        Defaults to the latest timestamp in the inputs.
    alpha : float
        Intervals at level ``1 - alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per starting role, later role and period since joining, with columns:

        - ``from_role``: the member's first role; ``to_role``: a role taken on later
        - ``period``: 0, 1, 2 ... calendar periods since the joining period
        - ``base``: members who started in ``from_role`` and whose period ``period`` has fully
          elapsed by ``as_of`` (only those could have been seen to change by then)
        - ``count``: of them, how many had taken on ``to_role`` by the end of that period
        - ``share``, ``share_ci_lower``, ``share_ci_upper``: count / base with its Wilson interval
          (NaN where ``base`` is 0: nobody has been a member that long yet)
    """
    _check_period(period)
    check_alpha(alpha)
    if role_history is None:
        raise DataError(
            f"role_transitions needs the role_history table (member_id, role, from_at): "
            f"{missing_piece('role_history')}; the members table holds only each member's "
            "current role, so a change of role cannot be seen there"
        )
    members_nw = from_native(members, "members", ["member_id", "joined_at", "role"])
    people = collect(members_nw.select("member_id", "joined_at", "role")).to_pandas()
    spells = _role_spells(people, role_history)
    if as_of is None:
        stamps = [spells["joined_at"].max(), spells["from_at"].max()]
        stamps = [pd.Timestamp(s) for s in stamps if pd.notna(s)]
        as_of = max(stamps) if stamps else None
    else:
        as_of = pd.Timestamp(as_of)
    columns = [
        "from_role",
        "to_role",
        "period",
        "base",
        "count",
        "share",
        "share_ci_lower",
        "share_ci_upper",
    ]
    if people.empty or as_of is None:
        return pd.DataFrame(
            {c: pd.Series(dtype="str" if c.endswith("role") else "float64") for c in columns}
        )

    start = spells.groupby("member_id", sort=False)["role"].first().rename("from_role")
    spells = spells.join(start, on="member_id")
    joined = pd.Series(period_ordinals(spells["joined_at"], period), index=spells.index)
    reached = pd.Series(period_ordinals(spells["from_at"], period), index=spells.index) - joined
    spells["_k"] = np.maximum(reached, 0)
    # the first time each member took on each later role
    later = spells[spells["role"] != spells["from_role"]]
    first_time = (
        later.groupby(["member_id", "from_role", "role"], sort=False)["_k"].min().reset_index()
    )

    starters = people.set_index("member_id").join(start, how="inner")
    if from_role is not None:
        keep = _as_list(from_role)
        starters = starters[starters["from_role"].isin(keep)]
        first_time = first_time[first_time["from_role"].isin(keep)]
    now = period_ordinal_of(as_of, period)
    age = now - pd.Series(period_ordinals(starters["joined_at"], period), index=starters.index)
    # periods fully elapsed for each member: 0 .. age - 1
    max_k = int(age.max()) if len(age) else 0
    first_time = first_time.join(age.rename("_age"), on="member_id")
    rows = []
    for from_r, members_in in starters.groupby("from_role"):
        ages = age.loc[members_in.index].to_numpy()
        base = np.array([(ages > k).sum() for k in range(max_k)])
        for to_r in [r for r in ROLES if r != from_r]:
            moves = first_time[(first_time["from_role"] == from_r) & (first_time["role"] == to_r)]
            mk, mage = moves["_k"].to_numpy(), moves["_age"].to_numpy()
            count = np.array([((mk <= k) & (mage > k)).sum() for k in range(max_k)])
            lower, upper = wilson_interval(count, base, alpha=alpha)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(base > 0, count / base, np.nan)
            rows.append(
                pd.DataFrame(
                    {
                        "from_role": from_r,
                        "to_role": to_r,
                        "period": np.arange(max_k),
                        "base": base,
                        "count": count,
                        "share": share,
                        "share_ci_lower": lower,
                        "share_ci_upper": upper,
                    }
                )
            )
    if not rows:
        return pd.DataFrame(
            {c: pd.Series(dtype="str" if c.endswith("role") else "float64") for c in columns}
        )
    return pd.concat(rows, ignore_index=True)[columns]
