"""Loading a world — the course's or a team's own CSV export — with validation at the edge.

Every table has a schema (:data:`SCHEMAS`): its columns and their kinds, which are required, which must be
non-negative, its primary key and its foreign keys. :func:`load_world` reads the tables a notebook needs,
checks them and returns typed DataFrames; inside the package, data is then assumed valid.

Anything wrong raises :class:`SchemaError`, whose message names the file, the column, the first offending lines
(as line numbers of the CSV file, the header being line 1) and how to fix it. Files are only ever read.

Examples
--------
>>> from helpers.io import load_world
>>> world = load_world("data", tables=["customers", "transactions"])      # doctest: +SKIP
>>> world.transactions.dtypes["order_date"]                               # doctest: +SKIP
dtype('<M8[s]')
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import resolve_data_dir
from .world import TABLES, Truth, World

__all__ = [
    "Column",
    "TableSchema",
    "SCHEMAS",
    "SchemaError",
    "load_table",
    "load_world",
    "available_tables",
    "describe_schema",
]

KINDS = ("id", "int", "float", "str", "date", "datetime", "bool")


@dataclass(frozen=True)
class Column:
    """One column of a table: its kind, whether it may be empty, and value constraints.

    ``kind`` is one of ``id`` (whole numbers or text, kept as read), ``int``, ``float``, ``str``, ``date``,
    ``datetime`` (ISO 8601 dates, optionally with a time), ``bool`` (0/1 or true/false).
    """

    name: str
    kind: str
    required: bool = True
    min_value: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        """Refuse an unknown kind."""
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class TableSchema:
    """A table: its columns, primary key and foreign keys (column -> list of parent (table, column))."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    description: str = ""

    @property
    def file(self) -> str:
        """The file name of the table."""
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)


def _c(name: str, kind: str, description: str = "", required: bool = True, min_value: float | None = None) -> Column:
    return Column(name, kind, required, min_value, description)


SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (
        TableSchema(
            "customers",
            (
                _c("customer_id", "id", "unique customer identifier"),
                _c("signup_date", "date", "date the customer first registered"),
                _c("age", "int", "age in years", min_value=0),
                _c("gender", "str", "F, M or X (any labels work)"),
                _c("region", "str", "sales region"),
                _c("acquisition_channel", "str", "channel that brought the customer"),
                _c("income_band", "str", "income band (low / mid / high in the course world)"),
                _c("loyalty_member", "bool", "member of the loyalty programme (0/1)"),
                _c("preferred_device", "str", "mobile or desktop"),
                _c("email_consent", "bool", "may be emailed today (0/1)"),
            ),
            ("customer_id",),
            description="One row per customer: the CRM's master data.",
        ),
        TableSchema(
            "products",
            (
                _c("product_id", "id", "unique product identifier"),
                _c("name", "str", "product name"),
                _c("category", "str", "product category"),
                _c("price", "float", "list price", min_value=0),
            ),
            ("product_id",),
            description="The catalogue.",
        ),
        TableSchema(
            "transactions",
            (
                _c("order_id", "id", "order identifier (one order has one row per product)"),
                _c("customer_id", "id", "buyer"),
                _c("order_date", "datetime", "when the order was placed"),
                _c("product_id", "id", "product bought"),
                _c("quantity", "int", "units bought, at least 1", min_value=1),
                _c("unit_price", "float", "price paid per unit after discounts", min_value=0),
            ),
            ("order_id", "product_id"),
            {"customer_id": (("customers", "customer_id"),), "product_id": (("products", "product_id"),)},
            "One row per product line of an order.",
        ),
        TableSchema(
            "events",
            (
                _c("customer_id", "id", "customer the event belongs to"),
                _c("timestamp", "datetime", "when it happened"),
                _c("event_type", "str", "site_visit, product_page_view, cart_abandon, email_open, ... (data card)"),
                _c("campaign_id", "id", "campaign or experiment that caused it, empty otherwise", required=False),
            ),
            (),
            {
                "customer_id": (("customers", "customer_id"),),
                "campaign_id": (("campaigns", "campaign_id"), ("experiments", "campaign_id")),
            },
            "Web and messaging events of customers.",
        ),
        TableSchema(
            "campaigns",
            (
                _c("campaign_id", "id", "campaign identifier"),
                _c("date", "date", "send date"),
                _c("channel", "str", "email or push (any labels work)"),
                _c("target_segment", "str", "audience the campaign targeted ('all' for everyone)"),
                _c("send_hour", "int", "hour of day the campaign was sent (0-23)", min_value=0),
                _c("subject_variant", "str", "style of subject line"),
                _c("discount", "float", "discount offered, as a fraction (0.15 = 15%)", min_value=0),
                _c("audience_size", "int", "people selected: sent + control", min_value=0),
                _c("sent", "int", "messages sent", min_value=0),
                _c("opens", "int", "recipients who opened", min_value=0),
                _c("clicks", "int", "recipients who clicked", min_value=0),
                _c("conversions", "int", "recipients who ordered within the attribution window", min_value=0),
                _c(
                    "lead_conversions",
                    "int",
                    "recipients who clicked (leads) and ordered within the window (closes)",
                    required=False,
                    min_value=0,
                ),
                _c("revenue", "float", "revenue of those orders", min_value=0),
                _c("control_size", "int", "random holdout not sent to", min_value=0),
                _c("control_conversions", "int", "holdout members who ordered in the window", min_value=0),
                _c("control_revenue", "float", "revenue of the holdout's orders", min_value=0),
                _c(
                    "cost",
                    "float",
                    "what the campaign paid out: a fixed cost and each message (discounts are not in it: "
                    "`revenue` is already net of them)",
                    min_value=0,
                ),
            ),
            ("campaign_id",),
            description="Past campaigns with their outcomes and a holdout control group.",
        ),
        TableSchema(
            "experiments",
            (
                _c("campaign_id", "id", "experiment identifier"),
                _c("date", "date", "send date"),
                _c("kind", "str", "subject, content or send_time"),
                _c("variants", "str", "variant names separated by |"),
                _c("target_segment", "str", "audience"),
                _c("description", "str", "what was tested"),
            ),
            ("campaign_id",),
            description="A/B and send-time experiments; their sends are in email_sends.",
        ),
        TableSchema(
            "email_sends",
            (
                _c("customer_id", "id", "recipient"),
                _c("campaign_id", "id", "experiment"),
                _c("variant", "str", "variant the recipient was randomised to"),
                _c("sent_at", "datetime", "when the email was sent"),
                _c("send_hour", "int", "hour of day of sending", min_value=0),
                _c("opened", "bool", "opened (0/1)"),
                _c("clicked", "bool", "clicked (0/1)"),
                _c("converted", "bool", "ordered within the attribution window (0/1)"),
            ),
            ("campaign_id", "customer_id"),
            {"customer_id": (("customers", "customer_id"),), "campaign_id": (("experiments", "campaign_id"),)},
            "One row per recipient of an experiment.",
        ),
        TableSchema(
            "leads",
            (
                _c("lead_id", "id", "lead identifier"),
                _c("created_date", "date", "date the lead was created"),
                _c("age", "int", "age in years", min_value=0),
                _c("gender", "str", "F, M or X"),
                _c("region", "str", "region"),
                _c("income_band", "str", "income band"),
                _c("source", "str", "where the lead came from"),
                _c("site_visits", "int", "visits in the 30 days after creation", min_value=0),
                _c("product_page_views", "int", "product pages viewed in those 30 days", min_value=0),
                _c("catalog_clicks", "int", "catalogue clicks", min_value=0),
                _c("guide_downloads", "int", "buyer's guide downloads", min_value=0),
                _c("payment_form_views", "int", "payment form views", min_value=0),
                _c("email_opens", "int", "nurture emails opened", min_value=0),
                _c("email_clicks", "int", "nurture emails clicked", min_value=0),
                _c("social_engagements", "int", "likes, shares and comments", min_value=0),
                _c("unsubscribed", "bool", "unsubscribed from nurture emails (0/1)"),
                _c("days_since_last_activity", "int", "days from last activity to the end of the 30 days", min_value=0),
                _c("converted", "bool", "became a customer within 60 days after the 30 days (0/1)"),
                _c("converted_date", "date", "date of conversion, empty if none", required=False),
            ),
            ("lead_id",),
            description="Prospects with their first 30 days of activity and whether they converted.",
        ),
        TableSchema(
            "lead_events",
            (
                _c("lead_id", "id", "lead"),
                _c("timestamp", "datetime", "when it happened"),
                _c("event_type", "str", "site_visit, product_page_view, guide_download, ... (data card)"),
            ),
            (),
            {"lead_id": (("leads", "lead_id"),)},
            "Raw activity of leads, from which the lead features are counted.",
        ),
    )
}
assert tuple(SCHEMAS) == TABLES


