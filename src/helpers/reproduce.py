"""Re-deriving the committed course: what counts as the same output, and the configurations it is checked under.

The course's promise is that every committed notebook output is re-derived by CI, on any computer. An output is
a function of the data, the parameters and the pinned packages; it must not depend on the CPU's vector units, the
BLAS kernel, thread counts, the date, the time zone, the locale or the user's caches. This module holds the rule
and the means to check it:

* :func:`comparable` is a notebook as the rule compares it. Every output counts exactly, except a figure's PNG
  bytes: a figure counts by its text form, :func:`helpers.plotting.figure_summary`, which holds its titles,
  labels, tick labels, legend and where every mark falls to a tenth of a pixel. :func:`differences` lists where
  two notebooks differ under that rule (CONTRIBUTING.md, "When is an output re-derived?").
* :func:`keep_committed_figures` is what ``make course`` does before it writes a notebook back: a figure that is
  the same under the rule keeps its committed PNG, so a run on another computer leaves ``git status`` clean.
* :func:`configurations` are the numeric configurations a machine can simulate: as it is ("native"), and
  "alternate", with numpy's highest SIMD level switched off (``NPY_DISABLE_CPU_FEATURES``), another OpenBLAS
  kernel (``OPENBLAS_CORETYPE``), single-threaded BLAS, a fresh ``HOME`` and ``XDG_CACHE_HOME``, another time
  zone and another locale, worked out from the machine at hand.

From the shell (``make test`` runs it)::

    python -m helpers.reproduce --config alternate [--nbval]

executes the course in that configuration into a temporary folder, compares every notebook with the committed
one, optionally runs nbval over the committed notebooks in the same configuration, prints which settings
differed from the native ones, and exits non-zero on any difference.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import paths

__all__ = ["comparable", "differences", "keep_committed_figures", "configurations", "describe", "main"]

PNG = "image/png"


# ----------------------------------------------------------------------------------------------------------------
# The rule
# ----------------------------------------------------------------------------------------------------------------
def comparable(nb: Mapping[str, Any]) -> dict[str, Any]:
    """A notebook (as JSON) as the re-derivation rule compares it.

    A figure's PNG bytes become a placeholder (a PNG must be there, its bytes do not count: its text form does),
    and the interpreter's version is dropped from the metadata. Everything else is kept exactly.

    >>> nb = {"metadata": {"language_info": {"name": "python", "version": "3.12.1"}}, "cells": [
    ...     {"cell_type": "code", "outputs": [{"output_type": "display_data",
    ...      "data": {"image/png": "iVBOR...", "text/plain": "<Figure ...; marks 1a2b>"}}]}]}
    >>> c = comparable(nb)
    >>> c["cells"][0]["outputs"][0]["data"]["image/png"], c["metadata"]["language_info"]
    ('<png>', {'name': 'python'})
    """
    out = copy.deepcopy(dict(nb))
    out.get("metadata", {}).get("language_info", {}).pop("version", None)
    for cell in out.get("cells", []):
        for o in cell.get("outputs", []):
            if PNG in o.get("data", {}):
                o["data"][PNG] = "<png>"
    return out


def _read(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _brief(value: Any, width: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[:width] + "..."


def differences(fresh: Path | Mapping, committed: Path | Mapping) -> list[str]:
    """Where a freshly executed notebook differs from the committed one under the rule; empty when re-derived.

    Each entry names the cell (0-based, counting every cell), the output and what differs.
    """
    a = comparable(_read(fresh) if isinstance(fresh, (str, Path)) else fresh)
    b = comparable(_read(committed) if isinstance(committed, (str, Path)) else committed)
    found: list[str] = []
    if len(a["cells"]) != len(b["cells"]):
        return [f"{len(a['cells'])} cells instead of {len(b['cells'])}"]
    for i, (x, y) in enumerate(zip(a["cells"], b["cells"], strict=True)):
        if x == y:
            continue
        if x.get("source") != y.get("source"):
            found.append(f"cell {i}: the source differs (run `make course` and commit the notebook)")
            continue
        xo, yo = x.get("outputs", []), y.get("outputs", [])
        if len(xo) != len(yo):
            kinds = [o.get("name", o["output_type"]) for o in xo]
            found.append(
                f"cell {i}: {len(xo)} outputs instead of {len(yo)} (fresh: {kinds}); first fresh output: "
                f"{_brief(xo[0] if xo else None)}"
            )
            continue
        for j, (p, q) in enumerate(zip(xo, yo, strict=True)):
            if p == q:
                continue
            for key in sorted(set(p) | set(q)):
                if p.get(key) == q.get(key):
                    continue
                if key == "data":
                    for mime in sorted(set(p["data"]) | set(q.get("data", {}))):
                        if p["data"].get(mime) != q.get("data", {}).get(mime):
                            found.append(
                                f"cell {i} output {j} {mime}: fresh {_brief(p['data'].get(mime))} | "
                                f"committed {_brief(q.get('data', {}).get(mime))}"
                            )
                else:
                    found.append(
                        f"cell {i} output {j} {key}: fresh {_brief(p.get(key))} | committed {_brief(q.get(key))}"
                    )
        if {k: v for k, v in x.items() if k != "outputs"} != {k: v for k, v in y.items() if k != "outputs"}:
            found.append(f"cell {i}: cell metadata or execution count differs")
    if a.get("metadata") != b.get("metadata"):
        found.append(f"notebook metadata: fresh {_brief(a.get('metadata'))} | committed {_brief(b.get('metadata'))}")
    return found


def keep_committed_figures(fresh: dict[str, Any], committed: Mapping[str, Any]) -> int:
    """Give each figure of ``fresh`` that is the same under the rule the PNG bytes of ``committed``; return how many.

    A figure is the same when its cell's source and its text form (``text/plain``) are equal; the PNG of a figure
    that is the same under the rule but was drawn from numbers that differ in their last bits (or from other
    Monte-Carlo draws on a marked axis) is not a change worth a commit.
    """
    kept = 0
    for x, y in zip(fresh.get("cells", []), committed.get("cells", []), strict=False):
        if x.get("source") != y.get("source"):
            continue
        for p, q in zip(x.get("outputs", []), y.get("outputs", []), strict=False):
            pd_, qd = p.get("data", {}), q.get("data", {})
            if PNG in pd_ and PNG in qd and pd_.get("text/plain") == qd.get("text/plain") and pd_[PNG] != qd[PNG]:
                pd_[PNG] = qd[PNG]
                kept += 1
    return kept


# ----------------------------------------------------------------------------------------------------------------
# Numeric configurations
# ----------------------------------------------------------------------------------------------------------------
def _numpy_targets() -> tuple[list[str], list[str]]:
    """Numpy's SIMD dispatch targets (lowest first) and the ones this CPU runs."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return list(__cpu_dispatch__), [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]


