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
from toolkit.checks import check_frame
from toolkit.cohorts._cells import (
    _as_list,
    _check_period,
)
from toolkit.fastpath import positions
from toolkit.frames import collect, from_native
from toolkit.rates import check_alpha, wilson_interval
from toolkit.schema import ROLES, DataError, Problems, missing_piece


def _role_spells(people: pd.DataFrame, role_history) -> pd.DataFrame:
    """Every member's roles over time: one row per role taken on (``member_id``, ``role``,
    ``from_at``) with the member's other ``people`` columns and ``_pos``, the member's row in
    ``people`` (ids unique: checked before), sorted by ``_pos`` and ``from_at``.

    Rows come from the contract's role_history; a member without any held their current role
    from joining. History rows for members not in ``people`` are a DataError.
    """
    history_nw = from_native(role_history, "role_history", ["member_id", "role", "from_at"])
    history = collect(history_nw.select("member_id", "role", "from_at")).to_pandas()
    # members as positions (Arrow's hash on Arrow strings): joins and sorts by integers
    at = positions(people["member_id"], history["member_id"])
    problems = Problems()
    problems.add(
        "role_history",
        "member_id",
        "referring to members not in the members table",
        pd.Series(at < 0, index=history.index),
        history["member_id"],
    )
    problems.raise_if_any()
    without = np.flatnonzero(np.bincount(at, minlength=len(people)) == 0)
    at = np.concatenate([at, without])
    role = pd.concat([history["role"], people["role"].iloc[without]], ignore_index=True)
    from_at = pd.concat([history["from_at"], people["joined_at"].iloc[without]], ignore_index=True)
    # stable, missing from_at last: the order a sort by member and from_at gives
    order = (
        pd.DataFrame({"_pos": at, "from_at": from_at})
        .sort_values(["_pos", "from_at"], kind="stable")
        .index.to_numpy()
    )
    at = at[order]
    rest = [c for c in people.columns if c not in ("member_id", "role")]
    return pd.DataFrame(
        {
            "member_id": people["member_id"].array.take(at),
            "role": role.array.take(order),
            "from_at": from_at.array.take(order),
            **{c: people[c].array.take(at) for c in rest},
            "_pos": at,
        }
    )


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
    columns = ["member_id", "joined_at", "role"]
    # the contract's cheap checks, as every cohort computation runs them: no member twice
    members_nw = check_frame(from_native(members, "members", columns), "members", columns)
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
