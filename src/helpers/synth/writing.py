"""Writing a world: deterministic CSV files, ``truth.json`` and a checksum manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..world import TABLES, World

__all__ = ["write_world", "read_manifest", "write_csv"]


def _datetime_format(s: pd.Series, chunk: int = 5_000_000) -> str:
    """``%Y-%m-%d`` when every value of a datetime column is at midnight, else with the time of day."""
    arr = s.to_numpy().astype("datetime64[s]").view(np.int64)
    nat = np.iinfo(np.int64).min
    for lo in range(0, len(arr), chunk):
        part = arr[lo : lo + chunk]
        if ((part % 86400 != 0) & (part != nat)).any():
            return "%Y-%m-%d %H:%M:%S"
    return "%Y-%m-%d"


def _format_datetimes(values: np.ndarray, fmt: str) -> np.ndarray:
    """Vectorised strftime for the two formats the world uses; NaT becomes an empty field."""
    unit: Literal["D", "s"] = "D" if fmt == "%Y-%m-%d" else "s"
    arr = values.astype(f"datetime64[{unit}]")
    text = np.datetime_as_string(arr, unit=unit)
    if unit == "s":
        text.view("<U1").reshape(len(text), -1)[:, 10] = " "  # ISO 'T' -> ' ', in place
    text = text.astype(object)
    text[np.isnat(arr)] = None
    return text


def write_csv(df: pd.DataFrame, path: Path, chunk: int = 1_000_000) -> str:
    r"""Stream ``df`` to ``path`` as deterministic CSV and return its sha256.

    Dates as YYYY-MM-DD (with HH:MM:SS when a column has times), booleans as 0/1, decimals with two places,
    empty fields for missing values, ``\n`` line ends. Written in chunks, so memory stays flat on large tables.
    """
    formats = {c: _datetime_format(df[c]) for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])}
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for lo in range(0, max(len(df), 1), chunk):
            part = df.iloc[lo : lo + chunk].copy()
            for col in part.columns:
                if col in formats:
                    part[col] = _format_datetimes(part[col].to_numpy(), formats[col])
                elif pd.api.types.is_bool_dtype(part[col]):
                    part[col] = part[col].astype(np.int8)
            data = part.to_csv(index=False, header=lo == 0, lineterminator="\n", float_format="%.2f", na_rep="").encode(
                "utf-8"
            )
            h.update(data)
            f.write(data)
    return h.hexdigest()


def write_world(world: World, out: str | Path, *, manifest: bool = True) -> dict[str, str]:
    """Write one CSV per table and ``truth.json`` into ``out``; return ``{file name: sha256}``.

    With ``manifest=True`` the digests are also written to ``out/MANIFEST.sha256``. Files are byte-for-byte
    deterministic (see :func:`write_csv`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name in TABLES:
        digests[f"{name}.csv"] = write_csv(world.tables[name], out / f"{name}.csv")
    if world.truth is not None:
        data = world.truth.to_json().encode("utf-8")
        (out / "truth.json").write_bytes(data)
        digests["truth.json"] = hashlib.sha256(data).hexdigest()
    if manifest:
        (out / "MANIFEST.sha256").write_text("".join(f"{d}  {n}\n" for n, d in digests.items()))
    return digests


def read_manifest(path: str | Path) -> dict[str, str]:
    """Parse a ``MANIFEST.sha256`` file into ``{file name: sha256}``."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip()] = digest
    return out
