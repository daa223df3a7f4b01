"""Lead quality versus conversion: which kinds of lead become customers, reps and leaders, and
what a customer costs when leads are bought.

The model is a binomial GLM (logit link) fitted by statsmodels on **aggregated** counts: the
dataframe engine (pandas, Polars, PyArrow, DuckDB or PySpark, through Narwhals) reduces the leads
to one row per covariate pattern (lead type, source, price paid) with the number of leads whose
conversion window has passed (*trials*) and how many of them converted (*successes*). A binomial
GLM on those counts has exactly the same likelihood, coefficients and standard errors as a
row-level logistic regression on the leads themselves, so ten million leads cost what a few
hundred patterns cost.

Censoring: a lead counts only once its whole window (``window="90D"``) has passed by ``as_of``.
Younger leads are *in progress*: they are left out of the fit (not counted as failures) and are
reported in ``conversion_["in_progress"]``.

Prices: with ``price_col`` the model adds ``log2_price`` (the odds ratio is per doubling of the
price paid per lead). Warm-market leads cost nothing and log(0) does not exist, so free leads get
``log2_price = 0`` and their own indicator ``free_lead``; the slope is therefore estimated from
paid leads only. When the free leads are exactly one level of a feature (all of the warm market,
say), the indicator is the same thing as that level's term and is left out, which is reported in
``checks_``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.censoring import offset, parse_duration
from toolkit.frames import collect, from_native, hand_off, latest_timestamp
from toolkit.rates import compare_proportions, z_value
from toolkit.schema import LEAD_TYPES, STAGES, CRMData, DataError

OUTCOMES = tuple(s for s in STAGES if s != "contact")
BUDGET_OUTCOMES = ("customer", "rep", "leader")
MIN_EVENTS_PER_TERM = 10  # Peduzzi et al. (1996): fewer events per parameter gives unstable fits
MISSING_LEVEL = "(missing)"


class ModelCheckWarning(UserWarning):
    """A model check found a problem (level with no leads, separation, too few conversions)."""


# --------------------------------------------------------------------------------------------
# aggregation by the dataframe engine


def _base_columns(features: Iterable[str]) -> list[str]:
    out: list[str] = []
    for feature in features:
        for part in feature.split(":"):
            if part not in out:
                out.append(part)
    return out


def aggregate_leads(
    leads,
    events,
    *,
    by: Iterable[str],
    outcomes: Iterable[str],
    window,
    as_of,
    cost_col: str | None = "cost",
) -> pd.DataFrame:
    """Leads reduced to one row per value of ``by``, computed by the leads' own engine.

    Parameters
    ----------
    leads, events : dataframe (pandas, Polars, PyArrow, DuckDB or PySpark; both of one kind)
        The contract's ``leads`` (``lead_id``, ``created_at`` and the ``by`` columns) and
        ``events`` (``lead_id``, ``stage``, ``at``) tables.
    by : columns to group by (features and price).
    outcomes : stages counted as conversions, each separately.
    window : duration such as ``"90D"``: a lead converts if it reaches the stage within it.
    as_of : timestamp; leads created later than ``as_of - window`` are in progress.
    cost_col : column with the price paid per lead, summed over the counted leads (or None).

    Returns
    -------
    pandas.DataFrame
        One row per pattern, with the ``by`` columns and:

        - ``leads``: all leads of the pattern, including those still in progress;
        - ``trials``: leads whose window has passed by ``as_of`` (the ones a rate can use);
        - ``s_<outcome>``: how many of the ``trials`` reached ``outcome`` within the window;
        - ``spend``: the summed ``cost_col`` of the ``trials`` (0 without ``cost_col``).
    """
    by, outcomes = list(by), list(outcomes)
    window = parse_duration(window)
    required = list(
        dict.fromkeys(["lead_id", "created_at", *by, *([cost_col] if cost_col else [])])
    )
    handed = hand_off(
        {"leads": leads, "events": events},
        {"leads": required, "events": ["lead_id", "stage", "at"]},
    )
    leads, events = handed["leads"], handed["events"]
    lf = from_native(leads, "leads", required)
    ev = from_native(events, "events", ["lead_id", "stage", "at"])
    if type(lf) is not type(ev) or lf.implementation != ev.implementation:
        raise DataError(
            "leads and events must be frames of the same kind; got "
            f"{type(nw.to_native(lf)).__name__} and {type(nw.to_native(ev)).__name__}"
        )
    if lf.implementation is nw.Implementation.POLARS and not isinstance(lf, nw.LazyFrame):
        lf, ev = lf.lazy(), ev.lazy()  # one optimised query instead of step-by-step eager work
    cutoff = (pd.Timestamp(as_of) - window).to_pydatetime()
    first = (
        ev.filter(nw.col("stage").is_in(outcomes))
        .with_columns(
            **{f"_first_{o}": nw.when(nw.col("stage") == o).then(nw.col("at")) for o in outcomes}
        )
        .group_by("lead_id")
        .agg(*[nw.col(f"_first_{o}").min() for o in outcomes])
    )
    elapsed = nw.col("created_at") <= cutoff
    deadline = nw.col("created_at").dt.offset_by(offset(window))
    keys = by or ["_all"]
    lf = lf.select(*required).with_columns(_all=nw.lit(1)) if not by else lf.select(*required)
    # Two small queries instead of one big one: counts per pattern need no join at all, and only
    # leads with an outcome event are joined (a fraction of them), not every lead.
    counts = (
        lf.with_columns(
            _elapsed=elapsed.cast(nw.Int64),
            _spend=(
                nw.when(elapsed).then(nw.col(cost_col).cast(nw.Float64)).otherwise(0.0)
                if cost_col
                else nw.lit(0.0)
            ),
        )
        .group_by(*keys)
        .agg(
            nw.len().alias("leads"),
            nw.col("_elapsed").sum().alias("trials"),
            nw.col("_spend").sum().alias("spend"),
        )
    )
    successes = (
        lf.filter(elapsed)
        .join(first, on="lead_id", how="inner")
        .with_columns(
            **{
                f"_s_{o}": (nw.col(f"_first_{o}") <= deadline).fill_null(False).cast(nw.Int64)
                for o in outcomes
            }
        )
        .group_by(*keys)
        .agg(*[nw.col(f"_s_{o}").sum().alias(f"s_{o}") for o in outcomes])
    )
    if counts.implementation is nw.Implementation.POLARS and isinstance(counts, nw.LazyFrame):
        import polars as pl

        # both queries at once, on Polars' streaming engine (about a third faster here)
        parts = pl.collect_all([nw.to_native(counts), nw.to_native(successes)], engine="streaming")
        counts_pd, successes_pd = (part.to_pandas() for part in parts)
    else:
        counts_pd, successes_pd = collect(counts).to_pandas(), collect(successes).to_pandas()
    out = counts_pd.merge(successes_pd, on=keys, how="left")
    if not by:
        out = out.drop(columns="_all")
    for col in ("leads", "trials", *[f"s_{o}" for o in outcomes]):
        out[col] = out[col].fillna(0).astype("int64")
    out["spend"] = out["spend"].fillna(0.0).astype("float64")
    return out.sort_values(by).reset_index(drop=True) if by else out


# --------------------------------------------------------------------------------------------
# the design matrix


def _level_order(feature: str, levels) -> list[str]:
    levels = [str(v) for v in levels]
    if feature == "lead_type":
        known = [t for t in LEAD_TYPES if t in levels]
        return known + sorted(set(levels) - set(known))
    return sorted(set(levels))


class _Design:
    """Treatment-coded features, the free-lead indicator and log2 price, minus aliased terms."""

    def __init__(self, features, levels, price_col, dropped=()):
        self.features = tuple(features)
        self.levels = levels  # feature -> levels, reference first
        self.price_col = price_col
        self.dropped = list(dropped)

    def full_matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        cols = {"intercept": np.ones(len(frame))}
        for feature in self.features:
            values = frame[feature].to_numpy()
            for level in self.levels[feature][1:]:
                cols[f"{feature}={level}"] = (values == level).astype("float64")
        if self.price_col is not None:
            price = frame[self.price_col].to_numpy(dtype="float64")
            free = price == 0
            cols["free_lead"] = free.astype("float64")
            cols["log2_price"] = np.log2(np.where(free, 1.0, price))
        return pd.DataFrame(cols, index=frame.index)

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.full_matrix(frame).drop(columns=self.dropped)


def _aliased_terms(X: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """Columns that are linear combinations of earlier ones, each with the terms it repeats."""
    kept: list[str] = []
    out = []
    if np.linalg.matrix_rank(X.to_numpy()) == X.shape[1]:
        return out  # the usual case, settled by one decomposition
    for col in X.columns:
        trial = X[[*kept, col]].to_numpy()
        if np.linalg.matrix_rank(trial) > len(kept):
            kept.append(col)
            continue
        coef, *_ = np.linalg.lstsq(X[kept].to_numpy(), X[col].to_numpy(), rcond=None)
        partners = [
            k for k, c in zip(kept, coef, strict=True) if abs(c) > 1e-8 and k != "intercept"
        ]
        out.append((col, partners))
    return out


# --------------------------------------------------------------------------------------------
# statsmodels, wrapped


def _glm_fit(X: pd.DataFrame, successes: np.ndarray, trials: np.ndarray):
    """Binomial GLM on counts; returns (results, notes) with statsmodels' warnings turned into
    notes: a saturated model (as many patterns as terms) makes statsmodels divide by zero
    residual degrees of freedom while it computes a scale the binomial family does not use."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    endog = np.column_stack([successes, trials - successes]).astype("float64")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = sm.GLM(endog, X, family=sm.families.Binomial()).fit()
    notes = set()
    for w in caught:
        if issubclass(w.category, PerfectSeparationWarning):
            # statsmodels tests whether fitted means equal the observed proportions, which a
            # saturated grouped model always does: not evidence of separation here (the checks
            # look at each level's counts and at runaway coefficients instead)
            continue
        if issubclass(w.category, ConvergenceWarning):
            notes.add("convergence")
        elif issubclass(w.category, RuntimeWarning) and "statsmodels" in str(w.filename):
            continue  # arithmetic noise of saturated or separated fits, judged by the checks
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not results.converged:
        notes.add("convergence")
    if (np.abs(np.asarray(results.params)) > 15).any() or (np.asarray(results.bse) > 100).any():
        notes.add("separation")  # a logit of +-15 is a rate of 3e-7: the estimate ran away
    return results, notes


