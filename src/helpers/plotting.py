"""One look for every figure of the course: a colour-blind-safe palette and a few small helpers.

Each figure carries one message: give it a title that states it, label both axes with units.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["PALETTE", "use_course_style", "colors", "finish"]

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
