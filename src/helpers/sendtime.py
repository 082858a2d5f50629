"""Send-time tuning as a multi-armed bandit, and the send frequency that fatigue allows.

Each send hour is an arm; each campaign sends to every segment's audience; an open is the reward. A policy
decides, campaign after campaign, how to spread each segment's audience over the hours:

* ``"split"``: the classic test that never ends, an equal share at every hour;
* ``"epsilon"``: epsilon-greedy, the best hour so far for most, a random hour for a share ``epsilon``;
* ``"thompson"``: Thompson sampling, each recipient goes to the hour that wins one draw from the posterior
  open rates (Beta per segment and hour, starting from a prior from history). For an audience larger than
  ``THOMPSON_DRAWS``, the hours' shares are estimated from that many draws and the audience is split by one
  multinomial draw (batched Thompson sampling; Monte-Carlo error of a share at most 0.8 points), so a season's
  cost does not grow with the audience;
* ``"pooled"``: a baseline without segments, everyone at the hour that opens best pooled over all segments
  (history and every send so far);
* ``"explore-commit"``: a baseline that tests, then stops testing: the equal split for the first
  ``explore`` campaigns, then each segment at its best observed hour for good;
* ``"oracle"``: the planted best hour of each segment, the ceiling.

:func:`simulate` runs a season of campaigns on planted open curves (``truth["open_rate_by_hour"]``); regret is
the expected opens lost against the oracle. :func:`history_prior` turns the world's past send-time tests into
the prior. :func:`frequency_curve` applies the planted fatigue model to find the monthly send frequency that
maximises clicks per customer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .planted import ResponseModel, sigmoid
from .timeline import DAYS_PER_MONTH

__all__ = ["POLICIES", "THOMPSON_DRAWS", "open_curves", "history_prior", "simulate", "best_hours", "frequency_curve"]

POLICIES = ("split", "epsilon", "thompson", "pooled", "explore-commit", "oracle")
THOMPSON_DRAWS = 4096  # posterior draws per segment and campaign beyond which Thompson sampling splits by shares


def open_curves(truth, hours: Sequence[int] = range(6, 23)) -> pd.DataFrame:
    """Planted open probability per segment (rows) and send hour (columns), restricted to ``hours``.

    Parameters
    ----------
    truth : Truth
        The world's planted truth.
    hours : sequence of int, default range(6, 23)
        The send hours (columns).
    """
    curves = pd.DataFrame(truth["open_rate_by_hour"]).T
    curves.columns = pd.Index(range(24), name="hour")
    curves.index.name = "segment"
    return curves[list(hours)]


def history_prior(
    sends: pd.DataFrame, hours: Sequence[int] = range(6, 23), strength: float = 50.0
) -> tuple[np.ndarray, np.ndarray]:
    """Beta prior per hour from past sends (``send_hour, opened``): the observed open rate, as ``strength`` sends.

    Hours never tried take the overall rate. The prior is pooled over segments and deliberately weak: it tells
    the bandit which hours looked good in the past without stopping it from finding that a segment differs.

    Parameters
    ----------
    sends : DataFrame
        Past sends with ``send_hour, opened``.
    hours : sequence of int, default range(6, 23)
        The candidate hours.
    strength : float, default 50.0
        The prior's weight, in sends per hour.
    """
    for col in ("send_hour", "opened"):
        if col not in sends:
            raise ValueError(f"the sends table has no column {col!r} (needed for a send-time prior)")
    if len(sends) == 0:
        raise ValueError("no past sends: a prior from history needs some")
    overall = float(sends["opened"].mean())
    by_hour = sends.groupby("send_hour")["opened"].mean()
    rate = by_hour.reindex(list(hours)).fillna(overall).clip(1e-3, 1 - 1e-3).to_numpy(float)
    return rate * strength, (1 - rate) * strength


def simulate(
    curves: pd.DataFrame,
    policy: str,
    audience: int | Sequence[int] = 1000,
    n_campaigns: int = 52,
    prior: tuple[np.ndarray, np.ndarray] | None = None,
    epsilon: float = 0.1,
    explore: int = 2,
    seed: int = 0,
) -> pd.DataFrame:
    """A season of ``n_campaigns`` campaigns, each to ``audience`` recipients per segment, under ``policy``.

    ``curves``: true open probability per segment (rows) and hour (columns). The first campaign is an equal
    split for the learning policies (the first ``explore`` for ``"explore-commit"``). Returns one row per campaign
    and segment with ``sends`` and ``opens_by_hour`` (lists, one entry per hour), ``opens``, ``expected_opens``
    and ``regret`` (expected opens of the oracle minus this policy's), plus the posterior mean open rate per hour
    after the campaign (``estimate``, for :func:`best_hours`).

    Parameters
    ----------
    curves : DataFrame
        True open probability per segment (rows) and hour (columns).
    policy : {"split", "epsilon", "thompson", "pooled", "explore-commit", "oracle"}
        The send-time policy.
    audience : int or sequence of int, default 1000
        Recipients per segment and campaign (one value, or one per segment).
    n_campaigns : int, default 52
        Campaigns in the season.
    prior : tuple of ndarray, optional
        Beta prior per hour (``(a, b)``, e.g. :func:`history_prior`); default: uniform.
    epsilon : float, default 0.1
        Share of sends spread over all hours by ``"epsilon"``.
    explore : int, default 2
        Campaigns split equally before ``"explore-commit"`` commits.
    seed : int, default 0
        Random seed.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    if int(explore) != explore or not 1 <= explore <= n_campaigns:
        raise ValueError(f"explore must be a whole number of campaigns from 1 to n_campaigns, got {explore!r}")
    rng = np.random.default_rng(seed)
    p = curves.to_numpy(float)
    n_seg, n_arms = p.shape
    size = np.broadcast_to(np.asarray(audience, np.int64), (n_seg,))
    a0, b0 = (np.asarray(v, float) for v in prior) if prior is not None else (np.ones(n_arms), np.ones(n_arms))
    a, b = np.tile(a0, (n_seg, 1)), np.tile(b0, (n_seg, 1))
    best = p.max(axis=1)
    rows = []
    committed = np.zeros(n_seg, int)
    for c in range(n_campaigns):
        if policy == "explore-commit" and c == explore:
            committed = np.argmax(a / (a + b), axis=1)  # each segment's best observed hour, once and for all
        if policy == "pooled":  # chosen before the campaign goes out: the prior and every segment's sends, once
            a_all, b_all = a.sum(axis=0) - (n_seg - 1) * a0, b.sum(axis=0) - (n_seg - 1) * b0
            pooled_hour = int(np.argmax(a_all / (a_all + b_all)))
        for s in range(n_seg):
            n = int(size[s])
            if policy == "oracle":
                sends = np.bincount(np.full(n, p[s].argmax()), minlength=n_arms)
            elif policy == "split" or c == 0 or (policy == "explore-commit" and c < explore):
                sends = np.bincount(np.arange(n) % n_arms, minlength=n_arms)
            elif policy == "explore-commit":
                sends = np.bincount(np.full(n, committed[s]), minlength=n_arms)
            elif policy == "pooled":
                sends = np.bincount(np.full(n, pooled_hour), minlength=n_arms)
            elif policy == "epsilon":
                exploring = rng.random(n) < epsilon
                arm = np.where(exploring, rng.integers(0, n_arms, n), np.argmax(a[s] / (a[s] + b[s])))
                sends = np.bincount(arm, minlength=n_arms)
            elif n <= THOMPSON_DRAWS:  # thompson: each recipient to the arm that wins one posterior draw
                draws = rng.beta(a[s], b[s], size=(n, n_arms))
                sends = np.bincount(draws.argmax(axis=1), minlength=n_arms)
            else:  # the same, batched: each arm's chance of winning a draw, then one split of the audience
                draws = rng.beta(a[s], b[s], size=(THOMPSON_DRAWS, n_arms))
                share = np.bincount(draws.argmax(axis=1), minlength=n_arms) / THOMPSON_DRAWS
                sends = rng.multinomial(n, share)
            opens = rng.binomial(sends, p[s])
            a[s] += opens
            b[s] += sends - opens
            expected = float(sends @ p[s])
            rows.append(
                {
                    "campaign": c + 1,
                    "segment": curves.index[s],
                    "sends": sends.tolist(),
                    "opens_by_hour": opens.tolist(),
                    "opens": int(opens.sum()),
                    "expected_opens": expected,
                    "regret": n * best[s] - expected,
                    "estimate": (a[s] / (a[s] + b[s])).tolist(),
                }
            )
    out = pd.DataFrame(rows)
    out.attrs["hours"] = list(curves.columns)
    out.attrs["policy"] = policy
    return out


def best_hours(season: pd.DataFrame, smooth: bool = True, harmonics: int = 1) -> pd.DataFrame:
    """Best send hour per segment from a whole season's sends and opens.

    ``smooth=False`` takes the hour with the highest observed open rate. Near the peak neighbouring hours differ
    by well under a point, so that is noisy; ``smooth=True`` fits a harmonic logistic regression per segment
    (``logit p = a + sum_k b_k cos(2 pi k h / 24) + c_k sin(2 pi k h / 24)``, ``k = 1..harmonics``: open rates
    that change smoothly around the clock) to all sends and takes the candidate hour where the fit peaks.
    Returns per segment ``best_hour`` and, when smoothed, ``peak`` (the fitted peak, in hours).

    Parameters
    ----------
    season : DataFrame
        :func:`simulate`'s rows of a season: per campaign and segment, ``sends`` and ``opens_by_hour``.
    smooth : bool, default True
        Fit a harmonic logistic regression per segment instead of taking the best observed hour.
    harmonics : int, default 1
        Harmonics of the smooth fit.
    """
    import statsmodels.api as sm

    hours = np.asarray(season.attrs["hours"])
    rows = []
    for segment, g in season.groupby("segment", sort=False):
        sends = np.sum(np.stack(g["sends"].to_numpy()), axis=0).astype(float)
        opens = np.sum(np.stack(g["opens_by_hour"].to_numpy()), axis=0).astype(float)
        rate = np.divide(opens, sends, out=np.zeros(len(hours)), where=sends > 0)
        if not smooth:
            rows.append({"segment": segment, "best_hour": int(hours[np.argmax(np.where(sends > 0, rate, -1))])})
            continue
        grid = np.linspace(hours.min(), hours.max(), 1 + 60 * int(hours.max() - hours.min()))
        used = sends > 0
        fit = sm.GLM(
            np.c_[opens[used], sends[used] - opens[used]],
            _harmonics(hours[used], harmonics),
            family=sm.families.Binomial(),
        ).fit()
        curve = _harmonics(grid, harmonics) @ fit.params
        peak = float(grid[np.argmax(curve)])
        rows.append({"segment": segment, "best_hour": int(hours[np.argmin(np.abs(hours - peak))]), "peak": peak})
    return pd.DataFrame(rows).set_index("segment")


def _harmonics(h: np.ndarray, k: int) -> np.ndarray:
    h = np.asarray(h, float)
    cols = [np.ones(len(h))]
    for j in range(1, k + 1):
        cols += [np.cos(2 * np.pi * j * h / 24), np.sin(2 * np.pi * j * h / 24)]
    return np.column_stack(cols)


def frequency_curve(
    truth, segment: str, per_month: Sequence[float] = (1, 2, 3, 4, 6, 8, 10, 12, 15, 20, 25, 30), months: int = 12
) -> pd.DataFrame:
    """Planted steady-state response of one segment to ``per_month`` evenly spaced emails, at the best hour.

    Fatigue just before a message, with spacing ``d`` days and decay time ``tau``, is ``1 / (e^{d / tau} - 1)``;
    the open logit loses ``fatigue_gamma`` per unit. Each message may also make the customer unsubscribe
    (:meth:`helpers.planted.ResponseModel.p_unsubscribe`). Returns per frequency: open rate, clicks per customer per
    month while
    subscribed, the share still subscribed after ``months``, and clicks per customer per month averaged over
    those months (unsubscribes included), the quantity a sender should maximise.

    Parameters
    ----------
    truth : Truth
        The world's planted truth.
    segment : str
        The segment's name.
    per_month : sequence of float
        The email frequencies to evaluate, per month.
    months : int, default 12
        The span over which unsubscribes accumulate.
    """
    rm = ResponseModel.from_truth(truth)
    seg = {s["name"]: s for s in truth["segments"]}
    if segment not in seg:
        raise ValueError(f"unknown segment {segment!r}; segments: {sorted(seg)}")
    f = np.asarray(per_month, float)
    if (f <= 0).any():
        raise ValueError("frequencies must be positive")
    fatigue = rm.steady_fatigue(DAYS_PER_MONTH / f)
    p_open = sigmoid(seg[segment]["open_logit"] - rm.fatigue_gamma * fatigue)
    p_click = sigmoid(seg[segment]["click_logit"])
    unsub = rm.p_unsubscribe(fatigue)
    keep_month = (1 - unsub) ** f
    survival = keep_month ** np.arange(months)[:, None]  # subscribed at the start of each month
    clicks = f * p_open * p_click
    return pd.DataFrame(
        {
            "open_rate": p_open,
            "clicks_while_subscribed": clicks,
            f"subscribed_after_{months}_months": keep_month**months,
            "clicks_per_month": clicks * survival.mean(axis=0),
        },
        index=pd.Index(f, name="emails_per_month"),
    )
