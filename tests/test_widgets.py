"""Headless tests for kanlab.widgets: set controls as a student would, assert on plotted data.

No browser and no kernel: ipywidgets run without a comm, matplotlib draws with Agg.
The real-browser test is tests/test_browser.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

ipywidgets = pytest.importorskip("ipywidgets")

from figure_checks import assert_readable  # noqa: E402

from kanlab.widgets import CoxDeBoorExplorer, KAComposer, SplineExplorer  # noqa: E402
from kanlab.widgets._bspline_np import cox_de_boor_levels, greville, uniform_knots_1d  # noqa: E402


# ----- the private Cox–de Boor against references -------------------------------------------
@pytest.mark.parametrize("k", range(6))
def test_numpy_levels_match_scipy_and_library(k: int) -> None:
    from scipy.interpolate import BSpline

    from kanlab.splines import bspline_basis, uniform_knots

    knots = uniform_knots_1d(4, k, (-1.0, 1.0))
    x = np.linspace(-1.5, 1.5, 301) + 1e-3  # off the knots (scipy closes the last interval)
    levels = cox_de_boor_levels(x, knots, k)
    assert [lv.shape for lv in levels] == [(301, len(knots) - 1 - p) for p in range(k + 1)]
    for c in range(4 + k):
        ref = BSpline.basis_element(knots[c : c + k + 2], extrapolate=False)(x)
        np.testing.assert_allclose(levels[-1][:, c], np.nan_to_num(ref), atol=1e-12)
    lib = bspline_basis(torch.tensor(x)[:, None], uniform_knots(1, 4, k, (-1, 1)).double(), k)
    np.testing.assert_allclose(levels[-1], lib[:, 0].numpy(), atol=1e-12)


def test_greville_is_knot_average() -> None:
    knots = uniform_knots_1d(2, 2, (0.0, 2.0))  # -2, -1, 0, 1, 2, 3, 4
    np.testing.assert_allclose(greville(knots, 2), [-0.5, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(greville(knots, 0), 0.5 * (knots[:-1] + knots[1:]))


# ----- SplineExplorer ---------------------------------------------------------------------------
def test_spline_explorer_defaults() -> None:
    e = SplineExplorer(grid=5, k=3, target="sin")
    assert len(e.coef_sliders) == 8 == e.n_basis
    assert all(s.description for s in e.coef_sliders)
    assert len(e.basis_lines) == 8
    assert e.partition_error() < 1e-12
    assert e.fit_rmse() < 0.02  # least-squares init fits sin(pi x) well
    assert "partition of unity" in e.readout.value
    assert isinstance(e.view, ipywidgets.Image) and e.view.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "SplineExplorer(grid=5, k=3" in repr(e)


def test_coef_slider_changes_spline_only_on_its_support() -> None:
    e = SplineExplorer(grid=6, k=2, target="sin")
    c, delta = 3, 0.5
    before = np.array(e.spline_line.get_ydata(), dtype=float)
    png_before = e.view.value
    e.coef_sliders[c].value = e.coef_sliders[c].value + delta
    after = np.array(e.spline_line.get_ydata(), dtype=float)
    diff = after - before
    lo, hi = e.support(c)
    outside = (e.x < lo) | (e.x >= hi)
    assert np.all(diff[outside] == 0.0)
    assert np.abs(diff[~outside]).max() > 0.1
    # exactly delta * B_c on the support (up to the slider's step rounding of the old value)
    moved = e.coef_sliders[c].value - (e.coef_sliders[c].value - delta)
    np.testing.assert_allclose(diff, moved * e.basis[:, c], atol=0.03)
    assert e.selected == c and e.view.value != png_before
    np.testing.assert_allclose(e.control_line.get_ydata()[c], e.coef[c])


def test_grid_and_k_rebuild_sliders() -> None:
    e = SplineExplorer(grid=5, k=3)
    e.grid_slider.value = 12
    assert len(e.coef_sliders) == 15 == len(e.coef_box.children) == len(e.basis_lines)
    e.k_slider.value = 0
    assert len(e.coef_sliders) == 12 and e.knots.shape == (13,)
    e.k_slider.value = 5
    assert len(e.coef_sliders) == 17 and e.partition_error() < 1e-12
    assert e.last_error is None


@pytest.mark.parametrize(("grid", "k"), [(1, 0), (1, 5), (20, 0), (20, 5)])
def test_slider_bounds_raise_nothing(grid: int, k: int) -> None:
    e = SplineExplorer(grid=grid, k=k, target="step")
    e.grid_slider.value, e.k_slider.value = grid, k
    for s in (e.coef_sliders[0], e.coef_sliders[-1]):
        s.value = s.max
        s.value = s.min
    e.randomize()
    e.fit_target()
    assert e.last_error is None and np.isfinite(e.spline).all()


def test_out_of_range_values() -> None:
    # constructor and setters raise a ValueError naming the argument and the range ...
    with pytest.raises(ValueError, match=r"grid must be an integer in 1\.\.20, got 25"):
        SplineExplorer(grid=25)
    with pytest.raises(ValueError, match=r"k must be an integer in 0\.\.5"):
        SplineExplorer(k=-1)
    with pytest.raises(ValueError, match="target must be one of"):
        SplineExplorer(target="tan")
    e = SplineExplorer(grid=5, k=3)
    with pytest.raises(ValueError, match="grid must be"):
        e.set_grid(0)
    # ... while sliders clamp to their bounds (ipywidgets) and the widget follows the clamp
    e.grid_slider.value = 99
    assert e.grid_slider.value == 20 and e.grid == 20 and len(e.coef_sliders) == 23
    e.coef_sliders[0].value = 1e6
    assert e.coef[0] == e.coef_sliders[0].max
    before = e.coef.copy()
    with pytest.raises(ValueError, match="value must be a finite number, got nan"):
        e.set_coef(1, float("nan"))
    with pytest.raises(ValueError, match=r"c must be an integer in 0\.\.22"):
        e.set_coef(23, 0.5)
    np.testing.assert_array_equal(e.coef, before)


def test_buttons_fit_randomize_reset() -> None:
    e = SplineExplorer(grid=8, k=3, target="sin")
    fitted = e.coef.copy()
    e.randomize_button.click()
    assert not np.allclose(e.coef, fitted) and np.abs(e.coef).max() <= 1.0
    assert np.allclose([s.value for s in e.coef_sliders], e.coef, atol=0.03)
    e.reset_button.click()
    np.testing.assert_allclose(e.coef, fitted)
    e.target_dropdown.value = "abs"
    rmse_before = e.fit_rmse()
    e.fit_button.click()
    assert e.fit_rmse() < rmse_before and e.fit_rmse() < 0.02
    np.testing.assert_allclose(e.target_line.get_ydata(), np.abs(e.x))


def test_randomize_is_seeded() -> None:
    a, b = SplineExplorer(seed=3), SplineExplorer(seed=3)
    a.randomize()
    b.randomize()
    np.testing.assert_array_equal(a.coef, b.coef)


def test_callback_error_is_shown_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    e = SplineExplorer()

    def boom() -> None:
        raise RuntimeError("least squares exploded")

    monkeypatch.setattr(e, "_lstsq_coef", boom)
    e.fit_button.click()
    assert isinstance(e.last_error, RuntimeError)
    assert "least squares exploded" in e.error_box.outputs[0]["text"]
    e.randomize_button.click()  # the next successful callback clears the box
    assert e.last_error is None and e.error_box.outputs == ()


def test_static_figure_is_default_state_and_writes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    e = SplineExplorer(grid=5, k=3)
    e.coef_sliders[2].value = 1.9
    fig = e.static_figure()
    spline = fig.axes[0].lines[1].get_ydata()
    np.testing.assert_allclose(spline, SplineExplorer(grid=5, k=3).spline)
    img = e.static_image()
    assert img.data[:4] == b"\x89PNG"
    assert list(tmp_path.iterdir()) == []


def test_ipympl_canvas_mode() -> None:
    import matplotlib

    with pytest.raises(ValueError, match="needs the ipympl backend"):
        SplineExplorer(canvas="ipympl")  # and the backend is left alone
    assert matplotlib.get_backend().lower() == "agg"
    with pytest.raises(ValueError, match="canvas must be one of"):
        SplineExplorer(canvas="svg")
    pytest.importorskip("ipympl")
    matplotlib.use("module://ipympl.backend_nbagg")  # what %matplotlib widget does
    try:
        e = SplineExplorer(grid=4, k=2)  # "auto" follows the backend
        assert e.canvas_mode == "ipympl" and e.view is e.fig.canvas
        e.coef_sliders[1].value = 1.0
        assert e.last_error is None and e.redraw_count == 1
    finally:
        matplotlib.use("Agg")
    assert SplineExplorer().canvas_mode == "image"


# ----- CoxDeBoorExplorer ------------------------------------------------------------------------
def test_cox_de_boor_pieces_sum_to_basis() -> None:
    w = CoxDeBoorExplorer(grid=4, k=3)
    for p in range(4):
        w.level_slider.value = p
        for c in range(w.n_at_level(p)):
            w.c_slider.value = c
            left, right = w.pieces()
            np.testing.assert_allclose(left + right, w.levels[p][:, c], atol=1e-12)
            np.testing.assert_allclose(w.basis_line.get_ydata(), w.levels[p][:, c])
    assert w.last_error is None


def test_cox_de_boor_sliders_follow_structure() -> None:
    w = CoxDeBoorExplorer(grid=4, k=3, level=3, c=6)
    assert w.c_slider.max == 6
    w.k_slider.value = 1  # level clamps to the new k, c to the new count
    assert w.level == 1 and w.level_slider.max == 1 and w.c == w.n_at_level(1) - 1
    w.k_slider.value, w.grid_slider.value = 5, 20
    w.level_slider.value = 0
    assert w.c_slider.max == 29 and w.last_error is None
    with pytest.raises(ValueError, match="level must be an integer in 0..3"):
        CoxDeBoorExplorer(k=3, level=4)


# ----- KAComposer ------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["x·y via squares", "x/y via exp-log", "exp(sin πx + y²)", "x + y"])
def test_ka_presets_are_exact(preset: str) -> None:
    w = KAComposer()
    w.preset_dropdown.value = preset
    assert w.max_error() < 1e-12
    np.testing.assert_allclose(w.image_f.get_array(), w.target(), atol=1e-12)
    assert "exact" in w.readout.value and w.last_error is None


def test_ka_dropdowns_change_the_surface() -> None:
    w = KAComposer(preset="x·y via squares")
    before = np.array(w.image_f.get_array())
    w.term_dropdowns[1][2].value = "0"  # drop the second term: only (x + y)²/4 is left
    x, y = w.grid_xy()
    np.testing.assert_allclose(w.image_f.get_array(), (x + y) ** 2 / 4, atol=1e-12)
    assert not np.allclose(before, w.image_f.get_array())
    assert w.formula() == "(x + y)²/4"
    assert "exact" not in w.readout.value
    with pytest.raises(ValueError, match="n_terms must be an integer in 1..5"):
        KAComposer(n_terms=6)


# ----- EdgeTrainer ------------------------------------------------------------------------------
def test_edge_trainer_learns_and_scrubs() -> None:
    from kanlab.widgets import EdgeTrainer

    w = EdgeTrainer(grid=5, k=3, target="sin(πx)", epochs=60, lr=0.05, snapshot_every=5)
    assert sorted(w.snapshots) == list(range(0, 61, 5))
    assert w.losses[-1] < 0.5 * w.losses[0]
    # the last snapshot is the layer's own forward pass, split into its two parts
    x = torch.as_tensor(w.x, dtype=torch.float64)[:, None]
    with torch.no_grad():
        np.testing.assert_allclose(w.snapshots[60]["phi"], w.layer(x)[:, 0].numpy(), atol=1e-12)
    snap = w.snapshots[60]
    np.testing.assert_allclose(snap["base"] + snap["spline"], snap["phi"])
    w.epoch_slider.value = 10
    np.testing.assert_allclose(w.phi_line.get_ydata(), w.snapshots[10]["phi"])
    assert w.epoch == 10 and "epoch 10" in w.readout.value
    w.epoch_slider.value = 0
    np.testing.assert_allclose(w.phi_line.get_ydata(), w.snapshots[0]["phi"])
    assert w.last_error is None


def test_edge_trainer_retrain_and_bounds() -> None:
    from kanlab.widgets import EdgeTrainer

    w = EdgeTrainer(grid=3, epochs=20, snapshot_every=4)
    w.grid_slider.value, w.target_dropdown.value = 8, "|x|"
    w.train_button.click()
    assert w.layer.coef.shape == (1, 1, 11) and w.epoch == 20
    np.testing.assert_allclose(w.target_line.get_ydata(), np.abs(w.x))
    assert w.last_error is None
    a, b = EdgeTrainer(epochs=10, seed=1), EdgeTrainer(epochs=10, seed=1)
    np.testing.assert_array_equal(a.losses, b.losses)  # seeded: same curve twice
    with pytest.raises(ValueError, match="lr must be"):
        EdgeTrainer(lr=0)
    with pytest.raises(ValueError, match="target must be one of"):
        EdgeTrainer(target="tan")


# ----- TrainingDashboard ----------------------------------------------------------------------
def _tiny_dataset() -> dict[str, torch.Tensor]:
    from kanlab.datasets import create_dataset

    return create_dataset(lambda x: torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2, n_var=2,
                          n_train=64, n_test=64, seed=0)


def test_dashboard_records_throttles_and_marks_fits() -> None:
    from kanlab.model import KAN
    from kanlab.widgets import TrainingDashboard

    ds, model = _tiny_dataset(), KAN([2, 1], grid=3, k=3, seed=0)
    dash = TrainingDashboard(every=4, min_interval=0.0, show_network=False, max_draw_fraction=1.0)
    history = model.fit(ds, opt="Adam", lr=0.05, steps=14, callback=dash, progress=False)
    assert dash.train_loss == pytest.approx(history["train_loss"])
    assert dash.test_loss == pytest.approx(history["test_loss"])
    assert dash.draw_count == 3  # after steps 4, 8, 12: every 4th step, not every step
    np.testing.assert_allclose(dash.train_line.get_ydata(), history["train_loss"][:12])
    assert dash.ax.get_yscale() == "log"
    model.refine(5)
    dash.fit(model, ds, opt="Adam", lr=0.05, steps=5)  # a second fit appends, marked by a line
    assert len(dash.train_loss) == 19 and dash.fit_starts == [0, 14]
    assert len(dash._fit_lines) == 1 and len(dash.train_line.get_xdata()) == 19  # final draw
    assert "step 19" in dash.status.value and dash.last_error is None
    assert len(dash.static_figure().axes[0].lines) == 3


def test_dashboard_stop_button_and_background() -> None:
    from kanlab.model import KAN
    from kanlab.widgets import TrainingDashboard

    ds, model = _tiny_dataset(), KAN([2, 1], grid=3, k=3, seed=0)
    dash = TrainingDashboard(show_network=False)
    dash.stop_button.click()  # nothing is training: no stale "stop requested" for a later fit
    assert not dash.stop_requested and "nothing is training" in dash.status.value

    def click_at_step_3(model, step, history):
        if step == 3:
            dash.stop_button.click()
        return dash(model, step, history)

    history = model.fit(ds, opt="Adam", steps=30, callback=click_at_step_3, progress=False)
    assert len(history["train_loss"]) == 4 and dash.stop_requested
    dash.finish()
    assert "stopped by the Stop button after step 4" in dash.status.value
    assert not dash.stop_requested  # the next fit runs in full
    dash2 = TrainingDashboard(show_network=False)
    thread = dash2.fit(model, ds, background=True, opt="Adam", steps=6)
    thread.join(timeout=60)
    assert len(dash2.history["train_loss"]) == 6 == len(dash2.train_loss)
    assert "finished after step 6" in dash2.status.value
    with pytest.raises(ValueError, match="min_interval must be"):
        TrainingDashboard(min_interval=-1)
    with pytest.raises(ValueError, match=r"max_draw_fraction must be in \(0, 1\]"):
        TrainingDashboard(max_draw_fraction=0)


def test_dashboard_drawing_never_dominates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Throttling, checked on a fake clock: training steps cost 10 ms, a redraw 50 ms."""
    import types

    from kanlab.model import KAN
    from kanlab.widgets import TrainingDashboard, dashboard

    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(dashboard, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))
    ds, model = _tiny_dataset(), KAN([2, 1], grid=3, k=3, seed=0)
    dash = TrainingDashboard(every=1, min_interval=0.0, show_network=False, max_draw_fraction=0.2)
    original = dash.redraw

    def slow_redraw(**kw):
        clock.now += 0.05
        return original(**kw)

    def timed_callback(m, step, history):
        clock.now += 0.01
        return dash(m, step, history)

    monkeypatch.setattr(dash, "redraw", slow_redraw)
    model.fit(ds, opt="Adam", steps=30, callback=timed_callback, progress=False)
    assert 1 <= dash.draw_count < 30  # unthrottled it would draw at every one of the 30 steps
    assert dash.draw_seconds <= 0.2 * clock.now + 0.05  # at most the budget plus one draw


