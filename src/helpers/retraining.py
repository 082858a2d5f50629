"""Keep models right over time: input drift (population stability index), and a safe model registry on disk.

* :func:`psi` — population stability index of one feature between a reference sample and a new one (quantile
  bins of the reference for numbers, categories for the rest); :func:`psi_table` — per feature and window;
  :func:`drift_alarm` — the windows where any feature passes a threshold (0.1 "watch", 0.2 "act" by custom).
* :class:`Registry` — versions of each model in a folder: the model saved with skops (a format that loads
  without running code, never pickle), and in ``registry.json`` its training window, metrics, feature list,
  a fingerprint of its training data and the file's checksum. Load by version, promote, roll back. A corrupted
  or newer-schema registry is refused and never overwritten.

* :func:`walk_forward` — train up to a period, score the next, record AUC, calibration and the share of
  positives captured in the top decile, then retrain or not by a policy: ``never``, ``scheduled`` (every
  period) or ``drift`` (when a feature's PSI or an AUC drop passes its threshold, and what chance alone gives:
  :func:`psi_chance`, :func:`auc_se`); :func:`recovery` — how each policy came through a known change;
  :func:`replay_change_points` — the same through many changes, moved in time with :func:`move_change`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .sampling import sample_positions

__all__ = [
    "psi",
    "psi_bins",
    "psi_chance",
    "first_shift",
    "auc_se",
    "psi_table",
    "drift_alarm",
    "FIT_ROWS",
    "fit_rows",
    "fingerprint",
    "labels_known",
    "label_delay_periods",
    "walk_forward",
    "recovery",
    "move_change",
    "change_points",
    "replay_change_points",
    "POLICIES",
    "Registry",
    "RegistryError",
    "DriftError",
]


class DriftError(ValueError):
    """A drift check that cannot be computed (empty sample, feature missing); the message names the fix."""


class _ReferenceBins:
    """The reference's side of :func:`psi`, computed once: its bin edges and counts (numbers) or its values."""

    def __init__(self, reference, bins: int = 10) -> None:
        self.rows = len(reference)  # as given, missing values included (the chance limit's sample size)
        self.r = pd.Series(reference).dropna()
        self.numeric = pd.api.types.is_numeric_dtype(self.r) and not pd.api.types.is_bool_dtype(self.r)
        self._category_counts: pd.Series | None = None
        if self.numeric and not self.r.empty:
            values = self.r.to_numpy(float)
            self.edges = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
            self.rc = np.bincount(np.searchsorted(self.edges, values, side="right"), minlength=len(self.edges) + 1)

    def counts(self, actual, min_expected: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
        """Counts of the reference and of ``actual`` per bin, bins merged to >= ``min_expected`` expected rows."""
        r, a = self.r, pd.Series(actual).dropna()
        if r.empty or a.empty:
            raise DriftError(
                "psi: the reference or the new sample is empty; a window with no rows has no drift "
                "to measure (widen the window)"
            )
        if self.numeric and pd.api.types.is_numeric_dtype(a):
            rc = self.rc
            ac = np.bincount(
                np.searchsorted(self.edges, a.to_numpy(float), side="right"), minlength=len(self.edges) + 1
            )
        else:
            if self._category_counts is None:  # the reference's side, counted once for every new sample
                self._category_counts = r.astype(str).value_counts()
            new = a.astype(str).value_counts()
            cats = sorted(set(self._category_counts.index) | set(new.index))
            rc = self._category_counts.reindex(cats, fill_value=0).to_numpy()
            ac = new.reindex(cats, fill_value=0).to_numpy()
        return _merge_bins(rc, ac, min_expected)


def _merge_bins(rc: np.ndarray, ac: np.ndarray, min_expected: float) -> tuple[np.ndarray, np.ndarray]:
    # merge neighbouring bins until each expects min_expected rows of the smaller sample: with fewer, chance
    # alone empties bins, and the index's chi-square law (psi_chance) no longer holds
    # (expected under "nothing changed": the two samples pooled)
    smaller, total = min(rc.sum(), ac.sum()), rc.sum() + ac.sum()
    groups: list[list[int]] = []
    cur = [0, 0]
    for x, y in zip(rc, ac, strict=True):
        cur = [cur[0] + int(x), cur[1] + int(y)]
        if (cur[0] + cur[1]) / total * smaller >= min_expected:
            groups.append(cur)
            cur = [0, 0]
    if cur != [0, 0]:
        if groups:
            groups[-1] = [groups[-1][0] + cur[0], groups[-1][1] + cur[1]]
        else:
            groups.append(cur)
    g = np.asarray(groups, float)
    return g[:, 0], g[:, 1]


def _references(X: pd.DataFrame, rows) -> dict[str, _ReferenceBins]:
    ref = X.loc[rows]
    return {f: _ReferenceBins(ref[f]) for f in X.columns}


def _psi_counts(reference, actual, bins: int = 10, min_expected: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the reference and the new sample per bin, bins merged to >= ``min_expected`` expected rows."""
    return _ReferenceBins(reference, bins).counts(actual, min_expected)


def psi(reference, actual, bins: int = 10, min_expected: float = 5.0) -> float:
    """Population stability index: sum over bins of (a - r) * ln(a / r) for the shares r and a per bin.

    Numbers are cut at the reference's quantiles (ties merged, so a feature with few values gets fewer bins);
    anything else is compared category by category. Neighbouring bins are merged until each expects at least
    ``min_expected`` rows of the smaller sample, and each share gets half a row more (so an empty bin has a small
    share, not an infinite index). On small samples a floor for empty bins instead blew the index up: an empty bin
    that should hold 10 % added 0.69. Use :func:`psi_bins` for the number of bins compared.

    >>> rng = np.random.default_rng(0)
    >>> round(psi(rng.normal(size=5000), rng.normal(size=5000)), 3) < 0.01
    True
    >>> round(psi(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20), 3)
    0.406
    """
    return _psi_of_counts(*_psi_counts(reference, actual, bins, min_expected))


def _psi_of_counts(rc: np.ndarray, ac: np.ndarray) -> float:
    rs = (rc + 0.5) / (rc.sum() + 0.5 * len(rc))
    as_ = (ac + 0.5) / (ac.sum() + 0.5 * len(ac))
    return float(np.sum((as_ - rs) * np.log(as_ / rs)))


def _psi_and_limit(reference, actual, threshold: float, level: float | None) -> tuple[float, float]:
    """PSI of one feature and its alarm limit.

    PSI of one feature and its alarm limit: ``threshold``, raised to what chance reaches at ``level`` for
    samples of these sizes (rows, as given) with the bins the index compared. ``reference`` may be a
    :class:`_ReferenceBins`, made once for many new samples.
    """
    ref = reference if isinstance(reference, _ReferenceBins) else _ReferenceBins(reference)
    rc, ac = ref.counts(actual)
    value = _psi_of_counts(rc, ac)
    if level is None:
        return value, threshold
    return value, max(threshold, psi_chance(ref.rows, len(actual), bins=len(rc), level=level))


def psi_bins(reference, actual, bins: int = 10, min_expected: float = 5.0) -> int:
    """How many bins :func:`psi` compares for these two samples (the degrees of freedom + 1 of its chance law).

    >>> psi_bins(np.arange(1000.0), np.arange(30.0)), psi_bins(np.arange(1000.0), np.arange(500.0))
    (5, 10)
    """
    return len(_psi_counts(reference, actual, bins, min_expected)[0])


def psi_chance(n_reference: int, n_new: int, bins: int = 10, level: float = 0.99) -> float:
    """The PSI that sampling noise alone stays below with probability ``level`` when nothing changed.

    For two samples of sizes n and m from one distribution, n·m/(n + m) · PSI is close to a chi-square variable
    with ``bins`` − 1 degrees of freedom (``bins``: those :func:`psi` compares, :func:`psi_bins`), so small
    samples have a noise floor far above the customary 0.1 or 0.2: a month of 70 leads against 430 gives 0.36 at
    the 99 % level with ten bins. Tests check the false-alarm rate by simulation at 40, 70 and 500 rows.

    Parameters
    ----------
    n_reference : int
        Rows of the reference sample (e.g. the training rows).
    n_new : int
        Rows of the new sample (e.g. one month).
    bins : int, default 10
        Bins the PSI compares.
    level : float, default 0.99
        Probability that noise alone stays below the returned PSI.

    Examples
    --------
    >>> round(psi_chance(2855, 480), 3), round(psi_chance(430, 70), 3)
    (0.053, 0.36)
    """
    if n_reference < 1 or n_new < 1:
        raise DriftError("psi_chance: both samples need rows")
    return float(stats.chi2.ppf(level, max(bins, 2) - 1) * (1.0 / n_reference + 1.0 / n_new))


def first_shift(
    data: pd.DataFrame,
    features: Sequence[str],
    time_col: str,
    reference_periods: int = 6,
    freq: str = "M",
    threshold: float = 0.2,
    level: float = 0.99,
) -> pd.Timestamp | None:
    """The start of the first period whose inputs moved beyond chance against the first ``reference_periods``.

    The PSI alarm of :func:`walk_forward` without a model: a period fires when a feature's PSI exceeds both
    ``threshold`` and what chance reaches (:func:`psi_chance` with its bins, at a level corrected for the number
    of features). None when no period fires. A lesson can take "the data before the world changed" from here
    instead of from a truth file that a team does not have.
    """
    period = pd.to_datetime(data[time_col]).dt.to_period(freq)
    periods = sorted(period.unique())
    if len(periods) <= reference_periods:
        raise DriftError(f"first_shift: {len(periods)} periods, not more than the {reference_periods} of reference")
    ref = data[(period < periods[reference_periods]).to_numpy()]
    feature_level = 1 - (1 - level) / len(features)
    for per in periods[reference_periods:]:
        new = data[(period == per).to_numpy()]
        for f in features:
            value, limit = _psi_and_limit(ref[f], new[f], threshold, feature_level)
            if value > limit:
                return per.start_time
    return None


def auc_se(auc: float, n_pos: float, n_neg: float) -> float:
    """Standard error of an AUC measured on ``n_pos`` positives and ``n_neg`` negatives (Hanley & McNeil, 1982).

    >>> round(auc_se(0.77, 120, 360), 3), round(auc_se(0.77, 8, 23), 3)
    (0.027, 0.107)
    """
    if n_pos < 1 or n_neg < 1:
        raise DriftError("auc_se: an AUC needs positives and negatives")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
    return float(np.sqrt(max(var, 0.0)))


def psi_table(
    reference: pd.DataFrame, new: pd.DataFrame, window: str, features: Sequence[str], bins: int = 10
) -> pd.DataFrame:
    """PSI of each feature (rows) in each window of ``new`` (columns, by the ``window`` column) vs ``reference``.

    Parameters
    ----------
    reference : DataFrame
        The reference rows (e.g. the training data), with every feature.
    new : DataFrame
        The new rows, with every feature and the ``window`` column.
    window : str
        The column of ``new`` that cuts it into windows (e.g. the month).
    features : sequence of str
        The features to compare.
    bins : int, default 10
        Quantile bins of the reference per feature.
    """
    for name, df in (("reference", reference), ("new data", new)):
        missing = [f for f in features if f not in df]
        if missing:
            raise DriftError(
                f"psi_table: feature(s) {', '.join(missing)} missing in the {name}; the model was "
                "trained on them, so the new data must carry them (or retrain without them)"
            )
    if window not in new:
        raise DriftError(f"psi_table: no column {window!r} in the new data to cut windows by")
    out = {w: {f: psi(reference[f], d[f], bins) for f in features} for w, d in new.groupby(window, sort=True)}
    return pd.DataFrame(out).loc[list(features)]


def drift_alarm(table: pd.DataFrame, threshold: float = 0.2) -> pd.Series:
    """Per window (column of :func:`psi_table`): whether any feature's PSI exceeds ``threshold``.

    Parameters
    ----------
    table : DataFrame
        A :func:`psi_table`: features (rows) by windows (columns).
    threshold : float, default 0.2
        The PSI above which a feature has drifted.
    """
    return table.gt(threshold).any(axis=0)


def fingerprint(df: pd.DataFrame, digits: int = 6) -> str:
    """A short SHA-256 of a table's canonical text: the same data gives the same print on every machine.

    The table is written as CSV with every float to ``digits`` significant digits, and that text is hashed. Raw
    float bytes would not do: features such as ``np.log1p(count)`` differ in the last bit between numpy's
    AVX-512 and AVX2 code paths (and between BLAS kernels), which is no difference in the data. Correctly
    rounded decimal text absorbs such differences (a last-bit change crosses a 6-digit rounding boundary with a
    chance of about 1e-10 per value; values within 1e-12 of 0 are written as 0) and keeps every difference a
    person could see.

    >>> fingerprint(pd.DataFrame({"x": [1, 2]})) == fingerprint(pd.DataFrame({"x": [1, 2]}))
    True
    >>> fingerprint(pd.DataFrame({"x": [0.1 + 0.2]})) == fingerprint(pd.DataFrame({"x": [0.3]}))
    True
    >>> fingerprint(pd.DataFrame({"x": [0.3]})) == fingerprint(pd.DataFrame({"x": [0.31]}))
    False
    >>> fingerprint(pd.DataFrame({"x": [float("nan")]})) == fingerprint(pd.DataFrame({"x": [0.0]}))
    False
    """
    floats = df.select_dtypes("floating").columns
    if len(floats):  # |x| below 1e-12 is written as 0 (and -0 as 0): a last-bit difference of a value that is 0
        df = df.assign(**{c: df[c].mask(df[c].abs() < 1e-12, 0.0) + 0.0 for c in floats})
    text = df.to_csv(index=True, lineterminator="\n", float_format=f"%.{int(digits)}g")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------------------------
# Walk-forward evaluation with a retraining policy
# ----------------------------------------------------------------------------------------------------------------
POLICIES = ("never", "scheduled", "drift")


def _period_scores(y: np.ndarray, p: np.ndarray, label: str) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    pos = int(y.sum())
    if pos == 0 or pos == len(y):
        raise DriftError(
            f"walk_forward: period {label} has {'no' if pos == 0 else 'only'} positives, so its AUC "
            "is undefined; use longer periods (freq) or start later"
        )
    top = p >= np.quantile(p, 0.9)
    return dict(
        n=len(y),
        positives=pos,
        auc=float(roc_auc_score(y, p)),
        top_decile_capture=float(y[top].sum() / pos),
        calibration_gap=float(p.mean() - y.mean()),
    )


def labels_known(
    data: pd.DataFrame, time_col: str, label_time: str | None = None, label_delay: int = 0, freq: str = "M"
) -> pd.Series:
    """Per period of ``time_col``: the first period at whose start every label of the period is known.

    A model trained at the start of period t may learn only from the periods whose value here is at most t,
    and an alarm on a period's AUC can be raised only then. With ``label_time`` (the column holding when each
    row's outcome becomes known, e.g. a lead's creation date plus its conversion window) the periods are read
    from the data; without it every period's labels are known ``label_delay`` periods after the period ends.

    Parameters
    ----------
    data : DataFrame
        The rows, with ``time_col`` (and ``label_time`` when given).
    time_col : str
        The column that dates each row.
    label_time : str, optional
        The column holding when each row's label is known.
    label_delay : int, default 0
        Without ``label_time``: periods after a period's end when its labels are known.
    freq : str, default "M"
        The period (pandas frequency).

    Examples
    --------
    >>> d = pd.DataFrame({"created": pd.to_datetime(["2025-01-05", "2025-01-31", "2025-02-10"])})
    >>> d["known"] = d["created"] + pd.Timedelta(days=90)
    >>> {str(p): str(k) for p, k in labels_known(d, "created", "known").items()}
    {'2025-01': '2025-05', '2025-02': '2025-06'}
    >>> {str(p): str(k) for p, k in labels_known(d, "created", label_delay=0).items()}
    {'2025-01': '2025-02', '2025-02': '2025-03'}
    """
    period = pd.to_datetime(data[time_col]).dt.to_period(freq)
    if label_time is None:
        if label_delay < 0:
            raise DriftError(f"label_delay must be 0 or more periods, got {label_delay}")
        return pd.Series({p: p + 1 + int(label_delay) for p in sorted(period.unique())}, name="labels_known")
    if label_time not in data:
        raise DriftError(f"no column {label_time!r} saying when each row's label is known")
    known_at = pd.to_datetime(data[label_time])
    if known_at.isna().any():
        raise DriftError(f"{label_time}: {int(known_at.isna().sum())} rows without the time their label is known")
    early = (known_at < pd.to_datetime(data[time_col])).to_numpy()
    if early.any():
        raise DriftError(
            f"{label_time}: {int(early.sum())} rows whose label is known before the row exists; a label "
            f"comes after the {time_col} it describes"
        )
    last = known_at.groupby(period).max()
    # known at the start of period q when the last label came at or before q's first instant
    out = {
        p: (t.to_period(freq) if t == t.to_period(freq).start_time else t.to_period(freq) + 1) for p, t in last.items()
    }
    return pd.Series(out, name="labels_known").sort_index()


def label_delay_periods(known: pd.Series) -> int:
    """The largest number of whole periods between a period's end and the start when its labels are all known.

    Parameters
    ----------
    known : Series
        :func:`labels_known`: per period, the period from whose start its labels are known.

    Examples
    --------
    >>> label_delay_periods(pd.Series({pd.Period("2025-01", "M"): pd.Period("2025-05", "M")}))
    3
    """
    return int(max((k - p).n - 1 for p, k in known.items()))


# each policy and each label-timing option is a branch of the one walk through time; see the docstring
FIT_ROWS = 200_000
"""Rows a lesson fits a model of its walk-forward on at most (:func:`walk_forward`'s ``max_train_rows``)."""


def fit_rows(rows: np.ndarray, max_rows: int | None, random_state: int = 0) -> np.ndarray:
    """The rows a model is fitted on: all of ``rows`` (a boolean mask), or ``max_rows`` of them drawn at random.

    The draw is without replacement, kept in the rows' order, and the same for the same mask.

    Parameters
    ----------
    rows : ndarray of bool
        The training rows.
    max_rows : int or None
        The most rows to fit on; None fits on every one.
    random_state : int, default 0
        Random seed of the draw.

    Examples
    --------
    >>> mask = np.array([True, False, True, True, True])
    >>> fit_rows(mask, None).tolist(), fit_rows(mask, 10).tolist()
    ([True, False, True, True, True], [True, False, True, True, True])
    >>> int(fit_rows(mask, 2).sum()), bool((fit_rows(mask, 2) <= mask).all())
    (2, True)
    """
    rows = np.asarray(rows, bool)
    if max_rows is not None and max_rows < 1:
        raise DriftError(f"max_train_rows must be at least 1, got {max_rows}")
    where = np.flatnonzero(rows)
    keep = sample_positions(len(where), max_rows, random_state)
    if keep is None:
        return rows
    out = np.zeros(len(rows), bool)
    out[where[keep]] = True
    return out


def _auc_drop_limit(row: dict, earlier: list[dict], auc_drop: float, chance_level: float | None) -> float:
    """The fall below the mean AUC of ``earlier`` periods that raises an alarm for ``row``'s period.

    ``auc_drop``, raised to what chance alone gives at ``chance_level``: the difference of the period's AUC and
    the mean of k earlier ones (disjoint rows, the same model) has the standard error
    sqrt(se² + Σ se_j² / k²) — against one earlier period, √2 times the period's own, which a limit of the
    period's standard error alone would miss (5 % false alarms at the 99 % level instead of 1 %).

    >>> round(_auc_drop_limit({"auc_se": 0.06}, [{"auc_se": 0.06}], 0.1, 0.99), 3)
    0.197
    >>> _auc_drop_limit({"auc_se": 0.06}, [{"auc_se": 0.06}], 0.1, None)
    0.1
    """
    if chance_level is None:
        return auc_drop
    k = len(earlier)
    se = np.sqrt(row["auc_se"] ** 2 + sum(q["auc_se"] ** 2 for q in earlier) / k**2)
    return float(max(auc_drop, stats.norm.ppf(chance_level) * se))


def walk_forward(  # noqa: C901
    data: pd.DataFrame,
    features: Sequence[str],
    target: str,
    time_col: str,
    first_test,
    make_model,
    policy: str = "never",
    freq: str = "M",
    window: int | None = None,
    reset_on_drift: bool = True,
    psi_threshold: float = 0.2,
    chance_level: float | None = 0.99,
    auc_drop: float = 0.1,
    label_delay: int = 0,
    label_time: str | None = None,
    registry: Registry | None = None,
    name: str = "model",
    fits: dict | None = None,
    max_train_rows: int | None = None,
) -> pd.DataFrame:
    """Score each period from ``first_test`` on with the model of the moment; retrain by ``policy``.

    ``make_model()`` returns an unfitted classifier with ``predict_proba``. Every decision uses only what is
    known when it is taken. The model that scores period t is trained at t's start, on the periods whose labels
    are all known by then (:func:`labels_known`: from the ``label_time`` column when given, else ``label_delay``
    periods after a period ends; all of them, or the last ``window`` of them). At the end of each period the
    policy may hear an alarm and decide whether the next period gets a new model: ``scheduled`` always
    retrains, ``never`` never, ``drift`` when an alarm was raised:

    * the **PSI alarm** of period t is raised at t's end: a feature's PSI against the training rows exceeds
      ``psi_threshold`` (the period's features are taken as known when its rows are; features gathered over a
      window after that delay the alarm accordingly);
    * the **AUC alarm** of period t is raised when t's labels are known, if the model that scored t is still in
      use: t's AUC fell more than ``auc_drop`` below that model's mean AUC over the earlier periods it scored.

    With a ``chance_level`` both limits rise to what sampling noise alone reaches at that level when a period is
    small (:func:`psi_chance` with each feature's own bins, at ``1 - (1 - chance_level) / len(features)`` so that
    a period with nothing changed raises a PSI alarm with chance at most ``1 - chance_level`` whichever feature
    fires; the standard error of the AUC's fall below the earlier mean, from :func:`auc_se` of each period, times
    the normal quantile, so that a period with nothing changed raises an AUC alarm with chance at most
    ``1 - chance_level`` too). None keeps them fixed. The stated false-alarm rate, a month with nothing changed
    raising either alarm at most ``2 * (1 - chance_level)`` of the time, is tested on worlds of many random
    seeds. With ``reset_on_drift`` a retrain after an alarm learns only from the alarmed period on: the rows
    before it describe the world that changed. The retrain waits until that period's labels are known.

    With a ``registry``, every model trained is registered as a version of ``name`` with its training window,
    rows and positive rate, features and data fingerprint.

    Returns one row per period: the scores (the AUC is computed with labels known only later: it is a report,
    and it feeds the policy only from ``labels_known`` on) with the AUC's standard error ``auc_se``, the fall
    that would have raised the AUC alarm ``auc_drop_limit`` (NaN for a period never judged: the first of its
    model, or one whose model was replaced before its labels came in), the largest PSI and its feature,
    ``psi_limit``, ``psi_alarm``,
    ``auc_alarm`` and ``drift_alarm`` (either, on this period's data), ``alarm_raised`` (an alarm the policy heard
    at this period's end), which training periods the model used, ``labels_known`` and the model's version
    (1 = the first model of the run).

    Parameters
    ----------
    data : DataFrame
        The rows in time, with the features, ``target``, ``time_col`` (and ``label_time``).
    features : sequence of str
        The model's inputs.
    target : str
        The 0/1 outcome column.
    time_col : str
        The column that dates each row.
    first_test : period-like
        The first period scored.
    make_model : callable
        Returns an unfitted classifier with ``predict_proba``.
    policy : {"never", "scheduled", "drift"}
        When to retrain.
    freq : str, default "M"
        The period (pandas frequency).
    window : int, optional
        Train on the last ``window`` periods with known labels only; default: all of them.
    reset_on_drift : bool, default True
        A retrain after an alarm learns only from the alarmed period on.
    psi_threshold : float, default 0.2
        The PSI above which a feature raises an alarm.
    chance_level : float or None, default 0.99
        Raise both limits to what noise alone reaches at this level in a small period; None keeps them fixed.
    auc_drop : float, default 0.1
        The fall of a period's AUC below the model's earlier mean that raises an alarm.
    label_delay : int, default 0
        Without ``label_time``: periods after a period's end when its labels are known.
    label_time : str, optional
        The column holding when each row's label is known.
    registry : Registry, optional
        Register every model trained as a version of ``name``.
    name : str, default "model"
        The model's name in ``registry``.
    fits : dict, optional
        Models already fitted, shared between calls (e.g. one per policy): a model is fitted once per
        ``make_model``, features, outcome, values of those columns and set of training rows, and reused, so the
        policies that start from the same first model fit it once.
        ``make_model`` must give the same model on the same rows (a fixed random state).
    max_train_rows : int, optional
        Fit each model on at most this many of its training rows, drawn at random without replacement
        (:func:`fit_rows`; the same draw for the same rows), and score every row: a fit's cost stops growing
        with the data while what it learns is settled long before (lesson 06 caps the churn model at
        ``FIT_ROWS``). The PSI still compares with every training row. Default: every row.
    """
    if policy not in POLICIES:
        raise DriftError(f"walk_forward: unknown policy {policy!r}; choose from {', '.join(POLICIES)}")
    if label_time is not None and label_delay:
        raise DriftError("walk_forward: give label_time (when each label is known) or label_delay, not both")
    missing = [c for c in [*features, target, time_col, *([label_time] if label_time else [])] if c not in data]
    if missing:
        raise DriftError(f"walk_forward: column(s) {', '.join(missing)} missing from the data")
    period = pd.to_datetime(data[time_col]).dt.to_period(freq)
    known = labels_known(data, time_col, label_time, label_delay, freq)
    known_of_row = period.map(known)
    first = pd.Period(first_test, freq=freq)
    periods = sorted(period[period >= first].unique())
    if not periods:
        raise DriftError(f"walk_forward: no rows from {first} on")
    X, y = data[list(features)], data[target].to_numpy().astype(int)
    # what a fitted model depends on besides its rows: the features' and outcomes' values (and make_model)
    data_key = (
        (id(make_model), tuple(features), target, _digest(data[[*features, target]])) if fits is not None else None
    )
    # any of the features may fire: each is held to a level that keeps the month's false-alarm rate (Bonferroni)
    feature_level = None if chance_level is None else 1 - (1 - chance_level) / len(features)

    def rows_for(upto: pd.Period, since: pd.Period | None) -> pd.Series:
        rows = known_of_row <= upto
        if window and rows.any():
            rows &= period > period[rows].max() - window
        return rows & (period >= since) if since is not None else rows

    def train(upto: pd.Period, since: pd.Period | None):
        rows = rows_for(upto, since)
        if not rows.any():
            raise DriftError(
                f"walk_forward: no training rows whose labels are known by {upto} (window {window}, "
                f"labels known {label_delay_periods(known)} period(s) after a period ends)"
            )
        if len(np.unique(y[rows])) < 2:
            raise DriftError(
                f"walk_forward: the training rows before {upto} hold one class only; a model "
                "needs positives and negatives (train on more periods)"
            )
        key = (data_key, max_train_rows, hashlib.sha256(np.packbits(rows.to_numpy()).tobytes()).hexdigest())
        fit = fit_rows(rows.to_numpy(), max_train_rows)
        if fits is not None and key in fits:
            model = fits[key]
        else:
            model = make_model().fit(X[fit], y[fit])
            if fits is not None:
                fits[key] = model
        span = (period[rows].min(), period[rows].max())
        if registry is not None:
            registry.register(
                name,
                model,
                window=(span[0].start_time.date(), span[1].end_time.date()),
                metrics={"train_rows": int(fit.sum()), "train_positive_rate": float(y[fit].mean())},
                features=features,
                data=data.loc[fit, [*features, target]],
            )
        # the training rows' side of each PSI, built per walk: kept with the shared fits, every model's rows would
        # stay in memory for the whole walk (1.1 GiB more at a million customers)
        return model, f"{span[0]}..{span[1]}", _references(X, rows)

    model, trained_on, refs = train(first, None)
    version, since, pending = 1, None, False
    rows: list[dict[str, Any]] = []
    for i, per in enumerate(periods):
        here = (period == per).to_numpy()
        p = model.predict_proba(X[here])[:, 1]
        scores = _period_scores(y[here], p, str(per))
        now_x = X.loc[here]
        tested = {f: _psi_and_limit(refs[f], now_x[f], psi_threshold, feature_level) for f in features}
        drift, limits = {f: v for f, (v, _) in tested.items()}, {f: lim for f, (_, lim) in tested.items()}
        worst = max(drift, key=lambda f: drift[f] - limits[f])  # the feature furthest above (or nearest) its limit
        limit = limits[worst]
        se = auc_se(scores["auc"], scores["positives"], scores["n"] - scores["positives"])
        rows.append(
            dict(
                period=str(per),
                policy=policy,
                version=version,
                trained_on=trained_on,
                **scores,
                psi_max=drift[worst],
                psi_feature=worst,
                psi_limit=limit,
                auc_se=se,
                auc_drop_limit=np.nan,  # set when the period's labels are known and its AUC is judged
                psi_alarm=bool(drift[worst] > limit),
                auc_alarm=False,
                drift_alarm=bool(drift[worst] > limit),
                alarm_raised=False,
                labels_known=str(known[per]),
            )
        )
        # the end of this period: what is known now is the PSI of this period and the AUC of every period whose
        # labels are all in by the next period's start
        now = per + 1
        alarmed = [per] if rows[-1]["psi_alarm"] else []
        for j, r in enumerate(rows):
            if known[periods[j]] != now or r["version"] != version:
                continue  # not known yet, heard before, or scored by a model no longer in use
            earlier = [q for q in rows[:j] if q["version"] == version and known[pd.Period(q["period"], freq)] <= now]
            if not earlier:
                continue
            r["auc_drop_limit"] = _auc_drop_limit(r, earlier, auc_drop, chance_level)
            if r["auc"] < np.mean([q["auc"] for q in earlier]) - r["auc_drop_limit"]:
                r["auc_alarm"] = r["drift_alarm"] = True
                alarmed.append(periods[j])
        rows[-1]["alarm_raised"] = bool(alarmed)
        if policy == "drift" and alarmed and not pending:
            since, pending = (min(alarmed) if reset_on_drift else None), True
        if i + 1 < len(periods) and (policy == "scheduled" or pending):
            if policy == "drift" and not rows_for(periods[i + 1], since).any():
                continue  # the alarmed period's labels are not in yet: keep the current model until they are
            model, trained_on, refs = train(periods[i + 1], since)
            version, pending = version + 1, False
    return pd.DataFrame(rows)


def recovery(results: pd.DataFrame, change, windows: int = 2, freq: str = "M") -> pd.DataFrame:
    """How each policy in ``results`` (rows of :func:`walk_forward`, stacked) came through a change.

    The detection lag is counted in periods from ``change`` to the first period on or after it whose data raised
    an alarm of the ``drift`` policy (of any policy if there is none); ``raised_lag`` to the end of the period
    when that alarm was heard. A model can learn the new world only once the alarmed period's labels are known
    (its ``labels_known``): the recovered AUC is each policy's mean over the ``windows`` periods from then on,
    the pre-change AUC its mean over the periods before ``change``, and the ratio of the two is the share of
    the old AUC the policy got back. An AUC of 0.5 is chance, so ``lift_kept`` = (recovered − 0.5) / (before −
    0.5) says more plainly what is left of the model's skill: a ratio of 0.8 at an AUC of 0.77 keeps 43 %.

    Parameters
    ----------
    results : DataFrame
        :func:`walk_forward` rows of one or more policies, stacked (with a ``policy`` column).
    change : period-like
        The period in which the world changed.
    windows : int, default 2
        Periods averaged for the recovered AUC.
    freq : str, default "M"
        The period (pandas frequency).

    Examples
    --------
    >>> r = pd.DataFrame({"period": ["2025-05", "2025-06", "2025-07", "2025-08"], "policy": "drift",
    ...                   "auc": [0.8, 0.8, 0.6, 0.76], "drift_alarm": [False, False, True, False],
    ...                   "labels_known": ["2025-06", "2025-07", "2025-08", "2025-09"]})
    >>> rec = recovery(r, "2025-07", windows=1)
    >>> int(rec.loc["drift", "detect_lag"]), float(rec.loc["drift", "ratio"])
    (0, 0.95)
    """
    change = pd.Period(change, freq=freq)
    per = results["period"].map(lambda v: pd.Period(v, freq=freq))
    detector = results["policy"] == "drift" if (results["policy"] == "drift").any() else results["policy"].notna()
    alarms = per[detector & results["drift_alarm"].astype(bool) & (per >= change)]
    if alarms.empty:
        raise DriftError(f"recovery: no drift alarm on or after {change}; lower the threshold or check the data")
    detected = alarms.min()
    row = results[detector & (per == detected)].iloc[0]
    learn_from = pd.Period(row["labels_known"], freq=freq) if "labels_known" in results else detected + 1
    raised = per[detector & results.get("alarm_raised", results["drift_alarm"]).astype(bool) & (per >= detected)]
    after = [learn_from + k for k in range(windows)]
    out = {}
    for policy, r in results.groupby("policy", sort=False):
        p = per[r.index]
        pre, post = r.loc[p < change, "auc"], r.loc[p.isin(after), "auc"]
        out[policy] = dict(
            detect_lag=int((detected - change).n),
            raised_lag=int((raised.min() - change).n),
            label_delay=int((learn_from - detected).n) - 1,
            false_alarms=int(r.loc[p < change, "drift_alarm"].sum()),
            auc_before=pre.mean(),
            auc_recovered=post.mean(),
            windows_seen=len(post),
            ratio=round(post.mean() / pre.mean(), 6),
            lift_kept=round((post.mean() - 0.5) / (pre.mean() - 0.5), 6),
        )
    return pd.DataFrame.from_dict(out, orient="index")


def move_change(
    data: pd.DataFrame, time_col: str, change, at, label_time: str | None = None, random_state: int = 0, freq: str = "M"
) -> pd.DataFrame:
    """A replay of ``data`` in which the world changes at period ``at`` instead of at ``change``.

    One change is one draw of chance: a policy that recovered from it may have been lucky in which months came
    after it. This makes as many draws as wanted from the data itself. Every period keeps its number of rows;
    the rows of periods before ``at`` are drawn with replacement from the rows before ``change`` (the old world),
    those from ``at`` on from the rows on or after it (the new world). A drawn row keeps its offset within its
    period (capped to the new period's length), and its ``label_time`` moves with it, so it is known as long
    after its creation as before. The result has a fresh index and an ``origin`` column: the row of ``data`` it
    was drawn from.

    >>> d = pd.DataFrame({"t": pd.to_datetime(["2025-01-03", "2025-02-05", "2025-03-07", "2025-04-09"]),
    ...                   "world": ["old", "old", "new", "new"]})
    >>> move_change(d, "t", "2025-03", "2025-02", random_state=1)["world"].tolist()
    ['old', 'new', 'new', 'new']
    """
    t = pd.to_datetime(data[time_col])
    if t.isna().any():
        raise DriftError(f"move_change: {int(t.isna().sum())} rows without a {time_col}")
    period = t.dt.to_period(freq)
    change, at = pd.Period(change, freq=freq), pd.Period(at, freq=freq)
    before, after = np.flatnonzero((period < change).to_numpy()), np.flatnonzero((period >= change).to_numpy())
    if not len(before) or not len(after):
        raise DriftError(
            f"move_change: the data need rows before and after the change {change}; they run from "
            f"{period.min()} to {period.max()}"
        )
    if not period.min() < at <= period.max():
        raise DriftError(
            f"move_change: the new change {at} must fall after the first period {period.min()} and "
            f"at or before the last {period.max()}"
        )
    rng = np.random.default_rng(random_state)
    counts = period.value_counts().sort_index()
    picks = np.concatenate(
        [rng.choice(before if per < at else after, size=int(n), replace=True) for per, n in counts.items()]
    )
    start = pd.DatetimeIndex(np.repeat(counts.index.start_time.to_numpy(), counts.to_numpy()))
    longest = pd.TimedeltaIndex(
        np.repeat((counts.index.end_time.normalize() - counts.index.start_time).to_numpy(), counts.to_numpy())
    )
    offset = pd.TimedeltaIndex(t.to_numpy()[picks] - period.dt.start_time.to_numpy()[picks])
    new_time = start + np.minimum(
        offset, longest + (offset - offset.floor("D"))
    )  # the 31st of a 30-day month: the 30th
    out = data.iloc[picks].reset_index(drop=True)
    shift = new_time - pd.DatetimeIndex(t.to_numpy()[picks])
    out[time_col] = new_time
    if label_time is not None:
        out[label_time] = pd.to_datetime(out[label_time]) + shift
    out["origin"] = data.index.to_numpy()[picks]
    return out


def change_points(
    data: pd.DataFrame,
    time_col: str,
    first_test,
    label_time: str | None = None,
    label_delay: int = 0,
    windows: int = 2,
    freq: str = "M",
) -> list[str]:
    """Periods where a moved change can be judged like the real one.

    The periods where a moved change (:func:`move_change`) can be judged like the real one: at least two
    scored periods before it, and ``windows`` periods with a score after the alarmed period's labels are known
    (from ``label_time`` or ``label_delay``, as in :func:`walk_forward`).

    Parameters
    ----------
    data : DataFrame
        The rows in time, with ``time_col`` (and ``label_time`` when given).
    time_col : str
        The column that dates each row.
    first_test : period-like
        The first period scored (as in :func:`walk_forward`).
    label_time : str, optional
        The column holding when each row's label is known.
    label_delay : int, default 0
        Without ``label_time``: periods after a period's end when its labels are known.
    windows : int, default 2
        Scored periods needed after the alarmed period's labels are known.
    freq : str, default "M"
        The period (pandas frequency).
    """
    period = pd.to_datetime(data[time_col]).dt.to_period(freq)
    delay = label_delay_periods(labels_known(data, time_col, label_time, label_delay, freq))
    first, last = pd.Period(first_test, freq=freq), period.max()
    out = [str(first + k) for k in range(2, (last - first).n + 1) if first + k + delay + windows <= last]
    if not out:
        raise DriftError(
            f"change_points: from {first} to {last} no period leaves two scored periods before a change "
            f"and {windows} after its labels are known ({delay} period(s) late); use more data"
        )
    return out


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame).to_numpy().tobytes()).hexdigest()


