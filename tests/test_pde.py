"""Tests for the physics-informed Poisson solver (kanlab.pde, kanlab.pde_train)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kanlab import KAN
from kanlab.pde import (
    PoissonProblem,
    collocation_points,
    error_norms,
    gradient,
    laplacian,
    mesh_points,
    pinn_loss,
    poisson_problem,
    sin_sin_problem,
    sin_sin_y2_problem,
)
from kanlab.pde_train import PDEHistory, mlp, num_parameters, train_pde

PI = math.pi


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one torch thread is several times faster than two on a busy 2-core box."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _points(n: int = 50, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1


class _Exact(torch.nn.Module):
    """A 'model' that returns the exact solution, shaped (n, 1) like a network."""

    def __init__(self, problem: PoissonProblem) -> None:
        super().__init__()
        self.problem = problem
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.problem.exact(x) + self.dummy).unsqueeze(1)


# ------------------------------------------------------------------ autograd derivatives
def test_laplacian_matches_analytic_float64() -> None:
    x = _points(200)

    def u(x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x[:, 0]) * torch.sin(2 * x[:, 1]) + x[:, 0] ** 3 * x[:, 1] ** 2

    values, lap = laplacian(u, x)
    a, b = x[:, 0], x[:, 1]
    expected = -3 * torch.exp(a) * torch.sin(2 * b) + 6 * a * b**2 + 2 * a**3
    torch.testing.assert_close(values, u(x), rtol=0, atol=1e-14)
    assert torch.max(torch.abs(lap - expected)) < 1e-10


@pytest.mark.parametrize("make", [sin_sin_problem, sin_sin_y2_problem])
def test_shipped_sources_are_the_laplacian_of_the_exact_solution(make) -> None:
    problem = make()
    x = _points(300)
    _, lap = laplacian(problem.exact, x)
    assert torch.max(torch.abs(lap - problem.source(x))) < 1e-10


def test_laplacian_of_a_kan_matches_finite_differences() -> None:
    model = KAN([2, 3, 1], grid=5, k=3, seed=0, dtype=torch.float64)
    x = _points(20) * 0.8
    _, lap = laplacian(model, x, create_graph=False)
    h = 1e-4
    fd = torch.zeros(20, dtype=torch.float64)
    with torch.no_grad():
        u0 = model(x)[:, 0]
        for d in range(2):
            e = torch.zeros(1, 2, dtype=torch.float64)
            e[0, d] = h
            fd += (model(x + e)[:, 0] - 2 * u0 + model(x - e)[:, 0]) / h**2
    assert torch.max(torch.abs(lap - fd)) < 1e-4


def test_gradient_matches_analytic() -> None:
    x = _points(100)
    u, g = gradient(sin_sin_problem().exact, x)
    expected = torch.stack(
        [PI * torch.cos(PI * x[:, 0]) * torch.sin(PI * x[:, 1]), PI * torch.sin(PI * x[:, 0]) * torch.cos(PI * x[:, 1])],
        dim=1,
    )
    assert torch.max(torch.abs(g - expected)) < 1e-12


# ------------------------------------------------------------------ loss and errors
def test_loss_and_errors_vanish_for_the_exact_solution() -> None:
    problem = sin_sin_y2_problem()
    x_int, x_bnd = collocation_points(15)
    terms = pinn_loss(_Exact(problem), problem, x_int, x_bnd, alpha=0.01)
    loss, pde, bc = (float(t.detach()) for t in terms)
    assert loss < 1e-20 and pde < 1e-20 and bc < 1e-28
    errors = error_norms(_Exact(problem), problem, mesh_points(11))
    assert errors == {"u_mse": 0.0, "rel_l2": 0.0, "h1": 0.0}


def test_loss_weights_the_residual_by_alpha() -> None:
    problem = sin_sin_problem()
    model = mlp([2, 8, 1], seed=0)
    x_int, x_bnd = collocation_points(6)
    a = pinn_loss(model, problem, x_int, x_bnd, alpha=0.01)
    b = pinn_loss(model, problem, x_int, x_bnd, alpha=1.0)
    torch.testing.assert_close(a.pde, b.pde)
    torch.testing.assert_close(b.loss - a.loss, 0.99 * a.pde)
    a.loss.backward()  # differentiable in the model's parameters
    assert all(p.grad is not None for p in model.parameters())


def test_error_norms_of_a_known_perturbation() -> None:
    problem = sin_sin_problem()

    def shifted(x: torch.Tensor) -> torch.Tensor:  # u* + 0.1·x: error e = 0.1·x, ∇e = (0.1, 0)
        return problem.exact(x) + 0.1 * x[:, 0]

    x = mesh_points(21)
    errors = error_norms(shifted, problem, x)
    assert errors["u_mse"] == pytest.approx(float(torch.mean((0.1 * x[:, 0]) ** 2)), rel=1e-12)
    assert errors["h1"] == pytest.approx(0.1, rel=1e-12)
    u = problem.exact(x)
    assert errors["rel_l2"] == pytest.approx(float(torch.norm(0.1 * x[:, 0]) / torch.norm(u)), rel=1e-12)


# ------------------------------------------------------------------ points
def test_collocation_points_layout() -> None:
    x_int, x_bnd = collocation_points(9)
    assert x_int.shape == (81, 2) and x_bnd.shape == (40, 2)
    assert x_int.dtype == torch.float64
    assert torch.all(x_int.abs() < 1)
    on_edge = (x_bnd.abs() == 1).any(dim=1)
    assert torch.all(on_edge)
    for d in range(2):  # each edge line holds n_side + 2 points (both corners), no duplicates
        assert int((x_bnd[:, d] == -1).sum()) == 11 and int((x_bnd[:, d] == 1).sum()) == 11
    assert len({tuple(p) for p in x_bnd.tolist()}) == 40
    r_int, r_bnd = collocation_points(9, sampling="random", seed=3)
    r_int2, _ = collocation_points(9, sampling="random", seed=3)
    assert torch.equal(r_int, r_int2) and r_bnd.shape == (40, 2)
    assert torch.all((r_bnd.abs() == 1).any(dim=1))


def test_mesh_points_reshape_to_an_image() -> None:
    x = mesh_points(5, domain=(0.0, 2.0))
    img_x, img_y = x[:, 0].reshape(5, 5), x[:, 1].reshape(5, 5)
    assert torch.equal(img_x[0], torch.linspace(0, 2, 5, dtype=torch.float64))  # columns = x
    assert torch.equal(img_y[:, 0], torch.linspace(0, 2, 5, dtype=torch.float64))  # rows = y


# ------------------------------------------------------------------ bad input
def test_bad_problem_definitions_raise_clear_errors() -> None:
    p = sin_sin_problem()
    with pytest.raises(ValueError, match="PoissonProblem.boundary must map x of shape"):
        PoissonProblem("bad", source=p.source, boundary=lambda x: torch.zeros(x.shape[0], 2))
    with pytest.raises(ValueError, match="PoissonProblem.source"):
        PoissonProblem("bad", source=lambda x: torch.zeros(7), boundary=p.boundary)
    with pytest.raises(TypeError, match="PoissonProblem.exact must be callable"):
        PoissonProblem("bad", source=p.source, boundary=p.boundary, exact=3.0)
    with pytest.raises(ValueError, match="domain must satisfy lo < hi"):
        PoissonProblem("bad", source=p.source, boundary=p.boundary, domain=(1.0, -1.0))
    x_int, x_bnd = collocation_points(4)
    model = mlp([2, 4, 1])
    for alpha in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
            pinn_loss(model, p, x_int, x_bnd, alpha=alpha)
    with pytest.raises(ValueError, match="n_side must be a positive int"):
        collocation_points(0)
    with pytest.raises(ValueError, match="x_interior must hold at least one collocation point"):
        pinn_loss(model, p, x_int[:0], x_bnd)
    with pytest.raises(ValueError, match="x_boundary must have shape"):
        pinn_loss(model, p, x_int, x_bnd[:, :1])
    with pytest.raises(ValueError, match="sampling must be"):
        collocation_points(4, sampling="sobol")
    with pytest.raises(ValueError, match="name must be one of"):
        poisson_problem("heat")
    with pytest.raises(ValueError, match="alpha must be"):
        train_pde(model, p, steps=1, alpha=0)
    with pytest.raises(TypeError, match="refine"):
        train_pde(model, p, steps=1, grids=[5, 10])
    with pytest.raises(ValueError, match="steps must be"):
        train_pde(KAN([2, 2, 1], dtype=torch.float64), p, steps=[1, 2, 3], grids=[5, 10])
    no_exact = PoissonProblem("no_exact", source=p.source, boundary=p.boundary)
    with pytest.raises(ValueError, match="no exact solution"):
        error_norms(model, no_exact, mesh_points(3))


def test_mlp_builder() -> None:
    model = mlp()
    assert num_parameters(model) == 2 * 100 + 100 + 100 * 100 + 100 + 100 + 1
    assert next(model.parameters()).dtype == torch.float64
    a, b = mlp([2, 5, 1], seed=1), mlp([2, 5, 1], seed=1)
    assert torch.equal(a[0].weight, b[0].weight)
    with pytest.raises(ValueError, match="activation must be one of"):
        mlp(activation="relu")
    with pytest.raises(ValueError, match="width must be"):
        mlp([2])


# ------------------------------------------------------------------ training
def test_short_kan_run_reduces_errors_and_extends_the_grid() -> None:
    problem = sin_sin_problem()
    model = KAN([2, 3, 1], grid=3, k=3, seed=0, dtype=torch.float64)
    history = train_pde(model, problem, steps=[3, 2], grids=[3, 6], n_side=8, n_test=9, lbfgs_iters=5, snapshot_every=2)
    assert history.step == [1, 2, 3, 4, 5]
    assert history.grid == [3, 3, 3, 6, 6] and model.grid == 6
    assert history.u_mse[-1] < 0.5 * history.u_mse[0]
    assert history.loss[-1] < history.loss[0]
    assert history.h1[-1] < history.h1[0]
    assert all(t2 >= t1 for t1, t2 in zip(history.time, history.time[1:]))
    assert [s for s, _ in history.snapshots] == [2, 4, 5]
    assert history.snapshots[-1][1].shape == (9, 9) and history.exact.shape == (9, 9)
    final = history.final()
    assert final["u_mse"] == history.u_mse[-1]
    assert np.mean((history.snapshots[-1][1] - history.exact) ** 2) == pytest.approx(final["u_mse"], rel=1e-9)
    assert "PDEHistory(steps=5" in repr(history)


def test_grid_update_before_refine_uses_the_collocation_points() -> None:
    model = KAN([2, 2, 1], grid=3, k=3, seed=0, dtype=torch.float64)
    model.layers[0].knots.mul_(3.0)  # a grid far wider than the square: update_grid must pull it in
    history = train_pde(model, sin_sin_problem(), steps=[1, 1], grids=[3, 4], update_grid=True, n_side=5, n_test=5, lbfgs_iters=2)
    assert history.grid == [3, 4] and model.grid == 4
    inner = model.layers[0].grid_range  # (in, 2): the knots now span about [-1, 1]
    assert torch.all(inner[:, 0] > -1.5) and torch.all(inner[:, 1] < 1.5)


def test_short_mlp_run_and_time_budget_and_callback() -> None:
    problem = sin_sin_problem()
    model = mlp([2, 16, 1], seed=0)
    history = train_pde(model, problem, steps=4, n_side=6, n_test=7, lbfgs_iters=5)
    assert history.grid == [0, 0, 0, 0] and history.u_mse[-1] < history.u_mse[0]
    budget = train_pde(mlp([2, 16, 1]), problem, steps=1000, n_side=6, n_test=7, time_budget=1e-9)
    assert budget.step == [1] and len(budget.snapshots) == 1
    stopped = train_pde(mlp([2, 16, 1]), problem, steps=10, n_side=6, n_test=7, callback=lambda m, s, h: s == 2)
    assert stopped.step == [1, 2] and stopped.snapshots[-1][0] == 2


def test_training_is_deterministic() -> None:
    problem = sin_sin_problem()
    runs = [
        train_pde(KAN([2, 2, 1], grid=3, seed=0, dtype=torch.float64), problem, steps=2, n_side=6, n_test=5, lbfgs_iters=3)
        for _ in range(2)
    ]
    assert runs[0].u_mse == runs[1].u_mse


def test_empty_history_final_raises() -> None:
    with pytest.raises(ValueError, match="history is empty"):
        PDEHistory().final()


# ------------------------------------------------------------------ plots and the PDEViewer widget
def _fake_history(scale: float, n_steps: int = 4, n: int = 9) -> PDEHistory:
    """A hand-made history: the error of snapshot s is scale·(n_steps - s + 1)·x·y."""
    exact = mesh_points(n)
    u_star = sin_sin_problem().exact(exact).reshape(n, n).numpy()
    xy = (exact[:, 0] * exact[:, 1]).reshape(n, n).numpy()
    h = PDEHistory(exact=u_star)
    for s in range(1, n_steps + 1):
        err = scale * (n_steps - s + 1)
        h.step.append(s)
        h.grid.append(5 if s <= 2 else 10)
        h.time.append(0.1 * s)
        for name in ("loss", "pde_loss", "bc_loss", "rel_l2", "h1"):
            getattr(h, name).append(err)
        h.u_mse.append(float(np.mean((err * xy) ** 2)))
        if s % 2 == 0:
            h.snapshots.append((s, u_star + err * xy))
    return h


def test_pde_plots_return_figures() -> None:
    from kanlab.plotting import plot_pde_errors, plot_pde_solution

    h = _fake_history(0.1)
    fig = plot_pde_solution(h)
    assert len(fig.axes) == 6  # three maps and their colour bars
    assert np.allclose(fig.axes[1].images[0].get_array(), h.snapshots[-1][1])
    fig = plot_pde_errors({"KAN": h, "MLP": _fake_history(1.0)}, metrics=("u_mse", "h1", "rel_l2"), x="time")
    assert len(fig.axes) == 3
    assert list(fig.axes[0].lines[0].get_ydata()) == h.u_mse
    with pytest.raises(ValueError, match="metrics must be"):
        plot_pde_errors({"KAN": h}, metrics=("l3",))
    with pytest.raises(ValueError, match="snapshot must index"):
        plot_pde_solution(h, snapshot=5)


def test_pde_viewer_scrubs_snapshots_and_models(tmp_path, monkeypatch) -> None:
    from kanlab.widgets.pde_viewer import PDEViewer

    monkeypatch.chdir(tmp_path)
    kan_h, mlp_h = _fake_history(0.01), _fake_history(0.5)
    viewer = PDEViewer({"KAN": kan_h, "MLP": mlp_h}, canvas="image")
    assert viewer.index == 1 and viewer.step == 4 and viewer.label == "KAN"
    assert np.allclose(viewer.image_u.get_array(), kan_h.snapshots[-1][1])
    viewer.slider.value = 0  # what a student's drag does
    assert viewer.index == 0 and viewer.step == 2
    assert list(viewer.marker.get_xdata()) == [2, 2]
    expected = np.log10(np.abs(kan_h.snapshots[0][1] - kan_h.exact) + 1e-16)
    assert np.allclose(viewer.image_err.get_array(), expected)
    assert "step 2" in viewer.readout.value and f"{kan_h.u_mse[1]:.2e}" in viewer.readout.value
    viewer.set_model("MLP")
    assert viewer.model_box.value == "MLP" and viewer.index == 0
    assert np.allclose(viewer.image_u.get_array(), mlp_h.snapshots[0][1])
    viewer.show(-1)
    assert viewer.slider.value == 1 and viewer.step == 4
    viewer.model_box.value = "KAN"
    assert viewer.label == "KAN"
    assert "PDEViewer(models=['KAN', 'MLP']" in repr(viewer)
    fig = viewer.static_figure()
    assert np.allclose(fig.axes[0].images[0].get_array(), kan_h.snapshots[-1][1])
    assert viewer.static_image().data[:4] == b"\x89PNG"
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_pde_viewer_bad_input_and_callback_errors() -> None:
    from kanlab.widgets.pde_viewer import PDEViewer

    h = _fake_history(0.1)
    with pytest.raises(ValueError, match="must be a PDEHistory with an exact solution"):
        PDEViewer(PDEHistory())
    with pytest.raises(ValueError, match="metric must be one of"):
        PDEViewer(h, metric="l3", canvas="image")
    with pytest.raises(ValueError, match="index must be an integer"):
        PDEViewer(h, index=7, canvas="image")
    viewer = PDEViewer(h, canvas="image")
    assert viewer.label == "model" and len(viewer.widget.children[0].children) == 1
    with pytest.raises(ValueError, match="label must be one of"):
        viewer.set_model("MLP")
    guarded = viewer._wrap(viewer.show)
    guarded(9)
    assert isinstance(viewer.last_error, ValueError) and viewer.error_box.outputs


def test_pde_viewer_on_the_ipympl_canvas() -> None:
    import matplotlib

    pytest.importorskip("ipympl")
    from kanlab.widgets.pde_viewer import PDEViewer

    try:
        matplotlib.use("module://ipympl.backend_nbagg")  # what %matplotlib widget does
        viewer = PDEViewer({"a": _fake_history(0.1), "b": _fake_history(1.0)})
        assert viewer.canvas_mode == "ipympl" and viewer.view is viewer.fig.canvas
        viewer.show(0)
        viewer.set_model("b")
        assert viewer.last_error is None and viewer.step == 2 and viewer.redraw_count == 3
    finally:
        matplotlib.use("Agg")


def test_finite_difference_poisson_is_second_order_on_both_problems() -> None:
    """The classical baseline of 08: the 5-point scheme's error falls like h² (its MSE like h⁴)."""
    from kanlab.pde import finite_difference_poisson, sin_sin_problem, sin_sin_y2_problem

    for problem in (sin_sin_problem(), sin_sin_y2_problem()):
        mse = []
        for n in (16, 32, 64):
            points, u = finite_difference_poisson(problem, n)
            assert points.shape == ((n + 1) ** 2, 2) and u.shape == ((n + 1) ** 2,)
            mse.append(float(((u - problem.exact(points)) ** 2).mean()))
        assert 12 < mse[0] / mse[1] < 20 and 12 < mse[1] / mse[2] < 20, mse
    with pytest.raises(ValueError, match="at least 2"):
        finite_difference_poisson(sin_sin_problem(), 1)
