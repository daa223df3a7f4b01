"""The shifted-beta-geometric (sBG) retention model of Fader and Hardie (2007).

Each member has a constant chance ``theta`` of leaving at every period boundary; ``theta`` varies
across members as Beta(alpha, beta). The mix of people, not a change in any one person, makes a
cohort's retention rise over time: the quick leavers go first. The model needs only the number
of survivors per period, so it fits a whole cohort table in milliseconds and projects the cohorts
that have not finished yet.

Reference: P. S. Fader and B. G. S. Hardie (2007), "How to project customer retention",
Journal of Interactive Marketing 21(1), 76-90.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln

from toolkit.frames import to_pandas

_PARAMS = ["alpha", "beta"]
_LOG_LIMIT = 12.0


class BoundaryWarning(UserWarning):
    """The sBG fit ran to the edge of its parameter space (no heterogeneity in churn visible)."""


def _log_probabilities(a, b, t, alive):
    """log P(leave at t) for churners, log S(t) for those still there at t (broadcasting)."""
    return np.where(alive, betaln(a, b + t), betaln(a + 1, b + t - 1)) - betaln(a, b)


def _cells(sequences):
    """Churn counts per period and survivors at the end, pooled over several cohorts.

    Returns arrays ``t`` (1, 2, ...), ``alive`` (1 for "still there at t"), ``weight`` (members).
    """
    t, alive, weight = [], [], []
    for seq in sequences:
        seq = np.asarray(seq, dtype="float64")
        lost = seq[:-1] - seq[1:]
        t += list(range(1, len(seq)))
        alive += [0] * (len(seq) - 1)
        weight += list(lost)
        t.append(len(seq) - 1)
        alive.append(1)
        weight.append(seq[-1])
    t, alive, weight = (np.asarray(x, dtype="float64") for x in (t, alive, weight))
    keep = weight > 0
    return t[keep], alive[keep], weight[keep]


def _check_survivors(seq, label: str) -> np.ndarray:
    seq = np.asarray(seq, dtype="float64")
    if seq.ndim != 1 or len(seq) < 2:
        raise ValueError(
            f"{label}: survivors need at least two periods (the starting size and one more); got {seq.tolist()}"
        )
    if not np.isfinite(seq).all() or (seq < 0).any():
        raise ValueError(f"{label}: survivors must be finite counts >= 0; got {seq.tolist()}")
    if seq[0] <= 0:
        raise ValueError(f"{label}: the starting size must be positive; got {seq[0]:g}")
    if (np.diff(seq) > 0).any():
        raise ValueError(
            f"{label}: survivors can only fall from one period to the next; got {seq.tolist()} "
            "(fit a retention table: cohort_table(..., metric='active'))"
        )
    return seq


def _sequences_from_table(table: pd.DataFrame) -> dict:
    """Per cohort: starting size, then the members active at the end of each complete period."""
    needed = {"cohort", "period", "size", "value", "complete"}
    missing = needed - set(table.columns)
    if missing:
        raise ValueError(
            f"a cohort table needs the columns {sorted(needed)}; missing {sorted(missing)}"
        )
    from toolkit.cohorts.table import DESCRIPTION_COLUMNS, _described

    if (
        _described(table, "metric", "active") != "active"
        or _described(table, "reference", "initial") != "initial"
    ):
        raise ValueError(
            "the retention model fits survivors: use cohort_table(..., metric='active')"
        )
    out = {}
    keys = [
        c
        for c in table.columns
        if c not in needed
        and c not in ("rate", "ci_lower", "ci_upper", "projected", *DESCRIPTION_COLUMNS)
    ] + ["cohort"]
    for key, part in table.groupby(keys, sort=True):
        part = part[part["complete"].astype(bool)].sort_values("period")
        if part.empty:
            continue
        seq = np.concatenate([[part["size"].iloc[0]], part["value"].to_numpy(dtype="float64")])
        out[key if len(keys) > 1 else key[0]] = seq
    return out


class ShiftedBetaGeometric:
    """Shifted-beta-geometric retention model (Fader and Hardie 2007), fit by maximum likelihood.

    Parameters
    ----------
    alpha : float
        Significance level of the intervals (0.05 gives 95% intervals). Not to be confused with
        the fitted shape parameter ``alpha_``.

    Attributes
    ----------
    alpha_, beta_ : float
        The Beta(alpha, beta) mix of per-period leaving probabilities; alpha / (alpha + beta) is
        the average chance of leaving in the first period.
    alpha_se_, beta_se_ : float
        Standard errors (delta method from the fit on the log scale).
    alpha_interval_, beta_interval_ : tuple of float
        Intervals at level 1 - alpha, computed on the log scale (so they stay positive).
    results_ : statsmodels GenericLikelihoodModelResults
        The fit on (log alpha, log beta), for anything else statsmodels offers.
    cohort_params_ : pandas.DataFrame or None
        With ``pooled=False``: one row per cohort (alpha, beta and their intervals).
    """

    def __init__(self, alpha: float = 0.05):
        self.alpha = alpha

    # ------------------------------------------------------------------ fitting
    def fit(self, survivors, *, pooled: bool = True):
        """Fit to one cohort's survivors per period, or to a cohort table.

        Parameters
        ----------
        survivors : sequence of numbers, pandas.Series, or cohort table
            One cohort: members at the start, then at the end of each period (non-increasing).
            A :func:`toolkit.cohort_table` with ``metric="active"``: each cohort contributes its
            starting size and the members active at the end of each *complete* period;
            incomplete cells are left out, never counted as losses.
        pooled : bool
            For a cohort table: True fits one model to all cohorts together; False also fits
            each cohort on its own into ``cohort_params_`` (``alpha_`` etc. stay the pooled fit).

        Returns
        -------
        self
        """
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha (the significance level) must be in (0, 1); got {self.alpha}")
        if isinstance(survivors, pd.DataFrame) or _is_frame(survivors):
            table = survivors if isinstance(survivors, pd.DataFrame) else to_pandas(survivors)
            sequences = _sequences_from_table(table)
            if not sequences:
                raise ValueError("the cohort table has no complete period to fit")
            sequences = {k: _check_survivors(v, f"cohort {k}") for k, v in sequences.items()}
        else:
            sequences = {None: _check_survivors(survivors, "survivors")}
        self.results_ = self._fit(list(sequences.values()))
        self._store(self.results_)
        self.cohort_params_ = None
        if not pooled and len(sequences) > 1:
            rows = []
            for key, seq in sequences.items():
                if len(seq) < 3 or seq[-1] == seq[0]:
                    continue  # one period or nobody left: the two shapes are not identified
                rows.append({"cohort": key, **self._cohort_fit(seq)})
            self.cohort_params_ = pd.DataFrame(rows)
        return self

    def _cohort_fit(self, seq) -> dict:
        """One small cohort on its own: often the optimum sits at the edge (beta running off to
        infinity when nobody churns late); such fits are reported as not converged, not hidden."""
        import warnings

        from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = self._params_frame(self._fit([seq]))
        kinds = (ConvergenceWarning, HessianInversionWarning, RuntimeWarning, BoundaryWarning)
        trouble = [w for w in caught if issubclass(w.category, kinds)]
        others = [w for w in caught if w not in trouble]
        for w in others:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        ok = not trouble and bool(np.isfinite(frame.to_numpy()).all())
        out = {
            f"{p}_{c}": (float(frame.loc[p, c]) if ok else np.nan)
            for p in _PARAMS
            for c in frame.columns
        }
        out["converged"] = ok
        return out

    def _fit(self, sequences):
        t, alive, weight = _cells(sequences)
        if not (alive == 0).any():
            raise ValueError("nobody left in the data: the retention model cannot be fitted")
        model = _SBGLikelihood(t, alive, weight)
        # Nelder-Mead finds the optimum robustly from (1, 1); Newton then polishes it and gives
        # the Hessian the standard errors come from
        import warnings

        from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

        with warnings.catch_warnings(record=True) as caught:
            for kind in (ConvergenceWarning, HessianInversionWarning, RuntimeWarning):
                warnings.simplefilter("always", kind)
            start = model.fit(start_params=np.zeros(2), method="nm", maxiter=4000, disp=0)
            try:
                res = model.fit(start_params=start.params, method="newton", maxiter=100, disp=0)
                finite = bool(np.isfinite(np.asarray(res.bse)).all())
            except np.linalg.LinAlgError:
                res, finite = start, False
        if caught or not finite or np.max(np.abs(res.params)) > 9:
            # the likelihood keeps rising as alpha and beta grow together: every member seems
            # to share one churn probability (a geometric model, the sBG's limit)
            warnings.warn(
                "ShiftedBetaGeometric: no spread in churn between members is visible; the fit "
                f"sits at the edge (alpha={np.exp(start.params[0]):.3g}, "
                f"beta={np.exp(start.params[1]):.3g}, average churn per period "
                f"{np.exp(start.params[0]) / np.exp(start.params).sum():.3f}) and its intervals "
                "are not reliable",
                BoundaryWarning,
                stacklevel=3,
            )
            start.params = np.clip(np.asarray(start.params), -_LOG_LIMIT, _LOG_LIMIT)
            return start
        return res

    def _params_frame(self, res) -> pd.DataFrame:
        from scipy.stats import norm

        z = norm.ppf(1 - self.alpha / 2)
        log_params, log_se = np.asarray(res.params), np.asarray(res.bse)
        est = np.exp(log_params)
        return pd.DataFrame(
            {
                "estimate": est,
                "std_err": est * log_se,
                "ci_lower": np.exp(log_params - z * log_se),
                "ci_upper": np.exp(log_params + z * log_se),
            },
            index=pd.Index(_PARAMS, name="parameter"),
        )

    def _store(self, res) -> None:
        frame = self._params_frame(res)
        self.alpha_, self.beta_ = (float(frame.loc[p, "estimate"]) for p in _PARAMS)
        self.alpha_se_, self.beta_se_ = (float(frame.loc[p, "std_err"]) for p in _PARAMS)
        self.alpha_interval_ = (
            float(frame.loc["alpha", "ci_lower"]),
            float(frame.loc["alpha", "ci_upper"]),
        )
        self.beta_interval_ = (
            float(frame.loc["beta", "ci_lower"]),
            float(frame.loc["beta", "ci_upper"]),
        )
        self.loglike_ = float(res.llf)
        self._summary = frame

    # ------------------------------------------------------------------ projecting
    def _check_fitted(self):
        if getattr(self, "alpha_", None) is None:
            raise ValueError("this ShiftedBetaGeometric is not fitted yet; call fit() first")

    def survival(self, periods) -> np.ndarray:
        """S(t): the share of a starting cohort still there after ``t`` periods (S(0) = 1)."""
        return np.exp(self._log_survival(periods))

    def _log_survival(self, periods) -> np.ndarray:
        """log S(t), which stays finite where S(t) underflows to 0."""
        self._check_fitted()
        return self._log_survival_at(np.array([[self.alpha_, self.beta_]]), periods)[0]

    def retention(self, periods) -> np.ndarray:
        """r(t) = S(t) / S(t - 1): the share of those there at t - 1 who are still there at t.

        It rises with t (the quick leavers have gone); defined for t >= 1.
        """
        self._check_fitted()
        t = np.asarray(periods, dtype="float64")
        if (t < 1).any():
            raise ValueError("retention is defined from period 1 on (S(1) / S(0))")
        return (self.beta_ + t - 1) / (self.alpha_ + self.beta_ + t - 1)

    def sample_params(self, draws: int, rng=None) -> np.ndarray:
        """``draws`` (alpha, beta) pairs from the fit's asymptotic normal on the log scale."""
        self._check_fitted()
        rng = np.random.default_rng(rng)
        mean = np.asarray(self.results_.params)
        try:
            cov = np.asarray(self.results_.cov_params())
        except ValueError:  # statsmodels: a fit stopped at the edge has no covariance at all
            cov = np.full((2, 2), np.nan)
        usable = (
            np.isfinite(cov).all()
            and np.all(np.linalg.eigvalsh(cov) > 0)
            and np.abs(mean).max() <= 9
        )
        if not usable:
            # a fit at the edge has no usable covariance: parameter uncertainty is left out
            return np.exp(np.tile(mean, (draws, 1)))
        # a few churners leave the shapes barely pinned down (log-scale errors of 30 and more):
        # draws beyond the edge all mean "no spread in churn", and kept finite there
        log_draws = rng.multivariate_normal(mean, cov, size=draws)
        return np.exp(np.clip(log_draws, -_LOG_LIMIT, _LOG_LIMIT))

    @staticmethod
    def _log_survival_at(params: np.ndarray, periods) -> np.ndarray:
        """log S(t) for each row of ``params`` (draws x 2) and each t: draws x len(t)."""
        a, b = params[:, :1], params[:, 1:]
        t = np.asarray(periods, dtype="float64")[None, :]
        return betaln(a, b + t) - betaln(a, b)

    # ------------------------------------------------------------------ display
    @property
    def summary(self) -> pd.DataFrame:
        """alpha and beta with standard errors and intervals."""
        self._check_fitted()
        return self._summary.copy()

    def _repr_html_(self) -> str:
        if getattr(self, "alpha_", None) is None:
            return "<p><b>ShiftedBetaGeometric</b> (not fitted)</p>"
        level = f"{1 - self.alpha:.0%}"
        return (
            f"<p><b>ShiftedBetaGeometric</b>: log-likelihood {self.loglike_:.2f}, {level} intervals</p>"
            + self.summary.to_html(float_format="{:.4g}".format)
        )

    def __repr__(self) -> str:
        if getattr(self, "alpha_", None) is None:
            return f"ShiftedBetaGeometric(alpha={self.alpha})"
        return f"ShiftedBetaGeometric(alpha_={self.alpha_:.4g}, beta_={self.beta_:.4g})"