def _disable_simd(dispatch: list[str], enabled: list[str]) -> str:
    """The ``NPY_DISABLE_CPU_FEATURES`` value that switches off the top SIMD level this CPU runs.

    On x86-64 the levels are X86_V3 (AVX2, FMA) and X86_V4 (AVX-512) with their extensions: an AVX-512 machine
    falls back to AVX2, an AVX2 machine to the SSE baseline. Elsewhere (ARM) every optional target is switched off.

    >>> _disable_simd(["X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR"], ["X86_V3", "X86_V4", "AVX512_ICL"])
    'X86_V4 AVX512_ICL'
    >>> _disable_simd(["X86_V3", "X86_V4", "AVX512_ICL"], ["X86_V3"])
    'X86_V3'
    >>> _disable_simd(["ASIMDHP", "ASIMDDP", "SVE"], ["ASIMDHP", "ASIMDDP"])
    'ASIMDHP ASIMDDP'
    """
    for level in ("X86_V4", "X86_V3"):
        if level in enabled:
            return " ".join(enabled[enabled.index(level) :])
    return " ".join(enabled)


_OTHER_KERNEL = {
    "skylakex": "Haswell",
    "cooperlake": "Haswell",
    "sapphirerapids": "Haswell",
    "haswell": "Sandybridge",
    "zen": "Sandybridge",
    "sandybridge": "Nehalem",
}