def _expit(x):
    from scipy.special import expit  # no overflow warnings for the huge logits of separated fits

    return expit(x)


def _pooled_rates(results, X: np.ndarray, weights: np.ndarray, groups: np.ndarray, alpha: float):
    """Weighted mean predicted rate per group, with a delta-method interval on the logit scale.

    For a group made of one covariate pattern this is exactly ``get_prediction().summary_frame``
    (the same linear predictor and standard error); for several patterns it is the mean over
    the group's leads, with the covariance of the fitted coefficients carried through.
    """
    beta = np.asarray(results.params)
    cov = np.asarray(results.cov_params())
    p = _expit(X @ beta)
    z = z_value(alpha)
    rows = []
    for g in pd.unique(groups):
        mask = groups == g
        w = weights[mask]
        total = w.sum()
        if total <= 0:
            rows.append((g, np.nan, np.nan, np.nan))
            continue
        rate = float((w * p[mask]).sum() / total)
        grad = (w * p[mask] * (1 - p[mask])) @ X[mask] / total  # d rate / d beta
        se_rate = math.sqrt(max(float(grad @ cov @ grad), 0.0))
        if 0 < rate < 1:
            logit = math.log(rate / (1 - rate))
            se = se_rate / (rate * (1 - rate))
            rows.append((g, rate, _expit(logit - z * se), _expit(logit + z * se)))
        else:
            rows.append((g, rate, np.nan, np.nan))
    return pd.DataFrame(rows, columns=["group", "rate", "lower", "upper"]).set_index("group")


# --------------------------------------------------------------------------------------------
# the model


