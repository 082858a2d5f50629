"""plotting: the heat-map writes every value and centres its scale; the silhouette plot stacks every row."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from helpers import plotting  # noqa: E402


def test_heatmap_writes_values_and_centres_the_scale():
    table = pd.DataFrame({"a": [80.0, 130.0], "b": [100.0, np.nan]}, index=["x", "y"])
    fig, ax = plt.subplots()
    image = plotting.heatmap(ax, table, center=100, colorbar="index")
    assert image.get_clim() == (70.0, 130.0)  # symmetric around 100
    assert sorted(t.get_text() for t in ax.texts) == ["100", "130", "80"]  # NaN cell left blank
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    assert len(fig.axes) == 2  # the colour bar
    assert plotting.heatmap(ax, table, center=100, span=10).get_clim() == (90.0, 110.0)
    plt.close(fig)
    fig, ax = plt.subplots()
    plotting.heatmap(ax, pd.DataFrame({"a": [1.0, 9.0]}), cmap="Blues")
    assert [t.get_color() for t in ax.texts] == ["black", "white"]  # readable on light and dark cells
    plt.close(fig)


def test_silhouette_stacks_every_cluster():
    fig, ax = plt.subplots()
    plotting.silhouette(ax, np.array([0.5, 0.2, -0.1, 0.7]), np.array([1, 0, 1, 0]), names={0: "A", 1: "B"})
    assert [t.get_text() for t in ax.texts] == ["A", "B"]
    assert len(ax.collections) == 2 and np.isclose(ax.lines[0].get_xdata()[0], 0.325)
    plt.close(fig)