class SchemaError(ValueError):
    """A table does not fit the course's schema. ``file``, ``column``, ``lines`` and ``fix`` say where and how."""

    def __init__(
        self,
        file: str | Path,
        problem: str,
        fix: str,
        column: str | None = None,
        lines: Sequence[int] = (),
        values: Sequence[object] = (),
    ) -> None:
        self.file = str(file)
        self.column = column
        self.lines = list(lines)
        self.values = [v.item() if hasattr(v, "item") else v for v in values]
        self.problem = problem
        self.fix = fix
        where = f"{self.file}" + (f", column '{column}'" if column else "")
        shown = ""
        if self.lines:
            pairs = [
                f"line {ln}: {str(self.values[i])!r}" if i < len(self.values) else f"line {ln}"
                for i, ln in enumerate(self.lines)
            ]
            shown = f" ({', '.join(pairs)}{', ...' if len(self.lines) >= _SHOW else ''})"
        super().__init__(f"{where}: {problem}{shown}. Fix: {fix}")


_SHOW = 5  # offending lines shown in a message


def _lines(mask: np.ndarray) -> list[int]:
    """CSV line numbers (header = 1) of the first offending rows."""
    return [int(i) + 2 for i in np.flatnonzero(mask)[:_SHOW]]


def _vals(raw: pd.Series, mask: np.ndarray) -> list[object]:
    return [raw.iloc[int(i)] for i in np.flatnonzero(mask)[:_SHOW]]


_KIND_FIX = {
    "int": "write whole numbers such as 42, with no decimals, units or thousands separators",
    "float": "write plain decimal numbers such as 19.99, with a dot and no currency sign",
    "date": "write dates as YYYY-MM-DD, e.g. 2025-03-31",
    "datetime": "write dates as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, e.g. 2025-03-31 14:05:00",
    "bool": "write 0 or 1 (true/false and yes/no are accepted too)",
}
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _convert(raw: pd.Series, col: Column, file: str) -> pd.Series:
    """Convert one column read as text to its kind; raise SchemaError naming the values that do not fit."""
    present = raw.notna().to_numpy()
    if col.kind == "id":
        num = pd.to_numeric(raw, errors="coerce")
        if present.any() and num[present].notna().all() and (num[present] % 1 == 0).all():
            return num.astype("Int64") if not present.all() else num.astype(np.int64)
        return raw  # text ids, as in _typed
    if col.kind in ("int", "float"):
        num = pd.to_numeric(raw, errors="coerce")
        bad = present & num.isna().to_numpy()
        if col.kind == "int":
            bad |= present & num.notna().to_numpy() & ((num.fillna(0) % 1) != 0).to_numpy()
        if bad.any():
            what = "whole numbers" if col.kind == "int" else "numbers"
            raise SchemaError(
                file,
                f"{int(bad.sum())} values are not {what}",
                _KIND_FIX[col.kind],
                col.name,
                _lines(bad),
                _vals(raw, bad),
            )
        if col.kind == "int":
            return num.astype(np.int64) if present.all() else num.astype("Int64")
        return num.astype(np.float64)
    if col.kind in ("date", "datetime"):
        ts = pd.to_datetime(raw, format="ISO8601", errors="coerce")
        bad = present & ts.isna().to_numpy()
        if col.kind == "date":
            bad |= present & ts.notna().to_numpy() & (ts != ts.dt.normalize()).to_numpy()
        if bad.any():
            raise SchemaError(
                file,
                f"{int(bad.sum())} values are not valid dates",
                _KIND_FIX[col.kind],
                col.name,
                _lines(bad),
                _vals(raw, bad),
            )
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        return ts.astype("datetime64[s]")
    if col.kind == "bool":
        low = raw.astype(str).str.strip().str.lower()
        bad = present & ~low.isin(_TRUE | _FALSE).to_numpy()
        if bad.any():
            raise SchemaError(
                file,
                f"{int(bad.sum())} values are not yes/no values",
                _KIND_FIX["bool"],
                col.name,
                _lines(bad),
                _vals(raw, bad),
            )
        out = low.isin(_TRUE)
        return out.astype(bool) if present.all() else out.astype("boolean").where(present, pd.NA)
    raise AssertionError(col.kind)  # pragma: no cover


