"""Running the course: execute the notebooks in order with papermill, gather their figures.

Inside a notebook::

    from helpers import run
    ctx = run.start("01_segmentation")          # where this notebook's results go
    run.record("ari_best", 0.93)                # a key figure -> <run_dir>/metrics.json
    run.save_table(segments, "segments.csv")    # a per-customer result -> <run_dir>/segments.csv

From the shell::

    python -m helpers.run --data-dir path/to/csvs --out runs/mydata [--only 01 02]

executes every notebook (or the ones named) on that data into ``runs/mydata/``: the executed notebooks, each
notebook's result files and ``metrics.json`` (``{"01_segmentation": {"ari_best": 0.93, ...}, ...}``). Lessons
that do not read each other's files run side by side, as many at a time as the machine's CPUs and memory allow
(``--jobs``; :func:`auto_jobs`): each lesson's outputs are the same whichever runs beside it.
``--refresh`` (what ``make course`` does) also writes the executed notebooks back over the committed ones, which
is only allowed on the course world with default parameters, so that committed outputs are the course's own.

The run folder reaches the notebooks through the environment variable ``MLM_RUN_DIR`` rather than through a
papermill parameter, so a notebook executed on the course world carries no machine-specific path.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
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

FIRST = "00_the_world"
"""The lesson every other waits for when it is in the run: it reads and validates the data and fills the run's
cache of validated tables, which the others then read in seconds."""
AFTER: dict[str, tuple[str, ...]] = {"02_scoring": ("01_segmentation",)}
"""Lessons that read a file another lesson of the run writes: lesson 02 reads lesson 01's ``segments.csv``."""
PRIORITY = ("00_the_world", "01_segmentation", "02_scoring", "06_retraining", "04_abtest", "03_nbo", "05_kpis")
"""The order in which a free worker takes the lessons that are ready: the longest chain first (lessons 01 then
02, then 06), as measured by ``make bench`` at 20 k, 100 k and 1 M customers; a lesson not listed goes last."""
LESSON_BASE_BYTES = 3 << 28
"""Memory of a lesson's kernel before its data (the imports): 0.75 GiB."""
LESSON_BYTES_PER_DATA_BYTE = 1.0
"""A lesson's kernel at its peak holds about as many bytes as the data folder's files (measured: 0.94 GiB for the
course world's 166 MB, 1.5 GiB for 835 MB at 100 k customers, 7.8 GiB for 8.2 GB at 1 M)."""
RUNNER_RESERVE_BYTES = 1 << 30
"""Memory left for the runner and the system when lessons run side by side."""
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


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


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _available_memory() -> int:
    """Bytes of memory available to this process: the system's, or less under a container's limit (cgroup v2)."""
    import psutil

    available = int(psutil.virtual_memory().available)
    cgroup = Path("/sys/fs/cgroup")
    try:
        limit, used = (cgroup / "memory.max").read_text().strip(), (cgroup / "memory.current").read_text().strip()
        if limit.isdigit() and used.isdigit():
            available = min(available, int(limit) - int(used))
    except OSError:
        pass
    return available


def lesson_memory_estimate(data_dir: str | Path | None = None) -> int:
    """Bytes a lesson's kernel may hold at its peak on ``data_dir`` (default: the course world).

    An estimate from the size of the folder's files: :data:`LESSON_BASE_BYTES` + :data:`LESSON_BYTES_PER_DATA_BYTE`
    x their bytes.

    Parameters
    ----------
    data_dir : str or Path, optional
        The folder of CSV files the lessons read.
    """
    folder = paths.resolve_data_dir(data_dir)
    size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) if folder.is_dir() else 0
    return int(LESSON_BASE_BYTES + LESSON_BYTES_PER_DATA_BYTE * size)