def _blas_kernel() -> str | None:
    """The OpenBLAS kernel numpy runs here (threadpoolctl), e.g. ``SkylakeX``."""
    import numpy  # noqa: F401  (loads numpy's OpenBLAS)
    from threadpoolctl import threadpool_info

    for info in threadpool_info():
        if info.get("internal_api") == "openblas" and info.get("architecture"):
            return str(info["architecture"])
    return None


def _other_kernel(kernel: str | None) -> str | None:
    """An OpenBLAS kernel that runs here and is not ``kernel``.

    >>> _other_kernel("SkylakeX"), _other_kernel("Haswell"), _other_kernel("Sandybridge")
    ('Haswell', 'Sandybridge', 'Nehalem')
    """
    if kernel is None:
        return None
    k = kernel.lower()
    if k in _OTHER_KERNEL:
        return _OTHER_KERNEL[k]
    fallback = "ARMV8" if platform.machine().lower() in ("aarch64", "arm64") else "Nehalem"
    return fallback if k != fallback.lower() else None


def _locales() -> list[str]:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return []
    return [ln.strip() for ln in out.splitlines() if ln.strip()]


def _other_locale(current: str, available: list[str]) -> str:
    """A locale other than ``current``: one with a comma as decimal mark if the machine has it, else POSIX.

    >>> _other_locale("C.UTF-8", ["C", "C.utf8", "POSIX", "de_DE.utf8"]), _other_locale("C.UTF-8", ["C", "POSIX"])
    ('de_DE.utf8', 'POSIX')
    """
    norm = current.lower().replace("-", "")
    for name in available:
        if (
            name.split(".")[0] in ("de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT")
            and name.lower().replace("-", "") != norm
        ):
            return name
    return "POSIX" if norm not in ("posix", "c") else "C.UTF-8"


