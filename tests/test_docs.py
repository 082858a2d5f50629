"""The guides promise what the code does: the own-data guide's column table is the schema's, its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import io

ROOT = Path(__file__).resolve().parents[1]


def test_own_data_guide_lists_every_table_with_its_schema_columns():
    text = (ROOT / "docs" / "own-data.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+\.csv)` \| [^|]+ \| ([^|]+) \|$", text, re.M))
    assert set(rows) == {s.file for s in io.SCHEMAS.values()}
    for schema in io.SCHEMAS.values():
        listed = [c.strip() for c in rows[schema.file].split(",")]
        assert listed == [c.name if c.required and not c.optional else f"[{c.name}]" for c in schema.columns], (
            schema.file
        )


def test_guides_link_only_to_files_that_exist():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"
