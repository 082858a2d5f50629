"""Every function and class the lessons call documents its parameters (numpydoc), and names only real ones.

The list is read from the notebooks' code: each ``helpers`` module a lesson imports, each of its names the
lesson uses and, for a class, the public methods it defines. numpydoc's own validator checks the docstrings
against the signatures.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

import pytest
from numpydoc.validate import validate

ROOT = Path(__file__).resolve().parents[1]
# GL08: no docstring; PR01: a parameter is not documented; PR02: a documented parameter does not exist;
# PR03: parameters documented in another order than the signature's; PR07: a parameter has no description
REQUIRED = ("GL08", "PR01", "PR02", "PR03", "PR07")


def _lesson_calls() -> dict[str, set[str]]:
    """``{"helpers.module.name": {lessons}}`` for every helpers callable the notebooks' code uses."""
    used: dict[str, set[str]] = {}
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        tree = ast.parse("\n".join(ln for ln in code.splitlines() if not ln.lstrip().startswith(("%", "!"))))
        modules: dict[str, str] = {}  # local name -> helpers module
        names: dict[str, str] = {}  # local name -> helpers.module.name
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "helpers":
                for a in node.names:
                    if node.module == "helpers":
                        modules[a.asname or a.name] = f"helpers.{a.name}"
                    else:
                        names[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Import):
                modules.update({a.asname or a.name: a.name for a in node.names if a.name.startswith("helpers.")})
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                used.setdefault(f"{modules[node.value.id]}.{node.attr}", set()).add(nb.stem)
            elif isinstance(node, ast.Name) and node.id in names:
                used.setdefault(names[node.id], set()).add(nb.stem)
    out = {}
    for qual, lessons in used.items():
        mod, name = qual.rsplit(".", 1)
        obj = getattr(importlib.import_module(mod), name)
        if not callable(obj) or (inspect.isclass(obj) and issubclass(obj, Exception)):
            continue  # constants; exceptions take only a message
        out[qual] = lessons
        if inspect.isclass(obj):  # and the public methods the class itself defines (not those it inherits)
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(getattr(member, "__func__", member)):
                    out[f"{qual}.{attr}"] = lessons
    return out


CALLED = _lesson_calls()


def test_the_list_is_read_from_the_lessons():
    assert len(CALLED) > 100
    for known in ("helpers.run.start", "helpers.rfm.rfm_table", "helpers.abtest.sample_size", "helpers.nbo.mine_rules"):
        assert known in CALLED, f"{known} is called by a lesson but was not found in the notebooks' code"
    assert {ln for lessons in CALLED.values() for ln in lessons} == {
        p.stem for p in (ROOT / "notebooks").glob("*.ipynb")
    }


@pytest.mark.parametrize("qual", sorted(CALLED))
def test_lesson_functions_document_their_parameters(qual):
    errors = [f"{code}: {msg}" for code, msg in validate(qual)["errors"] if code in REQUIRED]
    assert not errors, f"{qual} (used in {', '.join(sorted(CALLED[qual]))}):\n" + "\n".join(errors)