def configurations(scratch: Path | None = None) -> dict[str, dict[str, str]]:
    """The environment changes of each configuration: ``native`` (none) and ``alternate``.

    ``alternate`` differs from this machine wherever it can: numpy's top SIMD level off, another OpenBLAS
    kernel, one BLAS and OpenMP thread, a fresh ``HOME`` and ``XDG_CACHE_HOME`` (in ``scratch``), another time
    zone and another locale. A setting the machine cannot change is left out (:func:`describe` says so).
    """
    scratch = Path(scratch) if scratch is not None else Path(tempfile.mkdtemp(prefix="mlm-alternate-"))
    dispatch, enabled = _numpy_targets()
    alt: dict[str, str] = {}
    simd = _disable_simd(dispatch, enabled)
    if simd:  # added to what this machine's environment already switches off, never instead of it
        already = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").replace(",", " ").split()
        alt["NPY_DISABLE_CPU_FEATURES"] = " ".join([*already, *(t for t in simd.split() if t not in already)])
    kernel = _other_kernel(_blas_kernel())
    if kernel:
        alt["OPENBLAS_CORETYPE"] = kernel
    alt.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for name in ("home", "cache"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    alt.update(HOME=str(scratch / "home"), XDG_CACHE_HOME=str(scratch / "cache"))
    tz = os.environ.get("TZ", "")
    alt["TZ"] = "America/Los_Angeles" if tz == "Pacific/Kiritimati" else "Pacific/Kiritimati"
    current = os.environ.get("LC_ALL") or os.environ.get("LANG") or "C.UTF-8"
    loc = _other_locale(current, _locales())
    alt.update(LC_ALL=loc, LANG=loc)
    return {"native": {}, "alternate": alt}


def describe(name: str, changes: Mapping[str, str]) -> str:
    """One paragraph naming a configuration's settings next to the native ones."""
    if not changes:
        dispatch, enabled = _numpy_targets()
        return (
            f"{name}: as this machine is ({platform.machine()}, numpy SIMD targets {' '.join(enabled) or 'none'}, "
            f"OpenBLAS kernel {_blas_kernel()}, TZ={os.environ.get('TZ', '(unset)')}, "
            f"LC_ALL={os.environ.get('LC_ALL') or os.environ.get('LANG') or '(unset)'})"
        )
    parts = [f"{k}={v!r} (native: {os.environ.get(k, '(unset)')!r})" for k, v in changes.items()]
    return f"{name}: " + ", ".join(parts)


# ----------------------------------------------------------------------------------------------------------------
# Checking a configuration
# ----------------------------------------------------------------------------------------------------------------
def _env(changes: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(changes)
    return env


def rederive(changes: Mapping[str, str], out: Path) -> list[str]:
    """Execute the course in a configuration into ``out``; return every difference from the committed notebooks."""
    cmd = [sys.executable, "-m", "helpers.run", "--out", str(out), "--no-progress"]
    done = subprocess.run(cmd, env=_env(changes), cwd=str(paths.ROOT), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
        return [f"the course did not run in this configuration (exit {done.returncode}):\n{tail}"]
    from .run import notebooks

    return [f"{nb.name} {d}" for nb in notebooks() for d in differences(out / nb.name, nb)]


def nbval(changes: Mapping[str, str], run_dir: Path) -> tuple[int, str]:
    """Run nbval over the committed notebooks in a configuration; return pytest's exit code and closing line.

    The notebooks' result files go to ``run_dir``, so that this run never meets another one in ``runs/course``.
    """
    import importlib.util

    from .run import RUN_DIR_ENV

    missing = [m for m in ("pytest", "nbval") if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(
            f"--nbval needs the test tools ({', '.join(missing)} not installed): run `make install-dev`, or "
            "`uv pip install -r requirements.lock -r requirements-dev.lock` in this environment"
        )
    changes = {**changes, RUN_DIR_ENV: str(run_dir)}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "notebooks",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        "tests/nbval_sanitize.cfg",
        "--nbval-cell-timeout",
        "600",
    ]
    done = subprocess.run(cmd, env=_env(changes), cwd=str(paths.ROOT), capture_output=True, text=True, check=False)
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    failed = [ln for ln in lines if ln.startswith("FAILED")]
    closing = lines[-1].strip("= ") if lines else "(no output)"
    if done.returncode != 0 and not failed:
        failed = lines[-40:]
    return done.returncode, "\n".join([*failed, closing])


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m helpers.reproduce --config alternate``."""
    ap = argparse.ArgumentParser(
        prog="python -m helpers.reproduce", description="Re-derive the committed notebooks in a numeric configuration."
    )
    ap.add_argument("--config", choices=("native", "alternate"), default="alternate")
    ap.add_argument("--nbval", action="store_true", help="also run nbval over the committed notebooks")
    ap.add_argument("--show", action="store_true", help="only print the configurations")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mlm-rederive-") as tmp:
        configs = configurations(Path(tmp) / "scratch")
        for name, changes in configs.items():
            print(describe(name, changes), flush=True)
        if a.show:
            return 0
        changes = configs[a.config]
        found = rederive(changes, Path(tmp) / "run")
        status = 0
        if found:
            print(f"\n{a.config}: {len(found)} difference(s) from the committed notebooks:")
            for d in found:
                print(f"  {d}")
            status = 1
        else:
            print(f"\n{a.config}: every committed notebook re-derived (outputs, figures by their text form, metadata)")
        if a.nbval:
            code, summary = nbval(changes, Path(tmp) / "nbval-run")
            print(f"{a.config}: nbval over the committed notebooks: {summary}")
            status = status or code
    return status


if __name__ == "__main__":
    raise SystemExit(main())
