"""The KAN Playground in a real browser: Voilà serves notebooks/playground.ipynb, Chromium uses it.

Starts Voilà from this venv on localhost (a free port) on a temporary copy of the notebook,
opens it in headless Chromium through Playwright and checks what a student does: the page
loads with no console errors, Play trains (the train-RMSE readout falls within 20 s), a click
on an edge of the network picture opens the inspector, Prune changes the picture. Screenshots
go to ``tests/artifacts/`` (git-ignored). The server is always shut down.
"""

from __future__ import annotations

import os
import re
import shutil
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
from _browser import INSTALL_HINT, LAUNCH_ARGS, browser_executable

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts"
NOTEBOOK = REPO / "notebooks" / "playground.ipynb"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def voila(tmp_path: Path) -> Iterator[str]:
    """Voilà serving a copy of the Playground notebook; yields its URL; always shut down."""
    pytest.importorskip("voila", reason="voila is not installed (dev extra)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    if browser_executable() is None:
        pytest.skip(INSTALL_HINT)
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    port, state = _free_port(), tmp_path / "state"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
           "JUPYTER_CONFIG_DIR": str(state / "config"), "MPLBACKEND": "Agg",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cmd = [sys.executable, "-m", "voila", str(tmp_path / NOTEBOOK.name), "--no-browser",
           f"--port={port}", "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"]
    log = (tmp_path / "voila.log").open("w")
    server = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}voila/static/", timeout=2)
            except urllib.error.HTTPError:
                break  # the server answers (404 for the folder itself)
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    raise RuntimeError("Voila did not start:\n"
                                       + (tmp_path / "voila.log").read_text()[-3000:]) from None
                time.sleep(0.3)
            else:
                break
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        log.close()
        if "Traceback" in (tmp_path / "voila.log").read_text():
            print((tmp_path / "voila.log").read_text()[-3000:])


def test_playground_trains_inspects_and_prunes_in_voila(voila: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(browser_executable()), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.on("console", lambda m: errors.append(f"{m.text} ({m.location.get('url')})")
                if m.type == "error" and not _offline(m) else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(voila, timeout=120_000)
            _use_the_app(page)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "playground_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert errors == [], f"console errors: {errors}"


def _offline(message: Any) -> bool:
    """A resource from another host that this offline machine cannot reach (the badges' images,
    a CDN): not an error of the app."""
    url = message.location.get("url") or ""
    return "ERR_NAME_NOT_RESOLVED" in message.text and not url.startswith("http://127.0.0.1")


def _train_rmse(page: Any) -> float | None:
    text = page.locator(".kanlab-train-rmse").all_inner_texts()
    return float(text[0]) if text and re.fullmatch(r"[0-9.e+-]+", text[0]) else None


def _use_the_app(page: Any) -> None:
    from kanlab.widgets.playground_net import NetworkPicture

    app = page.locator(".kanlab-playground")
    app.wait_for(state="visible", timeout=120_000)
    canvas = page.locator(".kanlab-playground .jupyter-matplotlib-canvas-div canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "playground_loaded.png"), full_page=True)
    assert "Traceback" not in app.inner_text()

    # sparsity λ = 1e-3 (three notches right), then Play: the readout's train RMSE falls
    handle = page.locator(".kanlab-playground-lamb .noUi-handle, .kanlab-playground-lamb .slider-handle").first
    handle.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    page.locator(".kanlab-playground-play").click()
    start = time.time()
    first = None
    while time.time() - start < 20:
        value = _train_rmse(page)
        if value is not None and first is None:
            first = value
        if first is not None and value is not None and value < 0.5 * first:
            break
        page.wait_for_timeout(250)
    falls_after = time.time() - start
    last = _train_rmse(page)
    assert first is not None and last is not None and last < 0.5 * first, (first, last)
    page.wait_for_timeout(3000)  # a few more steps for pruning to find weak nodes
    page.locator(".kanlab-playground-play").click()  # Pause
    page.wait_for_function("() => document.querySelector('.kanlab-playground-play')"
                           ".textContent.includes('Play')", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "playground_trained.png"), full_page=True)
    print(f"train RMSE {first:.3g} -> {last:.3g} within {falls_after:.1f} s")

    # a click on edge (l=0, i=1, j=2) of the [2, 5, 1] picture opens the inspector
    ref = NetworkPicture(canvas="image")
    ref._layout([2, 5, 1])
    px, py = ref.pixel_center((0, 1, 2))
    box = canvas.bounding_box()
    scale = box["width"] / ref.fig.bbox.width
    page.mouse.click(box["x"] + px * scale, box["y"] + py * scale)
    inspector = page.locator(".kanlab-playground-inspector")
    inspector.wait_for(state="visible", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.kanlab-candidates tr').length > 3",
                           timeout=30_000)
    assert "l=0, i=1 → j=2" in inspector.inner_text() and "R²" in inspector.inner_text()
    page.screenshot(path=str(ARTIFACTS / "playground_inspector.png"), full_page=True)

    # Prune: the message says so and the network picture changes
    before = canvas.screenshot()
    page.locator(".kanlab-playground-prune").click()
    page.wait_for_function("() => document.querySelector('.kanlab-playground-message')"
                           ".textContent.includes('pruned')", timeout=30_000)
    page.wait_for_timeout(1500)  # the canvas asks the kernel for the new picture
    after = canvas.screenshot(path=str(ARTIFACTS / "playground_pruned_network.png"))
    page.screenshot(path=str(ARTIFACTS / "playground_pruned.png"), full_page=True)
    message = page.locator(".kanlab-playground-message").inner_text()
    assert re.search(r"width \[2, 5, 1\] → \[2, [1-4], 1\]", message), message
    assert after != before, "the network picture did not change after Prune"