def _csv_chunks(path: Path, size: int):
    """The file's bytes in pieces of about ``size``, each ending at a line end (the header is in the first)."""
    with open(path, "rb") as f:
        rest = b""
        while True:
            block = f.read(size)
            if not block:
                if rest:
                    yield rest
                return
            block = rest + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                rest = block
                continue
            yield block[:cut]
            rest = block[cut:]


def _encoding_error(path: Path) -> SchemaError:
    """The refusal of a file that is not UTF-8 text: the first line that does not decode, and how to re-save it.

    Called only once a reader has failed on the encoding, so a valid file pays nothing for it.
    """
    line = 1
    for piece in _csv_chunks(path, 32 << 20):
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError as e:
            line += piece.count(b"\n", 0, e.start)
            start = piece.rfind(b"\n", 0, e.start) + 1
            end = piece.find(b"\n", e.start)
            text = piece[start : end if end >= 0 else len(piece)].decode("latin-1").rstrip("\r")
            return SchemaError(
                path,
                f"not UTF-8 text (byte 0x{piece[e.start]:02x}; read as Latin-1 the line is {text!r})",
                "save the file as UTF-8 (in Excel: 'CSV UTF-8'; or iconv -f latin1 -t utf-8 old.csv > new.csv) "
                "and load it again; the course reads text as UTF-8 only",
                lines=[line],
            )
        line += piece.count(b"\n")
    return SchemaError(path, "not UTF-8 text", "save the file as UTF-8 and load it again")


def _count_rows(path: Path, size: int = 64 << 20) -> int:
    """Data rows of a CSV file: its line ends, less the header's (a last line without one counts too)."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(size):
            n += block.count(b"\n")
            last = block[-1:]
    return n - 1 + (last != b"\n")


def _read_arrow(path: Path, chunk_bytes: int = 32 << 20) -> pd.DataFrame:
    """Read a CSV with pyarrow, one piece of the file at a time, into preallocated columns.

    The rows are counted first; the first piece fixes each column's type; each piece is parsed, copied into the
    columns and dropped, so memory stays near the size of the result. Repeated text is dictionary-encoded and
    becomes a pandas categorical (codes mapped onto one dictionary across pieces). Raises if pyarrow cannot read
    a piece with those types, or the pieces do not add up to the counted rows (quoted line breaks): the caller
    then falls back to pandas' parser, which names the bad lines.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    n = _count_rows(path)
    names: list[str] = []
    types = None
    cols: dict[str, np.ndarray] = {}
    dicts: dict[str, dict] = {}
    at = 0
    for i, piece in enumerate(_csv_chunks(path, chunk_bytes)):
        if i == 0:
            convert = pacsv.ConvertOptions(
                null_values=[""], strings_can_be_null=True, auto_dict_encode=True, auto_dict_max_cardinality=100_000
            )
            table = pacsv.read_csv(pa.BufferReader(piece), convert_options=convert)
            names = table.column_names
            types = dict(zip(names, table.schema.types, strict=True))
            for t in types.values():  # text that is not UTF-8 comes out as bytes: leave it to the caller's check
                if pa.types.is_binary(t) or (pa.types.is_dictionary(t) and pa.types.is_binary(t.value_type)):
                    raise ValueError("not UTF-8 text")
        else:
            table = pacsv.read_csv(
                pa.BufferReader(piece),
                read_options=pacsv.ReadOptions(column_names=names),
                convert_options=pacsv.ConvertOptions(null_values=[""], strings_can_be_null=True, column_types=types),
            )
        del piece
        m = table.num_rows
        if at + m > n:
            raise ValueError("more rows than line ends: quoted line breaks")
        for name in names:
            arr = table.column(name).combine_chunks()
            if pa.types.is_dictionary(arr.type):
                book = dicts.setdefault(name, {})
                remap = np.array(
                    [book.setdefault(v, len(book)) for v in arr.dictionary.to_pylist()] or [0], dtype=np.int32
                )
                idx = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
                values = np.where(idx >= 0, remap[np.maximum(idx, 0)], -1)
                dtype = np.dtype(np.int32)
            else:
                values = arr.to_numpy(zero_copy_only=False)
                dtype = values.dtype
            if name not in cols:
                cols[name] = np.empty(n, dtype=dtype)
            elif values.dtype.kind == "f" and cols[name].dtype.kind in "iu":  # blanks in a whole-number column
                cols[name] = cols[name].astype(np.float64)
            cols[name][at : at + m] = values
        at += m
        del table
    if at != n:
        raise ValueError("fewer rows than line ends: quoted line breaks")
    out: dict[str, object] = {}
    for name in names:
        col = cols.pop(name)
        if name in dicts:
            cats = list(dicts[name])
            small = np.int8 if len(cats) < 127 else np.int16 if len(cats) < 32_767 else np.int32
            out[name] = pd.Categorical.from_codes(col.astype(small), categories=cats)
        elif col.dtype == object:
            out[name] = pd.array(col, dtype="str")
        else:
            out[name] = col
        del col
    return pd.DataFrame(out, copy=False)


