"""The course site (`make html`): built from the committed notebooks, then opened in headless Chromium.

The browser part needs Debian's chromium and chromium-driver, which `make test` installs (tools/ensure_chromium.sh).
Without them it is skipped, except under CI=true, where a missing browser is a failure. A screenshot of the index
is kept in runs/artefacts/site_index.png.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import build_site  # noqa: E402
import syllabus  # noqa: E402

ARTEFACTS = ROOT / "runs" / "artefacts"
LESSON_PAGES = [f"{stem}.html" for stem, *_ in syllabus.LESSONS if (ROOT / "notebooks" / f"{stem}.ipynb").exists()]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.scripts: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "img":
            self.images.append(a.get("src") or "")
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text())
    return p


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site.build(out)
    return out


def test_site_has_an_index_and_one_page_per_lesson(site):
    assert sorted(p.name for p in site.glob("*.html")) == sorted(["index.html", "data_card.html", *LESSON_PAGES])
    index = _parse(site / "index.html")
    assert [h for h in index.links if h.endswith(".html")] == ["data_card.html", *LESSON_PAGES]
    assert "planted" in (site / "data_card.html").read_text()  # the data card, rendered


def test_pages_are_self_contained_and_their_links_resolve(site):
    for page in sorted(site.glob("*.html")):
        parsed = _parse(page)
        assert not [s for s in parsed.scripts if urlparse(s).scheme], f"{page.name} loads a remote script"
        assert all(src.startswith("data:image/png;base64,") for src in parsed.images), page.name
        for href in parsed.links:
            url = urlparse(href)
            if url.scheme in ("http", "https", "mailto"):
                continue
            target = site / unquote(url.path) if url.path else page
            assert target.exists(), f"{page.name} links to {href}, which is not in the site"
            if url.fragment and target.suffix == ".html":
                ids = _parse(target).ids
                assert url.fragment in ids, f"{page.name} links to {href}: no such anchor"
    # each lesson page has its figures inline, as many as the notebook has
    for stem in (p.removesuffix(".html") for p in LESSON_PAGES):
        nb = (ROOT / "notebooks" / f"{stem}.ipynb").read_text()
        assert len(_parse(site / f"{stem}.html").images) == nb.count('"image/png"'), stem


def test_offline_removes_only_the_cdn_scripts():
    page = (
        '<head><script src="https://cdnjs.cloudflare.com/ajax/libs/require.js/2.1.10/require.min.js"></script>'
        '<!-- Load mathjax -->\n<script src="https://x/mathjax.js"></script>\n<!-- End of mathjax configuration -->'
        "<script>var keep = 1;</script></head>"
    )
    assert build_site.offline(page) == f"<head><script>var keep = 1;</script>{build_site.FAVICON}\n</head>"


def _browser_paths() -> tuple[str, str] | None:
    chromium = shutil.which(os.environ.get("CHROMIUM", "chromium"))
    driver = shutil.which(os.environ.get("CHROMEDRIVER", "chromedriver"))
    return (chromium, driver) if chromium and driver else None


@pytest.fixture(scope="module")
def browser():
    paths = _browser_paths()
    if paths is None:
        message = (
            "headless Chromium and ChromeDriver not found: run `make browser` (Debian/Ubuntu) or set "
            "CHROMIUM and CHROMEDRIVER"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=paths[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log in the test output
        pass


def test_every_page_loads_in_chromium_without_console_errors(browser, served):
    pages = ["index.html", "data_card.html", *LESSON_PAGES]
    for name in pages:
        browser.get(urljoin(served, name))
        assert browser.execute_script("return document.readyState") == "complete"
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, f"{name}: {errors}"
        broken = browser.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length"
        )
        assert broken == 0, f"{name}: {broken} image(s) did not load"
        if name in LESSON_PAGES:
            title = browser.execute_script("return document.querySelector('h1').textContent")
            assert re.match(r"\d\d · ", title), f"{name}: the lesson title did not render ({title!r})"
        # every link inside the site leads to a page the server has
        hrefs = browser.execute_script("return Array.from(document.links).map(a => a.href)")
        for href in hrefs:
            if href.startswith(served):
                target = urlparse(href).path.lstrip("/") or "index.html"
                assert target in pages, f"{name} links to {href}"
    browser.get(urljoin(served, "index.html"))
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTEFACTS / "site_index.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_navigation_walks_through_every_lesson_in_order(browser, served):
    browser.get(urljoin(served, "index.html"))
    browser.find_element("link text", syllabus.LESSONS[0][1]).click()
    seen = [urlparse(browser.current_url).path.lstrip("/")]
    while True:
        nxt = [a for a in browser.find_elements("css selector", "a") if a.text.strip().endswith(">")]
        if not nxt:
            break
        nxt[0].click()
        seen.append(urlparse(browser.current_url).path.lstrip("/"))
    assert seen == LESSON_PAGES
    contents = [a for a in browser.find_elements("css selector", "a") if a.text.strip() == "Contents"]
    contents[0].click()
    assert urlparse(browser.current_url).path.endswith("index.html")
