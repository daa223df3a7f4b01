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

import warnings
from collections.abc import Iterable, Mapping

import narwhals as nw
import numpy as np
import pandas as pd

from toolkit.censoring import parse_duration
from toolkit.frames import collect, from_native, latest_timestamp
from toolkit.funnel.steps import Step, check_stages_present
from toolkit.lead_quality.aggregate import _base_columns, aggregate_leads
from toolkit.lead_quality.design import (
    _aliased_terms,
    _Design,
    _fit_checks,
    _glm_fit,
    _level_order,
    _pooled_rates,
)
from toolkit.schema import LEAD_TYPES, NOT_SHOWN, STAGES, CRMData, DataError

OUTCOMES = tuple(s for s in STAGES if s != "contact")

BUDGET_OUTCOMES = ("customer", "rep", "leader")


MISSING_LEVEL = "(missing)"


class ModelCheckWarning(UserWarning):
    """A model check found a problem (level with no leads, separation, too few conversions)."""


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
        if not isinstance(self.outcome, str) or not self.outcome:  # any stage of the export
            raise ValueError(f"outcome must be a stage name, got {self.outcome!r}")
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
        check_stages_present(
            [Step(self.outcome, (self.outcome,))], from_native(events, "events", ["stage"])
        )
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
            # the sample's lead types: one absent is said so (an export's own are its own)
            if feature == "lead_type" and set(by_level.index.astype(str)) <= set(LEAD_TYPES):
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
            found = _fit_checks(
                outcome, fitted, X, notes, features=self._features, window=self._window
            )
            if checks:
                self._checks.extend(found)
            self._fits[outcome] = (results, found)
        return self._fits[outcome][0]

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
        if self._features == ("lead_type",) and set(per.index.astype(str)) <= set(LEAD_TYPES):
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
            + self.summary.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep=NOT_SHOWN)
            + "<p>Conversion per level</p>"
            + self.conversion_.to_html(
                index=False, float_format=lambda v: f"{v:.4g}", na_rep=NOT_SHOWN
            )
            + (f"<ul>{checks}</ul>" if checks else "")
        )
