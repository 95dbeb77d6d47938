"""Drive the course widgets as a student does: JupyterLab + headless Chromium (Playwright).

Used by ``tests/test_browser.py`` (one server and one browser for the whole module) and by
``benchmarks/widget_latency.py`` (the in-page latency: key press -> new ``<img>`` src).

- :class:`Lab` starts JupyterLab from this venv on localhost (a free port, a random token) with
  its root, runtime, config, settings and workspaces in a temporary folder; ``open`` copies a
  notebook there (outputs and stored widget state dropped), starts its kernel through the REST
  API (no "Select Kernel" dialog) and returns the page URL; ``close`` shuts the kernel down.
- :func:`widget_notebook` builds a small notebook from cells of a course notebook, picked by
  cell id (the real source, so the test follows the notebook), plus optional extra cells;
  :data:`WIDGETS` / :func:`course_widget` name, for every course widget, the cells it runs (with
  a cheap stand-in where the section before it is expensive) and the CSS selector of the widget.
- :func:`run_all` runs every cell from the Run menu and waits until the kernel is idle.
- :func:`key_latency` presses a key on a control and times, in the page, key press -> new
  ``src`` of the widget's image (:func:`pick_latency`: an option picked in a dropdown).

Nothing in the repository changes; screenshots go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _browser import LAUNCH_ARGS, browser_executable

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = browser_executable()  # chromium or chrome on PATH (tests/_browser.py), or None
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM_ARGS = LAUNCH_ARGS
VIEWPORT = {"width": 1280, "height": 900}
PROBE = "# probe cell (tests type code here)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook_cells(name: str) -> list[dict[str, Any]]:
    """The cells of ``notebooks/<name>.ipynb`` (name without the suffix)."""
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def widget_notebook(name: str, upto: str | None = None, ids: list[str] | None = None,
                    extra: list[str] | None = None, after: list[str] | None = None) -> dict[str, Any]:
    """A notebook of code cells from ``notebooks/<name>.ipynb``.

    ``upto``: every code cell up to and including the one with that id; else ``ids``: the first
    code cell (the setup) and these cells, in this order; ``extra``: sources placed after the
    setup cell (a cheap stand-in for an expensive earlier section); ``after``: ids appended at
    the end. A missing id raises KeyError (the notebook changed: update the test).
    """
    cells = notebook_cells(name)
    by_id = {c.get("id"): c for c in cells}
    code = [c for c in cells if c["cell_type"] == "code"]
    if upto is not None:
        stop = next(n for n, c in enumerate(code) if c.get("id") == upto)
        picked = code[: stop + 1]
    else:
        picked = [code[0]] + [by_id[i] for i in ids or []]
    sources = ["".join(c["source"]) for c in picked]
    sources[1:1] = extra or []
    sources += ["".join(by_id[i]["source"]) for i in after or []]
    sources.append(PROBE)  # an empty cell at the end for :func:`probe`
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{n}", "metadata": {},
                   "outputs": [], "source": src} for n, src in enumerate(sources)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


# Cheap stand-ins for the expensive sections before a widget: the same names, smaller models.
_NB06_DATA = ('dataset = create_dataset(exp_sin_xy, n_var=2, ranges=(-1, 1), n_train=200, '
              'n_test=200, seed=0)')
_NB07_MODEL = """dataset = create_dataset(exp_sin_xy, n_var=2, n_train=400, n_test=1000, seed=0)
x_train = dataset["train_input"]
model = KAN(width=[2, 1, 1], grid=5, k=3, seed=0)  # 07 prunes [2, 5, 1] down to this shape
model.fit(dataset, steps=20, progress=False)"""
_NB08_HISTORIES = """problem = sin_sin_y2_problem()
schedule = dict(alpha=0.01, n_side=9, n_test=21, lbfgs_iters=5)
kan = KAN(width=[2, 5, 1], grid=5, k=3, seed=0, dtype=torch.float64)
h_kan = train_pde(kan, problem, steps=[8, 8], grids=[5, 10], snapshot_every=2, **schedule)
best_act = "tanh"
tuning = {best_act: train_pde(mlp([2, 20, 20, 1], activation=best_act, seed=0), problem,
                              steps=16, snapshot_every=2, **schedule)}"""

#: name -> (course notebook, widget_notebook keyword arguments, CSS selector of the widget).
WIDGETS: dict[str, tuple[str, dict[str, Any], str]] = {
    "00_slider": ("00_start_here", {"upto": "e70f59f1"},
                  ".widget-vbox:has(> .widget-slider):has(img)"),
    "01_composer": ("01_kolmogorov_arnold_theorem", {"ids": ["969bcc5c", "da56d27f"]},
                    ".kanlab-ka-composer"),
    "02_bsplines": ("02_bsplines", {"ids": ["b0536b41", "094b120c", "a2dde73e", "adeafe3e"]},
                    ".kanlab-spline-explorer"),
    "03_trainer": ("03_learnable_activation", {"ids": ["8728233f", "82a1a1bf"]},
                   ".kanlab-edge-trainer"),
    "06_dashboard": ("06_function_fitting", {"ids": ["4a44412c", "fb697d8d"],
                                             "extra": [_NB06_DATA]}, ".kanlab-dashboard"),
    # 07's §6 (auto_symbolic on the notebook's model) runs after the widget, as in Run All
    "07_inspector": ("07_interpretability", {"ids": ["a6612d2f", "4ca297f4"],
                                             "extra": [_NB07_MODEL], "after": ["122ec3e3"]},
                     ".kanlab-edge-inspector"),
    "08_viewer": ("08_solving_pdes", {"ids": ["8084ed0a", "0a758ec8"],
                                      "extra": [_NB08_HISTORIES]}, ".kanlab-pde-viewer"),
}


def course_widget(name: str) -> tuple[dict[str, Any], str]:
    """(notebook, widget selector) for ``WIDGETS[name]``."""
    notebook, kwargs, selector = WIDGETS[name]
    return widget_notebook(notebook, **kwargs), selector


class Lab:
    """A JupyterLab server on a temporary root; ``with Lab() as lab: url = lab.open(...)``."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="kanlab-lab-"))
        self.root = self.tmp / "root"
        self.root.mkdir()
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.sessions: dict[str, str] = {}
        self.server: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Lab:
        state = self.tmp / "state"
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
               "JUPYTER_CONFIG_DIR": str(state / "config"), "MPLBACKEND": "Agg",
               "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"),
                                              os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", f"--ServerApp.token={self.token}",
               f"--ServerApp.root_dir={self.root}", f"--LabApp.workspaces_dir={state / 'ws'}",
               f"--LabApp.user_settings_dir={state / 'settings'}", "--ServerApp.port_retries=0"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = self.tmp / "server.log"
        self._log = self.log_path.open("w")
        self.server = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while True:
            try:
                self._api("GET", "status", timeout=2)
                return self
            except OSError:
                if self.server.poll() is not None or time.time() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError("JupyterLab did not start:\n"
                                       + self.log_path.read_text()[-3000:]) from None
                time.sleep(0.3)

    def _api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.base}/api/{path}?token={self.token}", data=data,
                                     method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def open(self, name: str, notebook: dict[str, Any]) -> str:
        """Write ``notebook`` as ``<name>.ipynb``, start its kernel; return the page URL."""
        path = f"{name}.ipynb"
        (self.root / path).write_text(json.dumps(notebook), encoding="utf-8")
        session = self._api("POST", "sessions", {"path": path, "type": "notebook", "name": path,
                                                 "kernel": {"name": "python3"}})
        self.sessions[path] = session["id"]
        # a workspace of its own: JupyterLab does not reopen the notebooks of earlier pages
        return f"{self.base}/lab/workspaces/{name}/tree/{path}?token={self.token}"

    def close(self, name: str) -> None:
        """Shut down the kernel of ``<name>.ipynb`` (frees the CPU for the next test)."""
        sid = self.sessions.pop(f"{name}.ipynb", None)
        if sid is not None:
            try:
                self._api("DELETE", f"sessions/{sid}", timeout=15)
            except OSError:
                pass

    def __exit__(self, *exc: Any) -> None:
        if self.server is None:
            return
        try:
            self._api("POST", "shutdown", timeout=5)
        except OSError:
            pass
        try:
            self.server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=5)
        self._log.close()
        self.server = None