class LeadQualityModel:
    """How lead type, source and price paid drive conversion to customer, rep or leader.

    A binomial GLM (logit link) fitted by statsmodels on successes and trials per covariate
    pattern, counted by the input's own dataframe engine (see :func:`aggregate_leads`), with
    exactly the coefficients of a row-level logistic regression on the same leads.

    Parameters
    ----------
    outcome : str
        The stage that counts as a conversion: ``"customer"``, ``"rep"``, ``"leader"`` (or
        ``"lead"``, ``"prospect"``).
    features : tuple of str
        Lead columns entered as categorical terms, treatment-coded. ``"a:b"`` enters the
        combinations of ``a`` and ``b`` as one factor (lead type x source). Reference level:
        ``generic`` for ``lead_type`` (bought leads, the seeds' 3-in-100 baseline), otherwise
        the level with the most leads.
    price_col : str, optional
        Price paid per lead (``"cost"`` in the contract). Adds ``log2_price`` (odds ratio per
        doubling of the price) and ``free_lead`` for leads that cost nothing (log of 0 does
        not exist; the slope comes from paid leads). A price with a few dozen distinct values
        keeps the fit small; a continuous covariate with nearly as many distinct values as
        leads makes the grouped fit no cheaper than a row-level one (one pattern per lead),
        though it still works and stays exact.
    window : duration, default ``"90D"``
        A lead converts if it reaches ``outcome`` within this time of ``created_at``; leads
        whose window has not passed by ``as_of`` are left out (in progress, not failures).
    alpha : float
        1 - confidence level of every interval.

    Attributes
    ----------
    results_ : statsmodels GLMResults for ``outcome``.
    summary : DataFrame (term, coef, odds_ratio, ci_lower, ci_upper, p_value).
    conversion_ : DataFrame, predicted conversion per feature level with interval.
    checks_ : DataFrame (severity, check, subject, message): problems and notes in plain words.
    patterns_ : DataFrame, the aggregated counts the model was fitted on.
    as_of_ : Timestamp used for censoring.
    """

    def __init__(
        self, outcome="customer", features=("lead_type",), price_col=None, window="90D", alpha=0.05
    ):
        self.outcome = outcome
        self.features = features
        self.price_col = price_col
        self.window = window
        self.alpha = alpha

    # ---------------------------------------------------------------- fitting
    def fit(self, data, events=None, *, as_of=None):
        """Fit on a :class:`toolkit.CRMData` (or a leads table plus an events table).

        ``as_of`` defaults to ``data.as_of`` or, for bare tables, the latest timestamp in them.
        Returns self. Problems found by the model checks are listed in ``checks_`` and raised
        as one :class:`ModelCheckWarning`.
        """
        features = (self.features,) if isinstance(self.features, str) else tuple(self.features)
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha!r}")
        window = parse_duration(self.window)
        if isinstance(data, CRMData):
            leads, events = data.leads, data.events
            as_of = as_of if as_of is not None else data.as_of
        else:
            leads = data
            if events is None:
                raise ValueError("fit(leads, events): pass the events table with a leads table")
        if as_of is None:
            as_of = max(
                latest_timestamp(from_native(leads, "leads", ["created_at"]), ["created_at"]),
                latest_timestamp(from_native(events, "events", ["at"]), ["at"]),
            )
        self.as_of_ = pd.Timestamp(as_of)
        self._features = features
        self._window = window
        self._outcomes = list(dict.fromkeys([self.outcome, *BUDGET_OUTCOMES]))
        base = _base_columns(features)
        by = base + ([self.price_col] if self.price_col and self.price_col not in base else [])
        patterns = aggregate_leads(
            leads,
            events,
            by=by,
            outcomes=self._outcomes,
            window=window,
            as_of=self.as_of_,
            cost_col="cost" if "cost" in nw.from_native(leads).columns else None,
        )
        self._checks: list[tuple[str, str, str, str]] = []
        patterns = self._label(patterns, base, leads)
        self.patterns_ = patterns
        if patterns["leads"].sum() == 0:
            raise DataError("leads: the table has no leads, so there is nothing to fit")
        if patterns["trials"].sum() == 0:
            raise DataError(
                f"leads: none of the {int(patterns['leads'].sum()):,} leads is old enough: no "
                f"{self._window_words()} window has passed by {self.as_of_:%Y-%m-%d}, so nothing "
                "can be fitted yet (they are in progress, not lost)"
            )
        self._check_empty_levels(leads)
        fitted = patterns[patterns["trials"] > 0]
        levels = {}
        for feature in features:
            counts = fitted.groupby(feature)["trials"].sum()
            order = _level_order(feature, counts.index)
            if feature == "lead_type" and "generic" in order:
                ref = "generic"
            else:
                ref = max(order, key=lambda lev: (counts[lev], -order.index(lev)))
            levels[feature] = [ref, *[lev for lev in order if lev != ref]]
        design = _Design(features, levels, self.price_col)
        full = design.full_matrix(fitted)
        for term, partners in _aliased_terms(full):
            design.dropped.append(term)
            self._note_aliased(term, partners, fitted)
        self._design = design
        self._fits = {}
        self.results_ = self._results_for(self.outcome, checks=True)
        problems = [c for c in self._checks if c[0] == "problem"]
        if problems:
            warnings.warn(
                "The lead quality model found problems:\n"
                + "\n".join(f"- {c[3]}" for c in problems),
                ModelCheckWarning,
                stacklevel=2,
            )
        return self

    def _window_words(self) -> str:
        days = self._window / pd.Timedelta(days=1)
        return f"{days:g}-day" if days == int(days) else str(self._window)

    def _label(self, patterns: pd.DataFrame, base: list[str], leads) -> pd.DataFrame:
        """String levels (nulls named), combined ``a:b`` features and the price checks."""
        out = patterns.copy()
        for col in base:
            missing = out[col].isna()
            if missing.any():
                n = int(out.loc[missing, "leads"].sum())
                self._checks.append(
                    (
                        "note",
                        "missing value",
                        col,
                        f"{n:,} leads have no {col}; they form the level {MISSING_LEVEL!r}",
                    )
                )
            out[col] = out[col].astype("object").where(~missing, MISSING_LEVEL).astype("str")
        for feature in self._features:
            parts = feature.split(":")
            if len(parts) > 1:
                label = out[parts[0]]
                for part in parts[1:]:
                    label = label + ":" + out[part]
                out[feature] = label
        if self.price_col is not None:
            price = pd.to_numeric(out[self.price_col], errors="coerce")
            bad = price.isna() | (price < 0)
            if bad.any():
                lf = nw.from_native(leads)
                col = nw.col(self.price_col)
                ids = collect(lf.filter(col.is_null() | (col < 0)).select("lead_id").head(5))
                raise DataError(
                    f"leads.{self.price_col}: {int(out.loc[bad, 'leads'].sum()):,} rows empty or "
                    f"negative (first lead_id: {', '.join(map(str, ids['lead_id'].to_list()))}); "
                    "the price paid per lead must be a number >= 0"
                )
            out[self.price_col] = price.astype("float64")
        label = out[self._features[0]] if self._features else pd.Series("all", index=out.index)
        for feature in self._features[1:]:
            label = label + " / " + out[feature]
        out["level"] = label.astype("str")
        return out

    def _check_empty_levels(self, leads) -> None:
        p = self.patterns_
        for feature in self._features:
            by_level = p.groupby(feature)[["leads", "trials"]].sum()
            if feature == "lead_type":
                for t in LEAD_TYPES:
                    if t not in by_level.index:
                        by_level.loc[t] = (0, 0)
            for level, row in by_level.iterrows():
                if row["trials"] > 0:
                    continue
                if row["leads"] == 0:
                    why = "there are no leads of this kind in the data at all"
                else:
                    why = (
                        f"its {int(row['leads']):,} lead(s) are all still in progress (no "
                        f"{self._window_words()} window has passed by {self.as_of_:%Y-%m-%d})"
                    )
                self._checks.append(
                    (
                        "problem",
                        "level with no leads",
                        f"{feature}={level}",
                        f"{feature}={level} has no leads to learn from: {why}. The model says "
                        "nothing about it; its row in conversion_ is empty (NaN).",
                    )
                )

    def _note_aliased(self, term: str, partners: list[str], fitted: pd.DataFrame) -> None:
        same = " and ".join(partners) if partners else "the baseline"
        if term == "free_lead":
            free = fitted[self.price_col].to_numpy() == 0
            for feature in self._features:
                for level in pd.unique(fitted[feature]):
                    if np.array_equal(free, fitted[feature].to_numpy() == level):
                        same = f"{feature}={level}"
            message = (
                f"The free leads are exactly the leads of {same}: the data cannot tell being "
                "free apart from that, so free_lead is left out, and the price slope is "
                "estimated from paid leads only."
            )
            self._checks.append(("note", "free leads", term, message))
            return
        message = (
            f"{term} is fully determined by other terms ({same}) in these data (for instance, "
            "each source sells only one lead type), so its separate effect cannot be estimated: "
            "its own term is left out, and its leads still get a prediction in conversion_."
        )
        self._checks.append(("note", "aliased term", term, message))

    def _results_for(self, outcome: str, checks: bool = False):
        """The fit for ``outcome`` (the model's own, or a sibling on the same patterns)."""
        if outcome not in self._fits:
            if outcome not in self._outcomes:
                raise ValueError(f"outcome must be one of {tuple(self._outcomes)}, got {outcome!r}")
            fitted = self.patterns_[self.patterns_["trials"] > 0]
            X = self._design.matrix(fitted)
            s = fitted[f"s_{outcome}"].to_numpy()
            n = fitted["trials"].to_numpy()
            results, notes = _glm_fit(X, s, n)
            found = self._model_checks(outcome, fitted, X, notes)
            if checks:
                self._checks.extend(found)
            self._fits[outcome] = (results, found)
        return self._fits[outcome][0]

    def _model_checks(self, outcome, fitted, X, notes) -> list[tuple[str, str, str, str]]:
        found = []
        what = (
            f"became {outcome} within {self._window.days:g} days"
            if self._window.days
            else f"became {outcome}"
        )
        separated = False
        for feature in self._features:
            by_level = fitted.groupby(feature)[["trials", f"s_{outcome}"]].sum()
            for level, (n, s) in by_level.iterrows():
                if s == 0 or s == n:
                    separated = True
                    direction = "worse" if s == 0 else "better"
                    found.append(
                        (
                            "problem",
                            "perfect separation",
                            f"{feature}={level}",
                            f"{feature}={level}: {s:,} of {n:,} leads {what}. With "
                            f"{'no' if s == 0 else 'only'} conversions the model cannot say how much "
                            f"{direction} this level is (its odds ratio runs off towards "
                            f"{'zero' if s == 0 else 'infinity'} and its interval means nothing). "
                            "Gather more leads of this kind or merge it with a similar level.",
                        )
                    )
        if "separation" in notes and not separated:
            found.append(
                (
                    "problem",
                    "perfect separation",
                    "model",
                    "Some combination of the terms predicts conversion perfectly (perfect "
                    "separation): at least one coefficient runs off towards zero or infinity "
                    "odds and its interval means nothing. Use fewer features or merge sparse "
                    "levels.",
                )
            )
        if "convergence" in notes:
            found.append(
                (
                    "problem",
                    "no convergence",
                    "model",
                    "The fit did not converge; treat the coefficients as unreliable.",
                )
            )
        s = int(fitted[f"s_{outcome}"].sum())
        n = int(fitted["trials"].sum())
        events = min(s, n - s)
        terms = X.shape[1]
        if events < MIN_EVENTS_PER_TERM * terms:
            found.append(
                (
                    "problem",
                    "too few conversions",
                    "model",
                    f"Too few conversions for a stable fit: {s:,} of {n:,} leads {what}, for "
                    f"{terms} term(s); a common rule of thumb asks for at least "
                    f"{MIN_EVENTS_PER_TERM} per term ({MIN_EVENTS_PER_TERM * terms:,} here). The "
                    "estimates and their intervals may be unreliable: use fewer features or more leads.",
                )
            )
        return found

    # ---------------------------------------------------------------- results
    @property
    def checks_(self) -> pd.DataFrame:
        """Problems and notes, in plain words (severity is ``problem`` or ``note``)."""
        return pd.DataFrame(self._checks, columns=["severity", "check", "subject", "message"])

    @property
    def summary(self) -> pd.DataFrame:
        """One row per term: term, coef, odds_ratio, ci_lower, ci_upper (of the odds ratio),
        p_value. ``intercept`` is the reference level's odds (at a price of 1 with a price)."""
        r = self.results_
        ci = np.asarray(r.conf_int(alpha=self.alpha))
        return pd.DataFrame(
            {
                "term": list(r.model.exog_names),
                "coef": np.asarray(r.params),
                "odds_ratio": np.exp(np.asarray(r.params)),
                "ci_lower": np.exp(ci[:, 0]),
                "ci_upper": np.exp(ci[:, 1]),
                "p_value": np.asarray(r.pvalues),
            }
        )

    def _level_table(self, outcome: str) -> pd.DataFrame:
        """Per level: counts, observed rate and the model's rate with interval."""
        results = self._results_for(outcome)
        p = self.patterns_
        per = p.groupby("level", sort=False).agg(
            leads=("trials", "sum"),
            conversions=(f"s_{outcome}", "sum"),
            in_progress=("leads", "sum"),
            spend=("spend", "sum"),
        )
        per["in_progress"] = per["in_progress"] - per["leads"]
        fitted = p[p["trials"] > 0]
        X = self._design.matrix(fitted).to_numpy()
        rates = _pooled_rates(
            results, X, fitted["trials"].to_numpy("float64"), fitted["level"].to_numpy(), self.alpha
        )
        per = per.join(rates, how="left")
        keys = p.drop_duplicates("level").set_index("level")[list(self._features)]
        per = keys.join(per)
        # empty levels known only from the vocabulary (e.g. no qualified leads at all)
        if self._features == ("lead_type",):
            for t in LEAD_TYPES:
                if t not in per.index:
                    per.loc[t, ["lead_type", "leads", "conversions", "in_progress", "spend"]] = (
                        t,
                        0,
                        0,
                        0,
                        0.0,
                    )
        order = {lev: i for i, lev in enumerate(self._sorted_levels(per.index))}
        per = per.sort_index(key=lambda idx: idx.map(order))
        for col in ("leads", "conversions", "in_progress"):
            per[col] = per[col].astype("int64")
        return per.reset_index()

    def _sorted_levels(self, levels) -> list[str]:
        if self._features and self._features[0] == "lead_type":
            rank = {t: i for i, t in enumerate(LEAD_TYPES)}
            return sorted(
                levels, key=lambda lev: (rank.get(lev.split(" / ")[0].split(":")[0], 9), lev)
            )
        return sorted(levels)

    @property
    def conversion_(self) -> pd.DataFrame:
        """Conversion per feature level.

        Returns
        -------
        pandas.DataFrame
            One row per level of the features (for several features, per observed combination):

            - the feature column(s) and ``level`` (a label: values joined by " / ");
            - ``leads``: leads whose window has passed; ``in_progress``: younger leads, left out;
            - ``conversions`` and ``observed`` (their share);
            - ``price``: mean price paid per counted lead (with ``price_col``; NaN otherwise);
            - ``conversion``, ``ci_lower``, ``ci_upper``: the model's rate over the level's
              leads, from the linear predictor and its covariance (for a level that is one
              covariate pattern, exactly ``get_prediction().summary_frame(alpha)``).

            A level with no counted leads has NaN rates (it is also listed in ``checks_``).
        """
        t = self._level_table(self.outcome)
        out = t[[*self._features, "level", "leads", "in_progress", "conversions"]].copy()
        out["observed"] = np.where(
            t["leads"] > 0, t["conversions"] / t["leads"].where(t["leads"] > 0), np.nan
        )
        out["price"] = (t["spend"] / t["leads"].where(t["leads"] > 0)) if self.price_col else np.nan
        out["conversion"] = t["rate"].to_numpy()
        out["ci_lower"] = t["lower"].to_numpy()
        out["ci_upper"] = t["upper"].to_numpy()
        return out

    def cost_per(self, outcome: str = "customer") -> pd.DataFrame:
        """What one customer (or rep, or leader) costs, per level, with an interval.

        Cost per outcome = money spent on the level's counted leads / the model's expected
        number of outcomes among them. The interval carries the model's uncertainty (delta
        method on the logit scale; the money spent is known).

        Returns
        -------
        pandas.DataFrame
            One row per level: feature column(s), ``level``, ``outcome``, ``leads``, ``spend``,
            ``cost_per_lead``, ``conversion`` (model rate), ``cost_per`` (cost per outcome),
            ``ci_lower``, ``ci_upper``, and ``observed_cost_per`` (spend / conversions seen;
            NaN when none were seen). Free leads cost 0 per outcome.
        """
        t = self._level_table(outcome)
        out = t[[*self._features, "level", "leads", "spend"]].copy()
        out.insert(len(self._features) + 1, "outcome", outcome)
        out["cost_per_lead"] = t["spend"] / t["leads"].where(t["leads"] > 0)
        out["conversion"] = t["rate"]
        out["cost_per"] = out["cost_per_lead"] / t["rate"]
        out["ci_lower"] = out["cost_per_lead"] / t["upper"]
        out["ci_upper"] = out["cost_per_lead"] / t["lower"]
        out["observed_cost_per"] = t["spend"] / t["conversions"].where(t["conversions"] > 0)
        return out

    def calibration(self, holdout: float | None = None, *, seed: int = 0) -> pd.DataFrame:
        """Predicted versus observed conversion per covariate pattern.

        With ``holdout`` (a share such as 0.3), that share of the leads is set aside at random,
        the model is refitted on the rest and judged on the held-out leads. The split is done
        on the counts: a pattern's held-out leads are Binomial(trials, holdout) and their
        conversions hypergeometric, which is exactly a random split of its leads.

        Returns
        -------
        pandas.DataFrame
            One row per covariate pattern (and per ``set``: "fit" or "holdout"): feature
            column(s), the price column if any, ``level``, ``set``, ``leads``, ``conversions``,
            ``observed``, ``predicted``, ``ci_lower``, ``ci_upper``, and ``pearson_residual``.
        """
        fitted = self.patterns_[self.patterns_["trials"] > 0].copy()
        s_col = f"s_{self.outcome}"
        cols = [*self._features, *([self.price_col] if self.price_col else []), "level"]
        if holdout is None:
            parts = [("fit", fitted, self.results_)]
        else:
            if not 0 < holdout < 1:
                raise ValueError(f"holdout must be a share between 0 and 1, got {holdout!r}")
            rng = np.random.default_rng(seed)
            n = fitted["trials"].to_numpy()
            s = fitted[s_col].to_numpy()
            n_out = rng.binomial(n, holdout)
            s_out = rng.hypergeometric(s, n - s, n_out) if len(n) else s
            train = fitted.assign(trials=n - n_out, **{s_col: s - s_out})
            test = fitted.assign(trials=n_out, **{s_col: s_out})
            train = train[train["trials"] > 0]
            results, _ = _glm_fit(
                self._design.matrix(train), train[s_col].to_numpy(), train["trials"].to_numpy()
            )
            parts = [("fit", train, results), ("holdout", test[test["trials"] > 0], results)]
        frames = []
        for name, frame, results in parts:
            sf = results.get_prediction(self._design.matrix(frame)).summary_frame(alpha=self.alpha)
            out = frame[cols].copy()
            out["set"] = name
            out["leads"] = frame["trials"].to_numpy()
            out["conversions"] = frame[s_col].to_numpy()
            out["observed"] = out["conversions"] / out["leads"]
            out["predicted"] = sf["mean"].to_numpy()
            out["ci_lower"] = sf["mean_ci_lower"].to_numpy()
            out["ci_upper"] = sf["mean_ci_upper"].to_numpy()
            var = out["predicted"] * (1 - out["predicted"]) / out["leads"]
            out["pearson_residual"] = (out["observed"] - out["predicted"]) / np.sqrt(var)
            frames.append(out)
        return pd.concat(frames, ignore_index=True)

    def price_curve(self, points: int = 60) -> pd.DataFrame:
        """The fitted conversion against price per lead, over each level's paid price range.

        Returns
        -------
        pandas.DataFrame
            ``level``, feature column(s), ``price``, ``conversion``, ``ci_lower``, ``ci_upper``
            (``get_prediction().summary_frame``), ``points`` rows per level with paid leads.
        """
        if self.price_col is None:
            raise ValueError("price_curve needs a model fitted with price_col")
        fitted = self.patterns_[
            (self.patterns_["trials"] > 0) & (self.patterns_[self.price_col] > 0)
        ]
        frames = []
        for level, rows in fitted.groupby("level", sort=False):
            lo, hi = rows[self.price_col].min(), rows[self.price_col].max()
            grid = np.geomspace(lo, hi, points) if hi > lo else np.array([lo])
            new = pd.DataFrame({f: rows[f].iloc[0] for f in self._features}, index=range(len(grid)))
            new[self.price_col] = grid
            sf = self.results_.get_prediction(self._design.matrix(new)).summary_frame(
                alpha=self.alpha
            )
            frames.append(
                new.assign(
                    level=level,
                    price=grid,
                    conversion=sf["mean"].to_numpy(),
                    ci_lower=sf["mean_ci_lower"].to_numpy(),
                    ci_upper=sf["mean_ci_upper"].to_numpy(),
                )[["level", *self._features, "price", "conversion", "ci_lower", "ci_upper"]]
            )
        return pd.concat(frames, ignore_index=True)

    def _level_rows(
        self, levels: Iterable[str], prices: Mapping[str, float] | None
    ) -> pd.DataFrame:
        """One design row per level (at ``prices`` when the model has a price term)."""
        known = self.patterns_.drop_duplicates("level").set_index("level")
        rows = []
        for level in levels:
            if level not in known.index:
                raise ValueError(
                    f"{level!r} is not a level of the model; levels: {list(known.index)}"
                )
            if self.patterns_.loc[self.patterns_["level"] == level, "trials"].sum() == 0:
                raise ValueError(
                    f"level {level!r} has no counted leads: the model cannot predict it"
                )
            row = {f: known.loc[level, f] for f in self._features}
            if self.price_col is not None:
                row[self.price_col] = float(prices[level])
            rows.append(row)
        return pd.DataFrame(rows)

    def print_summary(self) -> None:
        """Print the coefficients, the conversion per level and the checks."""
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            print(self._title())
            print(self.summary.round(4).to_string(index=False))
            print()
            print(self.conversion_.round(4).to_string(index=False))
            for _, c in self.checks_.iterrows():
                print(f"\n[{c['severity']}] {c['message']}")

    def _title(self) -> str:
        n = int(self.patterns_["trials"].sum())
        return (
            f"LeadQualityModel: {self.outcome} within {self.window} of the lead, "
            f"{n:,} leads old enough by {self.as_of_:%Y-%m-%d}, "
            f"{len(self.patterns_)} covariate patterns"
        )

    def __repr__(self) -> str:
        return (
            f"LeadQualityModel(outcome={self.outcome!r}, features={self.features!r}, "
            f"price_col={self.price_col!r}, window={self.window!r}, alpha={self.alpha!r})"
        )

    def _repr_html_(self) -> str:
        if not hasattr(self, "results_"):
            return f"<p>{self!r} (not fitted)</p>"
        checks = "".join(
            f"<li><b>{c['severity']}</b>: {c['message']}</li>" for _, c in self.checks_.iterrows()
        )
        return (
            f"<p><b>{self._title()}</b></p>"
            + self.summary.to_html(index=False, float_format=lambda v: f"{v:.4g}")
            + "<p>Conversion per level</p>"
            + self.conversion_.to_html(index=False, float_format=lambda v: f"{v:.4g}")
            + (f"<ul>{checks}</ul>" if checks else "")
        )