def _typed(s: pd.Series, col: Column, file: str) -> pd.Series:
    """A column as parsed by pandas, accepted when already of its kind, else converted from text by _convert."""
    dt = s.dtype
    is_int = pd.api.types.is_integer_dtype(dt) and not pd.api.types.is_bool_dtype(dt)
    is_float = pd.api.types.is_float_dtype(dt)
    if col.kind in ("int", "id") and is_int:
        return s.astype(np.int64)
    if col.kind in ("int", "id") and is_float and bool((s.dropna() % 1 == 0).all()):
        return s.astype("Int64")  # whole numbers with blanks (optional columns)
    if (
        isinstance(dt, pd.CategoricalDtype)
        and col.kind in ("id", "str")
        and not (pd.api.types.is_numeric_dtype(dt.categories.dtype))
    ):
        return s  # repeated text read dictionary-encoded: kept as a categorical (compact, same values)
    if col.kind == "id" and not is_float:
        # text ids stay in pandas' (Arrow-backed) string dtype: compact, and missing values stay missing
        return s if isinstance(dt, pd.StringDtype) else s.astype("str")
    if col.kind == "float" and (is_int or is_float):
        return s.astype(np.float64)
    if col.kind == "bool" and is_int and bool(s.isin([0, 1]).all()):
        return s.astype(bool)
    if col.kind == "bool" and pd.api.types.is_bool_dtype(dt) and not s.isna().any():
        return s.astype(bool)
    if (
        col.kind in ("date", "datetime")
        and pd.api.types.is_datetime64_any_dtype(dt)
        and getattr(s.dt, "tz", None) is None
    ):
        s = s.astype("datetime64[s]")
        if col.kind == "datetime" or bool((s.dropna() == s.dropna().dt.normalize()).all()):
            return s
    if col.kind == "str" and not (is_int or is_float):
        return s
    if col.kind == "str":
        return s.astype(str).where(s.notna(), None)
    text = s if isinstance(dt, pd.StringDtype) else s.astype("str")  # missing values stay missing
    return _convert(text.str.strip(), col, file)


