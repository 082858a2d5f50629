"""Running the course: execute the notebooks in order with papermill, gather their figures.

Inside a notebook::

    from helpers import run
    ctx = run.start("01_segmentation")          # where this notebook's results go
    run.record("ari_best", 0.93)                # a key figure -> <run_dir>/metrics.json
    run.save_table(segments, "segments.csv")    # a per-customer result -> <run_dir>/segments.csv

From the shell::

    python -m helpers.run --data-dir path/to/csvs --out runs/mydata [--only 01 02]

executes every notebook (or the ones named) on that data into ``runs/mydata/``: the executed notebooks, each
notebook's result files and ``metrics.json`` (``{"01_segmentation": {"ari_best": 0.93, ...}, ...}``).
``--refresh`` (what ``make course`` does) also writes the executed notebooks back over the committed ones, which
is only allowed on the course world with default parameters, so that committed outputs are the course's own.

The run folder reaches the notebooks through the environment variable ``MLM_RUN_DIR`` rather than through a
papermill parameter, so a notebook executed on the course world carries no machine-specific path.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import paths

__all__ = [
    "RunContext",
    "start",
    "record",
    "save_table",
    "read_table",
    "context",
    "notebooks",
    "run_course",
    "clean_notebook",
    "main",
]

RUN_DIR_ENV = "MLM_RUN_DIR"
KERNEL_NAME = "ml-marketing"


@dataclass
class RunContext:
    """Where one notebook's figures and result files go."""

    notebook: str
    run_dir: Path

    @property
    def metrics_file(self) -> Path:
        """Where this notebook's metrics are written."""
        return self.run_dir / "metrics" / f"{self.notebook}.json"

    @property
    def cache(self) -> Path:
        """The run's cache of validated tables (:func:`helpers.io.load_world`'s ``cache``): one read per run."""
        return self.run_dir / "cache"

    def path(self, filename: str) -> Path:
        """Path of a result file of this run (the folder is created)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return self.run_dir / filename


_CONTEXT: RunContext | None = None


def start(notebook: str, run_dir: str | Path | None = None) -> RunContext:
    """Begin a notebook's run: its figures go to ``run_dir`` (default: ``$MLM_RUN_DIR`` or ``runs/course``).

    Figures recorded earlier for the same notebook in the same folder are cleared, so a re-run never mixes old
    and new numbers.

    Parameters
    ----------
    notebook : str
        The notebook's name (e.g. ``"02_scoring"``): the figures' file name.
    run_dir : str or Path, optional
        The run folder; default: ``$MLM_RUN_DIR`` or ``runs/course``.
    """
    global _CONTEXT
    if run_dir is None:
        run_dir = os.environ.get(RUN_DIR_ENV) or paths.DEFAULT_RUN_DIR
    rd = Path(run_dir).expanduser().resolve()
    if paths.DATA_DIR.resolve() in (rd, *rd.parents):
        raise ValueError(f"run folder {rd} is inside data/: results never go next to the raw files")
    _CONTEXT = RunContext(notebook=notebook, run_dir=rd)
    _CONTEXT.metrics_file.parent.mkdir(parents=True, exist_ok=True)
    _CONTEXT.metrics_file.write_text("{}\n")
    return _CONTEXT


def context() -> RunContext:
    """The current notebook's run context (:func:`start` must have been called)."""
    if _CONTEXT is None:
        raise RuntimeError("call helpers.run.start('<notebook name>') first")
    return _CONTEXT


def _clean(value: Any) -> Any:
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        value = value.item()  # numpy scalar
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot record a non-finite number ({value})")
        return round(value, 6)
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    raise TypeError(
        f"record() takes numbers, booleans, strings, or lists and dicts of them, not {type(value).__name__}"
    )


def record(key: str, value: Any) -> None:
    """Record one key figure of the current notebook (floats are rounded to 6 decimals).

    Parameters
    ----------
    key : str
        The figure's name in ``metrics.json``.
    value : Any
        The figure: a number, text, or a list or dict of them.

    Examples
    --------
    >>> import tempfile
    >>> _ = start("99_example", tempfile.mkdtemp())
    >>> record("ari_best", 0.931234567)
    >>> json.loads(context().metrics_file.read_text())
    {'ari_best': 0.931235}
    """
    ctx = context()
    data = json.loads(ctx.metrics_file.read_text())
    data[key] = _clean(value)
    ctx.metrics_file.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def save_table(df: pd.DataFrame, filename: str) -> Path:
    """Write a per-customer result (what a team loads into its CRM) into the run folder as CSV.

    Parameters
    ----------
    df : DataFrame
        The table to write, its columns only (the index is not written: reset it to keep it).
    filename : str
        The file name in the run folder (e.g. ``"segments.csv"``).
    """
    p = context().path(filename)
    df.to_csv(p, index=False, lineterminator="\n", float_format="%.6g")
    return p