def replay_change_points(
    data: pd.DataFrame,
    change,
    at: Sequence,
    features: Sequence[str],
    target: str,
    time_col: str,
    first_test,
    make_model,
    policies: Sequence[str] = POLICIES,
    windows: int = 2,
    label_time: str | None = None,
    random_state: int = 0,
    freq: str = "M",
    **walk_args,
) -> pd.DataFrame:
    """Replay every retraining policy through changes moved in time.

    Each retraining policy through the change moved to each period of ``at`` (:func:`move_change`, a new
    draw for each), replayed with :func:`walk_forward` and summarised with :func:`recovery`.

    Returns one row per moved change and policy: ``change``, ``policy`` and :func:`recovery`'s columns
    (``detect_lag``, ``false_alarms``, ``ratio``, ``lift_kept``, ...). Take the ``at`` periods from
    :func:`change_points`, so that every change can be judged over the same number of periods.

    Parameters
    ----------
    data : DataFrame
        The rows in time, with the features, ``target``, ``time_col`` (and ``label_time``).
    change : period-like
        The period in which the world really changed.
    at : sequence of period-like
        The periods to move the change to (from :func:`change_points`).
    features : sequence of str
        The model's inputs.
    target : str
        The 0/1 outcome column.
    time_col : str
        The column that dates each row.
    first_test : period-like
        The first period scored.
    make_model : callable
        Returns an unfitted classifier with ``predict_proba``.
    policies : sequence of str, default ("never", "scheduled", "drift")
        The retraining policies to replay.
    windows : int, default 2
        Periods averaged for the recovered AUC (:func:`recovery`).
    label_time : str, optional
        The column holding when each row's label is known.
    random_state : int, default 0
        Random seed of the first moved change (the k-th uses ``random_state + k``).
    freq : str, default "M"
        The period (pandas frequency).
    **walk_args
        Further arguments of :func:`walk_forward` (e.g. ``label_delay``, ``psi_threshold``).
    """
    allowed = set(change_points(data, time_col, first_test, label_time, walk_args.get("label_delay", 0), windows, freq))
    wrong = [str(pd.Period(a, freq=freq)) for a in at if str(pd.Period(a, freq=freq)) not in allowed]
    if wrong:
        raise DriftError(
            f"replay_change_points: {', '.join(wrong)} cannot be judged like the real change; "
            f"choose among {', '.join(sorted(allowed))} (change_points)"
        )
    walk_args.pop("fits", None)  # each moved change is other data: its policies share their fits only
    rows = []
    for k, a in enumerate(at):
        stream = move_change(data, time_col, change, a, label_time, random_state=random_state + k, freq=freq)
        shared: dict = {}
        results = pd.concat(
            [
                walk_forward(
                    stream,
                    features,
                    target,
                    time_col,
                    first_test,
                    make_model,
                    policy=p,
                    freq=freq,
                    label_time=label_time,
                    fits=shared,
                    **walk_args,
                )
                for p in policies
            ],
            ignore_index=True,
        )
        rec = recovery(results, a, windows=windows, freq=freq)
        rows.append(rec.rename_axis("policy").reset_index().assign(change=str(pd.Period(a, freq=freq))))
    out = pd.concat(rows, ignore_index=True)
    return out[["change", *[c for c in out.columns if c != "change"]]]


