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
from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Voilà serving a copy of the Playground notebook; yields its URL; always shut down.
    Every page load gets its own kernel, so the tests share the server but not the app."""
    pytest.importorskip("voila", reason="voila is not installed (dev extra)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    if browser_executable() is None:
        pytest.skip(INSTALL_HINT)
    tmp_path = tmp_path_factory.mktemp("voila")
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


def _in_chromium(url: str, use: Callable[[Any], None], name: str) -> None:
    """Open ``url`` in headless Chromium, run ``use(page)``; no console errors allowed. A failure
    leaves ``tests/artifacts/{name}_failure.png``."""
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
            page.goto(url, timeout=120_000)
            use(page)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / f"{name}_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert errors == [], f"console errors: {errors}"


def test_playground_trains_inspects_and_prunes_in_voila(voila: str) -> None:
    _in_chromium(voila, _use_the_app, "playground")


def test_playground_with_a_multiplication_node_in_voila(voila: str) -> None:
    _in_chromium(voila, _use_a_mult_node, "playground_mult")


def _offline(message: Any) -> bool:
    """A resource from another host that this offline machine cannot reach (the badges' images,
    a CDN): not an error of the app."""
    url = message.location.get("url") or ""
    return "ERR_NAME_NOT_RESOLVED" in message.text and not url.startswith("http://127.0.0.1")


def _train_rmse(page: Any) -> float | None:
    text = page.locator(".kanlab-train-rmse").all_inner_texts()
    return float(text[0]) if text and re.fullmatch(r"[0-9.e+-]+", text[0]) else None


def _loaded(page: Any, name: str) -> tuple[Any, Any]:
    """Wait for the app and its network canvas; screenshot; returns (app, canvas)."""
    app = page.locator(".kanlab-playground")
    app.wait_for(state="visible", timeout=120_000)
    canvas = page.locator(".kanlab-playground .jupyter-matplotlib-canvas-div canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / f"{name}_loaded.png"), full_page=True)
    assert "Traceback" not in app.inner_text()
    return app, canvas


def _click_edge(page: Any, canvas: Any, edge: tuple[int, int, int], width: list[int],
                outs: list[int] | None = None, mult: list[list[int]] | None = None) -> Any:
    """Click ``edge``'s box on the canvas (positions from the picture's own layout); wait for the
    inspector and its candidate table; returns the inspector."""
    from kanlab.widgets.playground_net import NetworkPicture

    ref = NetworkPicture(canvas="image")
    ref._layout(width, outs, mult)
    px, py = ref.pixel_center(edge)
    box = canvas.bounding_box()
    scale = box["width"] / ref.fig.bbox.width
    page.mouse.click(box["x"] + px * scale, box["y"] + py * scale)
    inspector = page.locator(".kanlab-playground-inspector")
    inspector.wait_for(state="visible", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.kanlab-candidates tr').length > 3",
                           timeout=30_000)
    l, i, j = edge
    assert f"l={l}, i={i} → j={j}" in inspector.inner_text() and "R²" in inspector.inner_text()
    return inspector


def _wait_message(page: Any, words: str) -> str:
    page.wait_for_function("(w) => document.querySelector('.kanlab-playground-message')"
                           ".textContent.includes(w)", arg=words, timeout=30_000)
    return page.locator(".kanlab-playground-message").inner_text()


def _use_the_app(page: Any) -> None:
    app, canvas = _loaded(page, "playground")

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
    _click_edge(page, canvas, (0, 1, 2), [2, 5, 1])
    page.screenshot(path=str(ARTIFACTS / "playground_inspector.png"), full_page=True)

    # Prune: the message says so and the network picture changes
    before = canvas.screenshot()
    page.locator(".kanlab-playground-prune").click()
    message = _wait_message(page, "pruned")
    page.wait_for_timeout(1500)  # the canvas asks the kernel for the new picture
    after = canvas.screenshot(path=str(ARTIFACTS / "playground_pruned_network.png"))
    page.screenshot(path=str(ARTIFACTS / "playground_pruned.png"), full_page=True)
    assert re.search(r"width \[2, 5, 1\] → \[2, [1-4], 1\]", message), message
    assert after != before, "the network picture did not change after Prune"


def _use_a_mult_node(page: Any) -> None:
    """Type 3+1 in the hidden-layers box (3 sum nodes, 1 multiplication node), Step, inspect an
    edge into the mult node's second subnode, Snap it: the picture and the readouts follow."""
    app, canvas = _loaded(page, "playground_mult")
    before = canvas.screenshot()
    box = page.locator(".kanlab-playground-hidden input")
    box.fill("3+1")
    box.press("Enter")
    _wait_message(page, "new network: width [2, 3+1, 1]")
    readout = page.locator(".kanlab-playground-readout")
    page.wait_for_function("() => document.querySelector('.kanlab-playground-readout')"
                           ".textContent.includes('[2, 3+1, 1]')", timeout=30_000)
    page.wait_for_timeout(1500)
    drawn = canvas.screenshot(path=str(ARTIFACTS / "playground_mult_network.png"))
    assert drawn != before, "the network picture did not change for 3+1"
    for _ in range(3):
        page.locator(".kanlab-playground-step").click()
        page.wait_for_timeout(400)
    page.wait_for_function("() => document.querySelector('.kanlab-playground-readout')"
                           ".textContent.includes('step 3')", timeout=60_000)
    assert _train_rmse(page) is not None, readout.inner_text()

    # edge y → the mult node's second subnode: the right-most box of the first layer
    inspector = _click_edge(page, canvas, (0, 1, 4), [2, 4, 1], [5, 1], [[], [3], []])
    page.wait_for_timeout(1500)
    inspected = canvas.screenshot()
    page.locator(".kanlab-playground-snap").click()
    message = _wait_message(page, "snapped to")
    assert "l=0, i=1 → j=4" in message, message
    page.wait_for_function("() => document.querySelector('.kanlab-playground-inspector')"
                           ".textContent.includes('symbolic')", timeout=30_000)
    assert "1 of 14 edges are symbolic" in app.inner_text()
    page.wait_for_timeout(1500)  # the canvas asks the kernel for the new picture
    snapped = canvas.screenshot(path=str(ARTIFACTS / "playground_mult_snapped_network.png"))
    page.screenshot(path=str(ARTIFACTS / "playground_mult_snapped.png"), full_page=True)
    assert snapped != inspected, "the network picture did not change after Snap"
    assert "symbolic" in inspector.inner_text()