# --------------------------------------------------------------------------------------------
# what-ifs on a fitted model


def _check_fitted(model) -> None:
    if not isinstance(model, LeadQualityModel) or not hasattr(model, "results_"):
        raise ValueError("pass a fitted LeadQualityModel (call .fit(data) first)")


def _outcome_counts(model, outcome, levels, prices, leads, *, draws, seed) -> pd.DataFrame:
    """Expected outcomes from buying ``leads`` of each level, with two intervals.

    ``ci_*``: the expected count, delta method on the log scale (what the fit knows).
    ``likely_*``: the count you may actually see: coefficients drawn from their sampling
    distribution (parametric bootstrap), then each level's count drawn binomially.
    """
    results = model._results_for(outcome)
    problems = [c[1] for c in model._fits[outcome][1] if c[0] == "problem"]
    note = "; ".join(dict.fromkeys(problems))
    X = model._design.matrix(model._level_rows(levels, prices)).to_numpy()
    beta = np.asarray(results.params)
    cov = np.asarray(results.cov_params())
    p = _expit(X @ beta)
    n = np.asarray(leads, dtype="float64")
    z = z_value(model.alpha)
    rng = np.random.default_rng(seed)
    betas = rng.multivariate_normal(beta, cov, size=draws, method="eigh")
    p_draw = _expit(betas @ X.T)  # draws x levels
    counts = rng.binomial(np.floor(n).astype("int64"), np.clip(p_draw, 0, 1))
    lo_q, hi_q = model.alpha / 2, 1 - model.alpha / 2
    rows = []
    for i, level in enumerate([*levels, "total"]):
        sel = np.arange(len(levels)) if level == "total" else np.array([i])
        expected = float((n[sel] * p[sel]).sum())
        grad = (n[sel] * p[sel] * (1 - p[sel])) @ X[sel]
        se = math.sqrt(max(float(grad @ cov @ grad), 0.0))
        if expected > 0:
            with np.errstate(over="ignore"):  # a separated fit's interval is unbounded
                lower, upper = (float(expected * np.exp(k * z * se / expected)) for k in (-1, 1))
        else:
            lower = upper = 0.0
        total = counts[:, sel].sum(axis=1)
        rows.append(
            {
                "outcome": outcome,
                "level": level,
                "conversion": float(p[i])
                if level != "total"
                else expected / n.sum()
                if n.sum()
                else np.nan,
                "expected": expected,
                "ci_lower": lower,
                "ci_upper": upper,
                "likely_lower": float(np.quantile(total, lo_q)),
                "likely_upper": float(np.quantile(total, hi_q)),
                "note": note,
            }
        )
    return pd.DataFrame(rows)