def launch_browser(playwright: Any) -> Any:
    """The system's chromium through Playwright (no browser download)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def new_page(browser: Any) -> tuple[Any, list[str]]:
    """A page at 1280×900 and the list that collects its console errors and page errors."""
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def run_all(page: Any, url: str, timeout_s: float = 240) -> None:
    """Open ``url``, wait for the kernel, run all cells, wait until every cell has run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url)
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    try:  # only if JupyterLab still asks which kernel to use
        page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True).click(
            timeout=2_000)
    except PlaywrightTimeout:
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_timeout(1000)
    page.wait_for_function(
        "() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');"
        " const p = Array.from(document.querySelectorAll('.jp-InputArea-prompt'));"
        " return s && s.dataset.status === 'idle' && p.length > 0"
        " && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }",
        timeout=int(timeout_s * 1000))


def start_cell(page: Any, code: str) -> str:
    """Type ``code`` into the notebook's last cell and run it (Ctrl+Enter) without waiting;
    returns the cell's prompt before the run, for :func:`wait_cell`."""
    cell = page.locator(".jp-Notebook .jp-Cell").last
    cell.scroll_into_view_if_needed()
    before = cell.locator(".jp-InputArea-prompt").inner_text()
    editor = cell.locator(".cm-content")
    editor.click()
    editor.fill(code)
    page.keyboard.press("Control+Enter")
    return before


