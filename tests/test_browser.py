"""Every course widget in a real browser: JupyterLab + headless Chromium, driven as a student.

One JupyterLab server and one browser serve the whole module (``tests/browser_lab.py``). Each
test opens a small notebook made of the real cells of a course notebook (picked by cell id: the
setup cell, the widget's cells, and where a section before it is expensive, a cheap stand-in),
runs all cells from the Run menu, moves every kind of control (arrow keys on sliders, typed
slider readouts, dropdowns, buttons) and asserts on what the page shows: a new image, the
readout's numbers, no error box, no console error. A probe cell at the end reads the kernel-side
state behind the picture where the page alone cannot tell. Screenshots: ``tests/artifacts/``.

Each numbered finding of issue 19 has an assertion here or, for pure layout items, in
``tests/test_widgets.py`` (figure checks); the comments name the finding.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from _browser import INSTALL_HINT
from browser_lab import (
    ARTIFACTS,
    CHROMIUM,
    Lab,
    launch_browser,
    new_page,
    probe,
    run_all,
    settle,
    src,
    tracebacks,
    wait_idle,
    wait_new_src,
    widget_errors,
    widget_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if CHROMIUM is None:
        pytest.skip(INSTALL_HINT)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    with Lab() as server:
        yield server


@pytest.fixture(scope="module")
def browser(lab: Lab) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def student(lab: Lab, browser: Any, name: str, notebook: dict[str, Any]) -> Iterator[Any]:
    """Open ``notebook``, Run All, yield the page; screenshot on failure; no errors at the end."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = lab.open(name, notebook)
    page, errors = new_page(browser)
    try:
        run_all(page, url)
        assert tracebacks(page) == [], tracebacks(page)
        yield page
        assert tracebacks(page) == [], tracebacks(page)
        assert widget_errors(errors) == [], widget_errors(errors)
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / f"browser_{name}_failure.png"))
        raise
    finally:
        page.close()
        lab.close(name)


def show(page: Any, selector: str) -> Any:
    """The first widget matching ``selector``, scrolled into view."""
    widget = page.locator(selector).first
    widget.wait_for(state="attached", timeout=30_000)
    widget.scroll_into_view_if_needed()
    widget.wait_for(state="visible", timeout=30_000)
    return widget


def slider(widget: Any, description: str) -> Any:
    """The slider control of ``widget`` whose label is ``description``."""
    return widget.locator(".widget-slider", has=widget.page.locator(
        f"label:text-is('{description}')")).first


def press(page: Any, control: Any, key: str, times: int = 1) -> None:
    """Focus a slider's handle and press ``key`` ``times`` times."""
    handle = control.locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        page.keyboard.press(key)


def type_readout(page: Any, control: Any, value: Any) -> None:
    """Type ``value`` into a slider's editable readout and press Enter (as a student may)."""
    readout = control.locator(".widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")


def shot(widget: Any, path: str) -> bytes:
    return widget.screenshot(path=str(ARTIFACTS / path))


def number(text: str, pattern: str) -> float:
    """The number after ``pattern`` in ``text`` (e.g. the RMSE in a readout)."""
    match = re.search(pattern + r"\s*([-+0-9.eE]+)", text)
    assert match, f"{pattern!r} not in {text!r}"
    return float(match.group(1))


def colour_share(png: bytes, rgb: tuple[int, int, int], tol: int = 6) -> float:
    """Share of the pixels of a screenshot within ``tol`` of colour ``rgb``."""
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float(np.mean(np.all(np.abs(a - np.array(rgb)) <= tol, axis=-1)))


# ----- 02: SplineExplorer and CoxDeBoorExplorer (findings 1, 2, 3) ------------------------------
def test_02_spline_explorer_and_cox_de_boor(lab: Lab, browser: Any) -> None:
    from kanlab.widgets import SplineExplorer
    from kanlab.widgets.cox_de_boor import BAND

    nb = widget_notebook("02_bsplines", ids=["b0536b41", "094b120c", "a2dde73e", "adeafe3e"])
    with student(lab, browser, "nb02", nb) as page:
        w = show(page, ".kanlab-spline-explorer")
        readout = w.locator(".widget-html").last

        # finding 1: the readout is the exact least-squares fit, not the slider-rounded one
        exact = SplineExplorer(grid=5, k=3, target="sin", canvas="image").fit_rmse()
        shown = number(readout.inner_text(), r"RMSE to target 'sin':")
        assert shown == pytest.approx(exact, rel=0.02), (shown, exact)
        # ... and the highlight is still B0 (no slider echo moved it), drawn once
        state = probe(page, "print(explorer.selected, explorer.redraw_count)")
        assert state.split()[0] == "0", state

        # a coefficient moved with the keyboard: the slider, the picture and the readout change
        before_src, before_png = src(w), shot(w.locator("img").first, "browser_02_spline_before.png")
        c3 = w.locator(".kanlab-coef-slider").nth(3)
        value_before = c3.locator(".widget-readout").inner_text()
        press(page, c3, "ArrowUp", 6)
        wait_new_src(page, w, before_src)
        page.wait_for_timeout(300)
        assert c3.locator(".widget-readout").inner_text() != value_before
        assert shot(w.locator("img").first, "browser_02_spline_after.png") != before_png
        assert number(readout.inner_text(), r"RMSE to target 'sin':") > shown

        # finding 1: G = 20 typed into the readout, then Fit: RMSE ≤ 1e-4 (was 0.013), one redraw
        type_readout(page, slider(w, "G (intervals)"), 20)
        page.wait_for_function(
            "(w) => w.querySelectorAll('.kanlab-coef-slider').length === 23", arg=w.element_handle(),
            timeout=30_000)
        settle(page, w)
        count = int(probe(page, "print(explorer.redraw_count)").strip())
        w.get_by_role("button", name="Fit target").click()
        wait_idle(page)
        settle(page, w)
        assert number(readout.inner_text(), r"RMSE to target 'sin':") <= 1e-4
        assert int(probe(page, "print(explorer.redraw_count)").strip()) - count <= 2
        # finding 2: all 23 coefficient sliders visible, none hidden in a scroll area
        w.scroll_into_view_if_needed()
        box = w.bounding_box()
        for n in range(23):
            s = w.locator(".kanlab-coef-slider").nth(n).bounding_box()
            assert s["x"] >= box["x"] - 1 and s["x"] + s["width"] <= box["x"] + box["width"] + 1, n
        shot(w, "browser_02_spline_g20.png")
        # finding 2: with init="fit" there is no Reset that does what Fit does; All c = 1 works
        assert not w.get_by_role("button", name="Reset").is_visible()
        old = src(w)
        w.get_by_role("button", name="All c = 1").click()
        wait_new_src(page, w, old)
        assert "0.00e+00" not in readout.inner_text()
        # k changed with the keyboard (a slider that rebuilds)
        old = src(w)
        press(page, slider(w, "k (order)"), "ArrowDown")
        wait_new_src(page, w, old)

        # finding 3: CoxDeBoorExplorer: the blue band the label names is in the live image
        cdb = show(page, ".kanlab-cox-de-boor")
        img = cdb.locator("img").first
        assert colour_share(shot(img, "browser_02_cdb.png"),
                            tuple(int(BAND[i:i + 2], 16) for i in (1, 3, 5))) > 0.02
        for label, key in (("order p shown", "ArrowDown"), ("basis c", "ArrowUp"),
                           ("G (intervals)", "ArrowUp"), ("k (final order)", "ArrowDown")):
            old = src(cdb)
            press(page, slider(cdb, label), key)
            wait_new_src(page, cdb, old)
        shot(img, "browser_02_cdb_moved.png")
