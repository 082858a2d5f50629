"""Dates the lessons derive from the data, so that a team's tables with another date range run unchanged.

A lesson's date parameter may be ``"auto"``: the date then comes from the data by the rule documented here, and
on the course world the rule gives the date the lesson was written with.

* :func:`last_as_of` — the latest first-of-month from which a ``horizon_days`` outcome is fully observed;
* :func:`as_of_dates` — first-of-quarter dates from one quarter after the data starts up to :func:`last_as_of`;
* :func:`first_month` — the month after the first ``train_months`` months: where a walk-forward starts scoring;
* :func:`outcome_window_days` — how many days after its start an outcome is known: the longest wait seen;
* :func:`resolve` — a parameter's value, or the derived date when it is ``"auto"``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = [
    "DAYS_PER_MONTH",
    "unix_seconds",
    "last_as_of",
    "as_of_dates",
    "first_month",
    "outcome_window_days",
    "resolve",
]

DAYS_PER_MONTH = 30.4375
"""The mean length of a month in days (365.25 / 12): every "per month" rate of the course uses it."""


def unix_seconds(ts) -> np.ndarray:
    """Timestamps (datetime64, pandas or strings) as whole seconds since 1970-01-01, int64.

    >>> unix_seconds(pd.to_datetime(["1970-01-02"])).tolist()
    [86400]
    """
    ts = np.asarray(ts)
    if not np.issubdtype(ts.dtype, np.datetime64):
        ts = pd.to_datetime(ts).to_numpy()
    return ts.astype("datetime64[s]").view(np.int64)  # one copy (the seconds' own), then read as integers


def _dates(dates) -> pd.Series:
    d = pd.to_datetime(pd.Series(dates)).dropna()
    if d.empty:
        raise ValueError("no dates to derive a date from (the table is empty)")
    return d


def last_as_of(dates, horizon_days: int) -> pd.Timestamp:
    """The latest first day of a month ``t`` with ``t + horizon_days`` at most one day after the last date.

    Parameters
    ----------
    dates : array-like of datetime
        The dates of the data.
    horizon_days : int
        The outcome horizon that must fit after the date.

    Examples
    --------
    >>> last_as_of(pd.to_datetime(["2024-01-05", "2025-12-31"]), 90)
    Timestamp('2025-10-01 00:00:00')
    >>> last_as_of(pd.to_datetime(["2024-01-05", "2025-12-28"]), 90)
    Timestamp('2025-09-01 00:00:00')
    """
    d = _dates(dates)
    limit = d.max().normalize() + pd.Timedelta(days=1) - pd.Timedelta(days=horizon_days)
    out = limit.to_period("M").to_timestamp()
    if out <= d.min():
        raise ValueError(
            f"the data span {d.min().date()} to {d.max().date()}: too short for a {horizon_days}-day "
            "horizon after a first month of history"
        )
    return out


def as_of_dates(dates, horizon_days: int) -> list[pd.Timestamp]:
    """First days of quarters, from the first quarter start after three months of data up to :func:`last_as_of`.

    Parameters
    ----------
    dates : array-like of datetime
        The dates of the data (e.g. order dates).
    horizon_days : int
        The outcome horizon each date needs after it.

    Examples
    --------
    >>> [str(t.date()) for t in as_of_dates(pd.to_datetime(["2024-01-01", "2025-12-31"]), 90)]
    ['2024-04-01', '2024-07-01', '2024-10-01', '2025-01-01', '2025-04-01', '2025-07-01', '2025-10-01']
    """
    d = _dates(dates)
    begin = d.min().normalize() + pd.DateOffset(months=3)
    start = begin.to_period("Q").start_time
    if start < begin:
        start = (start.to_period("Q") + 1).start_time
    out = list(pd.date_range(start, last_as_of(d, horizon_days), freq="QS"))
    if len(out) < 2:
        raise ValueError(
            f"the data span {d.min().date()} to {d.max().date()}: fewer than two quarters with a "
            f"{horizon_days}-day outcome; the churn walk-forward needs at least two"
        )
    return out


def first_month(dates, train_months: int = 6) -> str:
    """The month after the first ``train_months`` months of the data, as 'YYYY-MM'.

    Parameters
    ----------
    dates : array-like of datetime
        The dates of the data.
    train_months : int, default 6
        Months of data reserved for the first training window.

    Examples
    --------
    >>> first_month(pd.to_datetime(["2024-01-01", "2025-09-30"]))
    '2024-07'
    """
    d = _dates(dates)
    first = d.min().to_period("M") + train_months
    if first > d.max().to_period("M"):
        raise ValueError(
            f"the data span {d.min().date()} to {d.max().date()}: nothing left to score after "
            f"{train_months} months of training"
        )
    return str(first)


def outcome_window_days(start, outcome) -> int:
    """Days after ``start`` at which a row's outcome is known: one more than the longest wait to an ``outcome``.

    A lead that has not converted is a negative only once its conversion window has closed; the window is read
    from the data as the longest time any lead took to convert (rows without an outcome date are ignored). On the
    course world that is 89 days, so a lead's outcome is known 90 days after its creation. A team that knows its
    window (the sales cycle) should pass it instead: the longest wait in a short history may be too short.

    Parameters
    ----------
    start : array-like of datetime
        Each row's start (e.g. a lead's creation).
    outcome : array-like of datetime
        Each row's outcome date (e.g. conversion), NaT where none.

    Examples
    --------
    >>> outcome_window_days(pd.to_datetime(["2025-01-01", "2025-01-10"]), pd.to_datetime(["2025-03-01", None]))
    60
    """
    s, o = pd.to_datetime(pd.Series(start)), pd.to_datetime(pd.Series(outcome))
    wait = (o.to_numpy() - s.to_numpy()) / pd.Timedelta(days=1)
    wait = wait[~np.isnan(wait)]
    if wait.size == 0:
        raise ValueError(
            "no row has an outcome date, so the outcome window cannot be read from the data; give it "
            "in days (e.g. the length of the sales cycle)"
        )
    if (wait < 0).any():
        raise ValueError(f"{int((wait < 0).sum())} outcome dates come before their start date")
    return int(np.floor(wait.max())) + 1


def resolve(value, derive: Callable[[], object]):
    """``derive()`` when ``value`` is ``"auto"``, else ``value`` unchanged.

    Parameters
    ----------
    value : object
        A value, or ``"auto"``.
    derive : callable
        Called without arguments when ``value`` is ``"auto"``.

    Examples
    --------
    >>> resolve("2025-10-01", lambda: "never called"), resolve("auto", lambda: "derived")
    ('2025-10-01', 'derived')
    """
    return derive() if isinstance(value, str) and value == "auto" else value
