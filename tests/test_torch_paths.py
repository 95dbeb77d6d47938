"""Every path a PyTorch user takes gives the right numbers (issue 17, one test per row).

Exact derivatives at knots (fused node, ordinary graph, higher orders, the PINN Laplacian),
``torch.compile`` and ``torch.func``, the state dict with symbolic edges, leading dimensions and
autocast, in-place knot edits, and the optimizer rule of refine/update_grid. The references
are the textbook Cox–de Boor recursion (``kanlab.recursion``), its derivative formula and
central differences.
"""

from __future__ import annotations

import io
import warnings

import pytest
import torch

from kanlab import KAN, KANLayer, fused, kernels
from kanlab.pde import collocation_points, laplacian
from kanlab.splines import cox_de_boor

F64 = torch.float64
KERNELS = [False, True] if kernels._cbasis is not None else [False]


def basis_derivative(x: torch.Tensor, knots: torch.Tensor, k: int, order: int) -> torch.Tensor:
    """d^order/dx^order of every B-spline basis (..., in, G + k), from the textbook formula
    ``B'_{c,k} = k·(B_{c,k-1}/(t_{c+k} - t_c) - B_{c+1,k-1}/(t_{c+k+1} - t_{c+1}))`` applied
    ``order`` times down to ``cox_de_boor`` of order k - order."""
    if order == 0:
        return cox_de_boor(x, knots, k)
    lower = basis_derivative(x, knots, k - 1, order - 1)  # (..., in, G + k + 1)
    n = knots.shape[1] - k - 1
    c = torch.arange(n)
    left = knots[:, c + k] - knots[:, c]
    right = knots[:, c + k + 1] - knots[:, c + 1]
    return k * (lower[..., :n] / left - lower[..., 1 : n + 1] / right)


def silu_derivative(x: torch.Tensor, order: int) -> torch.Tensor:
    s = torch.sigmoid(x)
    if order == 0:
        return x * s
    if order == 1:
        return s * (1 + x * (1 - s))
    return s * (1 - s) * (2 + x * (1 - 2 * s))


def analytic_edge_derivative(layer: KANLayer, x: torch.Tensor, order: int) -> torch.Tensor:
    """d^order/dx^order of every output of a one-input layer at x (n, 1) -> (n, out)."""
    basis = basis_derivative(x, layer.knots, layer.k, order)[:, 0, :]  # (n, G + k)
    spline = basis @ (layer.coef[:, 0, :] * layer.scale_sp[:, :1]).T
    return spline + silu_derivative(x, order) * layer.scale_base[:, 0]


def knot_neighbours(layer: KANLayer) -> torch.Tensor:
    """Every interior knot and its two floating-point neighbours (n, 1)."""
    t = layer.knots[0, 1:-1]
    points = torch.cat([torch.nextafter(t, t - 1), t, torch.nextafter(t, t + 1)])
    return points.unsqueeze(1)