def fresh_dir(name: str) -> Path:
    """An empty folder ``name`` inside the run folder (what an earlier run left there is removed first).

    For results that a re-run must rebuild from nothing, such as lesson 06's model registry replayed over the
    history. Only a plain name is accepted, so nothing outside the run folder can be removed.

    Parameters
    ----------
    name : str
        A plain folder name (no path separators).

    Examples
    --------
    >>> import tempfile
    >>> _ = start("99_example", tempfile.mkdtemp())
    >>> d = fresh_dir("models"); (d / "old.txt").write_text("x") and sorted(fresh_dir("models").iterdir())
    []
    """
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"fresh_dir takes a plain folder name, not {name!r}")
    p = context().path(name)
    if p.exists():
        shutil.rmtree(p)
    p.mkdir()
    return p


def read_table(filename: str) -> pd.DataFrame | None:
    """A result file an earlier lesson saved in this run (e.g. lesson 01's ``segments.csv``); None if absent.

    Parameters
    ----------
    filename : str
        The file name an earlier lesson gave :func:`save_table`.
    """
    p = context().run_dir / filename
    return pd.read_csv(p) if p.exists() else None


# ----------------------------------------------------------------------------------------------------------------
# Executing the course
# ----------------------------------------------------------------------------------------------------------------
def notebooks(only: Sequence[str] | None = None) -> list[Path]:
    """The course notebooks in order (``NN_name.ipynb``), optionally only those whose number or name is given."""
    nbs = sorted(p for p in paths.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = [str(o).removesuffix(".ipynb") for o in only]
        picked = [p for p in nbs if any(p.stem == w or p.stem.split("_")[0] == w for w in wanted)]
        unknown = [w for w in wanted if not any(p.stem == w or p.stem.split("_")[0] == w for p in nbs)]
        if unknown:
            raise ValueError(f"no notebook {', '.join(unknown)}; the course has {', '.join(p.stem for p in nbs)}")
        return picked
    return nbs


def cell_timings(path: Path) -> list[dict[str, Any]]:
    """Seconds each code cell of an executed notebook took (papermill's record), heaviest first.

    Each entry: ``cell`` (the cell's id), ``section`` (from its ``# section:`` line, else ""), ``seconds``.
    Read before :func:`clean_notebook` strips the timings; for benchmarks only (``--timings``), never a result.

    Parameters
    ----------
    path : Path
        The executed notebook, before cleaning.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        first = cell.source.splitlines()[0] if cell.source else ""
        section = first.split(":", 1)[1].strip() if first.startswith("# section:") else ""
        seconds = (cell.metadata.get("papermill") or {}).get("duration") or 0.0
        out.append({"cell": cell.get("id", ""), "section": section, "seconds": round(float(seconds), 2)})
    return sorted(out, key=lambda c: -c["seconds"])


def clean_notebook(path: Path) -> None:
    """Strip what differs between runs from an executed notebook.

    Strip what differs between runs from an executed notebook: timings, papermill's bookkeeping and the
    interpreter's version.

    Consecutive prints to one stream are merged (nbconvert's ``CoalesceStreamsPreprocessor``): the kernel
    flushes stdout when it pleases, so one ``print`` can arrive as one output or as two, depending on timing.
    """
    import nbformat
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    nb = nbformat.read(path, as_version=4)
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    nb.metadata.pop("papermill", None)
    # the interpreter's version (3.11.7, 3.12.1, ...) is the machine's, not the lesson's: committed notebooks
    # carry the language's name only, so that a run on another Python leaves them unchanged
    if "language_info" in nb.metadata:
        nb.metadata["language_info"].pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "tags" in cell.metadata and not cell.metadata["tags"]:
            cell.metadata.pop("tags")
    nbformat.validate(nb)
    nbformat.write(nb, path)


def _refresh(fresh: Path, committed: Path) -> None:
    """Write a fresh run over the committed notebook, keeping figures that are the same.

    Write a fresh run of a notebook over the committed one, keeping each figure that is the same by the
    course's rule (:mod:`helpers.reproduce`): a run on another computer then changes no committed file.
    """
    import nbformat

    from . import reproduce

    nb = nbformat.read(fresh, as_version=4)
    if committed.exists():
        reproduce.keep_committed_figures(nb, nbformat.read(committed, as_version=4))
    nbformat.write(nb, fresh)
    shutil.copyfile(fresh, committed)


def _kernel_name() -> str:
    from jupyter_client.kernelspec import find_kernel_specs

    return KERNEL_NAME if KERNEL_NAME in find_kernel_specs() else "python3"


@dataclass
class NotebookFailure(Exception):
    """A notebook of the course failed: which one, which cell (1-based, counting every cell) and why."""

    notebook: str
    cell: int | None
    error: str
    source: str = ""

    def __str__(self) -> str:
        where = f"cell {self.cell}" if self.cell is not None else "before any cell ran"
        code = f"\n  the cell begins: {self.source}" if self.source else ""
        return f"{self.notebook} failed at {where}: {self.error}{code}"


def run_course(
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    *,
    only: Sequence[str] | None = None,
    seed: int | None = None,
    refresh: bool = False,
    progress: bool = True,
    timings: bool = False,
) -> dict[str, dict[str, Any]]:
    """Execute the notebooks in order on ``data_dir`` into ``out``; return and write ``out/metrics.json``.

    With ``timings``, each notebook's seconds per cell (:func:`cell_timings`) go to ``out/timings/<notebook>.json``
    for benchmarks; they are this machine's, so they never enter the notebooks or ``metrics.json``.

    Raises :class:`NotebookFailure` naming the notebook, the cell and the error when a notebook fails; the
    partly executed notebook is left in ``out`` for inspection.
    """
    import papermill as pm

    default_world = data_dir is None or paths.resolve_data_dir(data_dir) == paths.DATA_DIR.resolve()
    if refresh and not (default_world and seed is None and not only):
        raise ValueError(
            "--refresh rewrites the committed notebooks: only on the course world (data/), with "
            "default parameters and every notebook"
        )
    out_dir = Path(out) if out is not None else paths.DEFAULT_RUN_DIR
    out_dir = out_dir.expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = {}
    if not default_world:
        params["data_dir"] = str(paths.resolve_data_dir(data_dir))
    if seed is not None:
        params["seed"] = int(seed)
    kernel = _kernel_name()
    old_env = os.environ.get(RUN_DIR_ENV)
    os.environ[RUN_DIR_ENV] = str(out_dir)
    try:
        for nb in notebooks(only):
            target = out_dir / nb.name
            try:
                pm.execute_notebook(
                    str(nb),
                    str(target),
                    parameters=params,
                    kernel_name=kernel,
                    progress_bar=progress,
                    cwd=str(paths.NOTEBOOKS_DIR),
                    log_output=False,
                )
            except pm.PapermillExecutionError as e:
                first = next((ln for ln in str(e.source).splitlines() if ln.strip()), "")
                raise NotebookFailure(nb.stem, e.cell_index + 1, f"{e.ename}: {e.evalue}", first) from None
            except Exception as e:  # kernel died, notebook unreadable, ...
                raise NotebookFailure(nb.stem, None, f"{type(e).__name__}: {e}") from None
            if timings:
                (out_dir / "timings").mkdir(exist_ok=True)
                (out_dir / "timings" / f"{nb.stem}.json").write_text(json.dumps(cell_timings(target), indent=1) + "\n")
            clean_notebook(target)
            if refresh:
                _refresh(target, nb)
    finally:
        if old_env is None:
            os.environ.pop(RUN_DIR_ENV, None)
        else:
            os.environ[RUN_DIR_ENV] = old_env
    return gather_metrics(out_dir)


def gather_metrics(run_dir: str | Path) -> dict[str, dict[str, Any]]:
    """Collect ``run_dir/metrics/*.json`` into ``run_dir/metrics.json`` keyed by notebook."""
    run_dir = Path(run_dir)
    metrics = {p.stem: json.loads(p.read_text()) for p in sorted((run_dir / "metrics").glob("*.json"))}
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True) + "\n")
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m helpers.run``."""
    ap = argparse.ArgumentParser(prog="python -m helpers.run", description="Execute the course notebooks.")
    ap.add_argument(
        "--data-dir", type=Path, default=None, help="folder of CSV files (default: the course world in data/)"
    )
    ap.add_argument("--out", type=Path, default=None, help="run folder (default: runs/course)")
    ap.add_argument("--only", nargs="+", default=None, help="notebook numbers or names, e.g. 01 02")
    ap.add_argument("--seed", type=int, default=None, help="seed passed to every notebook")
    ap.add_argument(
        "--refresh",
        action="store_true",
        help="also write the executed notebooks over the committed ones (course world only)",
    )
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    ap.add_argument(
        "--timings", action="store_true", help="write each notebook's seconds per cell to OUT/timings/ (benchmarks)"
    )
    a = ap.parse_args(argv)
    data_dir = a.data_dir.expanduser().resolve() if a.data_dir is not None else None  # relative to the shell
    try:
        metrics = run_course(
            data_dir, a.out, only=a.only, seed=a.seed, refresh=a.refresh, progress=not a.no_progress, timings=a.timings
        )
    except NotebookFailure as e:
        print(f"\nFAILED: {e}", file=sys.stderr)
        print(
            f"The executed notebook is in {a.out or paths.DEFAULT_RUN_DIR}; open it to see the failing cell.",
            file=sys.stderr,
        )
        return 1
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = a.out or paths.DEFAULT_RUN_DIR
    print(f"ran {len(metrics)} notebook(s); figures in {Path(out) / 'metrics.json'}")
    for nb, m in metrics.items():
        print(f"  {nb}: " + ", ".join(f"{k}={v}" for k, v in m.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