def auto_jobs(
    data_dir: str | Path | None = None, *, cpus: int | None = None, available: int | None = None
) -> tuple[int, str]:
    """How many lessons to run side by side on this machine, and why (one line for the console).

    As many as there are CPUs, while the memory available holds that many lessons at their peak
    (:func:`lesson_memory_estimate`) and :data:`RUNNER_RESERVE_BYTES`; one when it does not.

    Parameters
    ----------
    data_dir : str or Path, optional
        The folder of CSV files the lessons read (default: the course world).
    cpus, available : int, optional
        The CPUs this process may use and the bytes of memory available (default: this machine's, from the
        operating system); given only to show the rule.
    """
    if cpus is None:
        cpus = _cpus()
    if available is None:
        available = _available_memory()
    need = lesson_memory_estimate(data_dir)
    fit = max(1, (available - RUNNER_RESERVE_BYTES) // need)
    jobs = int(max(1, min(cpus, fit)))
    gib = 1 << 30
    why = (
        f"{cpus} CPU{'s' if cpus != 1 else ''}, {available / gib:.1f} GiB of memory available, a lesson needs "
        f"about {need / gib:.1f} GiB on this data"
    )
    return jobs, why


def _order(nbs: Sequence[Path]) -> list[Path]:
    rank = {name: i for i, name in enumerate(PRIORITY)}
    return sorted(nbs, key=lambda p: (rank.get(p.stem, len(PRIORITY)), p.stem))


def _waits_for(nb: Path, names: set[str]) -> set[str]:
    """The lessons of this run that must finish before ``nb`` starts."""
    before = set(AFTER.get(nb.stem, ()))
    if nb.stem != FIRST:
        before.add(FIRST)
    return before & names


def _execute(
    nb: Path, target: Path, params: dict[str, Any], kernel: str, progress: bool, timings: bool
) -> tuple[str, int | None, str, str] | None:
    """Execute one notebook into ``target`` and clean it.

    Returns ``None``, or what failed: a :class:`NotebookFailure`'s fields, which cross from a worker process as
    plain values.
    """
    import papermill as pm

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
        return nb.stem, e.cell_index + 1, f"{e.ename}: {e.evalue}", first
    except Exception as e:  # kernel died, notebook unreadable, ...
        return nb.stem, None, f"{type(e).__name__}: {e}", ""
    if timings:
        (target.parent / "timings").mkdir(exist_ok=True)
        (target.parent / "timings" / f"{nb.stem}.json").write_text(json.dumps(cell_timings(target), indent=1) + "\n")
    clean_notebook(target)
    return None


def _fill_cache(data_dir: str | Path | None, cache: Path, jobs: int) -> None:
    """Read and validate the data's tables into the run's cache ``jobs`` at a time, the largest file first.

    Lesson 00 then reads the cache in seconds instead of every file one after the other, alone on the machine. A
    table that cannot be cached here is left to the lesson, which reads it and says what is wrong.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from . import io

    d = paths.resolve_data_dir(data_dir)
    try:
        mappings = io.table_mappings(d)
    except (ValueError, OSError):  # a mapping.yml the lesson will refuse, with its reason
        return
    files = {t: io._file_of(d, t, mappings) for t in io.SCHEMAS}  # as load_world and io.fill_cache find them
    tables = sorted((t for t, f in files.items() if f.is_file()), key=lambda t: -files[t].stat().st_size)
    if len(tables) < 2:
        return
    # workers of their own, which end here: the memory a table took is not kept while the lessons run
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(partial(io.fill_cache, d, cache=cache), tables))


def _side_by_side(
    nbs: Sequence[Path], out_dir: Path, jobs: int, run_one: Any, finished: Any
) -> list[tuple[str, int | None, str, str]]:
    """Run ``nbs`` with at most ``jobs`` at a time and return the failures.

    Each lesson starts when the lessons it waits for have finished, the longest chain first (:data:`PRIORITY`).
    After a failure no new lesson starts.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    names = {nb.stem for nb in nbs}
    pending = _order(nbs)
    done: set[str] = set()
    failures: list[tuple[str, int | None, str, str]] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        running: dict[Any, Path] = {}
        while pending or running:
            for nb in list(pending):
                if failures or len(running) >= jobs:
                    break
                if _waits_for(nb, names) <= done:
                    running[pool.submit(run_one, nb, out_dir / nb.name)] = nb
                    pending.remove(nb)
            if failures:
                pending.clear()
            if not running:
                break
            ready, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ready:
                nb = running.pop(future)
                try:
                    failed = future.result()
                except Exception as e:  # the worker itself died (e.g. stopped by the system for lack of memory)
                    failed = nb.stem, None, f"{type(e).__name__}: {e}", ""
                if failed is None:
                    done.add(nb.stem)
                    finished(nb)
                else:
                    failures.append(failed)
    return failures


def run_course(
    data_dir: str | Path | None = None,
    out: str | Path | None = None,
    *,
    only: Sequence[str] | None = None,
    seed: int | None = None,
    refresh: bool = False,
    progress: bool = True,
    timings: bool = False,
    jobs: int | None = 1,
) -> dict[str, dict[str, Any]]:
    """Execute the notebooks on ``data_dir`` into ``out``; return and write ``out/metrics.json``.

    With ``jobs`` above 1 (``None``: :func:`auto_jobs`), lessons that do not read each other's files run side by
    side: lesson 00 first (it fills the run's cache of validated tables), lesson 02 after lesson 01 (:data:`AFTER`);
    each kernel then gets its share of the CPUs (:data:`THREAD_VARIABLES`, unless set already) and no progress
    bar. A lesson's outputs are the same whichever runs beside it.

    With ``timings``, each notebook's seconds per cell (:func:`cell_timings`) go to ``out/timings/<notebook>.json``
    for benchmarks; they are this machine's, so they never enter the notebooks or ``metrics.json``.

    Raises :class:`NotebookFailure` naming the notebook, the cell and the error when a notebook fails (the first
    in the course's order when several do); the partly executed notebook is left in ``out`` for inspection.
    """
    default_world = data_dir is None or paths.resolve_data_dir(data_dir) == paths.DATA_DIR.resolve()
    if refresh and not (default_world and seed is None and not only):
        raise ValueError(
            "--refresh rewrites the committed notebooks: only on the course world (data/), with "
            "default parameters and every notebook"
        )
    if jobs is not None and (isinstance(jobs, bool) or int(jobs) != jobs or jobs < 1):
        raise ValueError(f"jobs must be a whole number of lessons at a time, 1 or more, got {jobs!r}")
    selected = notebooks(only)
    if jobs is None:
        jobs = auto_jobs(data_dir)[0]
    jobs = min(int(jobs), len(selected))
    out_dir = Path(out) if out is not None else paths.DEFAULT_RUN_DIR
    out_dir = out_dir.expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = {}
    if not default_world:
        params["data_dir"] = str(paths.resolve_data_dir(data_dir))
    if seed is not None:
        params["seed"] = int(seed)
    kernel = _kernel_name()

    def finished(nb: Path) -> None:
        if refresh:
            _refresh(out_dir / nb.name, nb)
        if progress and jobs > 1:  # papermill's bars would interleave: one line per lesson instead
            print(f"  {nb.stem}: executed", flush=True)

    with _environment(out_dir, jobs):
        if jobs == 1:
            failures = []
            for nb in selected:
                failed = _execute(nb, out_dir / nb.name, params, kernel, progress, timings)
                if failed is not None:
                    failures.append(failed)
                    break
                finished(nb)
        else:
            if FIRST in {nb.stem for nb in selected}:
                _fill_cache(data_dir, RunContext(FIRST, out_dir).cache, jobs)
            # module level, so that a spawned worker can import it; no progress bars side by side
            run_one = partial(_execute, params=params, kernel=kernel, progress=False, timings=timings)
            failures = _side_by_side(selected, out_dir, jobs, run_one, finished)
    if failures:
        first = min(failures, key=lambda f: f[0])
        raise NotebookFailure(*first)
    return gather_metrics(out_dir)


@contextlib.contextmanager
def _environment(out_dir: Path, jobs: int) -> Iterator[None]:
    """The kernels' environment during a run, restored afterwards.

    The run folder, and with ``jobs`` above 1 each kernel's share of the CPUs (threads waiting for a busy core cost
    more than they bring), unless already set.
    """
    saved = {name: os.environ.get(name) for name in (RUN_DIR_ENV, *THREAD_VARIABLES)}
    os.environ[RUN_DIR_ENV] = str(out_dir)
    if jobs > 1:
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, str(max(1, _cpus() // jobs)))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
        "--jobs",
        default="auto",
        help="lessons run side by side (default auto: as many as the CPUs and the memory allow; 1: one by one)",
    )
    ap.add_argument(
        "--timings", action="store_true", help="write each notebook's seconds per cell to OUT/timings/ (benchmarks)"
    )
    a = ap.parse_args(argv)
    data_dir = a.data_dir.expanduser().resolve() if a.data_dir is not None else None  # relative to the shell
    try:
        if a.jobs == "auto":
            jobs, why = auto_jobs(data_dir)
            if len(notebooks(a.only)) > 1:
                print(f"lessons side by side: {jobs} ({why}; --jobs 1 runs them one by one)", flush=True)
        elif a.jobs.isdigit() and int(a.jobs) >= 1:
            jobs = int(a.jobs)
        else:
            raise ValueError(f"--jobs must be auto or a whole number from 1, got {a.jobs!r}")
        metrics = run_course(
            data_dir,
            a.out,
            only=a.only,
            seed=a.seed,
            refresh=a.refresh,
            progress=not a.no_progress,
            timings=a.timings,
            jobs=jobs,
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