def test_dashboard_network_picture_when_plot_kan_exists() -> None:
    from kanlab import plotting
    from kanlab.model import KAN
    from kanlab.widgets import TrainingDashboard

    ds, model = _tiny_dataset(), KAN([2, 1], grid=3, k=3, seed=0)
    dash = TrainingDashboard(every=1, network_every=2, min_interval=0.0, max_draw_fraction=1.0)
    model.fit(ds, opt="Adam", steps=4, callback=dash, progress=False)
    if not hasattr(plotting, "plot_kan"):
        assert "not available" in dash.network_note.value
    else:
        # the first step, then every network_every steps: after steps 1, 2 and 4
        assert dash.network_count == 3 and dash.network_view.value[:4] == b"\x89PNG"
    assert dash.last_error is None


# ----- EdgeInspector ---------------------------------------------------------------------------
def test_edge_inspector_ranks_and_snaps() -> None:
    from kanlab.model import KAN
    from kanlab.widgets import EdgeInspector

    ds = _tiny_dataset()
    model = KAN([2, 1], grid=5, k=3, seed=0)
    model.fit(ds, steps=10, progress=False)
    x = ds["train_input"]
    w = EdgeInspector(model, x, top_k=2, lib=["x", "x^2", "sin"], precompute=False)
    assert len(w.suggestions) == 2 and w.candidate_dropdown.options[0] == w.suggestions[0].name
    assert w.suggestions[0].name == "sin" and w.suggestions[0].r2 > 0.99
    np.testing.assert_allclose(w.sample_dots.get_xdata(), x[:, 0].numpy())
    w.i_slider.value = 1
    assert w.i == 1 and w.suggestions[0].name == "x^2" and "x^2" in w.table.value
    y_before = model(x).detach().clone()
    png = w.view.value
    w.snap_button.click()
    assert w.is_symbolic() and "snapped to <b>x^2</b>" in w.readout.value
    assert torch.allclose(w.model(x), y_before, atol=0.05)  # the snap keeps the function
    # finding 6: the picture shows the snapped edge, the readout the effect on the model
    assert w.now_dots.get_visible() and w.view.value != png
    np.testing.assert_allclose(w.now_dots.get_ydata(), w.edge_now())
    assert f"RMS {w.output_change():.2e}" in w.readout.value and w.output_change() > 0
    assert not model.layers[0].sym_mask.any()  # the widget has its own model
    png = w.view.value
    w.clear_button.click()
    assert not w.is_symbolic() and w.last_error is None
    assert not w.now_dots.get_visible() and w.view.value != png
    assert "RMS 0.00e+00" in w.readout.value
    with pytest.raises(ValueError, match=r"x must be a tensor of shape \(batch, 2\)"):
        EdgeInspector(model, x[:, :1])


