"""Buy-till-you-die models on the lifetimes-style summary: BG/NBD (Fader, Hardie and Lee 2005).

Each customer, while still active, buys at a rate ``lambda`` (Gamma(r, alpha) across customers) and after each
purchase leaves for good with probability ``p`` (Beta(a, b) across customers). The model sees only three numbers
per customer, in the definitions of :func:`helpers.rfm.lifetimes_summary`: ``frequency`` (repeat purchase
periods), ``recency`` (time from the first to the last purchase) and ``T`` (time from the first purchase to the
end of the observation), all in one unit of time (days in the course).

:class:`BetaGeo` fits the four parameters by maximum likelihood and gives, per customer,

* :meth:`BetaGeo.p_alive`: P(still active at the end of the observation | history);
* :meth:`BetaGeo.expected_purchases`: expected purchases in the next ``t`` (FHL 2005, equation 10);
* :meth:`BetaGeo.p_no_purchase`: P(no purchase at all in the next ``t``), the churn outcome of
  :func:`helpers.churn.churn_frame`: ``1 - P(alive) (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))``, since an
  active customer with posterior rate Gamma(r + x, alpha + T) makes no purchase in ``t`` with that probability.

The likelihood and the conditional expectations are those of the ``lifetimes`` package (archived), against which
the tests check them; the fit reproduces the published CDNOW parameters.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import optimize, special
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

__all__ = ["BetaGeo", "check_summary"]

SUMMARY_COLUMNS = ("frequency", "recency", "T")


def check_summary(summary: pd.DataFrame, name: str = "summary") -> pd.DataFrame:
    """Validate a lifetimes-style summary; return its three columns as floats. Raises with the rows at fault."""
    if not isinstance(summary, pd.DataFrame):
        shape: tuple[int, ...] = np.shape(summary) if hasattr(summary, "__len__") or hasattr(summary, "shape") else ()
        if len(shape) != 2 or shape[1] != len(SUMMARY_COLUMNS) or hasattr(summary, "tocsr"):
            raise TypeError(
                f"{name} must be a DataFrame with columns {', '.join(SUMMARY_COLUMNS)}, or an array of "
                f"those three columns in that order; got {type(summary).__name__} of shape {shape}"
            )
        summary = pd.DataFrame(np.asarray(summary), columns=list(SUMMARY_COLUMNS))
    missing = [c for c in SUMMARY_COLUMNS if c not in summary]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {', '.join(missing)}; build it with "
            "helpers.rfm.lifetimes_summary(transactions, as_of)"
        )
    if summary.empty:
        raise ValueError(f"{name} is empty: no customer to fit or score")
    s = summary[list(SUMMARY_COLUMNS)]
    for c in SUMMARY_COLUMNS:
        if not pd.api.types.is_numeric_dtype(s[c]):
            raise TypeError(f"{name} column {c!r} must be numeric; got {s[c].dtype}")
    s = s.astype(float)

    def fail(mask, what, fix):
        rows = list(s.index[mask][:5])
        raise ValueError(f"{name}: {int(mask.sum())} row(s) {what} (first: {rows}); {fix}")

    bad = s.isna().any(axis=1).to_numpy()
    if bad.any():
        fail(bad, "have a missing frequency, recency or T", "drop or fill them before fitting")
    f, rec, big_t = (s[c].to_numpy() for c in SUMMARY_COLUMNS)
    if (bad := (f < 0) | (rec < 0) | (big_t < 0)).any():
        fail(bad, "have a negative frequency, recency or T", "times count forward from each first purchase")
    if (bad := f != np.round(f)).any():
        fail(bad, "have a fractional frequency", "frequency counts repeat purchase periods")
    if (bad := rec > big_t).any():
        fail(
            bad,
            "have recency > T (a last purchase after the end of the observation)",
            "observation_period_end must be on or after every purchase",
        )
    if (bad := (f == 0) & (rec != 0)).any():
        fail(bad, "have frequency 0 but recency > 0", "recency is 0 for customers without a repeat purchase")
    if (bad := (f > 0) & (rec == 0)).any():
        fail(bad, "have repeat purchases but recency 0", "recency runs from the first to the last purchase")
    return s


def _branches(log_params: np.ndarray, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray):
    """Parameters and log-terms of a history's two branches.

    The parameters and the log-terms of a history's two branches: still active at T, or left after the last
    purchase (impossible without a repeat purchase: -inf).
    """
    r, alpha, a, b = np.exp(log_params)
    rx = r + x
    alive = -rx * np.log(alpha + big_t)
    with np.errstate(divide="ignore"):
        left = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - rx * np.log(alpha + tx), -np.inf)
    return r, alpha, a, b, rx, alive, left


def _loglik(log_params: np.ndarray, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray, w: np.ndarray) -> float:
    r, alpha, a, b, rx, alive, left = _branches(log_params, x, tx, big_t)
    base = (
        special.gammaln(rx) - special.gammaln(r) + r * np.log(alpha) + special.betaln(a, b + x) - special.betaln(a, b)
    )
    return float(np.sum(w * (base + np.logaddexp(alive, left))))


def _gradient(log_params: np.ndarray, x: np.ndarray, tx: np.ndarray, big_t: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The gradient of :func:`_loglik` in the log-parameters, in closed form (digamma terms).

    With ``pi`` the share of the "left after the last purchase" branch in ``logaddexp(alive, left)``::

        d/dr     = psi(r+x) - psi(r) + ln alpha - (1-pi) ln(alpha+T) - pi ln(alpha+t_x)
        d/dalpha = r/alpha - (1-pi) (r+x)/(alpha+T) - pi (r+x)/(alpha+t_x)
        d/da     = psi(a+b) - psi(a+b+x) + pi/a
        d/db     = psi(b+x) - psi(a+b+x) - psi(b) + psi(a+b) - pi/(b+x-1)

    each times its parameter (the chain rule for the log scale).
    """
    r, alpha, a, b, rx, alive, left = _branches(log_params, x, tx, big_t)
    pi = np.exp(left - np.logaddexp(alive, left))  # 0 where x == 0
    psi = special.digamma
    d_r = psi(rx) - psi(r) + np.log(alpha) - (1 - pi) * np.log(alpha + big_t) - pi * np.log(alpha + tx)
    d_alpha = r / alpha - (1 - pi) * rx / (alpha + big_t) - pi * rx / (alpha + tx)
    d_a = psi(a + b) - psi(a + b + x) + pi / a
    with np.errstate(divide="ignore", invalid="ignore"):
        d_b = (
            psi(b + x) - psi(a + b + x) - psi(b) + psi(a + b) - np.where(x > 0, pi / np.maximum(b + x - 1, 1e-300), 0.0)
        )
    grad = np.array([np.sum(w * d) for d in (d_r, d_alpha, d_a, d_b)])
    return grad * np.array([r, alpha, a, b])


