"""Small vectorised tools the generator's stages share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .params import START


def choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(probs))
    return (u[:, None] > cum).sum(axis=1)


def norm(p: Iterable[float]) -> np.ndarray:
    """``p`` scaled to sum to 1."""
    a = np.asarray(list(p), dtype=float)
    return a / a.sum()


def to_ts(days: np.ndarray) -> np.ndarray:
    """Float days since START -> datetime64[s]."""
    return START + np.floor(np.asarray(days) * 86400.0).astype("int64").astype("timedelta64[s]")


def send_times(days: np.ndarray) -> np.ndarray:
    """Float days since START -> datetime64[s], truncating to the second as the response model's season does."""
    return START + (np.asarray(days) * 86400).astype("int64").astype("timedelta64[s]")


def hours(rng: np.random.Generator, peak: np.ndarray, sd: float = 3.0) -> np.ndarray:
    """Hour-of-day (float in [0, 24)) of activity around each row's peak hour."""
    return np.mod(peak + rng.normal(0.0, sd, size=len(peak)), 24.0)


def at_hour(rng: np.random.Generator, days: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Move each time to its day's floor plus an hour drawn around the row's peak hour."""
    return np.floor(days) + hours(rng, peak) / 24.0


def rounded(x: Any, nd: int = 6) -> Any:
    """Floats (in nested dicts and lists) rounded to ``nd`` places, numpy scalars as Python numbers."""
    if isinstance(x, dict):
        return {k: rounded(v, nd) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [rounded(v, nd) for v in x]
    if isinstance(x, (float, np.floating)):
        return round(float(x), nd)
    if isinstance(x, np.integer):
        return int(x)
    return x