def wait_cell(page: Any, before: str, timeout_ms: int = 60_000) -> str:
    """Wait until the last cell, started by :func:`start_cell`, has run; return its output."""
    cell = page.locator(".jp-Notebook .jp-Cell").last
    page.wait_for_function(
        "([c, old]) => { const p = c.querySelector('.jp-InputArea-prompt');"
        " return p && p.textContent !== old && /\\[\\d+\\]/.test(p.textContent); }",
        arg=[cell.element_handle(), before], timeout=timeout_ms)
    wait_idle(page, timeout_ms)
    return cell.locator(".jp-OutputArea").inner_text()


def probe(page: Any, code: str, timeout_ms: int = 60_000) -> str:
    """Run ``code`` in the notebook's last cell (as a student typing it) and return its output
    text: a look at the kernel-side state behind what the page shows."""
    return wait_cell(page, start_cell(page, code), timeout_ms)


def tracebacks(page: Any) -> list[str]:
    """Texts of error outputs in the page (cell errors, widget error boxes)."""
    sel = (".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
           " .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    return [t for t in page.locator(sel).all_inner_texts() if "Error" in t or "Traceback" in t]


def widget_errors(errors: list[str]) -> list[str]:
    """Console errors that come from widgets (JupyterLab's own start-up noise is left out)."""
    noise = ("favicon", "Failed to load resource", "lab/api/", "/api/", "kernelspecs",
             "WebSocket", "ws://", "lsp", "Language server", "workspaces")
    return [e for e in errors if not any(n in e for n in noise)]


def show(page: Any, selector: str) -> Any:
    """The first widget matching ``selector``, scrolled into view."""
    widget = page.locator(selector).first
    widget.wait_for(state="attached", timeout=30_000)
    widget.scroll_into_view_if_needed()
    widget.wait_for(state="visible", timeout=30_000)
    return widget


def labelled(widget: Any, kind: str, description: str) -> Any:
    """The control of class ``kind`` (e.g. ``.widget-slider``) labelled ``description``."""
    return widget.locator(kind, has=widget.page.locator(
        f"label:text-is('{description}')")).first


def slider(widget: Any, description: str) -> Any:
    """The slider control of ``widget`` whose label is ``description``."""
    return labelled(widget, ".widget-slider", description)


def handle(control: Any) -> Any:
    """A slider's handle (what keys move)."""
    return control.locator(".noUi-handle").first


def dropdown(widget: Any, description: str) -> Any:
    """The ``<select>`` of the dropdown of ``widget`` whose label is ``description``."""
    return labelled(widget, ".widget-dropdown", description).locator("select")


def press(page: Any, control: Any, key: str, times: int = 1) -> None:
    """Focus a slider's handle and press ``key`` ``times`` times."""
    handle(control).focus()
    for _ in range(times):
        page.keyboard.press(key)


def type_readout(page: Any, control: Any, value: Any) -> None:
    """Type ``value`` into a slider's editable readout and press Enter (as a student may)."""
    readout = control.locator(".widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def src(widget: Any, n: int = 0) -> str:
    """The ``src`` of the n-th image in ``widget`` (a Playwright locator)."""
    return widget.locator("img").nth(n).get_attribute("src") or ""


def wait_new_src(page: Any, widget: Any, old: str, n: int = 0, timeout_ms: int = 30_000) -> str:
    """Wait until the n-th image of ``widget`` shows a new picture; return its src."""
    img = widget.locator("img").nth(n)
    page.wait_for_function("([im, old]) => im && im.src !== old",
                           arg=[img.element_handle(), old], timeout=timeout_ms)
    return src(widget, n)


def wait_idle(page: Any, timeout_ms: int = 60_000) -> None:
    """Wait until the kernel is idle (a button's callback has finished)."""
    page.wait_for_timeout(300)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=timeout_ms)


def settle(page: Any, widget: Any, n: int = 0, quiet_ms: int = 700,
           timeout_ms: int = 30_000) -> str:
    """Wait until the n-th image of ``widget`` has not changed for ``quiet_ms``; return src."""
    t_end = time.time() + timeout_ms / 1000
    last, since = src(widget, n), time.time()
    while time.time() < t_end:
        page.wait_for_timeout(100)
        now = src(widget, n)
        if now != last:
            last, since = now, time.time()
        elif time.time() - since >= quiet_ms / 1000:
            return now
    raise TimeoutError("the widget's image kept changing")


_LATENCY_JS = """
([im, event]) => { window.__kanlabLatency = new Promise((resolve) => {
  const old = im.src;
  let t0 = null;
  const obs = new MutationObserver(() => {
    if (t0 !== null && im.src !== old) { obs.disconnect(); resolve(performance.now() - t0); }
  });
  obs.observe(im, {attributes: true, attributeFilter: ['src']});
  document.addEventListener(event, () => { if (t0 === null) t0 = performance.now(); },
                            {capture: true});
  setTimeout(() => { obs.disconnect(); resolve(-1); }, 20000);
}); }
"""


def event_latency(page: Any, widget: Any, actions: list[Callable[[], Any]], event: str,
                  n_img: int = 0, pause_ms: int = 150) -> list[float]:
    """Milliseconds from the page's first ``event`` of each action to a new src of the widget's
    image.

    For each action: a promise in the page notes ``performance.now()`` at the first ``event``
    (capture phase, before any widget sees it) and resolves when the image's ``src`` attribute
    changes; then the action runs. -1 means no new image within 20 s.
    """
    img = widget.locator("img").nth(n_img).element_handle()
    times = []
    for act in actions:
        page.evaluate(_LATENCY_JS, [img, event])
        act()
        times.append(float(page.evaluate("() => window.__kanlabLatency")))
        page.wait_for_timeout(pause_ms)
    return times


def key_latency(page: Any, widget: Any, control: Any, keys: list[str], n_img: int = 0,
                pause_ms: int = 150) -> list[float]:
    """Milliseconds from each key press (keydown) on ``control`` to the widget's new picture."""
    def press_on(key: str) -> Callable[[], None]:
        def act() -> None:
            control.focus()
            page.keyboard.press(key)
        return act

    return event_latency(page, widget, [press_on(k) for k in keys], "keydown", n_img, pause_ms)


def pick_latency(page: Any, widget: Any, select: Any, options: list[str], n_img: int = 0,
                 pause_ms: int = 150) -> list[float]:
    """Milliseconds from each option picked in the ``<select>`` (its input event) to the
    widget's new picture."""
    def pick(option: str) -> Callable[[], None]:
        return lambda: select.select_option(label=option)

    return event_latency(page, widget, [pick(o) for o in options], "input", n_img, pause_ms)
