"""The course's one list of lessons. Navigation cells and the README's syllabus table are generated from it:

    python tools/syllabus.py          # rewrite navigation in every notebook and the README syllabus table

Lessons whose notebook does not exist yet are listed in the README as "coming" and skipped by navigation.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"

# (file stem, title, step of the method, methods, you will be able to, time to run on 2 cores: the lesson alone on
# the course world (20 k customers) and on 1 M customers, as measured by `make bench` (lesson_NN steps,
# benchmarks/results/results.md))
LESSONS = [
    (
        "00_the_world",
        "The world and its truth",
        "—",
        "the synthetic retailer, its tables and planted truth",
        "load and validate a world, read the data card, check data against truth",
        "8 s (1 M: 2.1 min)",
    ),
    (
        "01_segmentation",
        "Segmentation and personas",
        "1",
        "PCA, k-means, two-step clustering, personas",
        "find customer groups without choosing fields by hand and turn them into personas",
        "24 s (1 M: 1.9 min)",
    ),
    (
        "02_scoring",
        "Lead, RFM and churn scores",
        "2",
        "rule engine, logistic regression with backward "
        "selection, RFM, churn models against recency and BG/NBD, profit curves",
        "score leads and customers out of time, turn scores into decisions, and compare them with an oracle",
        "32 s (1 M: 4.0 min)",
    ),
    (
        "03_nbo",
        "Next best offer",
        "2",
        "Apriori, FP-growth, streaming rules, suppression",
        "propose explainable offers per customer and evaluate them on held-out purchases",
        "16 s (1 M: 5.2 min)",
    ),
    (
        "04_abtest",
        "A/B tests and send time",
        "3",
        "frequentist, group-sequential and Bayesian (PyMC) tests, Thompson sampling against fair baselines",
        "size, watch and judge experiments and tune send times adaptively",
        "44 s (1 M: 1.7 min)",
    ),
    (
        "05_kpis",
        "Campaign workflows and KPIs",
        "4-5",
        "workflows, control groups, uplift models, send lists within a budget, KPI forecasting",
        "run workflows against a control group, send each customer the treatment that moves them, forecast a "
        "campaign's KPIs",
        "63 s (1 M: 10.4 min)",
    ),
    (
        "06_retraining",
        "Retraining",
        "6",
        "drift detection, scheduled retraining, model registry, replays through moved changes",
        "keep models right over time and measure it through many changes",
        "31 s (1 M: 6.1 min)",
    ),
]

NAV_TAG = "navigation"


def existing() -> list[tuple[str, str]]:
    return [(stem, title) for stem, title, *_ in LESSONS if (NB / f"{stem}.ipynb").exists()]


def nav_text(stem: str) -> str:
    have = existing()
    names = [s for s, _ in have]
    i = names.index(stem)
    prev = f"[< {have[i - 1][1]}]({have[i - 1][0]}.ipynb)" if i > 0 else ""
    nxt = f"[{have[i + 1][1]} >]({have[i + 1][0]}.ipynb)" if i + 1 < len(have) else ""
    return f"*Machine learning for marketing automation* · {prev} | [Contents](../README.md#syllabus) | {nxt}"


def add_navigation() -> None:
    for stem, _ in existing():
        path = NB / f"{stem}.ipynb"
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if NAV_TAG not in c.metadata.get("tags", [])]
        text = nav_text(stem)
        top = nbformat.v4.new_markdown_cell(text, metadata={"tags": [NAV_TAG]})
        bottom = nbformat.v4.new_markdown_cell(text, metadata={"tags": [NAV_TAG]})
        top.id, bottom.id = "nav-top", "nav-bottom"
        nb.cells = [top, *cells, bottom]
        nbformat.validate(nb)
        nbformat.write(nb, path)


def syllabus_table() -> str:
    rows = [
        "| # | Lesson | Step of the method | Methods | You will be able to | Time to run (20 k customers; 1 M) |",
        "|---|---|---|---|---|---|",
    ]
    for stem, title, step, methods, able, minutes in LESSONS:
        num = stem[:2]
        link = f"[{title}](notebooks/{stem}.ipynb)" if (NB / f"{stem}.ipynb").exists() else f"{title} *(coming)*"
        rows.append(f"| {num} | {link} | {step} | {methods} | {able} | {minutes} |")
    return "\n".join(rows)


def update_readme() -> None:
    path = ROOT / "README.md"
    text = path.read_text()
    start, end = "<!-- syllabus:start -->", "<!-- syllabus:end -->"
    if start not in text or end not in text:
        sys.exit("README.md has no syllabus markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{syllabus_table()}\n{end}{tail}")


if __name__ == "__main__":
    add_navigation()
    update_readme()
