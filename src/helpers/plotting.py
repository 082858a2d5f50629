"""One look for every figure of the course: a colour-blind-safe palette and a few small helpers.

Each figure carries one message: give it a title that states it, label both axes with units.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["PALETTE", "use_course_style", "colors", "finish", "heatmap", "silhouette", "intervals"]

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                            "#000000")


def use_course_style() -> None:
    """Set the course's matplotlib defaults (palette, sizes, a clean frame). Call once per notebook."""
    mpl.rcParams.update(
        {
            "axes.prop_cycle": mpl.cycler(color=PALETTE),
            "figure.figsize": (7.5, 4.0),
            "figure.dpi": 90,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.labelsize": 10,
            "legend.frameon": False,
            "svg.hashsalt": "ml-marketing",  # deterministic ids if figures are saved as SVG
        }
    )


def colors(n: int) -> list[str]:
    """``n`` colours of the palette (cycled when more are needed)."""
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def finish(ax: plt.Axes, title: str, xlabel: str, ylabel: str, legend: bool | Sequence[str] = False) -> None:
    """Title and label an axis in one call (the course's rule: every figure has all three).

    Returns nothing, so that a notebook cell ending with it shows the figure and no ``<Axes ...>`` text: a
    trailing ``;`` suppresses that text under papermill but not under nbval, whose outputs must agree.
    """
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(*(() if legend is True else (legend,)))


def heatmap(ax: plt.Axes, table: pd.DataFrame, center: float | None = None, span: float | None = None,
            fmt: str = "{:.0f}", cmap: str = "RdBu_r", colorbar: str | None = None) -> mpl.image.AxesImage:
    """Draw a table as a heat-map with its values written in the cells (rows top to bottom).

    ``center`` makes the colour scale symmetric around a value (e.g. 100 for an index, 0 for a loading), so
    that colour intensity means distance from it; ``span`` fixes the half-width of that scale (values beyond
    it get the end colour; default: the largest distance in the table); ``colorbar`` is the colour bar's label
    (none if omitted).
    """
    values = table.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if center is not None and finite.size:
        half = span if span is not None else max(np.abs(finite - center).max(), 1e-12)
        vmin, vmax = center - half, center + half
    else:
        vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], rotation=45, ha="right")
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    ax.spines[:].set_visible(False)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            r, g, b, _ = image.cmap(image.norm(v))
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # white text on dark cells, black on light ones
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8, color="white" if dark else "black")
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=colorbar)
    return image


def silhouette(ax: plt.Axes, values: np.ndarray, labels: np.ndarray, names: dict | None = None) -> None:
    """The classic silhouette plot: each row's silhouette value, sorted within its cluster, clusters stacked.

    A wide, mostly positive band means a compact, well-separated cluster; values below zero are rows that sit
    closer to another cluster than to their own. The dashed line is the mean silhouette.
    """
    values, labels = np.asarray(values, float), np.asarray(labels)
    left_of_axis = mpl.transforms.blended_transform_factory(ax.transAxes, ax.transData)
    y = 0
    for i, c in enumerate(np.unique(labels)):
        v = np.sort(values[labels == c])
        ax.fill_betweenx(np.arange(y, y + len(v)), 0, v, color=PALETTE[i % len(PALETTE)], linewidth=0)
        ax.text(-0.01, y + len(v) / 2, str(names.get(c, c) if names else c), ha="right", va="center", fontsize=9,
                transform=left_of_axis)
        y += len(v) + max(len(values) // 100, 5)
    ax.axvline(values.mean(), color="black", linestyle="--", linewidth=1)
    ax.set_yticks([])


def intervals(ax: plt.Axes, labels: Sequence[str], value, low, high, color: str | None = None,
              offset: float = 0.0, label: str | None = None) -> None:
    """Horizontal points with interval bars, one row per label (top to bottom); ``offset`` shifts a second series.

    >>> fig, ax = plt.subplots()
    >>> intervals(ax, ["a", "b"], [0.1, 0.2], [0.05, 0.15], [0.15, 0.25])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['a', 'b']
    >>> plt.close(fig)
    """
    y = np.arange(len(labels))[::-1] + offset
    value, low, high = (np.asarray(v, float) for v in (value, low, high))
    ax.errorbar(value, y, xerr=[value - low, high - value], fmt="o", color=color or PALETTE[0], capsize=3,
                label=label)
    ax.set_yticks(np.arange(len(labels))[::-1], list(labels))
