"""The run's cache of validated tables: the same world as a fresh read, read once, refreshed when a file, its
mapping or the loader changes, never written into the data folder, and never hiding a refusal."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import cache as cache_mod
from helpers import io
from helpers.io import SchemaError, load_world

TODAY = dt.date(2026, 7, 1)


def _digest(d: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir())}


def _same_world(a, b) -> None:
    assert list(a.tables) == list(b.tables)
    for n in a.tables:
        pd.testing.assert_frame_equal(a.tables[n], b.tables[n], check_exact=True)
    assert a.meta.keys() == b.meta.keys()
    for k in a.meta:
        if isinstance(a.meta[k], pd.DataFrame):
            pd.testing.assert_frame_equal(a.meta[k], b.meta[k])
        else:
            assert a.meta[k] == b.meta[k]


@pytest.fixture()
def reads(monkeypatch) -> list[str]:
    """The tables read from their CSV files (not from the cache) since the fixture was set up."""
    seen: list[str] = []
    real = io._load_table

    def counting(data_dir, name, **kw):
        seen.append(name)
        return real(data_dir, name, **kw)

    monkeypatch.setattr(io, "_load_table", counting)
    return seen


def test_a_cached_load_is_the_world_a_fresh_read_gives_and_reads_no_file_twice(world_copy, tmp_path, reads):
    before = _digest(world_copy)
    fresh = load_world(world_copy, today=TODAY)
    n_tables = len(reads)
    first = load_world(world_copy, today=TODAY, cache=tmp_path / "cache")
    assert len(reads) == 2 * n_tables, "the first cached load reads every file"
    again = load_world(world_copy, today=TODAY, cache=tmp_path / "cache")
    assert len(reads) == 2 * n_tables, "the second reads none"
    _same_world(fresh, first)
    _same_world(fresh, again)
    assert again.truth is not None and again.truth == fresh.truth
    assert _digest(world_copy) == before, "nothing is written into the data folder"
    # a lesson that loads fewer tables reads them from the same cache
    part = load_world(world_copy, tables=["transactions"], today=TODAY, cache=tmp_path / "cache")
    assert len(reads) == 2 * n_tables
    pd.testing.assert_frame_equal(part.transactions, fresh.transactions, check_exact=True)


def test_a_changed_file_is_read_again_and_its_old_copy_removed(world_copy, tmp_path, reads):
    c = tmp_path / "cache"
    load_world(world_copy, tables=["products"], today=TODAY, cache=c)
    old = sorted(p.name for p in c.glob("products-*"))
    text = (world_copy / "products.csv").read_text()
    header, first, *rest = text.splitlines(keepends=True)
    fields = first.rstrip("\n").split(",")
    price_col = header.rstrip("\n").split(",").index("price")
    fields[price_col] = "999.5"
    (world_copy / "products.csv").write_text(header + ",".join(fields) + "\n" + "".join(rest))
    reads.clear()
    got = load_world(world_copy, tables=["products"], today=TODAY, cache=c).products
    assert reads == ["products"]
    assert got["price"].iloc[0] == 999.5
    assert sorted(p.name for p in c.glob("products-*")) != old and len(list(c.glob("products-*"))) == 2


def test_touching_a_file_without_changing_it_keeps_its_copy(world_copy, tmp_path, reads):
    c = tmp_path / "cache"
    load_world(world_copy, tables=["products"], today=TODAY, cache=c)
    st = (world_copy / "products.csv").stat()
    os.utime(world_copy / "products.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    reads.clear()
    load_world(world_copy, tables=["products"], today=TODAY, cache=c)
    assert reads == [], "same content, same checksum: the copy is used"


def test_a_changed_mapping_or_loader_is_read_again(world_copy, tmp_path, reads, monkeypatch):
    c = tmp_path / "cache"
    load_world(world_copy, tables=["products"], today=TODAY, cache=c)
    (world_copy / "mapping.yml").write_text("products:\n  encoding: latin-1\n")
    reads.clear()
    load_world(world_copy, tables=["products"], today=TODAY, cache=c)
    assert reads == ["products"], "another mapping of the same file is another entry"
    monkeypatch.setattr(cache_mod, "_code_version", lambda: "a changed loader")
    reads.clear()
    load_world(world_copy, tables=["products"], today=TODAY, cache=c)
    assert reads == ["products"]


def test_a_damaged_copy_is_read_from_the_source_again(world_copy, tmp_path, reads):
    c = tmp_path / "cache"
    want = load_world(world_copy, tables=["products"], today=TODAY, cache=c).products
    (data,) = c.glob("products-*.arrow")
    data.write_bytes(data.read_bytes()[:100])
    reads.clear()
    got = load_world(world_copy, tables=["products"], today=TODAY, cache=c).products
    assert reads == ["products"]
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_the_cache_never_goes_into_the_data_folder(world_copy):
    before = _digest(world_copy)
    for inside in (world_copy, world_copy / "cache"):
        with pytest.raises(ValueError, match="inside the data folder"):
            load_world(world_copy, tables=["products"], today=TODAY, cache=inside)
    assert _digest(world_copy) == before


def test_a_refusal_is_never_cached_and_dates_are_checked_against_each_load_s_today(world_copy, tmp_path):
    c = tmp_path / "cache"
    tx = load_world(world_copy, tables=["transactions"], today=TODAY, cache=c).transactions
    last = tx["order_date"].max()
    # the same cached table, loaded as of a day before its last order: refused as a fresh read would be
    early = (last - pd.Timedelta(days=1)).date()
    with pytest.raises(SchemaError) as cached:
        load_world(world_copy, tables=["transactions"], today=early, cache=c)
    with pytest.raises(SchemaError) as fresh:
        load_world(world_copy, tables=["transactions"], today=early)
    assert str(cached.value) == str(fresh.value) and "in the future" in str(cached.value)
    # a broken file is refused every time, with its lines, and leaves only the copy of its earlier version
    valid = sorted(c.glob("products-*"))
    lines = (world_copy / "products.csv").read_text().splitlines(keepends=True)
    (world_copy / "products.csv").write_text("".join(lines + [lines[1]]))
    for _ in range(2):
        with pytest.raises(SchemaError, match="duplicate values of the key product_id") as e:
            load_world(world_copy, tables=["products"], today=TODAY, cache=c)
        assert e.value.lines == [len(lines) + 1]
    assert sorted(c.glob("products-*")) == valid


def test_a_mapped_export_s_drops_and_file_lines_survive_the_cache(world_copy, tmp_path):
    from test_mapping import _team_export

    d, _, _ = _team_export(world_copy, n_returns=4, n_guests=3)
    c = tmp_path / "cache"
    fresh = load_world(d, tables=["transactions"], today=TODAY)
    for _ in range(2):
        _same_world(fresh, load_world(d, tables=["transactions"], today=TODAY, cache=c))
    assert fresh.meta["dropped"]["lines"].tolist() == [4, 3]
    # a foreign key that points nowhere is reported at the line of the team's file, cached or not: the copy
    # keeps each row's line in the file, which the drops shifted
    (d / "customers.csv").write_text("\n".join((d / "customers.csv").read_text().splitlines()[:-50]) + "\n")
    with pytest.raises(SchemaError) as fresh_e:
        load_world(d, tables=["transactions"], today=TODAY)
    with pytest.raises(SchemaError) as cached_e:
        load_world(d, tables=["transactions"], today=TODAY, cache=c)
    assert "do not exist in customers.csv" in str(cached_e.value)
    assert cached_e.value.lines == fresh_e.value.lines and str(cached_e.value) == str(fresh_e.value)


def test_a_derived_world_keeps_its_notes_through_the_cache(tmp_path):
    d = tmp_path / "log"
    d.mkdir()
    pd.DataFrame(
        {"customer_id": [1, 1, 2], "order_date": ["2024-01-05", "2024-02-01", "2024-01-09"], "amount": [5.0, 0, 7.5]}
    ).to_csv(d / "transactions.csv", index=False)
    fresh = load_world(d, today=TODAY)
    assert fresh.meta["derived"]
    for _ in range(2):
        _same_world(fresh, load_world(d, today=TODAY, cache=tmp_path / "cache"))


def test_file_checksum_is_recomputed_only_when_the_file_s_status_changes(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("x\n1\n")
    known: dict = {}
    first = cache_mod.file_checksum(p, known)
    assert first == hashlib.sha256(b"x\n1\n").hexdigest()
    known[str(p)]["sha256"] = "recorded"
    assert cache_mod.file_checksum(p, known) == "recorded", "same status: the recorded checksum is trusted"
    p.write_text("x\n2\n")
    assert cache_mod.file_checksum(p, known) == hashlib.sha256(b"x\n2\n").hexdigest()
    assert np.array_equal(known[str(p)]["status"][:1], [p.stat().st_size])


def _blocks(df: pd.DataFrame) -> list[tuple[str, list[str]]]:
    return sorted((str(b.dtype), sorted(df.columns[b.mgr_locs.indexer].tolist())) for b in df._mgr.blocks)


@pytest.mark.parametrize("rows", [0, 1, 2_500])
def test_read_frame_gives_what_read_feather_gives_batch_by_batch(tmp_path, monkeypatch, rows):
    """Every kind of column the loader produces (and a team's table may hold), nulls included, read from many
    record batches in groups smaller than the table: the same values, dtypes, index and block layout."""
    rng = np.random.default_rng(7)
    miss = rng.random(rows) < 0.1
    cat = pd.Categorical.from_codes(rng.integers(-1, 3, rows), categories=["a", "b", "c"])
    df = pd.DataFrame(
        {
            "order_id": np.arange(rows, dtype=np.int64),
            "customer_id": rng.integers(0, 50, rows),
            "amount": np.where(miss, np.nan, rng.normal(size=rows)),
            "price": rng.random(rows),
            "when": pd.to_datetime(rng.integers(0, 10**9, rows), unit="s").astype("datetime64[s]"),
            "flag": rng.random(rows) < 0.5,
            "kind": cat,
            "count": pd.array(np.where(miss, None, rng.integers(0, 9, rows)), dtype="Int64"),
            "ok": pd.array(np.where(miss, None, rng.random(rows) < 0.5), dtype="boolean"),
            "note": pd.Series(np.where(miss, None, rng.choice(["x", "yy", "é"], rows)), dtype="str"),
            "raw": pd.Series(np.where(miss, None, "t"), dtype=object),
            "zoned": pd.to_datetime(rng.integers(0, 10**9, rows), unit="s").tz_localize("UTC"),
        }
    )
    path = tmp_path / "t.arrow"
    df.to_feather(path, compression="lz4", chunksize=97)
    monkeypatch.setattr(cache_mod, "_GROUP_ROWS", 300)  # several batches per group, many groups
    got, want = cache_mod.read_frame(path), pd.read_feather(path)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    if rows:  # an empty table loses its categories in Arrow itself, read_feather included
        # ... and object text comes back as text (pandas' str), read_feather included
        pd.testing.assert_frame_equal(got, df.astype({"raw": "str"}), check_exact=True)
    assert _blocks(got) == _blocks(want)


def test_the_runner_fills_the_cache_a_table_at_a_time_as_a_lesson_would(world_copy, tmp_path, reads):
    c = tmp_path / "cache"
    present = io.available_tables(world_copy, io.SCHEMAS)
    assert [io.fill_cache(world_copy, t, c) for t in present] == [True] * len(present)
    assert sorted(reads) == sorted(present)
    # each fill wrote its file's checksum beside the others' (separate processes in the runner)
    assert len(json_of(c / "checksums.json")) == len(present)
    cached = load_world(world_copy, cache=c)
    assert sorted(reads) == sorted(present), "the lesson reads no file again"
    _same_world(load_world(world_copy), cached)


def json_of(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def test_a_table_that_cannot_be_cached_is_left_to_the_lesson(world_copy, tmp_path):
    c = tmp_path / "cache"
    lines = (world_copy / "products.csv").read_text().splitlines(keepends=True)
    (world_copy / "products.csv").write_text("".join(lines + [lines[1]]))  # a duplicate product id
    assert io.fill_cache(world_copy, "products", c) is False
    assert not list(c.glob("products-*"))
    (world_copy / "leads.csv").unlink()
    assert io.fill_cache(world_copy, "leads", c) is False
    with pytest.raises(KeyError, match="unknown table 'orders'"):  # a caller's mistake is not a skipped table
        io.fill_cache(world_copy, "orders", c)
    with pytest.raises(SchemaError, match="duplicate values of the key product_id"):  # the lesson says why
        load_world(world_copy, tables=["products"], cache=c)


def test_checksums_written_by_two_caches_of_one_folder_are_both_kept(world_copy, tmp_path):
    c = tmp_path / "cache"
    a, b = cache_mod.TableCache(c, world_copy), cache_mod.TableCache(c, world_copy)
    a._known(), b._known()  # both read the (empty) file before either writes, as two processes would
    a.key(world_copy / "products.csv", io.TableMapping("products"))
    b.key(world_copy / "customers.csv", io.TableMapping("customers"))
    assert set(json_of(c / "checksums.json")) == {str(world_copy / "products.csv"), str(world_copy / "customers.csv")}