def lead_budget(
    model,
    budget: float,
    prices: Mapping[str, float],
    mix: Mapping[str, float],
    *,
    draws: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """Expected customers, reps and leaders from spending ``budget`` on leads.

    Parameters
    ----------
    model : fitted LeadQualityModel (its levels are what can be bought, e.g. lead types).
    budget : money to spend.
    prices : level -> price per lead (> 0). With a price term in the model, the price also
        moves the conversion rate.
    mix : level -> share of the budget (shares must add up to 1).
    draws, seed : parametric bootstrap draws for the likely range, and their seed.

    Returns
    -------
    pandas.DataFrame
        One row per outcome (customer, rep, leader) and level, plus a ``total`` row per outcome:
        ``outcome``, ``level``, ``price``, ``share``, ``spend``, ``leads`` (bought: spend /
        price), ``conversion`` (the model's rate), ``expected`` with ``ci_lower``/``ci_upper``
        (the expected count, model uncertainty), and ``likely_lower``/``likely_upper`` (the
        count you might actually see, adding the luck of the draw to the model's uncertainty),
        and ``note``: the model checks' problems for that outcome's fit (e.g. "too few
        conversions"), empty when there are none.
    """
    _check_fitted(model)
    if budget < 0 or not np.isfinite(budget):
        raise ValueError(f"budget must be a finite amount >= 0, got {budget!r}")
    levels = [lev for lev in mix if mix[lev] > 0]
    shares = np.array([float(mix[lev]) for lev in mix])
    if (shares < 0).any() or not np.isclose(shares.sum(), 1.0):
        raise ValueError(f"mix shares must be >= 0 and add up to 1, got {dict(mix)}")
    missing = [lev for lev in levels if lev not in prices]
    if missing:
        raise ValueError(f"no price given for {missing}")
    free = [lev for lev in levels if not float(prices[lev]) > 0]
    if free:
        raise ValueError(f"prices must be > 0 for levels bought with the budget; got {free}")
    spend = np.array([budget * mix[lev] for lev in levels])
    price = np.array([float(prices[lev]) for lev in levels])
    leads = spend / price
    frames = [
        _outcome_counts(model, o, levels, prices, leads, draws=draws, seed=seed)
        for o in BUDGET_OUTCOMES
    ]
    out = pd.concat(frames, ignore_index=True)
    info = pd.DataFrame(
        {
            "level": [*levels, "total"],
            "price": [*price, np.nan],
            "share": [*(spend / budget if budget else spend), 1.0],
            "spend": [*spend, spend.sum()],
            "leads": [*leads, leads.sum()],
        }
    )
    out = out.merge(info, on="level", how="left")
    return out[
        [
            "outcome",
            "level",
            "price",
            "share",
            "spend",
            "leads",
            "conversion",
            "expected",
            "ci_lower",
            "ci_upper",
            "likely_lower",
            "likely_upper",
            "note",
        ]
    ]


def best_mix(
    model,
    budget: float,
    prices: Mapping[str, float],
    *,
    target: str = "customer",
    value: float | None = None,
    available: Mapping[str, float] | None = None,
    draws: int = 4000,
    seed: int = 0,
) -> pd.DataFrame:
    """The split of ``budget`` that maximises the expected ``target``, and break-even prices.

    Expected outcomes are linear in the leads bought, so the best split buys the level with the
    lowest cost per ``target`` first, up to what can be bought (``available`` leads, if given),
    then the next cheapest, and so on. Free levels (price 0) cost nothing: their ``available``
    leads are all worked; without ``available`` they are left out of the split.

    Parameters
    ----------
    model : fitted LeadQualityModel.
    budget : money to spend. prices : level -> price per lead.
    target : "customer", "rep" or "leader".
    value : what one ``target`` is worth (e.g. a customer's margin over their lifetime); gives
        the break-even price per lead, value x conversion: pay more than that and a lead
        loses money on average.
    available : level -> most leads that can be had (a broker's stock, a warm market of 150).

    Returns
    -------
    pandas.DataFrame
        One row per level plus ``total``: ``level``, ``price``, ``conversion``, ``cost_per``
        (cost per ``target``) with ``cost_ci_lower``/``cost_ci_upper``, ``rank`` (1 = best
        buy), ``share`` (of the budget), ``spend``, ``leads``, ``expected`` with ``ci_lower``/
        ``ci_upper`` and ``likely_lower``/``likely_upper``, and ``break_even_price`` with
        ``break_even_lower``/``break_even_upper`` (NaN without ``value``).
    """
    _check_fitted(model)
    if target not in BUDGET_OUTCOMES:
        raise ValueError(f"target must be one of {BUDGET_OUTCOMES}, got {target!r}")
    if budget < 0 or not np.isfinite(budget):
        raise ValueError(f"budget must be a finite amount >= 0, got {budget!r}")
    levels = list(prices)
    price = np.array([float(prices[lev]) for lev in levels])
    if (price < 0).any():
        raise ValueError(f"prices must be >= 0, got {dict(prices)}")
    results = model._results_for(target)
    X = model._design.matrix(model._level_rows(levels, prices))
    sf = results.get_prediction(X).summary_frame(alpha=model.alpha)
    p, p_lo, p_hi = (sf[c].to_numpy() for c in ("mean", "mean_ci_lower", "mean_ci_upper"))
    cost_per = price / p
    cap = np.array(
        [float(available[lev]) if available and lev in available else np.inf for lev in levels]
    )
    leads = np.zeros(len(levels))
    left = float(budget)
    order = np.argsort(cost_per, kind="stable")
    for i in order:
        if price[i] == 0:
            leads[i] = cap[i] if np.isfinite(cap[i]) else 0.0
            continue
        buy = min(left / price[i], cap[i])
        leads[i] = buy
        left -= buy * price[i]
    spend = leads * price
    bought = [lev for lev, n in zip(levels, leads, strict=True) if n > 0]
    counts = _outcome_counts(
        model,
        target,
        bought or levels[:1],
        prices,
        [leads[levels.index(lev)] for lev in bought] or [0.0],
        draws=draws,
        seed=seed,
    ).set_index("level")
    rank = np.empty(len(levels), dtype="int64")
    rank[order] = np.arange(1, len(levels) + 1)
    out = pd.DataFrame(
        {
            "level": levels,
            "price": price,
            "conversion": p,
            "cost_per": cost_per,
            "cost_ci_lower": price / p_hi,
            "cost_ci_upper": price / p_lo,
            "rank": rank,
            "share": spend / budget if budget else 0.0,
            "spend": spend,
            "leads": leads,
        }
    )
    total = {
        "level": "total",
        "spend": spend.sum(),
        "leads": leads.sum(),
        "share": spend.sum() / budget if budget else 0.0,
    }
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    for col in ("expected", "ci_lower", "ci_upper", "likely_lower", "likely_upper"):
        out[col] = out["level"].map(counts[col]).fillna(0.0).astype("float64")
    val = np.nan if value is None else float(value)
    out["break_even_price"] = np.append(val * p, np.nan)
    out["break_even_lower"] = np.append(val * p_lo, np.nan)
    out["break_even_upper"] = np.append(val * p_hi, np.nan)
    out["rank"] = out["rank"].astype("Int64")  # the total row has no rank
    out.insert(0, "target", target)
    return out


# --------------------------------------------------------------------------------------------
# sample sizes and the two-source test


def leads_needed(p1: float, p2: float, *, power: float = 0.8, alpha: float = 0.05) -> int:
    """Leads needed from EACH of two sources to tell conversion rates ``p1`` and ``p2`` apart.

    A two-sided test of two proportions at level ``alpha`` with the given ``power``, on
    Cohen's arcsine effect size (statsmodels ``NormalIndPower`` and ``proportion_effectsize``).
    Rounded up to whole leads; only leads whose window has passed count.
    """
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    for name, v in (("p1", p1), ("p2", p2)):
        if not 0 < v < 1:
            raise ValueError(f"{name} must be a rate strictly between 0 and 1, got {v!r}")
    if p1 == p2:
        raise ValueError("p1 and p2 are equal: no number of leads tells them apart")
    if not 0 < power < 1 or not 0 < alpha < 1:
        raise ValueError("power and alpha must be between 0 and 1")
    effect = abs(proportion_effectsize(p2, p1))
    n = NormalIndPower().solve_power(
        effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided"
    )
    return int(math.ceil(float(n) - 1e-9))


def compare_sources(
    source,
    a: str,
    b: str,
    *,
    by: str = "source",
    outcome: str = "customer",
    window="90D",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Do leads of level ``a`` convert differently from leads of level ``b``?

    Parameters
    ----------
    source : a fitted LeadQualityModel (``a`` and ``b`` are its levels; its outcome and window
        apply) or a CRMData (``a`` and ``b`` are values of column ``by``).
    by, outcome, window : with CRMData: the column to compare on, the outcome, the window.

    Returns
    -------
    pandas.DataFrame
        One row: ``a``, ``b``, ``outcome``, ``leads_a``, ``conversions_a``, ``rate_a``, the same
        for ``b``, ``difference`` (rate_a - rate_b) with ``ci_lower``/``ci_upper`` (Newcombe's
        score interval), ``ratio`` (rate_a / rate_b) with ``ratio_ci_lower``/``ratio_ci_upper``
        (log interval), and ``p_value`` (two-sided score test of equal rates: the test
        :func:`toolkit.compare_segments` uses, both through
        :func:`toolkit.rates.compare_proportions`). Only leads whose
        window has passed count; in-progress leads are not failures.
    """
    if isinstance(source, LeadQualityModel):
        _check_fitted(source)
        model = source
    elif isinstance(source, CRMData):
        model = LeadQualityModel(outcome=outcome, features=(by,), window=window, alpha=alpha)
        with warnings.catch_warnings():
            # a level with no conversions is fine for a two-proportion test
            warnings.simplefilter("ignore", ModelCheckWarning)
            model.fit(source)
    else:
        raise ValueError("compare_sources takes a fitted LeadQualityModel or a CRMData")
    s_col = f"s_{model.outcome}"
    per = model.patterns_.groupby("level")[["trials", s_col]].sum()
    for level in (a, b):
        if level not in per.index:
            raise ValueError(f"{level!r} is not a level; levels: {sorted(per.index)}")
        if per.loc[level, "trials"] == 0:
            raise ValueError(
                f"{level!r} has no leads whose window has passed: nothing to compare yet"
            )
    n1, s1 = (int(v) for v in per.loc[a, ["trials", s_col]])
    n2, s2 = (int(v) for v in per.loc[b, ["trials", s_col]])
    test = compare_proportions(s1, n1, s2, n2, alpha=alpha)
    return pd.DataFrame(
        [
            {
                "a": a,
                "b": b,
                "outcome": model.outcome,
                "leads_a": n1,
                "conversions_a": s1,
                "rate_a": s1 / n1,
                "leads_b": n2,
                "conversions_b": s2,
                "rate_b": s2 / n2,
                "difference": test.difference,
                "ci_lower": test.ci_lower,
                "ci_upper": test.ci_upper,
                "ratio": test.ratio,
                "ratio_ci_lower": test.ratio_ci_lower,
                "ratio_ci_upper": test.ratio_ci_upper,
                "p_value": test.p_value,
            }
        ]
    )


__all__ = [
    "LeadQualityModel",
    "ModelCheckWarning",
    "aggregate_leads",
    "best_mix",
    "compare_sources",
    "lead_budget",
    "leads_needed",
]