# one branch per kind of refused input: splitting it would scatter the checks a reader wants in one place
def load_table(data_dir: str | Path | None, name: str, *, today: _dt.date | None = None) -> pd.DataFrame:  # noqa: C901
    """Read and validate one table (no foreign-key checks; :func:`load_world` does those).

    Parameters
    ----------
    data_dir : path or None
        Folder holding ``<name>.csv``; ``None`` is the course world.
    name : str
        A key of :data:`SCHEMAS`.
    today : date, optional
        Dates after this day are rejected as future dates. Defaults to today's date.
    """
    if name not in SCHEMAS:
        raise KeyError(f"unknown table {name!r}; the course knows {', '.join(SCHEMAS)}")
    schema = SCHEMAS[name]
    d = resolve_data_dir(data_dir)
    path = d / schema.file
    file = str(path)
    if not path.is_file():
        raise SchemaError(
            file,
            "file not found",
            f"export the table as {schema.file} into {d} with the columns "
            f"{', '.join(c.name for c in schema.columns)} (see data/README.md)",
        )
    try:
        header = pd.read_csv(path, nrows=0).columns
    except UnicodeDecodeError:
        raise _encoding_error(path) from None
    except pd.errors.EmptyDataError:
        raise SchemaError(
            file,
            "the file is empty (no header line)",
            f"write a header line with {', '.join(c.name for c in schema.columns)}, then one row per record",
        ) from None
    header = [str(h).strip() for h in header]
    missing = [c.name for c in schema.columns if c.name not in header]
    if missing:
        raise SchemaError(
            file,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}",
            f"add {'them' if len(missing) > 1 else 'it'} to the export (found: {', '.join(header)}); "
            "column names are case-sensitive",
            missing[0],
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise SchemaError(file, f"column {dupes[0]!r} appears more than once", "keep one column of each name", dupes[0])
    # Fast path: pyarrow parses the file piece by piece into typed columns (_read_arrow); a column that does not
    # come out typed is converted from text by _convert, which is also what names the offending values. Files
    # pyarrow rejects (e.g. a number column with a stray word far down) are read by pandas' C parser instead.
    try:
        raw = _read_arrow(path)
    except Exception:  # noqa: BLE001 - any pyarrow refusal: the slower reader gives line-level diagnostics
        try:
            raw = pd.read_csv(path, keep_default_na=False, na_values=[""], skipinitialspace=True, low_memory=False)
        except UnicodeDecodeError:
            raise _encoding_error(path) from None
    raw.columns = header
    if raw.empty:
        raise SchemaError(file, "the table has no rows", f"export at least one row of {name}")
    out = {}
    for col in schema.columns:
        s = raw[col.name]
        missing_mask = s.isna().to_numpy()
        if col.required and missing_mask.any():
            raise SchemaError(
                file,
                f"{int(missing_mask.sum())} empty values in a required column",
                f"fill in {col.name} on every row, or drop those rows before loading",
                col.name,
                _lines(missing_mask),
            )
        v = _typed(s, col, file)
        if col.min_value is not None:
            below = (v < col.min_value).fillna(False).to_numpy(dtype=bool)
            if below.any():
                what = "negative" if col.min_value == 0 else f"below {col.min_value:g}"
                raise SchemaError(
                    file,
                    f"{int(below.sum())} values are {what}",
                    f"{col.name} must be at least {col.min_value:g}: remove returns or correct "
                    "the rows (refunds belong in a separate table)",
                    col.name,
                    _lines(below),
                    _vals(s, below),
                )
        if col.kind in ("date", "datetime"):
            limit = pd.Timestamp(today or _dt.date.today()) + pd.Timedelta(days=1)
            future = (v >= limit).fillna(False).to_numpy(dtype=bool)
            if future.any():
                raise SchemaError(
                    file,
                    f"{int(future.sum())} dates are in the future (after {(limit - pd.Timedelta(days=1)).date()})",
                    "check the export's date format (day and month swapped?) and time zone",
                    col.name,
                    _lines(future),
                    _vals(s, future),
                )
        out[col.name] = v
    extra = [h for h in header if h not in out]
    for h in extra:  # kept as text: a team's extra columns travel along untouched
        out[h] = raw[h]
    del raw
    df = pd.DataFrame(out, copy=False)
    if schema.primary_key:
        dup = df.duplicated(list(schema.primary_key), keep="first").to_numpy()
        if dup.any():
            key = " + ".join(schema.primary_key)
            vals = [tuple(df.loc[int(i), list(schema.primary_key)]) for i in np.flatnonzero(dup)[:_SHOW]]
            raise SchemaError(
                file,
                f"{int(dup.sum())} duplicate values of the key {key}",
                f"each {key} must appear once: remove duplicated rows or merge them",
                schema.primary_key[0],
                _lines(dup),
                [v[0] if len(v) == 1 else v for v in vals],
            )
    return df


def _parents(names: Iterable[str]) -> list[str]:
    """The tables plus every table their foreign keys point to, in TABLES order."""
    need = set(names)
    changed = True
    while changed:
        changed = False
        for n in list(need):
            for refs in SCHEMAS[n].foreign_keys.values():
                for t, _ in refs:
                    if t not in need and (len(refs) == 1):
                        need.add(t)
                        changed = True
    return [t for t in TABLES if t in need]


def available_tables(data_dir: str | Path | None, tables: Iterable[str]) -> list[str]:
    """The tables among ``tables`` whose files exist in ``data_dir``: a lesson's optional inputs.

    A lesson loads ``required + io.available_tables(data_dir, optional)`` and says what it does without the
    others. An unknown table name is an error, not an absent file.

    Parameters
    ----------
    data_dir : str or Path or None
        The data folder; None for the course world.
    tables : iterable of str
        Table names of the schema (e.g. ``["events", "leads"]``).
    """
    d = resolve_data_dir(data_dir)
    names = list(tables)
    unknown = [t for t in names if t not in SCHEMAS]
    if unknown:
        raise KeyError(f"unknown table(s) {unknown}; the course knows {', '.join(SCHEMAS)}")
    return [t for t in names if (d / SCHEMAS[t].file).is_file()]


