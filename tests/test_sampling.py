"""The shared row draw behind every documented sample of a large world (helpers.sampling)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import churn, nbo, retraining, scoring, segmentation
from helpers.sampling import sample_positions


def test_draw_is_sorted_distinct_and_of_the_asked_size():
    keep = sample_positions(1_000, 137, random_state=3)
    assert len(keep) == 137 == len(np.unique(keep))
    assert (np.diff(keep) > 0).all() and keep.min() >= 0 and keep.max() < 1_000
    assert np.array_equal(keep, sample_positions(1_000, 137, random_state=3))
    assert not np.array_equal(keep, sample_positions(1_000, 137, random_state=4))


def test_draw_is_uniform_over_rows():
    # every row is kept with probability max_rows / n: over 400 draws of 50 rows out of 200, each row's count is
    # binomial(400, 1/4); a draw that favoured early or late rows would fail the chi-square test
    counts = np.zeros(200)
    for s in range(400):
        counts[sample_positions(200, 50, random_state=s)] += 1
    assert counts.sum() == 400 * 50
    assert stats.chisquare(counts).pvalue > 1e-3
    first, last = counts[:100].sum(), counts[100:].sum()
    assert abs(first - last) < 4 * np.sqrt(400 * 50 / 2)


def test_no_cap_or_a_cap_above_the_rows_keeps_everything():
    assert sample_positions(10, None) is None
    assert sample_positions(10, 10) is None
    assert sample_positions(0, 5) is None


@pytest.mark.parametrize("bad", [0, -3])
def test_cap_below_one_is_a_clear_error_naming_the_callers_cap(bad):
    with pytest.raises(ValueError, match=f"max_samples must be at least 1, got {bad}"):
        sample_positions(10, bad, what="max_samples")


def test_every_sample_of_the_lessons_is_this_draw():
    # the five samples a lesson takes of a large world draw the same rows for the same size, cap and seed
    rng = np.random.default_rng(0)
    n, cap, seed = 500, 60, 7
    keep = sample_positions(n, cap, seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (x["a"] + rng.normal(size=n) > 0).astype(int).to_numpy()

    xs, ys = scoring.selection_sample(x, y, cap, random_state=seed)
    assert np.array_equal(xs.index.to_numpy(), keep) and np.array_equal(ys, y[keep])

    mask = retraining.fit_rows(np.ones(n, bool), cap, random_state=seed)
    assert np.array_equal(np.flatnonzero(mask), keep)

    tx = pd.DataFrame({"order_id": np.repeat(np.arange(n) * 10, 2), "product": np.tile([1, 2], n)})
    kept_orders = np.unique(nbo.basket_sample(tx, cap, random_state=seed)["order_id"])
    assert np.array_equal(kept_orders, keep * 10)

    knn = churn.NeighbourChurn(n_neighbors=5, log=False, max_samples=cap, random_state=seed).fit(x, y)
    assert knn.knn_.n_samples_fit_ == cap
    remembered = knn.knn_._fit_X
    assert np.allclose(remembered, knn.scaler_.transform(x.to_numpy()[keep]))

    # choose_k draws from a stream of its own ([seed, 1]), so that its silhouette sample stays independent of it:
    # choosing on the capped world is choosing on exactly those rows
    sub = x.iloc[sample_positions(n, cap, [seed, 1])]
    capped = segmentation.choose_k(x, ks=(2, 3), random_state=seed, max_rows=cap, sample=40, n_boot=2)
    pd.testing.assert_frame_equal(capped, segmentation.choose_k(sub, ks=(2, 3), random_state=seed, sample=40, n_boot=2))