def _is_frame(obj) -> bool:
    try:
        import narwhals as nw

        nw.from_native(obj)
    except TypeError:
        return False
    return not isinstance(obj, (pd.Series, np.ndarray, list, tuple))


def _likelihood_class():
    from statsmodels.base.model import GenericLikelihoodModel

    class SBGLikelihood(GenericLikelihoodModel):
        """sBG log-likelihood over aggregated cells: endog holds how many members each cell has.

        The exog columns (period, still-there flag) are named after the parameters so that
        statsmodels' own summary labels the estimates (log alpha, log beta) correctly.
        """

        def __init__(self, t, alive, weight):
            exog = pd.DataFrame({"log_alpha": t, "log_beta": alive})
            super().__init__(pd.Series(weight, name="members"), exog)
            # two free parameters and no constant column (statsmodels assumes one otherwise)
            self.k_constant = 0
            self.df_model = 2.0
            self.df_resid = float(len(weight) - 2)

        def nloglikeobs(self, params):
            # beyond e^12 the likelihood is flat for every practical purpose, and betaln loses
            # all precision further out: the optimiser is kept inside
            a, b = np.exp(np.clip(params, -_LOG_LIMIT, _LOG_LIMIT))
            t, alive = self.exog[:, 0], self.exog[:, 1].astype(bool)
            return -self.endog * _log_probabilities(a, b, t, alive)

    return SBGLikelihood


def _SBGLikelihood(t, alive, weight):
    return _likelihood_class()(t, alive, weight)
