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

import codecs
import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .cache import TableCache
from .mapping import MAPPING_FILE, TableMapping, read_mapping
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
    "fill_cache",
    "describe_schema",
]

KINDS = ("id", "int", "float", "str", "date", "datetime", "bool")


@dataclass(frozen=True)
class Column:
    """One column of a table: its kind, whether it may be empty, and value constraints.

    ``kind`` is one of ``id`` (whole numbers or text, kept as read), ``int``, ``float``, ``str``, ``date``,
    ``datetime`` (ISO 8601 dates, optionally with a time), ``bool`` (0/1 or true/false). ``required``: no value
    may be empty; ``optional``: the column may be left out of the export altogether (the sections that use it
    say so, :mod:`helpers.sections`).
    """

    name: str
    kind: str
    required: bool = True
    min_value: float | None = None
    description: str = ""
    optional: bool = False

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


def _c(
    name: str,
    kind: str,
    description: str = "",
    required: bool = True,
    min_value: float | None = None,
    optional: bool = False,
) -> Column:
    return Column(name, kind, required, min_value, description, optional)


def _demographic(name: str, kind: str, description: str, min_value: float | None = None) -> Column:
    """A column a team may leave out or leave blank: blank is "unknown", never filled in with a guess."""
    return Column(name, kind, False, min_value, description + "; optional, blank = unknown", True)


SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (
        TableSchema(
            "customers",
            (
                _c("customer_id", "id", "unique customer identifier"),
                _c(
                    "signup_date",
                    "date",
                    "date the customer first registered (optional: the first order when left out)",
                    optional=True,
                ),
                _demographic("age", "int", "age in years", min_value=0),
                _demographic("gender", "str", "F, M or X (any labels work)"),
                _demographic("region", "str", "sales region"),
                _demographic("acquisition_channel", "str", "channel that brought the customer"),
                _demographic("income_band", "str", "income band (low / mid / high in the course world)"),
                _demographic("loyalty_member", "bool", "member of the loyalty programme (0/1)"),
                _demographic("preferred_device", "str", "mobile or desktop"),
                _demographic("email_consent", "bool", "may be emailed today (0/1)"),
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
                _c(
                    "order_id",
                    "id",
                    "order identifier (one order has one row per product); optional: a customer's lines at one "
                    "timestamp form an order",
                    optional=True,
                ),
                _c("customer_id", "id", "buyer"),
                _c("order_date", "datetime", "when the order was placed"),
                _c("product_id", "id", "product bought (optional: the sections on products need it)", optional=True),
                _c(
                    "quantity",
                    "int",
                    "units bought, at least 1 (optional: 1 when left out)",
                    min_value=1,
                    optional=True,
                ),
                _c(
                    "unit_price",
                    "float",
                    "price paid per unit after discounts (or give the line's value as amount)",
                    min_value=0,
                    optional=True,
                ),
                _c(
                    "amount",
                    "float",
                    "the line's value (quantity x unit_price), instead of unit_price",
                    min_value=0,
                    optional=True,
                ),
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
                _c(
                    "campaign_id",
                    "id",
                    "campaign or experiment that caused it, empty otherwise (optional: the KPI forecast needs it)",
                    required=False,
                    optional=True,
                ),
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
                    "recipients who clicked (leads) and ordered within the window (closes); optional",
                    required=False,
                    optional=True,
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
        TableSchema(
            "campaign_sends",
            (
                _c("customer_id", "id", "customer selected for the campaign"),
                _c("campaign_id", "id", "campaign (one log may hold several)"),
                _c("arm", "str", "treatment the customer was randomised to, or the control arm (sent nothing)"),
                _c("sent_at", "datetime", "when the message was sent (for the control: when it would have been)"),
                _c("opened", "bool", "opened the message (0/1; 0 in the control); optional", optional=True),
                _c("clicked", "bool", "clicked in the message (0/1; 0 in the control); optional", optional=True),
                _c("converted", "bool", "ordered in the campaign's window after sent_at (0/1)"),
                _c(
                    "converted_at",
                    "datetime",
                    "when the first order of the window was placed, empty if none; optional",
                    required=False,
                    optional=True,
                ),
                _c(
                    "revenue",
                    "float",
                    "revenue of the window's orders, net of the arm's discount; optional",
                    optional=True,
                    min_value=0,
                ),
            ),
            ("campaign_id", "customer_id"),
            {"customer_id": (("customers", "customer_id"),)},
            "One row per customer of a randomised campaign: the arm (treatment or control) and what followed.",
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


def _convert(raw: pd.Series, col: Column, file: str, date_format: str | None = None) -> pd.Series:
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
        # utc=True: a time with a UTC offset is read as the moment it names (in UTC), alongside times without one
        ts = pd.to_datetime(raw, format=date_format or "ISO8601", errors="coerce", utc=True).dt.tz_localize(None)
        bad = present & ts.isna().to_numpy()
        if col.kind == "date":
            bad |= present & ts.notna().to_numpy() & (ts != ts.dt.normalize()).to_numpy()
        if bad.any():
            raise SchemaError(
                file,
                f"{int(bad.sum())} values are not valid dates",
                f"write them as date_format {date_format!r} of {MAPPING_FILE} says, or correct date_format"
                if date_format
                else _KIND_FIX[col.kind] + f" (or declare the export's date_format in {MAPPING_FILE})",
                col.name,
                _lines(bad),
                _vals(raw, bad),
            )
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


def _encoding_error(path: Path, encoding: str = "utf-8") -> SchemaError:
    """The refusal of a file that is not text in its encoding: the first line that does not decode, and the fix.

    Called only once a reader has failed on the encoding, so a valid file pays nothing for it.
    """
    if codecs.lookup(encoding).name != "utf-8":
        return SchemaError(
            path,
            f"not valid {encoding} text",
            f"check the encoding declared in {MAPPING_FILE} (utf-8, latin-1 and cp1252 are usual)",
        )
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
                "save the file as UTF-8 (in Excel: 'CSV UTF-8'), or declare its encoding in "
                f"{MAPPING_FILE} beside it (e.g. encoding: latin-1)",
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


def _read_arrow(path: Path, chunk_bytes: int = 32 << 20, fmt: TableMapping | None = None) -> pd.DataFrame:
    """Read a CSV with pyarrow, one piece of the file at a time, into preallocated columns.

    The rows are counted first; the first piece fixes each column's type; each piece is parsed, copied into the
    columns and dropped, so memory stays near the size of the result. Repeated text is dictionary-encoded and
    becomes a pandas categorical (codes mapped onto one dictionary across pieces). Raises if pyarrow cannot read
    a piece with those types, or the pieces do not add up to the counted rows (quoted line breaks): the caller
    then falls back to pandas' parser, which names the bad lines.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    fmt = fmt or TableMapping("")
    parse = pacsv.ParseOptions(delimiter=fmt.delimiter)
    # pyarrow reads UTF-8 natively and any other encoding through a (slow) Python transcoder: name UTF-8 its way
    encoding = "utf8" if codecs.lookup(fmt.encoding).name == "utf-8" else fmt.encoding
    n = _count_rows(path)
    names: list[str] = []
    types = None
    cols: dict[str, np.ndarray] = {}
    dicts: dict[str, dict] = {}
    at = 0
    for i, piece in enumerate(_csv_chunks(path, chunk_bytes)):
        if i == 0:
            convert = pacsv.ConvertOptions(
                null_values=[""],
                strings_can_be_null=True,
                auto_dict_encode=True,
                auto_dict_max_cardinality=100_000,
                decimal_point=fmt.decimal,
            )
            read = pacsv.ReadOptions(encoding=encoding)
            table = pacsv.read_csv(
                pa.BufferReader(piece), read_options=read, parse_options=parse, convert_options=convert
            )
            names = table.column_names
            types = dict(zip(names, table.schema.types, strict=True))
            for t in types.values():  # text that is not UTF-8 comes out as bytes: leave it to the caller's check
                if pa.types.is_binary(t) or (pa.types.is_dictionary(t) and pa.types.is_binary(t.value_type)):
                    raise ValueError("not UTF-8 text")
        else:
            table = pacsv.read_csv(
                pa.BufferReader(piece),
                read_options=pacsv.ReadOptions(column_names=names, encoding=encoding),
                parse_options=parse,
                convert_options=pacsv.ConvertOptions(
                    null_values=[""], strings_can_be_null=True, column_types=types, decimal_point=fmt.decimal
                ),
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


def _all_missing(n: int, kind: str, index: pd.Index) -> pd.Series:
    dtype = {"int": "Int64", "id": "Int64", "float": "float64", "bool": "boolean", "str": "object"}.get(
        kind, "datetime64[s]"
    )
    return pd.Series(pd.array([None] * n, dtype=dtype), index=index)


def _typed(s: pd.Series, col: Column, file: str, date_format: str | None = None) -> pd.Series:
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
    if col.kind == "bool" and is_float and bool(s.dropna().isin([0.0, 1.0]).all()):
        return s.astype("boolean")  # 0/1 with blanks, as pandas writes them (1.0, , 0.0): blank = unknown
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
    return _convert(text.str.strip(), col, file, date_format)


def table_mappings(data_dir: str | Path | None) -> dict[str, TableMapping]:
    """The tables ``mapping.yml`` in ``data_dir`` describes (:mod:`helpers.mapping`); empty when it has none.

    Parameters
    ----------
    data_dir : str or Path or None
        The data folder; None for the course world.
    """
    d = resolve_data_dir(data_dir)
    return read_mapping(d, {n: tuple(c.name for c in s.columns) for n, s in SCHEMAS.items()})


def _file_of(d: Path, name: str, mappings: dict[str, TableMapping]) -> Path:
    return d / (mappings[name].file_name if name in mappings else SCHEMAS[name].file)


def _header(path: Path, schema: TableSchema, fmt: TableMapping) -> list[str]:
    """The file's column names in the course's names, checked: every schema column present, none twice."""
    file = str(path)
    try:
        names = pd.read_csv(path, nrows=0, sep=fmt.delimiter, encoding=fmt.encoding).columns
    except UnicodeDecodeError:
        raise _encoding_error(path, fmt.encoding) from None
    except pd.errors.EmptyDataError:
        raise SchemaError(
            file,
            "the file is empty (no header line)",
            f"write a header line with {', '.join(c.name for c in schema.columns)}, then one row per record",
        ) from None
    found = [str(h).strip() for h in names]
    header = [fmt.renames.get(h, h) for h in found]
    missing = [c.name for c in schema.columns if c.name not in header and not c.optional]
    if schema.name == "transactions" and "unit_price" not in header and "amount" not in header:
        missing.append("unit_price")  # a line's value: quantity x unit_price, or amount
    if missing:
        shown = [fmt.columns.get(c, c) for c in missing]
        mapped = [f"{c} is mapped to {fmt.columns[c]!r} in {MAPPING_FILE}" for c in missing if c in fmt.columns]
        raise SchemaError(
            file,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, shown))}",
            f"add {'them' if len(missing) > 1 else 'it'} to the export (found: {', '.join(found)}); "
            "column names are case-sensitive" + (f" ({'; '.join(mapped)})" if mapped else ""),
            missing[0],
        )
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise SchemaError(
            file,
            f"column {dupes[0]!r} appears more than once"
            + (" (after the renames of mapping.yml)" if fmt.columns else ""),
            "keep one column of each name",
            dupes[0],
        )
    return header


def _read_raw(path: Path, fmt: TableMapping) -> pd.DataFrame:
    """The file's cells: typed by pyarrow where it can, else as pandas' parser reads them."""
    # Fast path: pyarrow parses the file piece by piece into typed columns (_read_arrow); a column that does not
    # come out typed is converted from text by _convert, which is also what names the offending values. Files
    # pyarrow rejects (e.g. a number column with a stray word far down) are read by pandas' C parser instead.
    try:
        return _read_arrow(path, fmt=fmt)
    except Exception:  # noqa: BLE001 - any pyarrow refusal: the slower reader gives line-level diagnostics
        try:
            return pd.read_csv(
                path,
                keep_default_na=False,
                na_values=[""],
                skipinitialspace=True,
                low_memory=False,
                sep=fmt.delimiter,
                decimal=fmt.decimal,
                encoding=fmt.encoding,
            )
        except UnicodeDecodeError:
            raise _encoding_error(path, fmt.encoding) from None


def _drop_declared(raw: pd.DataFrame, fmt: TableMapping) -> tuple[pd.DataFrame, np.ndarray | None, list[dict]]:
    """Drop what mapping.yml says to drop (returns, guest orders); count each kind, in lines and share of value.

    Returns the kept rows, each kept row's line in the file (None when nothing was dropped) and the counts.
    """
    if fmt.returns != "drop" and fmt.missing_customer != "drop":
        return raw, None, []
    q = pd.to_numeric(raw["quantity"], errors="coerce").to_numpy(float) if "quantity" in raw else np.ones(len(raw))
    p = pd.to_numeric(raw["unit_price" if "unit_price" in raw else "amount"], errors="coerce").to_numpy(float)
    masks = {}
    if fmt.returns == "drop":
        masks["returns (negative quantity or price)"] = (q < 0) | (p < 0)
    if fmt.missing_customer == "drop":
        masks["no customer id (guest orders)"] = raw["customer_id"].isna().to_numpy()
    value = np.abs(q * p)
    total = float(np.nansum(value)) or 1.0
    dropped, drop = [], np.zeros(len(raw), bool)
    for reason, m in masks.items():
        new = m & ~drop  # a line is counted once, under the first reason that drops it
        dropped.append(
            {
                "table": fmt.table,
                "dropped": reason,
                "lines": int(new.sum()),
                "value_share": round(float(np.nansum(value[new])) / total, 6),
            }
        )
        drop |= m
    if not drop.any():
        return raw, None, dropped
    keep = np.flatnonzero(~drop)
    return raw.iloc[keep].reset_index(drop=True), keep + 2, dropped


def _as_in_file(e: SchemaError, fmt: TableMapping, line_of: np.ndarray | None) -> SchemaError:
    """A refusal in the file's own terms: its line numbers (when rows were dropped) and its column names."""
    if line_of is None and (e.column is None or e.column not in fmt.columns):
        return e
    lines = [int(line_of[ln - 2]) for ln in e.lines] if line_of is not None else e.lines
    problem = e.problem
    if e.column in fmt.columns:
        problem += f" (the file's column {fmt.columns[e.column]!r}, mapped in {MAPPING_FILE})"
    return SchemaError(e.file, problem, e.fix, e.column, lines, e.values)


def load_table(
    data_dir: str | Path | None, name: str, *, today: _dt.date | None = None, mapping: TableMapping | None = None
) -> pd.DataFrame:
    """Read and validate one table (no foreign-key checks; :func:`load_world` does those).

    Parameters
    ----------
    data_dir : path or None
        Folder holding ``<name>.csv``; ``None`` is the course world.
    name : str
        A key of :data:`SCHEMAS`.
    today : date, optional
        Dates after this day are rejected as future dates. Defaults to today's date.
    mapping : TableMapping, optional
        How the team's file is named and written; default: the entry of ``mapping.yml`` in ``data_dir``, if any.

    Returns
    -------
    DataFrame
        The typed table in the course's column names. What a declared option of ``mapping.yml`` dropped is
        counted in ``df.attrs["dropped"]`` (present only when the mapping drops anything).
    """
    df, dropped, _ = _load_table(data_dir, name, today=today, mapping=mapping)
    if dropped:
        df.attrs["dropped"] = dropped
    return df


def _load_table(
    data_dir: str | Path | None, name: str, *, today: _dt.date | None, mapping: TableMapping | None
) -> tuple[pd.DataFrame, list[dict], np.ndarray | None]:
    if name not in SCHEMAS:
        raise KeyError(f"unknown table {name!r}; the course knows {', '.join(SCHEMAS)}")
    schema = SCHEMAS[name]
    d = resolve_data_dir(data_dir)
    fmt = mapping if mapping is not None else table_mappings(d).get(name, TableMapping(name))
    path = d / fmt.file_name
    if not path.is_file():
        raise SchemaError(
            str(path),
            "file not found",
            f"export the table as {fmt.file_name} into {d} with the columns "
            f"{', '.join(c.name for c in schema.columns)} (see data/README.md), or name your file for "
            f"{name} in {MAPPING_FILE} (docs/own-data.md)",
        )
    header = _header(path, schema, fmt)
    raw = _read_raw(path, fmt)
    raw.columns = header
    if raw.empty:
        raise SchemaError(str(path), "the table has no rows", f"export at least one row of {name}")
    raw, line_of, dropped = _drop_declared(raw, fmt)
    if raw.empty:
        raise SchemaError(
            str(path), "no rows are left after the drops declared in mapping.yml", "check returns and missing_customer"
        )
    try:
        df = _validated(raw, header, schema, str(path), today, fmt.date_format)
        df = _completed(df, schema, str(path))
    except SchemaError as e:
        raise _as_in_file(e, fmt, line_of) from None
    return df, dropped, line_of


DERIVED_COLUMNS = ("customers.signup_date", "transactions.order_id", "transactions.quantity", "transactions.unit_price")
"""Columns an export may leave out that :func:`load_world` always derives: every loaded world has them."""


def _completed(df: pd.DataFrame, schema: TableSchema, file: str) -> pd.DataFrame:
    """Derive the columns an export may leave out, each noted in ``df.attrs["derived"]`` (shown by the run).

    transactions: ``order_id`` (a customer's lines at one timestamp form an order), ``quantity`` (1) and
    ``unit_price`` (``amount / quantity``); customers: ``signup_date`` is derived in :func:`load_world`, which
    sees the orders.
    """
    if schema.name != "transactions":
        return df
    notes = []
    if "quantity" not in df:
        df["quantity"] = np.ones(len(df), np.int64)
        notes.append("transactions.quantity: not in the export, each line counts 1 unit")
    if "amount" in df and "unit_price" in df:
        value = df["quantity"].to_numpy(float) * df["unit_price"].to_numpy(float)
        off = np.abs(value - df["amount"].to_numpy(float)) > 0.01 + 1e-9 * np.abs(value)
        if off.any():
            raise SchemaError(
                file,
                f"{int(off.sum())} lines have an amount other than quantity x unit_price",
                "give the line's value once: as unit_price (with quantity) or as amount, or correct these lines",
                "amount",
                _lines(off),
                [df["amount"].iloc[int(i)] for i in np.flatnonzero(off)[:_SHOW]],
            )
    elif "amount" in df:
        df["unit_price"] = df["amount"].to_numpy(float) / df["quantity"].to_numpy(float)
        notes.append("transactions.unit_price: amount / quantity (the export gives each line's amount)")
    if "order_id" not in df:
        key = df.groupby(["customer_id", "order_date"], sort=False, observed=True).ngroup().to_numpy()
        df["order_id"] = key.astype(np.int64) + 1
        notes.append(
            f"transactions.order_id: not in the export, a customer's lines at one timestamp form an order "
            f"({int(key.max()) + 1:,} orders)"
        )
    if notes:  # derived columns take their place in the schema's order (no copy when nothing was derived)
        order = [c.name for c in schema.columns if c.name in df.columns]
        df = df[order + [c for c in df.columns if c not in order]]
        df.attrs["derived"] = notes
    return df


def _derived_customers(loaded: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The customers of an export without a customers table: everyone its tables name, signup = first order.

    A customer who has events but no order signs up on their first event.
    """
    firsts = []
    for name, time_col in (("transactions", "order_date"), ("events", "timestamp"), ("email_sends", "sent_at")):
        if name in loaded:
            t = loaded[name]
            firsts.append(t.groupby("customer_id", sort=False, observed=True)[time_col].min())
    first = pd.concat(firsts).groupby(level=0, sort=False).min() if len(firsts) > 1 else firsts[0]
    if isinstance(first.index.dtype, pd.CategoricalDtype):
        first.index = first.index.astype(first.index.dtype.categories.dtype)
    first = first.sort_index(kind="stable")
    return pd.DataFrame(
        {"customer_id": first.index.to_numpy(), "signup_date": first.dt.normalize().astype("datetime64[s]").to_numpy()}
    )


# one branch per kind of refused input: splitting it would scatter the checks a reader wants in one place
def _validated(  # noqa: C901
    raw: pd.DataFrame,
    header: list[str],
    schema: TableSchema,
    file: str,
    today: _dt.date | None,
    date_format: str | None,
) -> pd.DataFrame:
    out = {}
    for col in schema.columns:
        if col.optional and col.name not in raw.columns:
            continue  # left out of the export: _completed derives it, or the sections that need it are skipped
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
        if missing_mask.all():  # a column left blank throughout (an unknown demographic): its kind, all missing
            v = _all_missing(len(s), col.kind, s.index)
        else:
            v = _typed(s, col, file, date_format)
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
            limit = _future_limit(today)
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
    if schema.primary_key and all(k in df.columns for k in schema.primary_key):
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
    mappings = table_mappings(d)
    return [t for t in names if _file_of(d, t, mappings).is_file()]


def fill_cache(data_dir: str | Path | None, table: str, cache: str | Path) -> bool:
    """Read and validate one table of ``data_dir`` into a run's cache, as :func:`load_world` would.

    The course runner fills the cache a table per process before the lessons start, so that the largest table is
    read beside the others. Returns False when the table was not cached: no file, or the table (or its
    ``mapping.yml``) is refused; the lesson that loads it then reads the file itself and says why, with the lines.

    Parameters
    ----------
    data_dir : str or Path or None
        The data folder; None for the course world.
    table : str
        A table name of the schema.
    cache : str or Path
        The run's cache folder (``RunContext.cache``).
    """
    if table not in SCHEMAS:
        raise KeyError(f"unknown table {table!r}; the course knows {', '.join(SCHEMAS)}")
    d = resolve_data_dir(data_dir)
    try:
        mappings = table_mappings(d)
        if not _file_of(d, table, mappings).is_file():
            return False
        _load_cached(TableCache(cache, d), d, table, None, mappings.get(table, TableMapping(table)))
    except (SchemaError, ValueError, OSError, UnicodeError):  # the lesson reports it, with the lines
        return False
    return True


def load_world(
    data_dir: str | Path | None = None,
    tables: Iterable[str] | None = None,
    *,
    today: _dt.date | None = None,
    truth: bool = True,
    missing: str = "error",
    cache: str | Path | None = None,
) -> World:
    """Load and validate the tables of a world, with its truth when ``truth.json`` is present.

    Parameters
    ----------
    data_dir : path or None
        Folder of CSV files (``None``: the course world in ``data/``; relative paths are taken from the
        repository root).
    tables : names, optional
        Tables to load; the tables their foreign keys point to are loaded too. Default: every table whose file
        exists (as with ``missing="skip"``).
    today : date, optional
        Dates after this day are future dates (default: today).
    truth : bool
        Read ``truth.json`` when present. A team's own data has none: ``world.truth`` is then ``None``.
    missing : {"error", "skip"}
        What a table of ``tables`` whose file is absent does: refuse (default), or stay out of the world, as a
        lesson wants, which then skips the sections that need it (:mod:`helpers.sections`).
    cache : str or Path, optional
        A folder of the run (a lesson passes ``ctx.cache``) where each table is kept, once read and validated,
        as an Arrow IPC file keyed by its source file's checksum, its mapping and the loader's code
        (:mod:`helpers.cache`): the next load of an unchanged table reads that copy in a fraction of the time.
        Foreign keys and dates in the future are checked on every load. Never the data folder or inside it.

    Returns
    -------
    World
        ``world.customers``, ``world.transactions``, ... as typed DataFrames; ``world.truth``. Without a
        customers file, ``customers`` is derived from the orders (everyone who ordered; signup = first order);
        ``world.meta["derived"]`` lists what was derived, ``world.meta["dropped"]`` what mapping.yml dropped.

    Raises
    ------
    SchemaError
        A file is missing, a column is missing or of the wrong kind, a required value is empty, a value is
        negative, a date is in the future, a key is duplicated, a foreign key points nowhere, or a table is empty.
    """
    if missing not in ("error", "skip"):
        raise ValueError(f"missing must be 'error' or 'skip', not {missing!r}")
    d = resolve_data_dir(data_dir)
    if not d.is_dir():
        raise SchemaError(
            str(d),
            "folder not found",
            "pass the folder that holds the CSV files (make data creates the course world in data/)",
        )
    mappings = table_mappings(d)
    if tables is None:
        names = [t for t in TABLES if _file_of(d, t, mappings).is_file()] or ["customers"]
        missing = "skip"  # a table the files point to but the folder lacks (products, ...) is left out
    else:
        names = list(tables)
        unknown = [t for t in names if t not in SCHEMAS]
        if unknown:
            raise KeyError(f"unknown table(s) {unknown}; the course knows {', '.join(SCHEMAS)}")
    names = _parents(names)
    present = {n for n in names if _file_of(d, n, mappings).is_file()}
    # customers may be left out when the orders are there: they are derived from them
    derive_customers = "customers" in names and "customers" not in present and "transactions" in present
    if missing == "skip":
        names = [n for n in names if n in present or (n == "customers" and derive_customers)]
    store = TableCache(cache, d) if cache is not None else None
    loaded, line_of, dropped, derived = {}, {}, [], []
    for n in names:
        if n == "customers" and derive_customers:
            continue
        fmt = mappings.get(n, TableMapping(n))
        loaded[n], drops, line_of[n] = _load_cached(store, d, n, today, fmt)
        derived += loaded[n].attrs.pop("derived", [])
        dropped += drops
    loaded, note = _customers_completed(loaded, derive_customers)
    derived = ([note] if note else []) + derived
    line_of.setdefault("customers", None)
    for n in loaded:
        if n == "customers" and derive_customers:
            continue
        try:
            _check_foreign_keys(d, n, loaded, mappings, skip={"customers"} if derive_customers else set())
        except SchemaError as e:
            raise _as_in_file(e, mappings.get(n, TableMapping(n)), line_of[n]) from None
    tr = None
    if truth and (d / "truth.json").is_file():
        tr = Truth.from_json((d / "truth.json").read_text())
    meta: dict[str, object] = {}
    if dropped:
        meta["dropped"] = pd.DataFrame(dropped)
    if derived:
        meta["derived"] = derived
    return World(tables=loaded, truth=tr, source=d, meta=meta)


def _load_cached(
    store: TableCache | None, d: Path, name: str, today: _dt.date | None, fmt: TableMapping
) -> tuple[pd.DataFrame, list[dict], np.ndarray | None]:
    """:func:`_load_table` through the run's cache: an unchanged file is read from its validated copy."""
    path = d / fmt.file_name
    if store is None or not path.is_file():
        return _load_table(d, name, today=today, mapping=fmt)
    key = store.key(path, fmt)
    hit = store.get(name, key)
    if hit is not None:
        df, meta = hit
        if not _has_future_dates(df, SCHEMAS[name], today):  # else: read the file, whose refusal names the lines
            if meta.get("derived"):
                df.attrs["derived"] = list(meta["derived"])
            return df, list(meta.get("dropped", [])), meta.get("line_of")
    df, dropped, line_of = _load_table(d, name, today=today, mapping=fmt)
    notes = df.attrs.pop("derived", None)
    store.put(name, key, df, {"dropped": dropped, "derived": notes or [], "line_of": line_of})
    if notes:
        df.attrs["derived"] = notes
    return df, dropped, line_of


def _future_limit(today: _dt.date | None) -> pd.Timestamp:
    """The first instant that is in the future: midnight after ``today`` (default: today's date)."""
    return pd.Timestamp(today or _dt.date.today()) + pd.Timedelta(days=1)


def _has_future_dates(df: pd.DataFrame, schema: TableSchema, today: _dt.date | None) -> bool:
    limit = _future_limit(today)
    for c in schema.columns:
        if c.kind in ("date", "datetime") and c.name in df.columns:
            last = df[c.name].max()
            if pd.notna(last) and last >= limit:
                return True
    return False


def _customers_completed(loaded: dict[str, pd.DataFrame], derive: bool) -> tuple[dict[str, pd.DataFrame], str]:
    """The tables with customers derived from the orders, or given a derived signup_date; and what was derived."""
    if derive:
        loaded = dict(loaded, customers=_derived_customers(loaded))
        note = (
            f"customers: no customers file, the {len(loaded['customers']):,} customers who appear in the "
            "orders (signup = first order)"
        )
        return {n: loaded[n] for n in TABLES if n in loaded}, note
    if "customers" in loaded and "signup_date" not in loaded["customers"]:
        cust, note = _with_signup(loaded)
        return dict(loaded, customers=cust), note
    return loaded, ""


def _with_signup(loaded: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, str]:
    """Customers whose export has no signup_date: the first order (or event), else the data's first day."""
    cust = loaded["customers"]
    others = {n: t for n, t in loaded.items() if n in ("transactions", "events", "email_sends")}
    if not others:
        raise SchemaError(
            "customers.csv",
            "missing column 'signup_date', and no orders or events to derive it from",
            "add signup_date (YYYY-MM-DD) to the export, or load the transactions with it",
            "signup_date",
        )
    first = _derived_customers(others).set_index("customer_id")["signup_date"]
    start = first.min()
    signup = first.reindex(cust["customer_id"].to_numpy())
    out = cust.copy()
    out.insert(1, "signup_date", signup.fillna(start).to_numpy())
    n_none = int(signup.isna().sum())
    return out, (
        "customers.signup_date: not in the export, each customer's first order or event"
        + (f" ({n_none:,} customers without either: the data's first day)" if n_none else "")
    )


def _check_foreign_keys(
    d: Path,
    name: str,
    loaded: dict[str, pd.DataFrame],
    mappings: dict[str, TableMapping],
    skip: set[str] | frozenset[str] = frozenset(),
) -> None:
    schema = SCHEMAS[name]
    df = loaded[name]
    for col, refs in schema.foreign_keys.items():
        parents = list(refs)
        if col not in df.columns or any(t in skip for t, _ in parents):
            continue  # a column the export left out, or a parent derived from these very tables
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
                known_cat |= _in_text(cats, loaded[t][c])
            codes = v.cat.codes.to_numpy()
            bad = present & ~known_cat[np.maximum(codes, 0)]
        else:
            known = np.zeros(len(df), bool)
            for t, c in parents:
                pv = loaded[t][c]
                if v.dtype != pv.dtype:
                    known |= _in_text(v.astype(str), pv)
                else:
                    known |= v.isin(pv).to_numpy()
            bad = present & ~known
        if bad.any():
            where = " or ".join(f"{_file_of(d, t, mappings).name} ({c})" for t, c in parents)
            raise SchemaError(
                str(_file_of(d, name, mappings)),
                f"{int(bad.sum())} values do not exist in {where}",
                f"add the missing records to {where}, or drop these rows",
                col,
                _lines(bad),
                [v.iloc[int(i)] for i in np.flatnonzero(bad)[:_SHOW]],
            )


def _in_text(values: pd.Series, allowed: pd.Series) -> np.ndarray:
    """Which of the texts ``values`` are among ``allowed`` as text: a hash look-up into its distinct values.

    ``Series.isin`` on pandas' text arrays tests value by value in Python (3.5 s for the 640 k lead ids of a
    world of 1 M customers); an index of the distinct allowed texts answers in a hundredth of that.
    """
    distinct = pd.Index(allowed.astype(str).unique())
    return np.asarray(distinct.get_indexer(pd.Index(values)) >= 0)


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


# ----------------------------------------------------------------------------------------------------------------
# The data doctor: python -m helpers.io DIR
# ----------------------------------------------------------------------------------------------------------------
def doctor(data_dir: str | Path, today: _dt.date | None = None) -> tuple[str, bool]:
    """Check a data folder as the lessons will read it; a report in words, and whether every table loaded.

    Per table: the file read (after ``mapping.yml``), its rows, the columns renamed, what a declared option
    dropped, or the problem with its fix; then the keys between tables; then which lessons can run.

    Parameters
    ----------
    data_dir : str or Path
        The folder of CSV files (and ``mapping.yml``, if any).
    today : date, optional
        Dates after this day are future dates (default: today).

    Returns
    -------
    tuple of (str, bool)
        The report, and True when no table present has a problem.
    """
    d = resolve_data_dir(data_dir)
    out = [f"data folder: {d}"]
    if not d.is_dir():
        return "\n".join(out + ["  folder not found: pass the folder that holds the CSV files"]), False
    try:
        mappings = table_mappings(d)
    except SchemaError as e:
        return "\n".join(out + [f"  {MAPPING_FILE}: {e}"]), False
    out.append(f"  {MAPPING_FILE}: " + (f"maps {', '.join(mappings)}" if mappings else "none (course names)"))
    loaded: dict[str, pd.DataFrame] = {}
    line_of: dict[str, np.ndarray | None] = {}
    bad: set[str] = set()
    out.append("tables:")
    for name in TABLES:
        fmt = mappings.get(name, TableMapping(name))
        path = d / fmt.file_name
        if not path.is_file():
            derived = name == "customers" and _file_of(d, "transactions", mappings).is_file()
            out.append(f"  {name:<12} absent ({fmt.file_name})" + ("; derived from the orders" if derived else ""))
            continue
        try:
            loaded[name], drops, line_of[name] = _load_table(d, name, today=today, mapping=fmt)
        except SchemaError as e:
            bad.add(name)
            out.append(f"  {name:<12} PROBLEM {e}")
            continue
        renamed = ", ".join(f"{c} <- {x!r}" for c, x in fmt.columns.items())
        out.append(
            f"  {name:<12} ok: {len(loaded[name]):,} rows from {fmt.file_name}" + (f"; {renamed}" if renamed else "")
        )
        for dr in drops:
            out.append(f"  {'':<12} dropped {dr['lines']:,} lines: {dr['dropped']} ({dr['value_share']:.2%} of value)")
    for name in loaded:
        try:
            _check_foreign_keys(d, name, loaded, mappings)
        except SchemaError as e:
            bad.add(name)
            out.append(f"  {name:<12} PROBLEM {_as_in_file(e, mappings.get(name, TableMapping(name)), line_of[name])}")
    out.append("lessons (sections this data supports; helpers.sections decides, as the lessons do):")
    good = {n: t for n, t in loaded.items() if n not in bad}
    if "customers" not in good and "transactions" in good:
        good = dict(good, customers=_derived_customers(good))
    world = World(tables=good)
    from . import sections

    for lesson in sections.SECTIONS:
        reads = list(TABLES) if lesson == "00_the_world" else _parents(sections.tables(lesson))
        broken = [t for t in reads if t in bad]
        if broken:  # a lesson stops at the first file it cannot load
            out.append(f"  {lesson:<16} cannot run: fix {', '.join(broken)} first (PROBLEM above)")
            continue
        p = sections.plan(lesson, world, record=False, activate=False)
        n = len(sections.SECTIONS[lesson])
        out.append(f"  {lesson:<16} {len(p.ran)} of {n} sections run" + (f": {', '.join(p.ran)}" if p.ran else ""))
        for key, why in p.skipped.items():
            out.append(f"  {'':<16} skipped {key}: {why}")
    return "\n".join(out), not bad


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m helpers.io DIR``: print the data doctor's report; exit 1 when a table has a problem.

    Parameters
    ----------
    argv : sequence of str, optional
        The command-line arguments (default: ``sys.argv[1:]``).
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.io", description="Check a data folder for the course.")
    parser.add_argument("data_dir", help="folder of CSV files (and mapping.yml)")
    args = parser.parse_args(argv)
    report, ok = doctor(args.data_dir)
    print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
