"""A team's own file names, column names and formats: ``mapping.yml`` beside the CSV files.

A team's export rarely has the course's names (``Customer ID`` for ``customer_id``), its dates are often
day-first, its numbers may use a decimal comma and a semicolon between fields, and its text may be Latin-1.
Rather than editing its files, a team describes them once::

    transactions:
      file: online_retail.csv          # the team's file name
      columns:                         # course column: the export's column
        order_id: Invoice
        customer_id: Customer ID
        order_date: InvoiceDate
        product_id: StockCode
        quantity: Quantity
        unit_price: Price
      date_format: "%d/%m/%Y %H:%M"    # strftime codes; day-first dates are common
      delimiter: ";"
      decimal: ","
      encoding: latin-1
      returns: drop                    # lines with a negative quantity or price: refuse (default) or drop
      missing_customer: drop           # guest orders without a customer id: refuse (default) or drop

Every key is optional; a table without an entry is read as the course names it (``<table>.csv``, its column
names, ISO dates, comma, dot, UTF-8). The file is read with a safe YAML loader, and an unknown table, key or
value is refused with the ones that are known. :func:`helpers.io.load_table` applies the mapping; what a
declared option drops is counted in ``world.meta["dropped"]``, never dropped silently.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MAPPING_FILE", "KEYS", "TableMapping", "read_mapping"]

MAPPING_FILE = "mapping.yml"
KEYS = {
    "file": "the team's file name for the table, in the same folder (default: <table>.csv)",
    "columns": "course column: the export's column name, for the columns whose names differ",
    "date_format": "strftime codes of the dates and times, e.g. '%d/%m/%Y %H:%M' (default: ISO 8601)",
    "delimiter": "the character between fields (default ',')",
    "decimal": "the decimal mark of numbers: '.' (default) or ','",
    "encoding": "the text encoding, e.g. latin-1 or cp1252 (default utf-8)",
    "returns": "transactions only: lines with a negative quantity or price: refuse (default) or drop",
    "missing_customer": "transactions only: lines without a customer id (guest orders): refuse (default) or drop",
}
_CHOICES = ("refuse", "drop")


@dataclass(frozen=True)
class TableMapping:
    """How one table of a team's export is written (defaults: the course's own format).

    Parameters
    ----------
    table : str
        The course table (e.g. ``"transactions"``).
    file : str, optional
        The file name in the data folder; default ``<table>.csv``.
    columns : dict of str to str
        Course column name to the export's column name, for the columns whose names differ.
    date_format : str, optional
        strftime codes of the table's dates and times; default: ISO 8601.
    delimiter : str, default ","
        The character between fields.
    decimal : str, default "."
        The decimal mark.
    encoding : str, default "utf-8"
        The file's text encoding (one that writes ASCII as ASCII: UTF-8, Latin-1, Windows-1252, ...).
    returns : {"refuse", "drop"}
        What to do with lines of negative quantity or price (transactions).
    missing_customer : {"refuse", "drop"}
        What to do with lines without a customer id (transactions).
    """

    table: str
    file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8"
    returns: str = "refuse"
    missing_customer: str = "refuse"

    @property
    def file_name(self) -> str:
        """The file to read."""
        return self.file or f"{self.table}.csv"

    @property
    def renames(self) -> dict[str, str]:
        """The export's column name to the course's."""
        return {export: course for course, export in self.columns.items()}

    @property
    def is_default(self) -> bool:
        """True when the table is written exactly as the course writes it."""
        return self == TableMapping(self.table)


def _fail(where: str, problem: str, fix: str) -> Exception:
    """A refusal of mapping.yml, as a :class:`helpers.io.SchemaError` naming the file (imported late: io uses us)."""
    from .io import SchemaError

    return SchemaError(where, problem, fix)


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, f"{key} must be a text, got {value!r}", f"write {key}: {KEYS[key]}")
    return value


def _columns(where: str, table: str, cols: Any, columns: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(cols, dict) or not all(isinstance(v, str) and v for v in cols.values()):
        raise _fail(where, f"columns of {table!r} must map course columns to column names", KEYS["columns"])
    wrong = sorted(set(map(str, cols)) - set(columns))
    if wrong:
        raise _fail(where, f"{table} has no column(s) {wrong}", f"map the course's columns: {', '.join(columns)}")
    repeated = sorted({v for v in cols.values() if list(cols.values()).count(v) > 1})
    if repeated:
        raise _fail(where, f"column(s) {repeated} of the export are mapped twice", "map each one once")
    return {str(k): v for k, v in cols.items()}


def _formats(where: str, spec: dict[str, Any]) -> dict[str, str]:
    """The keys that say how the text is written: date_format, delimiter, decimal, encoding."""
    kw: dict[str, str] = {}
    if "date_format" in spec:
        kw["date_format"] = _text(where, "date_format", spec["date_format"])
        if "%" not in kw["date_format"]:
            raise _fail(where, f"date_format {kw['date_format']!r} has no % code", "e.g. '%d/%m/%Y %H:%M'")
    if "delimiter" in spec:
        kw["delimiter"] = _text(where, "delimiter", spec["delimiter"])
        if len(kw["delimiter"]) != 1 or kw["delimiter"] in '\r\n"':
            raise _fail(where, f"delimiter {kw['delimiter']!r} is not one character", "e.g. ';' or '\\t'")
    if "decimal" in spec:
        kw["decimal"] = _text(where, "decimal", spec["decimal"])
        if kw["decimal"] not in (".", ","):
            raise _fail(where, f"decimal {kw['decimal']!r}", "write decimal: '.' or decimal: ','")
    if kw.get("decimal", ".") == kw.get("delimiter", ","):
        raise _fail(where, "the decimal mark and the delimiter are the same character", "declare both")
    if "encoding" in spec:
        enc = _text(where, "encoding", spec["encoding"])
        try:
            ascii_safe = "id,x;1.5\n".encode(codecs.lookup(enc).name) == b"id,x;1.5\n"
        except LookupError:
            raise _fail(where, f"unknown encoding {enc!r}", "e.g. utf-8, latin-1 or cp1252") from None
        if not ascii_safe:
            raise _fail(where, f"encoding {enc!r} does not write plain letters as ASCII", "export as UTF-8")
        kw["encoding"] = enc
    return kw


def _table_mapping(where: str, table: str, spec: Any, columns: tuple[str, ...]) -> TableMapping:
    if not isinstance(spec, dict):
        raise _fail(where, f"the entry of {table!r} must be a mapping of keys", f"use the keys {', '.join(KEYS)}")
    unknown = sorted(set(spec) - set(KEYS))
    if unknown:
        raise _fail(where, f"unknown key(s) {unknown} for {table!r}", f"use only {', '.join(KEYS)}")
    kw: dict[str, Any] = _formats(where, spec)
    if "file" in spec:
        kw["file"] = _text(where, "file", spec["file"])
        if Path(kw["file"]).name != kw["file"]:
            raise _fail(where, f"file {kw['file']!r} is a path", "name a file in the same folder as mapping.yml")
    if "columns" in spec:
        kw["columns"] = _columns(where, table, spec["columns"], columns)
    for key in ("returns", "missing_customer"):
        if key in spec:
            if table != "transactions":
                raise _fail(where, f"{key} applies to transactions only, not {table!r}", "move it under transactions")
            if spec[key] not in _CHOICES:
                raise _fail(where, f"{key}: {spec[key]!r}", f"write {key}: refuse or {key}: drop")
            kw[key] = spec[key]
    return TableMapping(table, **kw)


def read_mapping(data_dir: Path, tables: dict[str, tuple[str, ...]]) -> dict[str, TableMapping]:
    """The table mappings of ``data_dir/mapping.yml``; an empty dict when there is no such file.

    Parameters
    ----------
    data_dir : Path
        The data folder.
    tables : dict of str to tuple of str
        The course's tables and their columns (what may be mapped).

    Returns
    -------
    dict of str to TableMapping
        One entry per table the file names.
    """
    import yaml

    path = data_dir / MAPPING_FILE
    if not path.is_file():
        return {}
    where = str(path)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise _fail(where, "not UTF-8 text", "save mapping.yml as UTF-8") from None
    except yaml.YAMLError as e:
        raise _fail(where, f"not valid YAML ({e})".replace("\n", " "), "check the indentation and quotes") from None
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise _fail(where, "the file must map table names to their entries", f"tables: {', '.join(tables)}")
    unknown = sorted(set(map(str, spec)) - set(tables))
    if unknown:
        raise _fail(where, f"unknown table(s) {unknown}", f"use the course's table names: {', '.join(tables)}")
    return {str(t): _table_mapping(where, str(t), s, tables[str(t)]) for t, s in spec.items()}
