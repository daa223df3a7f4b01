"""Calibration of the duplication model to a real genealogy (:func:`fit_recruitment`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit.growth.params import DAYS_PER_MONTH, MIN_DISPERSION, GrowthParams, as_params
from toolkit.schema import CUSTOMER_ROLES, NOT_SHOWN, REP_ROLES, CRMData, DataError


class RecruitmentFit:
    """What :func:`fit_recruitment` estimated (reachable as ``params.fit``).

    Attributes
    ----------
    poisson_results_, negbin_results_ : statsmodels results
        The count models of recruits per rep with log exposure (months active) as offset.
    dispersion_test_ : statsmodels DispersionResults
        Tests of Poisson dispersion on the Poisson fit (Dean, Cameron-Trivedi).
    lr_stat_, lr_pvalue_ : float
        Likelihood-ratio test of negative binomial against Poisson (boundary-corrected: half
        the chi-square(1) tail).
    model_ : str
        ``"negative binomial"`` when the LR p-value is below 0.05, else ``"Poisson"``.
    summary : pandas.DataFrame
        Each calibrated quantity (index ``quantity``): ``estimate``, its interval ``ci_lower``
        and ``ci_upper`` (95% unless ``alpha`` said otherwise) and ``method``.
    """

    def __init__(self, **values):
        self.__dict__.update(values)

    def _repr_html_(self) -> str:
        return f"<p><b>RecruitmentFit</b> ({self.model_})</p>" + self.summary.to_html(
            na_rep=NOT_SHOWN
        )

    def __repr__(self) -> str:
        return f"RecruitmentFit(model={self.model_!r}, reps={self.reps_})"


def fit_recruitment(
    members, *, as_of=None, base: GrowthParams | None = None, alpha: float = 0.05
) -> GrowthParams:
    """Calibrate :class:`GrowthParams` to a genealogy (the ``members`` table, or a CRMData).

    Each rep's personal recruits (members they sponsored with a rep role) are counted against
    the months they have been active (joined to left, or to ``as_of`` for those still active:
    recent joiners had less time, not less success). A Poisson and a negative-binomial (NB2)
    count model with log-exposure offset and a leader indicator are fitted with statsmodels;
    the negative binomial's alpha is 1 / ``recruit_dispersion``, its leader coefficient gives
    ``leader_multiplier``. Attrition is quits per active rep-month (customers alike).

    The data give recruits per rep-month, not contacts and conversion apart:
    ``contact_to_rep`` is kept from ``base`` (default :class:`GrowthParams`) and
    ``contacts_per_rep_per_month`` set so their product matches. ``starting_reps`` becomes the
    reps active at ``as_of``, so a what-if starts from the organisation as it is.

    ``alpha`` sets the level of the summary's intervals (0.05: 95%); the choice between the
    two count models is a likelihood-ratio test at 0.05 whatever ``alpha`` is.

    Returns
    -------
    GrowthParams
        Calibrated; ``.fit`` holds the :class:`RecruitmentFit` (models, dispersion tests and a
        ``summary`` table with intervals, ``ci_lower`` and ``ci_upper``).
    """
    import statsmodels.api as sm
    from scipy.stats import chi2

    from toolkit.genealogy import genealogy_tree
    from toolkit.rates import check_alpha, poisson_rate_interval

    check_alpha(alpha)

    if isinstance(members, CRMData):
        as_of = members.as_of if as_of is None else as_of
        members = members.members
    base = as_params(base)
    if isinstance(members, pd.DataFrame) and "role" not in members.columns:
        raise DataError(
            f"members: missing required column(s) ['role'] (who is a rep, who a customer); "
            f"columns present: {list(members.columns)}"
        )
    tree = genealogy_tree(members, as_of)
    frame, parent, as_of = tree["frame"], tree["parent"], tree["as_of"]
    is_rep = frame["role"].isin(REP_ROLES).to_numpy()
    is_customer = frame["role"].isin(CUSTOMER_ROLES).to_numpy()
    n = len(frame)
    has_parent = parent >= 0
    recruits = np.bincount(parent[has_parent & is_rep], minlength=n)
    won = np.bincount(parent[has_parent & is_customer], minlength=n)
    end = frame["left_at"].where(frame["left_at"].notna() & (frame["left_at"] <= as_of), as_of)
    exposure = ((end - frame["joined_at"]).dt.total_seconds() / 86400 / DAYS_PER_MONTH).to_numpy()
    quit = (frame["left_at"].notna() & (frame["left_at"] <= as_of)).to_numpy()
    rows = is_rep & (exposure > 0)
    if rows.sum() < 10:
        raise DataError(
            f"members: only {int(rows.sum())} reps with time in the organisation; need at least 10 to fit recruiting"
        )
    y, t = recruits[rows], exposure[rows]
    leader = (frame["role"] == "leader").to_numpy()[rows].astype(float)
    use_leader = 0 < leader.sum() < len(leader)
    X = np.column_stack([np.ones(len(y)), leader]) if use_leader else np.ones((len(y), 1))
    poisson = sm.Poisson(y, X, exposure=t).fit(disp=0)
    negbin = sm.NegativeBinomial(y, X, exposure=t, loglike_method="nb2").fit(disp=0, maxiter=200)
    lr = max(0.0, 2 * (negbin.llf - poisson.llf))
    lr_p = 0.5 * chi2.sf(lr, 1)
    chosen = negbin if lr_p < 0.05 else poisson
    model = "negative binomial" if lr_p < 0.05 else "Poisson"
    ci = np.asarray(chosen.conf_int(alpha=alpha))
    rate, rate_ci = float(np.exp(chosen.params[0])), np.exp(ci[0])
    if use_leader:
        multiplier, mult_ci = float(np.exp(chosen.params[1])), np.exp(ci[1])
    else:
        multiplier, mult_ci = base.leader_multiplier, (np.nan, np.nan)
    if model == "negative binomial":
        nb_alpha = float(negbin.params[-1])  # NB2's overdispersion, not the interval's alpha
        # a tail heavier than GrowthParams admits is simulated at the heaviest it does
        dispersion = max(1 / nb_alpha, MIN_DISPERSION) if nb_alpha > 0 else math.inf
        a_lo, a_hi = np.asarray(negbin.conf_int(alpha=alpha))[-1]
        disp_ci = (1 / a_hi if a_hi > 0 else math.inf, 1 / a_lo if a_lo > 0 else math.inf)
    else:
        dispersion, disp_ci = math.inf, (np.nan, np.nan)
    rep_months = float(exposure[rows].sum())
    quits = float(quit[rows].sum())
    attrition = min(quits / rep_months, 1.0)
    att_ci = poisson_rate_interval(quits, rep_months, alpha=alpha)
    cust_rows = is_customer & (exposure > 0)
    if cust_rows.sum() > 0:
        c_quits, c_months = float(quit[cust_rows].sum()), float(exposure[cust_rows].sum())
        customer_attrition, cust_ci = (
            min(c_quits / c_months, 1.0),
            poisson_rate_interval(c_quits, c_months, alpha=alpha),
        )
    else:
        customer_attrition, cust_ci = base.customer_attrition, (np.nan, np.nan)
    leader_share = float(leader.mean()) if use_leader else (1.0 if leader.sum() else 0.0)
    won_rate = float(won[rows].sum() / rep_months)
    contacts = rate / base.contact_to_rep if base.contact_to_rep > 0 else 0.0
    mean_weight = 1 - leader_share + leader_share * multiplier
    contact_to_customer = (
        min(won_rate / (contacts * mean_weight), 1 - base.contact_to_rep)
        if contacts
        else base.contact_to_customer
    )
    active_reps = int((is_rep & ~quit).sum())
    summary = pd.DataFrame(
        [
            ("recruits per rep-month (ordinary rep)", rate, *rate_ci, model),
            ("leader_multiplier", multiplier, *mult_ci, model),
            (
                "recruit_dispersion",
                dispersion,
                *disp_ci,
                "1 / NB2 alpha" if model != "Poisson" else "Poisson chosen",
            ),
            ("monthly_attrition", attrition, *att_ci, "quits per rep-month"),
            ("customer_attrition", customer_attrition, *cust_ci, "quits per customer-month"),
            ("leader_share", leader_share, np.nan, np.nan, "leaders among reps"),
        ],
        columns=["quantity", "estimate", "ci_lower", "ci_upper", "method"],
    ).set_index("quantity")
    fit = RecruitmentFit(
        poisson_results_=poisson,
        negbin_results_=negbin,
        results_=chosen,
        dispersion_test_=poisson.get_diagnostic().test_dispersion(),
        lr_stat_=float(lr),
        lr_pvalue_=float(lr_p),
        model_=model,
        reps_=int(rows.sum()),
        rep_months_=rep_months,
        as_of_=as_of,
        summary=summary,
    )
    return base.replace(
        starting_reps=max(active_reps, 1),
        contacts_per_rep_per_month=contacts,
        contact_to_customer=contact_to_customer,
        leader_share=leader_share,
        leader_multiplier=multiplier,
        monthly_attrition=attrition,
        customer_attrition=customer_attrition,
        recruit_dispersion=dispersion,
        fit=fit,
    )
