"""The data card documents every column and every truth key, and is regenerated from the code."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import data_card  # noqa: E402

from helpers.io import SCHEMAS  # noqa: E402


def test_card_is_current():
    text = data_card.CARD.read_text()
    assert data_card.render(text) == text, "run: python tools/data_card.py"


def test_card_names_every_column_and_truth_key(small_world):
    text = data_card.CARD.read_text()
    for s in SCHEMAS.values():
        for c in s.columns:
            assert f"| `{c.name}` |" in text
    for key in small_world.truth.keys():
        assert f"| `{key}` |" in text
