"""Render the committed (executed) notebooks as a small static site: an index with the syllabus, one page per
lesson with its plots inline.

    python tools/build_site.py site        # what `make html` runs
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import syllabus  # noqa: E402


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    pages = []
    for stem, title, *_ in syllabus.LESSONS:
        src = ROOT / "notebooks" / f"{stem}.ipynb"
        if not src.exists():
            continue
        nb = nbformat.read(src, as_version=4)
        for cell in nb.cells:  # links between lessons point at the rendered pages
            if cell.cell_type == "markdown":
                cell.source = cell.source.replace(".ipynb)", ".html)").replace("../README.md#syllabus", "index.html")
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        page = out / f"{stem}.html"
        page.write_text(body)
        pages.append(page)
    rows = "\n".join(
        f"<tr><td>{stem[:2]}</td><td>"
        + (f'<a href="{stem}.html">{html.escape(title)}</a>' if (out / f"{stem}.html").exists()
           else f"{html.escape(title)} <em>(coming)</em>")
        + f"</td><td>{html.escape(step)}</td><td>{html.escape(methods)}</td><td>{html.escape(able)}</td></tr>"
        for stem, title, step, methods, able in syllabus.LESSONS
    )
    index = out / "index.html"
    index.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Machine learning for marketing automation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left}}</style>
</head><body><h1>Machine learning for marketing automation</h1>
<p>An open course in executed notebooks over one synthetic retailer with a planted truth.</p>
<table><thead><tr><th>#</th><th>Lesson</th><th>Seed step</th><th>Methods</th><th>You will be able to</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
""")
    return [index, *pages]


if __name__ == "__main__":
    for p in build(Path(sys.argv[1] if len(sys.argv) > 1 else "site")):
        print(p)