# ----------------------------------------------------------------------------- derivatives at knots
@pytest.mark.parametrize("use_kernels", KERNELS)
@pytest.mark.parametrize("path", ["fused", "ordinary"])
@pytest.mark.parametrize("seed", [0, 1])
def test_first_and_second_derivatives_at_knots_plus_minus_one_ulp(path, use_kernels, seed) -> None:
    layer = KANLayer(1, 3, grid=10, k=3, dtype=F64)
    with torch.no_grad():
        gen = torch.Generator().manual_seed(seed)
        layer.coef.copy_(torch.randn(layer.coef.shape, generator=gen, dtype=F64))
    x = knot_neighbours(layer).requires_grad_(True)
    with kernels.use_kernels(use_kernels), (fused.ordinary_graph() if path == "ordinary" else _nothing()):
        y = layer(x)
        first = torch.stack([torch.autograd.grad(y[:, j].sum(), x, create_graph=True)[0][:, 0] for j in range(3)], 1)
        second = torch.stack([torch.autograd.grad(first[:, j].sum(), x, retain_graph=True)[0][:, 0] for j in range(3)], 1)
    x = x.detach()
    torch.testing.assert_close(first, analytic_edge_derivative(layer, x, 1), atol=1e-8, rtol=1e-8)
    torch.testing.assert_close(second, analytic_edge_derivative(layer, x, 2), atol=1e-8, rtol=1e-8)


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pinn_laplacian_equals_central_differences_on_the_default_mesh(seed) -> None:
    model = KAN([2, 5, 1], grid=10, dtype=F64, seed=seed)
    xi, _ = collocation_points(21, dtype=F64)
    _, lap = laplacian(model, xi, create_graph=False)
    h = 1e-4
    with torch.no_grad():
        u = model(xi)[:, 0]
        fd = torch.zeros_like(u)
        for d in range(2):
            e = torch.zeros(2, dtype=F64)
            e[d] = h
            fd += (model(xi + e)[:, 0] - 2 * u + model(xi - e)[:, 0]) / h**2
    # Central differences of a cubic spline are exact to O(h·jump of u''') at knots: ~1e-4 here.
    torch.testing.assert_close(lap, fd, atol=2e-3, rtol=1e-3)


