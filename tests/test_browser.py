"""A real-browser test: JupyterLab + headless Chromium, a student moving a spline coefficient.

Starts JupyterLab from this venv on localhost (random free port, random token) in a temporary
copy of ``notebooks/02_bsplines.ipynb`` (or ``tests/browser_nb.ipynb`` while 02 has no
SplineExplorer), opens it in chromium or chrome (found by tests/_browser.py) through Playwright,
runs all cells from the Run menu, focuses a coefficient slider of the SplineExplorer, presses
arrow keys and asserts that the plot image changed. Screenshots go to ``tests/artifacts/``
(git-ignored). The server is always shut down. Nothing in the repository changes.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser import INSTALL_HINT, browser_executable

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = browser_executable()  # chromium or chrome on PATH (tests/_browser.py)
ARTIFACTS = REPO / "tests" / "artifacts"
WIDGET = ".kanlab-spline-explorer"

pytestmark = pytest.mark.browser


def _notebook() -> Path:
    """02_bsplines when it shows a SplineExplorer, else the small test notebook."""
    nb02 = REPO / "notebooks" / "02_bsplines.ipynb"
    if nb02.exists() and "SplineExplorer(" in nb02.read_text(encoding="utf-8"):
        return nb02
    return REPO / "tests" / "browser_nb.ipynb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_copy(src: Path, dst: Path) -> None:
    """Copy without outputs or stored widget state, so only freshly run widgets appear."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb["metadata"].pop("widgets", None)
    nb["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                    "language": "python"}
    dst.write_text(json.dumps(nb), encoding="utf-8")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on a temp root; yields (base_url, notebook_name); always shut down."""
    if CHROMIUM is None:
        pytest.skip(INSTALL_HINT)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    root, state = tmp_path / "root", tmp_path / "state"
    root.mkdir()
    src = _notebook()
    _clean_copy(src, root / src.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
           "JUPYTER_CONFIG_DIR": str(state / "config"), "MPLBACKEND": "Agg",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
           f"--LabApp.workspaces_dir={state / 'workspaces'}",
           f"--LabApp.user_settings_dir={state / 'settings'}",
           "--ServerApp.port_retries=0"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + (tmp_path / "server.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        # Start the notebook's kernel through the REST API, so the page opens on a live session
        # (no "Select Kernel" dialog).
        body = json.dumps({"path": src.name, "type": "notebook", "name": src.name,
                           "kernel": {"name": "python3"}}).encode()
        req = urllib.request.Request(f"{base}/api/sessions?token={token}", data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30)
        yield f"{base}/lab/tree/{src.name}?token={token}", src.name
    finally:
        try:  # the API shuts kernels down cleanly; then make sure the process is gone
            req = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(req, timeout=5)
        except OSError:
            pass
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        log.close()


def test_coefficient_slider_moves_the_plot_in_jupyterlab(lab: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    url, name = lab
    page = None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            _run(page, stem)
        except Exception:
            if page is not None:
                page.screenshot(path=str(ARTIFACTS / f"browser_{stem}_failure.png"))
            raise
        finally:
            browser.close()


def _run(page: Any, stem: str) -> None:
    """Run all cells, move a coefficient slider with the keyboard, compare the plot."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    dialog = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
    try:  # only if JupyterLab still asks which kernel to use
        dialog.click(timeout=3_000)
    except PlaywrightTimeout:
        pass
    # the kernel is up when the toolbar's status says idle
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=60_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # the whole notebook has run when the kernel is idle again and no prompt shows [*]
    page.wait_for_timeout(1000)
    page.wait_for_function(
        "() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        " return s && s.dataset.status === 'idle' && Array.from(document.querySelectorAll("
        "'.jp-InputArea-prompt')).every(e => !e.textContent.includes('*')); }",
        timeout=90_000)
    widget = page.locator(WIDGET).first
    widget.wait_for(state="attached", timeout=30_000)
    widget.scroll_into_view_if_needed()
    widget.wait_for(state="visible", timeout=30_000)
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter"
                        ".stderr'] .jp-RenderedText:has-text('Traceback')").count() == 0
    image = widget.locator("img").first
    image.scroll_into_view_if_needed()
    src_before = image.get_attribute("src")
    shot_before = image.screenshot(path=str(ARTIFACTS / f"browser_{stem}_before.png"))
    readout = widget.locator(".kanlab-coef-slider .widget-readout").nth(3)
    value_before = readout.inner_text()

    handle = widget.locator(".kanlab-coef-slider .noUi-handle").nth(3)
    handle.focus()
    for _ in range(6):
        page.keyboard.press("ArrowUp")
    page.wait_for_function(
        "([sel, old]) => { const im = document.querySelector(sel + ' img');"
        " return im && im.src !== old; }", arg=[WIDGET, src_before], timeout=20_000)
    page.wait_for_timeout(300)  # let the new image decode
    shot_after = image.screenshot(path=str(ARTIFACTS / f"browser_{stem}_after.png"))
    page.screenshot(path=str(ARTIFACTS / f"browser_{stem}_page.png"), full_page=False)
    assert readout.inner_text() != value_before, "the slider did not move"
    assert shot_after != shot_before, "the plot did not change after the slider moved"