# ----------------------------------------------------------------------------------------------------------------
# The registry
# ----------------------------------------------------------------------------------------------------------------
class RegistryError(ValueError):
    """A registry that cannot be read or written safely; nothing was changed on disk."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.", "builtins.", "collections.")


class Registry:
    """Model versions in a folder: ``registry.json`` plus one skops file per version.

    Parameters
    ----------
    folder : str or Path
        The registry's folder (created on the first registration); an existing ``registry.json`` is read.

    Examples
    --------
    >>> import tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> reg = Registry(tempfile.mkdtemp())
    >>> m = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    >>> reg.register("lead", m, window=("2024-01-01", "2024-06-30"), metrics={"auc": 0.75}, features=["x"])
    1
    >>> reg.load("lead").predict([[1.0]]).tolist()
    [1]
    """

    SCHEMA = 1
    INDEX = "registry.json"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.index_path = self.folder / self.INDEX
        self._index = self._read()

    # -- reading and writing the index ---------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        if not self.index_path.exists():
            if self.folder.exists() and any(p.suffix == ".skops" for p in self.folder.rglob("*.skops")):
                raise RegistryError(
                    f"{self.folder}: model files but no {self.INDEX}; the registry is damaged. "
                    "Restore registry.json from a backup or use a new folder"
                )
            return {"schema": self.SCHEMA, "models": {}}
        try:
            index = json.loads(self.index_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RegistryError(
                f"{self.index_path}: not valid JSON ({error}); the registry is corrupted and was "
                "left as it is. Restore it from a backup or use a new folder"
            ) from None
        if not isinstance(index, dict) or "schema" not in index or "models" not in index:
            raise RegistryError(f"{self.index_path}: not a model registry (no schema/models); left as it is")
        if index["schema"] > self.SCHEMA:
            raise RegistryError(
                f"{self.index_path}: schema {index['schema']} is newer than this course's "
                f"({self.SCHEMA}); update the course (git pull, make install) rather than "
                "overwrite it"
            )
        return index

    def _write(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.index_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self._index, indent=2, sort_keys=True))
        os.replace(tmp, self.index_path)  # atomic: a crash leaves the old index or the new one, never half

    # -- the API ---------------------------------------------------------------------------------------------------
    def register(
        self,
        name: str,
        model: Any,
        *,
        window: tuple[str, str],
        metrics: Mapping[str, float],
        features: Sequence[str],
        data: pd.DataFrame | None = None,
        promote: bool = True,
    ) -> int:
        """Save ``model`` as the next version of ``name`` and (by default) make it the current one.

        Parameters
        ----------
        name : str
            The model's name (a plain folder name).
        model : estimator
            The fitted model (scikit-learn, NumPy and builtin types only, so it can be loaded safely).
        window : tuple of str
            The training window, first and last day.
        metrics : mapping of str to float
            Figures to keep with the version (e.g. training rows, AUC).
        features : sequence of str
            The model's inputs, in order.
        data : DataFrame, optional
            The training data, whose fingerprint is kept (not the data).
        promote : bool, default True
            Make the new version the current one.
        """
        import skops.io as sio

        entry = self._index["models"].setdefault(name, {"current": None, "versions": []})
        version = len(entry["versions"]) + 1
        rel = Path(name) / f"v{version:03d}.skops"
        path = self.folder / rel
        if path.exists():
            raise RegistryError(f"{path} exists but the index does not list it; refusing to overwrite it")
        path.parent.mkdir(parents=True, exist_ok=True)
        sio.dump(model, path)
        entry["versions"].append(
            {
                "version": version,
                "file": rel.as_posix(),
                "sha256": _sha256(path),
                "window": [str(window[0]), str(window[1])],
                "metrics": {k: float(v) for k, v in metrics.items()},
                "features": list(features),
                "data_fingerprint": fingerprint(data) if data is not None else None,
                "type": f"{type(model).__module__}.{type(model).__qualname__}",
            }
        )
        if promote:
            entry["current"] = version
        self._write()
        return version

    def _entry(self, name: str) -> dict[str, Any]:
        if name not in self._index["models"]:
            known = ", ".join(self._index["models"]) or "none"
            raise RegistryError(f"no model {name!r} in {self.folder} (registered: {known})")
        return self._index["models"][name]

    def versions(self, name: str) -> pd.DataFrame:
        """One row per version: window, metrics, features, fingerprint, and which one is current.

        Parameters
        ----------
        name : str
            The model's name.
        """
        e = self._entry(name)
        rows = [
            {
                "version": v["version"],
                "from": v["window"][0],
                "to": v["window"][1],
                **v["metrics"],
                "features": len(v["features"]),
                "data_fingerprint": v["data_fingerprint"],
                "current": v["version"] == e["current"],
            }
            for v in e["versions"]
        ]
        return pd.DataFrame(rows).set_index("version")

    def current(self, name: str) -> int | None:
        """The current version of model ``name`` (None before any is registered).

        Parameters
        ----------
        name : str
            The model's name.
        """
        return self._entry(name)["current"]

    def info(self, name: str, version: int | None = None) -> dict[str, Any]:
        """What the registry knows of a version of ``name`` (default: the current one).

        Parameters
        ----------
        name : str
            The model's name.
        version : int, optional
            The version; default: the current one.
        """
        e = self._entry(name)
        version = e["current"] if version is None else version
        for v in e["versions"]:
            if v["version"] == version:
                return dict(v)
        raise RegistryError(f"model {name!r} has no version {version} (versions 1 to {len(e['versions'])})")

    def load(self, name: str, version: int | None = None) -> Any:
        """The model of ``version`` (default: the current one), after checking its file's checksum.

        Only types from scikit-learn, NumPy and Python's builtins are trusted; anything else in the file is
        refused rather than loaded.

        Parameters
        ----------
        name : str
            The model's name.
        version : int, optional
            The version; default: the current one.
        """
        import skops.io as sio

        v = self.info(name, version)
        path = self.folder / v["file"]
        if not path.exists():
            raise RegistryError(f"{path} is missing; the registry lists it as {name!r} version {v['version']}")
        if _sha256(path) != v["sha256"]:
            raise RegistryError(
                f"{path} does not match the checksum recorded when it was registered; the file "
                "was changed or damaged. Roll back to another version or retrain"
            )
        untrusted = sio.get_untrusted_types(file=path)
        refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if refused:
            raise RegistryError(f"{path} holds types this course does not trust: {', '.join(refused)}")
        return sio.load(path, trusted=untrusted)

    def promote(self, name: str, version: int) -> None:
        """Make ``version`` the current model of ``name``.

        Parameters
        ----------
        name : str
            The model's name.
        version : int
            The version to make current.
        """
        self.info(name, version)
        self._entry(name)["current"] = version
        self._write()

    def rollback(self, name: str) -> int:
        """Make the version before the current one current again; returns it.

        Parameters
        ----------
        name : str
            The model's name.
        """
        cur = self.current(name)
        if cur is None or cur <= 1:
            raise RegistryError(f"model {name!r}: no earlier version to roll back to (current: {cur})")
        self.promote(name, cur - 1)
        return cur - 1