# ----------------------------------------------------------------------------- torch.compile, torch.func
def _model_and_data(seed: int = 0):
    model = KAN([3, 5, 2], grid=5, seed=seed)
    x = torch.rand(17, 3, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return model, x


def _forward_backward(fn, model, x):
    for p in model.parameters():
        p.grad = None
    x = x.clone().requires_grad_(True)
    y = fn(x)
    (y**2).sum().backward()
    return [y.detach(), x.grad, *(p.grad.clone() for p in model.parameters() if p.requires_grad)]


@pytest.mark.parametrize("use_kernels", KERNELS)
@pytest.mark.parametrize("backend", ["aot_eager", pytest.param("inductor", marks=pytest.mark.slow)])
def test_torch_compile_equals_eager_forward_and_backward(backend, use_kernels) -> None:
    torch._dynamo.reset()
    model, x = _model_and_data()
    with kernels.use_kernels(use_kernels):
        eager = _forward_backward(model, model, x)
        compiled = torch.compile(model, backend=backend, fullgraph=True)  # fullgraph: no graph breaks
        result = _forward_backward(compiled, model, x)
    assert eager[0].abs().max() > 0.01
    for a, b in zip(result, eager, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_vmap_of_jacrev_gives_per_sample_jacobians() -> None:
    from torch.func import jacrev, vmap

    model = KAN([2, 4, 1], grid=5, seed=1, dtype=F64)
    x = torch.rand(9, 2, dtype=F64) * 2 - 1
    jac = vmap(jacrev(model))(x)  # (9, 1, 2)
    expected = torch.stack([torch.autograd.functional.jacobian(model, xi[None])[0, :, 0, :] for xi in x])
    assert jac.shape == (9, 1, 2)
    torch.testing.assert_close(jac, expected, atol=1e-12, rtol=1e-12)


# ----------------------------------------------------------------------------- state dict
def test_load_state_dict_round_trip_keeps_symbolic_edges() -> None:
    model = KAN([2, 3, 1], grid=5, seed=0, dtype=F64)
    x = torch.rand(20, 2, dtype=F64) * 2 - 1
    model.layers[0].set_symbolic(1, 0, "sin", (2.0, 0.5, 1.5, -0.25))
    model.layers[1].set_symbolic(0, 2, "x^2", (1.0, 0.0, 0.3, 0.1))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh = KAN([2, 3, 1], grid=5, seed=1, dtype=F64)
    fresh.load_state_dict(state)
    assert [layer.sym_names for layer in fresh.layers] == [layer.sym_names for layer in model.layers]
    assert fresh.layers[0].has_symbolic and fresh.layers[1].has_symbolic
    assert torch.equal(fresh(x), model(x))


def test_extra_state_rejects_a_foreign_layout() -> None:
    layer = KANLayer(2, 3)
    with pytest.raises(ValueError, match="sym_names"):
        layer.set_extra_state({"sym_names": [["0", "0"]]})


# ----------------------------------------------------------------------------- shapes and dtypes
def test_leading_dimensions_like_nn_linear() -> None:
    layer = KANLayer(4, 3, seed=None) if False else KANLayer(4, 3)
    x = torch.rand(2, 5, 4) * 2 - 1
    y = layer(x)
    assert y.shape == (2, 5, 3)
    torch.testing.assert_close(y, layer(x.reshape(10, 4)).reshape(2, 5, 3), atol=0, rtol=0)
    model = KAN([4, 3, 2])
    assert model(x).shape == (2, 5, 2)
    torch.testing.assert_close(model(x), model(x.reshape(10, 4)).reshape(2, 5, 2), atol=0, rtol=0)
    assert model(x[0, 0]).shape == (2,)


def test_autocast_computes_in_float32_and_bf16_models_are_rejected_clearly() -> None:
    model = KAN([3, 4, 2], seed=0)
    x = torch.rand(8, 3) * 2 - 1
    expected = model(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(x)
        y_low = model(x.bfloat16())
    assert y.dtype == torch.float32
    torch.testing.assert_close(y, expected, atol=0, rtol=0)
    torch.testing.assert_close(y_low, model(x.bfloat16().float()), atol=0, rtol=0)
    with pytest.raises(TypeError, match="float32 or float64"):
        model.to(torch.bfloat16)(x.bfloat16())
    with pytest.raises(ValueError, match="float32 or torch.float64"):
        KANLayer(2, 2, dtype=torch.float16)


# ----------------------------------------------------------------------------- stale caches
@pytest.mark.parametrize("use_kernels", KERNELS)
@pytest.mark.parametrize("edit", ["data", "numpy", "in_place"])
def test_in_place_knot_edits_give_the_textbook_basis(edit, use_kernels) -> None:
    layer = KANLayer(2, 3, grid=5, dtype=F64)
    x = torch.rand(30, 2, dtype=F64) * 4 - 2
    with kernels.use_kernels(use_kernels):
        layer(x), layer(x)  # the derived tables and the data's basis are built and stored
        with torch.no_grad():
            if edit == "data":
                layer.knots.data.mul_(2)
            elif edit == "numpy":
                layer.knots.numpy()[:] *= 2
            else:
                layer.knots.mul_(2)
        y = layer(x)
    feats = torch.cat([cox_de_boor(x, layer.knots, layer.k), torch.nn.functional.silu(x)[..., None]], -1)
    expected = fused.linear(feats, layer._weight())
    torch.testing.assert_close(y, expected, atol=1e-12, rtol=1e-12)


# ----------------------------------------------------------------------------- optimizer rule
def test_update_grid_keeps_the_parameters_an_optimizer_holds() -> None:
    model = KAN([2, 3, 1], grid=5, seed=0)
    x = torch.rand(40, 2) * 2 - 1
    before = list(model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.update_grid(x)
    assert all(a is b for a, b in zip(model.parameters(), before, strict=True))
    y0 = model(x).detach()
    model(x).pow(2).sum().backward()
    optimizer.step()  # steps the tensors the model uses
    assert not torch.equal(model(x).detach(), y0)


def test_refine_after_user_optimizer_steps_warns_to_rebuild_it() -> None:
    model = KAN([2, 3, 1], grid=5, seed=0)
    x = torch.rand(40, 2) * 2 - 1
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model(x).pow(2).sum().backward()
    optimizer.step()
    with pytest.warns(UserWarning, match="new optimizer"):
        model.refine(10, x=x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.update_grid(x)  # same shapes: nothing to warn about


def test_fit_then_refine_does_not_warn() -> None:
    from kanlab import create_dataset
    from kanlab.datasets import exp_sin_xy

    ds = create_dataset(exp_sin_xy, 2, n_train=40, n_test=10, seed=0)
    model = KAN([2, 3, 1], grid=3, seed=0)
    model.fit(ds, steps=2, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.refine(6)


def test_prune_and_refine_docstrings_state_the_optimizer_rule() -> None:
    from kanlab import pruning

    assert "optimizer" in KAN.refine.__doc__ and "optimizer" in KANLayer.refine.__doc__
    assert "optimizer" in pruning.prune.__doc__ and "optimizer" in KAN.prune.__doc__


# ----------------------------------------------------------------------------- tensor factories
FACTORIES = {
    "zeros", "ones", "empty", "full", "arange", "linspace", "logspace", "eye", "tensor", "as_tensor",
    "rand", "randn", "randint", "randperm", "empty_strided", "scalar_tensor", "from_numpy",
}


def test_every_tensor_factory_in_kanlab_passes_a_device() -> None:
    """``torch.zeros(...)`` and friends make CPU tensors unless told otherwise: every call inside
    kanlab's library says where (``device=``), so a model on an accelerator never meets a CPU
    tensor. ``kanlab/exercises`` and ``kanlab/widgets`` are left out: course code that works on
    small CPU tensors and NumPy arrays for display and self-checks, never on a model's device."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "kanlab"
    missing, seen = [], 0
    for path in sorted(root.rglob("*.py")):
        if path.parent.name in ("exercises", "widgets"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            func = getattr(node, "func", None)
            if (
                isinstance(node, ast.Call) and isinstance(func, ast.Attribute) and func.attr in FACTORIES
                and isinstance(func.value, ast.Name) and func.value.id == "torch"
            ):  # fmt: skip
                seen += 1
                if func.attr == "from_numpy" or not any(kw.arg == "device" for kw in node.keywords):
                    missing.append(f"{path.relative_to(root.parent)}:{node.lineno} torch.{func.attr}")
    assert seen > 20  # the walk really finds the calls
    assert not missing, "tensor factories without device=: " + ", ".join(missing)


# ----------------------------------------------------------------------------- optimisers and fit
def _rosenbrock(p: torch.Tensor) -> torch.Tensor:
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def _lbfgs_closure(opt, p):
    def closure():
        opt.zero_grad()
        loss = _rosenbrock(p)
        loss.backward()
        return loss

    return closure


def test_lbfgs_state_round_trips_with_weights_only() -> None:
    from kanlab.lbfgs import LBFGS

    p = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=F64))
    opt = LBFGS([p], history_size=5, max_iter=4)
    for _ in range(3):
        opt.step(_lbfgs_closure(opt, p))
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    q = torch.nn.Parameter(p.detach().clone())
    resumed = LBFGS([q], history_size=5, max_iter=4)
    resumed.load_state_dict(state)
    for _ in range(3):
        opt.step(_lbfgs_closure(opt, p))
        resumed.step(_lbfgs_closure(resumed, q))
    assert torch.equal(p, q)


def test_private_strong_wolfe_that_lbfgs_uses_still_behaves() -> None:
    """kanlab.lbfgs uses torch's private ``_strong_wolfe`` when its signature is the tested one;
    otherwise kanlab's own line search runs (tests/test_lbfgs.py) and this is skipped."""
    from kanlab import lbfgs

    _strong_wolfe = lbfgs._TORCH_LINE_SEARCH
    if _strong_wolfe is None:
        pytest.skip("torch's _strong_wolfe is missing or changed: kanlab's own line search runs")

    x0 = torch.tensor([-1.2, 1.0], dtype=F64)

    def obj(x, t, d):
        z = (x + t * d).requires_grad_(True)
        loss = _rosenbrock(z)
        (g,) = torch.autograd.grad(loss, z)
        return float(loss.detach()), g

    f0, g0 = obj(x0, 0.0, torch.zeros(2, dtype=F64))
    d = -g0
    f, g, t, evals = _strong_wolfe(obj, x0, 1e-3, d, f0, g0, g0.dot(d))
    assert evals >= 1 and f < f0
    assert f <= f0 + 1e-4 * t * g0.dot(d)  # sufficient decrease
    assert abs(g.dot(d)) <= 0.9 * abs(g0.dot(d))  # strong curvature condition


def test_lbfgs_rejects_a_non_finite_step_and_keeps_the_last_finite_point() -> None:
    from kanlab.lbfgs import LBFGS

    p = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=F64))
    opt = LBFGS([p], history_size=5, max_iter=20)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = _rosenbrock(p)
        if calls[0] >= 6:
            loss = loss * float("nan")
        loss.backward()
        return loss

    with pytest.warns(RuntimeWarning, match="non-finite"):
        opt.step(closure)
    assert torch.isfinite(p).all()
    assert float(_rosenbrock(p.detach())) < float(_rosenbrock(torch.tensor([-1.2, 1.0], dtype=F64)))


@pytest.mark.parametrize("opt", ["LBFGS", "Adam"])
@pytest.mark.parametrize("forever", [False, True])
def test_fit_never_leaves_non_finite_parameters(opt, forever) -> None:
    from kanlab import create_dataset
    from kanlab.datasets import exp_sin_xy

    ds = create_dataset(exp_sin_xy, 2, n_train=60, n_test=20, seed=0)
    model = KAN([2, 3, 1], grid=3, seed=0)
    calls = [0]
    nan_from = 40 if opt == "LBFGS" else 5

    def loss_fn(y_hat, y):
        calls[0] += 1
        loss = ((y_hat - y) ** 2).mean()
        if calls[0] == nan_from or (forever and calls[0] > nan_from):
            return loss * float("nan")
        return loss

    with pytest.warns(RuntimeWarning, match="non-finite") as record:
        history = model.fit(ds, opt=opt, steps=8, lr=1.0 if opt == "LBFGS" else 0.01, loss_fn=loss_fn, progress=False)
    assert len([w for w in record if "non-finite" in str(w.message)]) == 1  # told once
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert all(v == v for v in history["train_loss"])  # no NaN in the history either
    model.refine(5)  # the model is usable afterwards


# ----------------------------------------------------------------------------- PDE training
def test_train_pde_refines_its_own_grids_with_kanlabs_lbfgs(monkeypatch) -> None:
    from kanlab import lbfgs
    from kanlab import splines as knot_ops
    from kanlab.pde import sin_sin_problem
    from kanlab.pde_train import train_pde

    steps = {"kanlab": 0, "torch": 0}
    for owner, key in ((lbfgs.LBFGS, "kanlab"), (torch.optim.LBFGS, "torch")):
        original = owner.step

        def counted(self, closure, _original=original, _key=key):
            steps[_key] += 1
            return _original(self, closure)

        monkeypatch.setattr(owner, "step", counted)
    model = KAN([2, 2, 1], grid=3, seed=0, dtype=F64)
    model.train_input = torch.full((50, 2), 7.0, dtype=F64)  # inputs of an unrelated earlier fit
    expected = knot_ops.refine_knots(model.layers[0].knots, 3, 5)
    train_pde(model, sin_sin_problem(), steps=[1, 1], grids=[3, 5], n_side=5, n_test=5, lbfgs_iters=2)
    assert steps["kanlab"] == 2 and steps["torch"] == 0
    torch.testing.assert_close(model.layers[0].knots, expected, atol=1e-12, rtol=0)


# ----------------------------------------------------------------------------- threads
def test_fit_on_a_small_problem_uses_one_thread_and_restores_the_callers() -> None:
    from kanlab import create_dataset
    from kanlab.datasets import exp_sin_xy

    ds = create_dataset(exp_sin_xy, 2, n_train=100, n_test=20, seed=0)
    model = KAN([2, 5, 1], grid=5, seed=0)
    previous = torch.get_num_threads()
    seen = []
    try:
        torch.set_num_threads(2)
        model.fit(ds, steps=2, progress=False, callback=lambda *_: seen.append(torch.get_num_threads()))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    assert seen == [1, 1]
