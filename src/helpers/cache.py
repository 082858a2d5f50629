"""A validated columnar copy of each table, so that a folder is read and checked once per run, not once per lesson.

Reading a CSV export and validating it is the slowest part of loading a large world (a minute at 1 M customers);
every lesson loads the world again. :func:`helpers.io.load_world` with ``cache=<folder>`` keeps what it read and
validated as Arrow IPC files (Feather v2, LZ4-compressed) in that folder, and later loads read them in seconds.

An entry is keyed by

- the SHA-256 checksum of the source file,
- the table's entry of ``mapping.yml`` (file, column names, formats, declared drops),
- the code that reads and validates (this package's ``io``, ``mapping`` and ``cache`` modules) and the versions of
  pandas and pyarrow,

so a changed file, mapping or loader is read afresh and the stale entry is removed. Checksumming gigabytes takes
seconds, so, as git does for its index, a file's checksum is recomputed only when its status (size, inode,
modification and change time, the last of which no program can set back) differs from when it was recorded.

Arrow IPC rather than Parquet: Parquet has no timestamps in seconds (the course's unit), so a Parquet copy would
come back in another unit; Arrow IPC returns exactly the frame that was written, dtypes included.

The cache folder must not be the data folder or inside it: the course never writes next to a team's files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from .mapping import TableMapping

__all__ = ["TableCache", "file_checksum", "read_frame"]

_FORMAT = 1
"""Bump when the layout of an entry changes."""

_CHECKSUMS = "checksums.json"
_LINE = "__line_in_file__"


def _code_version() -> str:
    """A checksum of the modules that decide what a loaded table is: a change to them invalidates every entry."""
    import pyarrow

    here = Path(__file__).resolve().parent
    h = hashlib.sha256(f"{_FORMAT} pandas {pd.__version__} pyarrow {pyarrow.__version__}".encode())
    for name in ("io.py", "mapping.py", "cache.py", "world.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()


def _status(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def file_checksum(path: str | Path, known: dict[str, Any] | None = None) -> str:
    """SHA-256 of a file, reusing ``known[str(path)]`` when the file's status has not changed since it was taken.

    Parameters
    ----------
    path : str or Path
        The file.
    known : dict, optional
        Earlier checksums ``{path: {"status": [...], "sha256": ...}}``; updated in place with this one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"; _ = p.write_bytes(b"customer_id")
    >>> file_checksum(p) == hashlib.sha256(b"customer_id").hexdigest()
    True
    """
    p = Path(path)
    status = _status(p)
    entry = (known or {}).get(str(p))
    if entry is not None and entry.get("status") == status:
        return str(entry["sha256"])
    with p.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    if known is not None:
        known[str(p)] = {"status": status, "sha256": digest}
    return digest


class TableCache:
    """The cache folder of one run: validated tables as Arrow IPC files, with what the loader noted about them.

    Parameters
    ----------
    folder : str or Path
        Where the entries go (created when needed); never the data folder or inside it.
    data_dir : Path
        The data folder whose tables are cached (only to refuse a cache inside it).
    """

    def __init__(self, folder: str | Path, data_dir: Path) -> None:
        self.folder = Path(folder).expanduser().resolve()
        d = Path(data_dir).resolve()
        if self.folder == d or d in self.folder.parents:
            raise ValueError(
                f"the cache folder {self.folder} is inside the data folder {d}: the course never writes next to "
                "the data; give a folder of the run instead (a lesson passes ctx.cache)"
            )
        self._checksums: dict[str, Any] | None = None
        self._code = _code_version()

    def _known(self) -> dict[str, Any]:
        if self._checksums is None:
            try:
                self._checksums = json.loads((self.folder / _CHECKSUMS).read_text())
            except (OSError, ValueError):
                self._checksums = {}
        return self._checksums

    def key(self, path: Path, mapping: TableMapping) -> str:
        """The entry's key: the source file's checksum, the table's mapping and the loader's code."""
        known = self._known()
        before = dict(known.get(str(path), {}))
        digest = file_checksum(path, known)
        if known.get(str(path)) != before:
            self.folder.mkdir(parents=True, exist_ok=True)
            try:  # another process of the run (the runner fills the cache a table per process) may have added some
                known.update(
                    {k: v for k, v in json.loads((self.folder / _CHECKSUMS).read_text()).items() if k != str(path)}
                )
            except (OSError, ValueError):
                pass
            _write_atomic(self.folder / _CHECKSUMS, json.dumps(known, indent=1, sort_keys=True).encode())
        spec = json.dumps({"file": digest, "mapping": asdict(mapping), "code": self._code}, sort_keys=True)
        return hashlib.sha256(spec.encode()).hexdigest()[:32]

    def _paths(self, table: str, key: str) -> tuple[Path, Path]:
        return self.folder / f"{table}-{key}.arrow", self.folder / f"{table}-{key}.json"

    def get(self, table: str, key: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        """The cached table and its notes (``dropped``, ``derived``, ``line_of``), or None."""
        data, notes = self._paths(table, key)
        if not (data.is_file() and notes.is_file()):
            return None
        try:
            meta = json.loads(notes.read_text())
            df = read_frame(data)
        except (OSError, ValueError, pa.ArrowException):  # a half-written or damaged entry: read the source again
            return None
        meta["line_of"] = df.pop(_LINE).to_numpy() if _LINE in df.columns else None
        return df, meta

    def put(self, table: str, key: str, df: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Store a validated table; earlier entries of the same table (other keys) are removed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        data, notes = self._paths(table, key)
        for old in self.folder.glob(f"{table}-*"):
            if old not in (data, notes):
                with contextlib.suppress(OSError):
                    old.unlink()
        meta = dict(meta)
        line_of = meta.pop("line_of", None)
        if line_of is not None:  # each row's line in the source file, when mapping.yml dropped lines
            df = df.assign(**{_LINE: np.asarray(line_of, dtype=np.int64)})
        tmp = data.with_name(data.name + f".{os.getpid()}.tmp")
        df.to_feather(tmp, compression="lz4")
        os.replace(tmp, data)
        _write_atomic(notes, json.dumps(meta).encode())


_GROUP_ROWS = 1 << 22
"""Rows converted to pandas at a time by :func:`read_frame`."""


def read_frame(path: str | Path) -> pd.DataFrame:
    """The frame stored in an Arrow IPC (Feather v2) file, equal to :func:`pandas.read_feather`'s, in less memory.

    ``pd.read_feather`` decompresses the whole Arrow table and then converts it, so both copies are held at once
    (6.6 GiB of peak for the 2.8 GiB events table of a world of 1 M customers). Here the file's record batches
    are decompressed and converted four million rows at a time into columns allocated once; the peak is the
    frame and one group of rows (3.0 GiB). Columns of NumPy and categorical dtypes are filled in place, others
    (nullable integers, text, ...) are converted per group and joined; the blocks are consolidated as
    ``read_feather`` leaves them.

    Parameters
    ----------
    path : str or Path
        A file written by :meth:`pandas.DataFrame.to_feather` with its default (range) index.

    Returns
    -------
    pandas.DataFrame
    """
    with pa.OSFile(str(path)) as f:
        reader = ipc.open_file(f)
        n = reader.count_rows()
        names = reader.schema.names
        filled: dict[str, Any] = {}
        kinds: dict[str, Any] = {}
        at, i, first = 0, 0, True
        while first or i < reader.num_record_batches:
            batches: list[pa.RecordBatch] = []
            while i < reader.num_record_batches and sum(b.num_rows for b in batches) < _GROUP_ROWS:
                batches.append(reader.get_batch(i))
                i += 1
            part = pa.Table.from_batches(batches, schema=reader.schema).to_pandas()
            del batches
            if first:
                first = False
                for c in names:
                    kinds[c] = part[c].dtype
                    if isinstance(kinds[c], np.dtype):
                        filled[c] = np.empty(n, kinds[c])
                    elif isinstance(kinds[c], pd.CategoricalDtype):
                        filled[c] = np.empty(n, part[c].cat.codes.dtype)
                    else:
                        filled[c] = []
            k = len(part)
            for c in names:
                col = part[c]
                if col.dtype != kinds[c]:  # a categorical whose categories differ between batches: not ours
                    return pd.read_feather(path)
                if isinstance(kinds[c], np.dtype):
                    filled[c][at : at + k] = col.to_numpy()
                elif isinstance(kinds[c], pd.CategoricalDtype):
                    filled[c][at : at + k] = col.cat.codes.to_numpy()
                else:
                    filled[c].append(col)
            at += k
            del part
    columns: dict[str, Any] = {}
    for c in names:
        values = filled.pop(c)
        if isinstance(kinds[c], pd.CategoricalDtype):
            columns[c] = pd.Categorical.from_codes(values, dtype=kinds[c])
        elif isinstance(values, list):
            columns[c] = pd.concat(values, ignore_index=True) if values else pd.Series([], dtype=kinds[c])
        else:
            columns[c] = values
    df = pd.DataFrame(columns, columns=pd.Index(names), copy=False)
    df._consolidate_inplace()  # one block per dtype, as read_feather gives: row-wise reductions see the same layout
    return df


def _write_atomic(path: Path, content: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
