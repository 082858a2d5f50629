"""Render the committed (executed) notebooks as a small static site: an index with the syllabus, one page per
lesson with its plots inline (images embedded), links between lessons pointing at the pages.

The pages are self-contained: the scripts nbconvert would fetch from a CDN (require.js, MathJax) are left out,
since no lesson needs them, so the site works offline and never downloads anything.

    python tools/build_site.py site        # what `make html` runs
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import mistune
import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import syllabus  # noqa: E402

# nbconvert's lab template loads these from cdnjs; nothing in the lessons uses them
_REMOTE = [
    re.compile(r'<script src="https://[^"]*require[^"]*"></script>\n?'),
    re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S),
]


# no request for /favicon.ico: every page names its icon inline
FAVICON = (
    '<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27 '
    "viewBox=%270 0 16 16%27%3E%3Crect width=%2716%27 height=%2716%27 rx=%273%27 fill=%27%230072B2%27/%3E"
    '%3C/svg%3E">'
)
# links in the notebooks that point at repository files, and the page of the site that replaces each
_LINKS = {".ipynb)": ".html)", "../README.md#syllabus": "index.html", "../data/README.md": "data_card.html"}
CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.4rem .6rem;text-align:left}"
    "code{background:#f4f4f4;padding:0 .2rem}"
)


def site_links(markdown: str) -> str:
    """Markdown whose links to notebooks, the README syllabus and the data card point at the site's pages."""
    for old, new in _LINKS.items():
        markdown = markdown.replace(old, new)
    return markdown


def offline(page: str) -> str:
    """The page without the scripts it would fetch from a CDN, and with its icon inline."""
    for pattern in _REMOTE:
        page = pattern.sub("", page)
    return page.replace("</head>", f"{FAVICON}\n</head>", 1)


def _plain_page(title: str, body: str, contents_link: bool = True) -> str:
    back = '<p><a href="index.html">Contents</a></p>\n' if contents_link else ""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"{FAVICON}<style>{CSS}</style></head><body>\n{back}{body}</body></html>\n"
    )


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
                cell.source = site_links(cell.source)
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
        page = out / f"{stem}.html"
        page.write_text(offline(body))
        pages.append(page)
    rows = "\n".join(
        f"<tr><td>{stem[:2]}</td><td>"
        + (
            f'<a href="{stem}.html">{html.escape(title)}</a>'
            if (out / f"{stem}.html").exists()
            else f"{html.escape(title)} <em>(coming)</em>"
        )
        + f"</td><td>{html.escape(step)}</td><td>{html.escape(methods)}</td><td>{html.escape(able)}</td>"
        f"<td>{html.escape(minutes)}</td></tr>"
        for stem, title, step, methods, able, minutes in syllabus.LESSONS
    )
    card = out / "data_card.html"
    render = mistune.create_markdown(plugins=["table"])
    card.write_text(_plain_page("Data card", render(site_links((ROOT / "data" / "README.md").read_text()))))
    index = out / "index.html"
    index.write_text(
        _plain_page(
            "Machine learning for marketing automation",
            f"""<h1>Machine learning for marketing automation</h1>
<p>An open course in executed notebooks over one synthetic retailer with a planted truth
(<a href="data_card.html">the data card</a> documents its tables and truth).</p>
<p>Each lesson opens with what you will be able to do, tells the method with short calls into the tested
<code>helpers</code> package, checks its result against the planted truth and ends with exercises and worked
solutions. Run them yourself with <code>make course</code>; open them with <code>make jupyter</code>.</p>
<table><thead><tr><th>#</th><th>Lesson</th><th>Step of the method</th><th>Methods</th><th>You will be able to</th>
<th>Time to run (20 k customers; 1 M)</th></tr></thead>
<tbody>
{rows}
</tbody></table>
""",
            contents_link=False,
        )
    )
    return [index, card, *pages]


if __name__ == "__main__":
    for p in build(Path(sys.argv[1] if len(sys.argv) > 1 else "site")):
        print(p)