def load_world(
    data_dir: str | Path | None = None,
    tables: Iterable[str] | None = None,
    *,
    today: _dt.date | None = None,
    truth: bool = True,
) -> World:
    """Load and validate the tables of a world, with its truth when ``truth.json`` is present.

    Parameters
    ----------
    data_dir : path or None
        Folder of CSV files (``None``: the course world in ``data/``; relative paths are taken from the
        repository root).
    tables : names, optional
        Tables to load; the tables their foreign keys point to are loaded too. Default: every table whose file
        exists (``customers`` is always required).
    today : date, optional
        Dates after this day are future dates (default: today).
    truth : bool
        Read ``truth.json`` when present. A team's own data has none: ``world.truth`` is then ``None``.

    Returns
    -------
    World
        ``world.customers``, ``world.transactions``, ... as typed DataFrames; ``world.truth``.

    Raises
    ------
    SchemaError
        A file is missing, a column is missing or of the wrong kind, a required value is empty, a value is
        negative, a date is in the future, a key is duplicated, a foreign key points nowhere, or a table is empty.
    """
    d = resolve_data_dir(data_dir)
    if not d.is_dir():
        raise SchemaError(
            str(d),
            "folder not found",
            "pass the folder that holds the CSV files (make data creates the course world in data/)",
        )
    if tables is None:
        names = [t for t in TABLES if (d / SCHEMAS[t].file).is_file()] or ["customers"]
        if "customers" not in names:
            names.insert(0, "customers")
    else:
        names = list(tables)
        unknown = [t for t in names if t not in SCHEMAS]
        if unknown:
            raise KeyError(f"unknown table(s) {unknown}; the course knows {', '.join(SCHEMAS)}")
    names = _parents(names)
    loaded = {n: load_table(d, n, today=today) for n in names}
    for n in names:
        _check_foreign_keys(d, n, loaded)
    tr = None
    if truth and (d / "truth.json").is_file():
        tr = Truth.from_json((d / "truth.json").read_text())
    return World(tables=loaded, truth=tr, source=d)


def _check_foreign_keys(d: Path, name: str, loaded: dict[str, pd.DataFrame]) -> None:
    schema = SCHEMAS[name]
    df = loaded[name]
    for col, refs in schema.foreign_keys.items():
        parents = list(refs)
        if any(t not in loaded for t, _ in parents):
            # a key that may point into several tables (events.campaign_id: campaigns or experiments) is only
            # checked when all of them are loaded; a team without an experiments table is not wrong
            continue
        v = df[col]
        present = v.notna().to_numpy()
        if isinstance(v.dtype, pd.CategoricalDtype):  # check the dictionary once, then index by code
            cats = pd.Series(v.cat.categories).astype(str)
            known_cat = np.zeros(len(cats), bool)
            for t, c in parents:
                known_cat |= cats.isin(loaded[t][c].astype(str)).to_numpy()
            codes = v.cat.codes.to_numpy()
            bad = present & ~known_cat[np.maximum(codes, 0)]
        else:
            known = np.zeros(len(df), bool)
            for t, c in parents:
                pv = loaded[t][c]
                if v.dtype != pv.dtype:
                    known |= v.astype(str).isin(pv.astype(str)).to_numpy()
                else:
                    known |= v.isin(pv).to_numpy()
            bad = present & ~known
        if bad.any():
            where = " or ".join(f"{SCHEMAS[t].file} ({c})" for t, c in parents)
            raise SchemaError(
                str(d / schema.file),
                f"{int(bad.sum())} values do not exist in {where}",
                f"add the missing records to {where}, or drop these rows",
                col,
                _lines(bad),
                [v.iloc[int(i)] for i in np.flatnonzero(bad)[:_SHOW]],
            )


def describe_schema(name: str | None = None) -> pd.DataFrame:
    """The schema as a table (table, column, kind, required, minimum, description), e.g. for the data card.

    Parameters
    ----------
    name : str, optional
        One table's name; default: every table.
    """
    rows = []
    for s in SCHEMAS.values():
        if name is not None and s.name != name:
            continue
        for c in s.columns:
            rows.append(
                dict(
                    table=s.name,
                    column=c.name,
                    kind=c.kind,
                    required=c.required,
                    minimum=c.min_value,
                    key=c.name in s.primary_key,
                    description=c.description,
                )
            )
    return pd.DataFrame(rows)
