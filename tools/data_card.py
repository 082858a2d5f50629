"""Regenerate the generated parts of data/README.md (the data card) from the schema and the truth file:

    python tools/data_card.py

Column tables come from helpers.io.SCHEMAS, the truth-key table from data/truth.json (run `make data` first).
tests/test_data_card.py fails when the card is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from helpers.io import SCHEMAS  # noqa: E402

CARD = ROOT / "data" / "README.md"


def columns_section() -> str:
    out = []
    for s in SCHEMAS.values():
        key = " + ".join(s.primary_key) if s.primary_key else "none"
        fks = "; ".join(f"{c} → " + " or ".join(f"{t}.{tc}" for t, tc in refs) for c, refs in s.foreign_keys.items())
        out.append(f"### `{s.file}`\n\n{s.description} Primary key: {key}." + (f" Foreign keys: {fks}." if fks else ""))
        out.append("\n| column | kind | required | minimum | meaning |\n|---|---|---|---|---|")
        for c in s.columns:
            mn = "" if c.min_value is None else f"{c.min_value:g}"
            out.append(f"| `{c.name}` | {c.kind} | {'yes' if c.required else 'no'} | {mn} | {c.description} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def truth_section() -> str:
    entries = json.loads((ROOT / "data" / "truth.json").read_text())
    rows = ["| key | what it holds |", "|---|---|"]
    rows += [f"| `{k}` | {v['description']} |" for k, v in entries.items()]
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    for name, body in (("columns", columns_section()), ("truth", truth_section())):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{body}{end}{tail}"
    return text


if __name__ == "__main__":
    CARD.write_text(render(CARD.read_text()))
