"""The course website builds (``make site``) and every notebook page works in a real browser.

Builds the site with Sphinx (docs/conf.py: myst-nb, committed outputs, never executed) into a
temp folder, serves it on localhost and opens every notebook page in headless chromium or chrome
(tests/_browser.py) through Playwright: no console errors or failed requests, math typeset by
the site's own MathJax, every image loaded, Binder and Colab launch links for that notebook, and
no internal link to a page that does not exist. Nothing in the repository changes.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest
from _browser import INSTALL_HINT, LAUNCH_ARGS, browser_executable

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    pytest.importorskip("sphinx", reason="the docs extra is not installed (make install)")
    pytest.importorskip("myst_nb", reason="the docs extra is not installed (make install)")
    out = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-c", "docs",
           "-d", str(out / "doctrees"), ".", str(out / "html")]
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    return out / "html"


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request log on the test output
        pass


def test_site_has_every_notebook_api_architecture_and_benchmarks(site: Path) -> None:
    assert (site / "index.html").is_file()
    for name in NOTEBOOKS:
        assert (site / "notebooks" / f"{name}.html").is_file(), name
    api = (site / "docs" / "api.html").read_text(encoding="utf-8")
    assert "kanlab.model.KAN" in api and "fit" in api  # autodoc read the docstrings
    assert "KANLayer" in (site / "docs" / "architecture.html").read_text(encoding="utf-8")
    assert "pykan" in (site / "docs" / "benchmarks.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    exe = browser_executable()
    if exe is None:
        pytest.skip(INSTALL_HINT)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(exe), args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_page_works_in_a_browser(browser, server: str, site: Path, name: str) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)
    try:
        url = urljoin(server, f"notebooks/{name}.html")
        page.goto(url, wait_until="load")
        if page.locator(".math").count():
            page.wait_for_selector("mjx-container", state="attached", timeout=30_000)
            assert page.locator(".math mjx-container").count() > 0
            assert page.locator("mjx-merror").count() == 0, "MathJax could not typeset a formula"
        page.wait_for_function("() => Array.from(document.images).every(i => i.complete)",
                               timeout=30_000)
        broken = page.evaluate("() => Array.from(document.images)"
                               ".filter(i => i.naturalWidth === 0).map(i => i.src)")
        assert broken == [], f"{name}: images that did not load: {broken}"
        hrefs = page.evaluate("() => Array.from(document.querySelectorAll('a[href]'))"
                              ".map(a => a.href)")
        assert any("mybinder.org" in h and f"notebooks/{name}.ipynb" in h for h in hrefs)
        assert any("colab.research.google.com" in h and f"notebooks/{name}.ipynb" in h
                   for h in hrefs)
        missing = sorted({h for h in hrefs if h.startswith(server)
                          and not _target(site, server, h).exists()})
        assert missing == [], f"{name}: internal links to missing pages: {missing}"
    finally:
        page.close()
    assert problems == [], f"{name}: {problems}"


def _target(site: Path, server: str, href: str) -> Path:
    path = unquote(urlparse(href).path)[len(urlparse(server).path):]
    target = site / path
    return target / "index.html" if path.endswith("/") or not path else target