def test_package_exports_are_lazy() -> None:
    import subprocess
    import sys

    code = ("import sys, kanlab.widgets as w; assert 'ipywidgets' not in sys.modules; "
            "assert 'matplotlib' not in sys.modules; print(sorted(w.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "SplineExplorer" in out.stdout and "PDEViewer" in out.stdout


@pytest.mark.parametrize("name", ["SplineExplorer", "CoxDeBoorExplorer", "KAComposer", "EdgeTrainer"])
def test_static_image_of_a_fresh_widget_creates_no_widgets(name: str) -> None:
    """Each extra ipywidget would be stored in the notebook's widget state: static_image() of
    an untouched widget copies its figure instead of rebuilding the widget."""
    import kanlab.widgets as kw

    w = getattr(kw, name)(**({"epochs": 10} if name == "EdgeTrainer" else {}))
    before = len(ipywidgets.widgets.widget._instances)
    img = w.static_image()
    assert len(ipywidgets.widgets.widget._instances) == before
    assert img.data[:4] == b"\x89PNG" and len(img.data) < 60_000
    assert w.fig.canvas is not None and w.redraw_count == 0


def test_coefficient_move_blits_instead_of_full_redraw(monkeypatch: pytest.MonkeyPatch) -> None:
    """The latency budget (benchmarks/widget_latency.py: ≤ 50 ms) rests on this: a coefficient
    move redraws a few artists over a cached background, never the whole figure."""
    e = SplineExplorer(grid=20, k=3)
    e.coef_sliders[0].value += 0.05  # the first move caches the background
    calls = []
    original = e.fig.canvas.draw
    monkeypatch.setattr(e.fig.canvas, "draw", lambda *a, **kw: calls.append(1) or original(*a, **kw))
    for c in (3, 10, 22):
        e.coef_sliders[c].value += 0.05
    assert calls == [] and e.redraw_count == 4
    e.target_dropdown.value = "bump"  # the target line is static: a full redraw
    assert calls == [1], e.last_error


def test_edge_inspector_layer_switch_ranks_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import kanlab.symbolic
    from kanlab.model import KAN
    from kanlab.widgets import EdgeInspector

    ds = _tiny_dataset()
    model = KAN([2, 3, 1], grid=3, k=3, seed=0)
    w = EdgeInspector(model, ds["train_input"], l=0, i=1, j=2, top_k=1, lib=["x", "sin"],
                      precompute=False)
    calls = []
    original = kanlab.symbolic.suggest_symbolic
    monkeypatch.setattr(kanlab.symbolic, "suggest_symbolic",
                        lambda *a, **kw: calls.append(a[1:4]) or original(*a, **kw))
    w.l_slider.value = 1  # layer 1 has in_dim 3, out_dim 1: j clamps from 2 to 0
    assert calls == [(1, 1, 0)] and (w.l, w.i, w.j) == (1, 1, 0)
    assert (w.i_slider.max, w.j_slider.max, w.j_slider.value) == (2, 0, 0)
    assert "edge l=1, i=1 → j=0" in w.ax.get_title() and w.last_error is None


# ----- layout and the numbers the picture shows (issue 19) ------------------------------------
def test_spline_explorer_slider_echo_keeps_the_exact_fit() -> None:
    """Finding 1: the browser sends back each slider rounded to its step; that must not
    replace the least-squares values (the readout then showed G = 20 fitting worse than G = 5)."""
    from kanlab.widgets.spline_explorer import _on_step

    e = SplineExplorer(grid=20, k=3, target="sin")
    exact, count = e.coef.copy(), e.redraw_count
    for c, s in enumerate(e.coef_sliders):  # what the browser sends after rounding
        assert s.value == _on_step(exact[c])
        s.value = _on_step(exact[c]) + 1e-12  # a float round-trip of the same grid value
    np.testing.assert_array_equal(e.coef, exact)
    assert e.redraw_count == count and e.selected == 0
    assert e.fit_rmse() < 1e-4 and f"{e.fit_rmse():.2e}" in e.readout.value
    e.randomize()
    count = e.redraw_count
    e.fit_target()
    assert e.redraw_count == count + 1 and e.fit_rmse() < 1e-4
    e.coef_sliders[4].value = e.coef_sliders[4].value + 0.05  # a real move still moves
    assert e.coef[4] == pytest.approx(_on_step(exact[4]) + 0.05) and e.selected == 4


def test_spline_explorer_axes_follow_the_visible_curve() -> None:
    """Finding 2: y follows the spline and target on the grid range (not far-off control
    points), x reaches the outermost knots where the bases fade out; labels stay readable."""
    e = SplineExplorer(grid=5, k=3, target="sin")
    assert e.ax_spline.get_xlim()[0] <= -2.2 and e.ax_spline.get_xlim()[1] >= 2.2
    assert np.abs(e.basis[[0, -1]]).max() < 1e-12  # the plot ends where every basis is 0
    for grid in (1, 2, 5, 20):
        e.grid_slider.value = grid
        on = np.abs(np.concatenate([e.spline[e.inside], e.target[e.inside]])).max()
        top = e.ax_spline.get_ylim()[1]
        assert max(1.2, on) <= top <= 1.8 * max(1.2, on) * 1.2, (grid, top, on)
        assert_readable(e.fig)
    e.grid_slider.value = 1
    assert np.abs(e.coef).max() > 5 * e.ax_spline.get_ylim()[1]  # G = 1: far-off coefficients
    assert e.reset_button.layout.display == "none"  # init="fit": Fit does what Reset would
    e.ones_button.click()
    np.testing.assert_allclose(e.spline[e.inside], 1.0, atol=1e-12)
    r = SplineExplorer(init="zeros")
    assert r.reset_button.layout.display != "none"


def test_cox_de_boor_limits_band_and_counts() -> None:
    """Finding 3: x-limits follow the knots both ways, the blue band survives the live PNG's
    palette, and one basis is 'basis'."""
    import io

    from PIL import Image

    from kanlab.widgets.cox_de_boor import BAND

    w = CoxDeBoorExplorer()
    w.grid_slider.value, w.k_slider.value = 20, 5
    w.grid_slider.value, w.k_slider.value = 1, 0
    lo, hi = w.ax_level.get_xlim()
    assert -1.2 < lo < -1.0 and 1.0 < hi < 1.2
    assert w.ax_level.get_title().startswith("degree p = 0: 1 basis on 2 knots")
    rgb = np.asarray(Image.open(io.BytesIO(w.view.value)).convert("RGB")).astype(int)
    band = np.array([int(BAND[i:i + 2], 16) for i in (1, 3, 5)])
    assert np.mean(np.all(np.abs(rgb - band) <= 6, axis=-1)) > 0.05
    assert_readable(w.fig)


def test_edge_trainer_epoch_zero_and_layout() -> None:
    """Finding 4: epoch 0 has an RMSE (it was nan); after retraining at another G the labels
    are laid out again (none clipped or overlapping); the legend sits outside the data."""
    from kanlab.widgets import EdgeTrainer

    w = EdgeTrainer(grid=10, target="sin(3πx)")  # as in 03
    w.epoch_slider.value = 0
    assert "nan" not in w.readout.value
    assert len(w.losses) == w.epochs + 1
    phi0 = np.interp(w.x_train, w.x, w.snapshots[0]["phi"])
    assert w.losses[0] == pytest.approx(np.sqrt(np.mean((phi0 - w.y_train) ** 2)), rel=0.02)
    assert f"{w.losses[0]:.4f}" in w.readout.value
    assert_readable(w.fig)
    for grid, target in ((6, "sin(3πx)"), (6, "bump"), (3, "exp(x)")):  # G = 6 clipped "φ(x)"
        w.grid_slider.value, w.target_dropdown.value = grid, target
        w.train_button.click()
        assert_readable(w.fig)
    legend = w.ax_phi.get_legend().get_window_extent()
    assert legend.y1 <= w.ax_phi.get_window_extent().y0  # below the axes, not on the data
    assert w.train_button.tooltip and w.play.tooltip


def test_ka_composer_log_of_negatives_and_reachable_targets() -> None:
    """Finding 7: log t on t ≤ 0 is undefined (grey, said in the readout), not drawn as 0;
    sin(πx)·cos(πy) and max(x, y) can be built from the offered functions."""
    w = KAComposer(preset="x·y via squares")
    w.term_dropdowns[0][0].value = "log t"
    assert "undefined on 50% of" in w.readout.value or "undefined on 51% of" in w.readout.value
    assert np.isnan(np.asarray(w.image_f.get_array(), dtype=float)).any()
    builds = {"sin(πx)·cos(πy) (try it!)": [("t", "t", "sin(πs)/2"), ("t", "-t", "sin(πs)/2")],
              "max(x, y) (try it!)": [("t", "t", "s/2"), ("t", "-t", "|s|/2")]}
    for preset, terms in builds.items():
        w.preset_dropdown.value = preset
        assert w.max_error() > 0.1  # the preset is a start, not the answer
        for q, term in enumerate(terms):
            for slot, name in enumerate(term):
                w.term_dropdowns[q][slot].value = name
        assert w.max_error() < 1e-12 and "exact" in w.readout.value, preset


def test_edge_inspector_own_model_and_background_ranking() -> None:
    """Finding 6: a later auto_symbolic on the notebook's model leaves the widget's edges as
    splines; every edge is ranked in the background, so switching edges draws from the cache."""
    import kanlab.symbolic
    from kanlab.model import KAN
    from kanlab.widgets import EdgeInspector

    ds = _tiny_dataset()
    model = KAN([2, 1], grid=5, k=3, seed=0)
    model.fit(ds, steps=10, progress=False)
    w = EdgeInspector(model, ds["train_input"], top_k=2, lib=["x", "x^2", "sin"],
                      y=ds["train_label"])
    for i in range(2):
        model.fix_symbolic(0, i, 0, "x") if hasattr(model, "fix_symbolic") else \
            kanlab.symbolic.fix_symbolic(model, 0, i, 0, "x")
    assert model.layers[0].sym_mask.all() and not w.model.layers[0].sym_mask.any()
    w._thread.join(timeout=120)
    assert len(w._cache) == 2  # both edges ranked
    calls = []
    original = kanlab.symbolic.suggest_symbolic
    kanlab.symbolic.suggest_symbolic = lambda *a, **kw: calls.append(a) or original(*a, **kw)
    try:
        w.i_slider.value = 1
    finally:
        kanlab.symbolic.suggest_symbolic = original
    assert calls == [] and w.suggestions[0].name == "x^2" and "RMSE to y" in w.readout.value
    assert_readable(w.fig)


def test_dashboard_rate_is_over_recent_steps_and_log_ticks_are_readable() -> None:
    """Finding 5 (steps/s over the running fit, not since creation) and 8 (log tick labels)."""
    import time

    from kanlab.model import KAN
    from kanlab.widgets import TrainingDashboard

    ds, model = _tiny_dataset(), KAN([2, 1], grid=3, k=3, seed=0)
    dash = TrainingDashboard(every=1, min_interval=0.0, show_network=False, max_draw_fraction=1.0)
    dash._t0 -= 3600  # an hour idle since the dashboard was made
    t0 = time.perf_counter()
    dash.fit(model, ds, opt="Adam", lr=0.05, steps=12)
    real = 12 / (time.perf_counter() - t0)
    assert dash.steps_per_second() > 0.3 * real  # idle time no longer counts
    for span in ((0.5, 0.6), (1e-3, 1.0), (2e-4, 3e-4)):
        dash.train_loss = list(np.geomspace(*span, 30))
        dash.test_loss = list(np.geomspace(*span, 30))
        dash.draw()
        assert_readable(dash.fig)
        labelled = [t for t in dash.ax.yaxis.get_major_ticks()
                    if dash.ax.get_ylim()[0] <= t.get_loc() <= dash.ax.get_ylim()[1]]
        assert len(labelled) >= 2


def test_live_figure_redraws_only_what_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    """00's slider: the user's figure as an Image widget; a move blits the moving artists over
    the saved rest (no full draw), the picture changes, foreign artists are refused."""
    from matplotlib.figure import Figure

    from kanlab.widgets import LiveFigure

    fig = Figure(figsize=(4, 2))
    ax = fig.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    ax.set(xlabel="x", ylabel="y", title="start")
    live = LiveFigure(fig, moving=[line, ax.title])
    first = bytes(live.view.value)
    assert first.startswith(b"\x89PNG") and live.view.layout.width == "400px"  # its own size: 4 in at 100 dpi
    full_draws = []
    monkeypatch.setattr(fig.canvas, "draw", lambda: full_draws.append(1))
    line.set_ydata([1, 0])
    ax.set_title("moved")
    live.redraw()
    assert bytes(live.view.value) != first and full_draws == [] and live.redraw_count == 1
    assert live.static_figure() is not fig and "LiveFigure(moving=2" in repr(live)
    other = Figure().subplots().plot([0], [0])[0]
    with pytest.raises(ValueError, match="belong to fig"):
        LiveFigure(fig, moving=[other])


def test_cox_de_boor_sliders_blit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The browser latency target (≤ 100 ms a move) rests on this: moving the degree p or the
    basis m draws the curves over the saved knots, band, legends and axes, never all of it."""
    w = CoxDeBoorExplorer()
    full_draws, before = [], bytes(w.view.value)
    monkeypatch.setattr(w.fig.canvas, "draw", lambda: full_draws.append(1))
    w.c_slider.value = 3
    after_c = bytes(w.view.value)
    w.level_slider.value = 2
    assert full_draws == [] and before != after_c != bytes(w.view.value)
    assert w.ax_level.get_title().startswith("degree p = 2") and "basis m = 3" in w.ax_level.get_title()
    assert len(w._grey) == w.n_at_level(2) and w.last_error is None
