"""The one random draw of rows behind every documented sample of a large world.

Where a result is settled long before a large team's data ends (which predictors to keep, how many clusters,
which neighbours to remember, which rules to compare, which rows a model is fitted on), the lessons work on at
most a named number of rows, drawn uniformly at random without replacement, and say so. Every such sample goes
through :func:`sample_positions`, so that the same rows, cap and random seed give the same draw in every lesson
and a test of the draw covers them all.

* :func:`sample_positions` — sorted positions of at most ``max_rows`` of ``n`` rows, or ``None`` to keep all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def sample_positions(
    n: int, max_rows: int | None, random_state: int | Sequence[int] = 0, *, what: str = "max_rows"
) -> np.ndarray | None:
    """Sorted positions of ``max_rows`` of ``n`` rows drawn uniformly without replacement; ``None`` keeps all.

    Parameters
    ----------
    n : int
        The number of rows to draw from.
    max_rows : int or None
        The most rows kept; ``None``, or at least ``n``, keeps every row (the function returns ``None``).
    random_state : int or sequence of int, default 0
        Random seed of the draw (a sequence seeds a stream of its own, e.g. ``[seed, 1]``).
    what : str, default "max_rows"
        The caller's name for the cap, used in the error message.

    Returns
    -------
    ndarray of int or None
        Increasing positions, so that a sample keeps the rows' order.

    Raises
    ------
    ValueError
        If ``max_rows`` is below 1.

    Examples
    --------
    >>> sample_positions(10, 4, random_state=1).tolist()
    [3, 4, 6, 9]
    >>> sample_positions(10, None) is None, sample_positions(10, 10) is None
    (True, True)
    """
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"{what} must be at least 1, got {max_rows!r}")
    if max_rows is None or n <= max_rows:
        return None
    return np.sort(np.random.default_rng(random_state).choice(n, size=max_rows, replace=False))