def _polish(log_params: np.ndarray, args: tuple, steps: int = 20) -> np.ndarray:
    """Newton steps on the analytic gradient (Hessian by central differences of it) to the maximum itself.

    L-BFGS-B stops where the gradient is small, and along a flat direction of the likelihood that point moves
    with the last bits of the arithmetic (another CPU's vector units gave b = 1.324293 instead of 1.324240 on the
    course world, and reordered customers by P(no purchase)). Newton's quadratic convergence takes every machine
    to the same maximum, within rounding.
    """
    p = np.asarray(log_params, float).copy()
    for _ in range(steps):
        g = _gradient(p, *args)
        h = np.empty((4, 4))
        for j in range(4):
            e = np.zeros(4)
            e[j] = 1e-5
            h[:, j] = (_gradient(p + e, *args) - _gradient(p - e, *args)) / 2e-5
        h = (h + h.T) / 2
        try:
            step = np.linalg.solve(h, -g)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)) or np.max(np.abs(step)) > 1.0:
            break  # not near a maximum: keep what L-BFGS-B found
        p = p + step
        if np.max(np.abs(step)) < 1e-12:
            break
    return p


class BetaGeo(BaseEstimator):
    """BG/NBD fitted by maximum likelihood on :func:`helpers.rfm.lifetimes_summary` (see the module's docstring).

    Identical ``(frequency, recency, T)`` rows are fitted once with a weight, so the fit costs the number of
    distinct histories, not of customers. ``params_`` holds ``r, alpha, a, b`` (``alpha`` in the summary's unit
    of time); ``log_likelihood_`` the maximised log-likelihood.
    """

    _parameter_constraints: dict = {  # noqa: RUF012 (scikit-learn's convention)
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, tol: float = 1e-10, max_iter: int = 2000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, summary: pd.DataFrame, y=None) -> BetaGeo:
        """Fit ``r, alpha, a, b`` by maximum likelihood to a summary (frequency, recency, T per customer)."""
        s = check_summary(summary)
        self.n_features_in_ = len(SUMMARY_COLUMNS)
        if not (s["frequency"] > 0).any():
            raise ValueError(
                "summary: no customer has a repeat purchase, so the dropout process cannot be "
                "fitted; observe a longer history"
            )
        rows, weight = np.unique(s.to_numpy(), axis=0, return_counts=True)
        scale = float(np.median(rows[:, 2])) or 1.0  # fit in units of the median T: a well-conditioned problem
        x, tx, big_t = rows[:, 0], rows[:, 1] / scale, rows[:, 2] / scale
        w = weight.astype(float)
        start = np.log([1.0, 1.0, 1.0, 1.0])
        args = (x, tx, big_t, w)
        res = optimize.minimize(
            lambda p: -_loglik(p, *args) / w.sum(),
            start,
            method="L-BFGS-B",
            jac=lambda p: -_gradient(p, *args) / w.sum(),
            bounds=[(-12, 12)] * 4,
            options={"ftol": self.tol, "gtol": 1e-9, "maxiter": self.max_iter},
        )
        if not res.success:
            raise RuntimeError(
                f"BG/NBD fit did not converge: {res.message}; check the summary's units "
                "(one unit of time for recency and T) or observe a longer history"
            )
        best, loglik = _polish(res.x, args), -res.fun * w.sum()
        if (polished := _loglik(best, *args)) >= loglik:
            loglik = polished
        else:
            best = res.x
        r, alpha, a, b = np.exp(best)
        self.params_ = pd.Series({"r": r, "alpha": alpha * scale, "a": a, "b": b}, name="BG/NBD")
        # in the summary's unit of time: rescaling the times multiplies each purchase's density by 1 / scale
        self.log_likelihood_ = loglik - float(np.sum(w * x)) * np.log(scale)
        self.n_customers_ = len(s)
        return self

    def _terms(self, summary: pd.DataFrame):
        check_is_fitted(self, "params_")
        s = check_summary(summary)
        r, alpha, a, b = self.params_[["r", "alpha", "a", "b"]].to_numpy()
        x, tx, big_t = (s[c].to_numpy() for c in SUMMARY_COLUMNS)
        # odds of "left after the last purchase" against "still active": a / (b + x - 1) ((alpha+T)/(alpha+t_x))^(r+x)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = np.where(
                x > 0,
                np.log(a)
                - np.log(np.maximum(b + x - 1, 1e-300))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx)),
                -np.inf,
            )
        return s.index, r, alpha, a, b, x, big_t, log_odds

    @staticmethod
    def _check_t(t: float) -> float:
        if not isinstance(t, Real) or not np.isfinite(float(t)) or t <= 0:
            raise ValueError(f"horizon t must be a positive number of the summary's time unit; got {t!r}")
        return float(t)

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(the customer is still active at the end of the observation | frequency, recency, T)."""
        index, *_, log_odds = self._terms(summary)
        return pd.Series(special.expit(-log_odds), index=index, name="p_alive")

    def expected_purchases(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """Expected number of purchase periods in the next ``t`` (FHL 2005, equation 10)."""
        t = self._check_t(t)
        index, r, alpha, a, b, x, big_t, log_odds = self._terms(summary)
        z = t / (alpha + big_t + t)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        return pd.Series(head * tail * special.expit(-log_odds), index=index, name="expected_purchases")

    def p_no_purchase(self, summary: pd.DataFrame, t: float) -> pd.Series:
        """P(no purchase at all in the next ``t``): the customer has left, or stays active and does not buy."""
        t = self._check_t(t)
        index, r, alpha, a, b, x, big_t, log_odds = self._terms(summary)
        quiet = ((alpha + big_t) / (alpha + big_t + t)) ** (r + x)
        return pd.Series(1 - special.expit(-log_odds) * (1 - quiet), index=index, name="p_no_purchase")
