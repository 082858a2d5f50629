"""One look for every figure of the course: a colour-blind-safe palette and a few small helpers.

Each figure carries one message: give it a title that states it, label both axes with units.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import rcsetup

__all__ = [
    "PALETTE",
    "MONTE_CARLO",
    "use_course_style",
    "colors",
    "finish",
    "heatmap",
    "silhouette",
    "intervals",
    "monte_carlo",
    "figure_summary",
    "label_problems",
]

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def use_course_style() -> None:
    """Set the course's matplotlib defaults (palette, sizes, a clean frame). Call once per notebook."""
    mpl.rcParams.update(
        {
            "axes.prop_cycle": rcsetup.cycler(color=PALETTE),
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
    _show_summaries_as_text()


def _show_summaries_as_text() -> None:
    """In a notebook, a figure's text form (``text/plain``, beside its PNG) becomes :func:`figure_summary`.

    nbval and the course's reproduction test compare that text, so a figure is checked by what it shows rather
    than by the bytes of its PNG.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    # load pyplot's backend first: the inline backend, when it loads, clears every figure formatter
    plt.get_backend()
    getattr(plt, "_get_backend_mod", lambda: None)()
    shell.display_formatter.formatters["text/plain"].for_type(
        mpl.figure.Figure, lambda fig, printer, cycle: printer.text(figure_summary(fig))
    )


def colors(n: int) -> list[str]:
    """``n`` colours of the palette (cycled when more are needed).

    Parameters
    ----------
    n : int
        Number of colours.
    """
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def finish(ax: plt.Axes, title: str, xlabel: str, ylabel: str, legend: bool | Sequence[str] = False) -> None:
    """Title and label an axis in one call (the course's rule: every figure has all three).

    Returns nothing, so that a notebook cell ending with it shows the figure and no ``<Axes ...>`` text: a
    trailing ``;`` suppresses that text under papermill but not under nbval, whose outputs must agree.

    Parameters
    ----------
    ax : Axes
        The axis to finish.
    title : str
        The title: the figure's message.
    xlabel, ylabel : str
        The axis labels, with units.
    legend : bool or sequence of str, default False
        Draw a legend (True), with these labels (a sequence), or none.
    """
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(*(() if legend is True else (legend,)))


def heatmap(
    ax: plt.Axes,
    table: pd.DataFrame,
    center: float | None = None,
    span: float | None = None,
    fmt: str = "{:.0f}",
    cmap: str = "RdBu_r",
    colorbar: str | None = None,
) -> mpl.image.AxesImage:
    """Draw a table as a heat-map with its values written in the cells (rows top to bottom).

    ``center`` makes the colour scale symmetric around a value (e.g. 100 for an index, 0 for a loading), so
    that colour intensity means distance from it; ``span`` fixes the half-width of that scale (values beyond
    it get the end colour; default: the largest distance in the table); ``colorbar`` is the colour bar's label
    (none if omitted).

    Parameters
    ----------
    ax : Axes
        The axis to draw on.
    table : DataFrame
        The values, rows drawn top to bottom.
    center : float, optional
        The value the colour scale is symmetric around.
    span : float, optional
        Half-width of the colour scale around ``center``; default: the largest distance in the table.
    fmt : str, default "{:.0f}"
        Format of the values written in the cells.
    cmap : str, default "RdBu_r"
        Matplotlib colour map.
    colorbar : str, optional
        Label of a colour bar; none if omitted.
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

    Parameters
    ----------
    ax : Axes
        The axis to draw on.
    values : ndarray
        Each row's silhouette value (``sklearn.metrics.silhouette_samples``).
    labels : ndarray
        Each row's cluster.
    names : dict, optional
        Cluster label to the name shown; default: the labels.
    """
    values, labels = np.asarray(values, float), np.asarray(labels)
    left_of_axis = mpl.transforms.blended_transform_factory(ax.transAxes, ax.transData)
    y = 0
    for i, c in enumerate(np.unique(labels)):
        v = np.sort(values[labels == c])
        ax.fill_betweenx(np.arange(y, y + len(v)), 0, v, color=PALETTE[i % len(PALETTE)], linewidth=0)
        ax.text(
            -0.01,
            y + len(v) / 2,
            str(names.get(c, c) if names else c),
            ha="right",
            va="center",
            fontsize=9,
            transform=left_of_axis,
        )
        y += len(v) + max(len(values) // 100, 5)
    ax.axvline(values.mean(), color="black", linestyle="--", linewidth=1)
    ax.set_yticks([])


def intervals(
    ax: plt.Axes,
    labels: Sequence[str],
    value,
    low,
    high,
    color: str | None = None,
    offset: float = 0.0,
    label: str | None = None,
) -> None:
    """Horizontal points with interval bars, one row per label (top to bottom); ``offset`` shifts a second series.

    Parameters
    ----------
    ax : Axes
        The axis to draw on.
    labels : sequence of str
        One label per row, top to bottom.
    value, low, high : array-like
        The point and its interval, one per label.
    color : str, optional
        Colour of the series; default: the palette's first.
    offset : float, default 0.0
        Vertical shift of the series (to draw a second one beside the first).
    label : str, optional
        The series' name in a legend.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> intervals(ax, ["a", "b"], [0.1, 0.2], [0.05, 0.15], [0.15, 0.25])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['a', 'b']
    >>> plt.close(fig)
    """
    y = np.arange(len(labels))[::-1] + offset
    value, low, high = (np.asarray(v, float) for v in (value, low, high))
    ax.errorbar(value, y, xerr=[value - low, high - value], fmt="o", color=color or PALETTE[0], capsize=3, label=label)
    ax.set_yticks(np.arange(len(labels))[::-1], list(labels))


MONTE_CARLO = "monte-carlo"
_PIXEL_QUANTUM = 0.1  # marks are compared to a tenth of a pixel
# Layouts put many marks on round pixel positions (222.75 ...): the rounding grid is shifted by an odd amount so
# that its boundaries fall where no layout puts a mark, and a last-bit difference cannot cross one
_PIXEL_OFFSET = 0.0137


def monte_carlo(ax: plt.Axes) -> None:
    """Mark an axis whose marks are Monte-Carlo draws (e.g. a histogram of PyMC's posterior draws).

    Such marks differ from one machine to another as any two runs of a chaotic sampler do, so
    :func:`figure_summary` keeps the axis' title, labels and legend and the number of its marks, not where they
    fall; the lesson checks the draws against an exact answer instead.

    Parameters
    ----------
    ax : Axes
        The axis whose marks are Monte-Carlo draws.
    """
    ax.set_gid(MONTE_CARLO)


def _rounded(points) -> list:
    a = np.asarray(np.ma.filled(np.ma.asarray(points, dtype=float), np.nan), dtype=float)
    a = np.round((a + _PIXEL_OFFSET) / _PIXEL_QUANTUM)
    return np.where(np.isfinite(a), a, 0).astype(np.int64).ravel().tolist()


def _marks(artist) -> list:
    """Where an artist draws, in display pixels (rounded), with what it writes and its colours."""
    if isinstance(artist, mpl.lines.Line2D):
        return ["line", _rounded(artist.get_transform().transform(artist.get_xydata()))]
    if isinstance(artist, mpl.patches.Patch):
        return ["patch", _rounded(artist.get_transform().transform(artist.get_path().vertices))]
    if isinstance(artist, mpl.collections.Collection):
        paths = [_rounded(artist.get_transform().transform(p.vertices)) for p in artist.get_paths()]
        offsets = _rounded(artist.get_offset_transform().transform(artist.get_offsets()))
        faces = np.round(np.asarray(artist.get_facecolor(), dtype=np.float64) * 255).astype(int).ravel().tolist()
        return ["collection", paths, offsets, faces]
    if isinstance(artist, mpl.image.AxesImage):
        pixels = artist.get_array()
        if pixels is None:
            return ["image", None]
        rgba = artist.to_rgba(pixels, bytes=True)
        return [
            "image",
            hashlib.sha256(np.ascontiguousarray(rgba).tobytes()).hexdigest(),
            _rounded(artist.get_extent()),
        ]
    if isinstance(artist, mpl.text.Text):
        return ["text", artist.get_text(), _rounded(artist.get_transform().transform(artist.get_position()))]
    return [type(artist).__name__]


def label_problems(fig: mpl.figure.Figure) -> list[str]:
    """What a figure lacks of the course's rule: every panel titled, both axes labelled (empty when it complies).

    Colour bars (labelled by :func:`heatmap`) and panels drawn without axes (diagrams) need no axis labels.
    :func:`figure_summary` names what is missing, so a lesson's committed output shows it and a test can see it.

    >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1]); _ = ax.set_title("Up"); label_problems(fig)
    ['axes 1: no x label', 'axes 1: no y label']
    >>> plt.close(fig)
    """
    out = []
    panels = [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]
    for i, ax in enumerate(panels, start=1):
        if not (ax.get_title() or ax.get_title("left") or ax.get_title("right")).strip():
            out.append(f"axes {i}: no title")
        if ax.axison:
            out += [
                f"axes {i}: no {name} label"
                for name, text in (("x", ax.get_xlabel()), ("y", ax.get_ylabel()))
                if not text.strip()
            ]
    return out


def figure_summary(fig: mpl.figure.Figure) -> str:
    """A figure's text form: its size, titles, and a digest of everything it draws, as a person would see it.

    The digest covers every axis' title, labels, tick labels, legend and texts, and the position of every mark
    (lines, bars, points, filled areas, images) in display pixels, rounded to a tenth of a pixel. Two figures
    with the same summary look the same; a last-bit difference in the numbers behind a figure (another CPU's
    vector units, another BLAS kernel) does not change it, while a mark that moves by a visible amount does. On
    an axis marked with :func:`monte_carlo`, only the texts and the number of marks count.

    >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1], [0, 1]); finish(ax, "Up", "x", "y")
    >>> a = figure_summary(fig); _ = ax.lines[0].set_ydata([0, 1 + 1e-12]); a == figure_summary(fig)
    True
    >>> _ = ax.lines[0].set_ydata([0, 0.9]); a == figure_summary(fig)
    False
    >>> "1 axes: Up; marks" in a
    True
    >>> plt.close(fig)
    """
    fig.canvas.draw()  # the final layout and tick labels
    digest = hashlib.sha256()
    titles, hashed = [], []
    for ax in fig.axes:
        title = ax.get_title() or ax.get_title("left")
        if title:
            titles.append(title)
        legend = ax.get_legend()
        texts: list = [
            ax.get_title("left"),
            ax.get_title(),
            ax.get_title("right"),
            ax.get_xlabel(),
            ax.get_ylabel(),
            [t.get_text() for t in legend.get_texts()] if legend is not None else [],
        ]
        artists = [*ax.lines, *ax.patches, *ax.collections, *ax.images, *ax.texts]
        if ax.get_gid() == MONTE_CARLO:
            texts.append([MONTE_CARLO, len(artists)])
        else:
            texts.append([t.get_text() for t in (*ax.get_xticklabels(), *ax.get_yticklabels())])
            texts.append([_marks(a) for a in artists])
        hashed.append(texts)
    hashed.append([_marks(t) for t in fig.texts])
    for part in hashed:
        digest.update(json.dumps(part).encode())
    w, h = (int(round(v)) for v in fig.get_size_inches() * fig.dpi)
    dump = os.environ.get("MLM_FIGURE_DUMP")  # a folder: what each summary hashed, to find why two differ
    if dump:
        Path(dump).mkdir(parents=True, exist_ok=True)
        (Path(dump) / f"{digest.hexdigest()[:12]}.json").write_text(json.dumps(hashed, indent=0))
    suptitle = fig.get_suptitle()
    if suptitle:  # a figure-level message comes first
        titles = [f"{suptitle}: {' | '.join(titles)}"] if titles else [suptitle]
    problems = label_problems(fig)
    missing = f"; MISSING {', '.join(problems)}" if problems else ""
    return (
        f"<Figure {w}x{h} px, {len(fig.axes)} axes: {' | '.join(titles) or 'untitled'}; "
        f"marks {digest.hexdigest()[:12]}{missing}>"
    )
