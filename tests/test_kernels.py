"""The optional C kernels (kanlab._cbasis, wrapped by kanlab.kernels) against torch.

Two kinds of reference: the textbook Cox–de Boor recursion (``splines.cox_de_boor``, its d/dx by
plain autograd, in float64) for what ``Grid`` computes directly, and the same KAN layer / model
run with ``kernels.use_kernels(False)`` (pure torch ops) for everything built on the kernels.
Every test that compares against "off" also checks that the kernels actually ran, so a silent
fallback to torch cannot make a test pass. Tests that need the compiled module are skipped when
it is not built (or ``KANLAB_KERNELS=0``); ``test_switched_off_kernels_fall_back_to_torch`` runs
always.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading

import pytest
import torch
from layers import random_layer

from kanlab import KAN, fused, kernels, splines
from kanlab.datasets import create_dataset
from kanlab.fused import BASE_DERIVATIVES, BASE_FUNCTIONS
from kanlab.layer import KANLayer

F32, F64 = torch.float32, torch.float64
DTYPES = [F64, F32]
TOL = {F64: 1e-12, F32: 1e-5}  # relative to 1 (or to the largest reference value, if larger)
BASE_FNS = sorted(kernels.BASE_KINDS)

needs_kernels = pytest.mark.skipif(
    not kernels.available(),
    reason="the compiled kernels kanlab._cbasis are not built (or KANLAB_KERNELS=0)",
)


# ----------------------------------------------------------------------------- helpers
def assert_near(got: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype, what: str = "") -> None:
    """|got - expected| <= TOL[dtype]·max(1, max|expected|), elementwise; shapes must match."""
    assert got.shape == expected.shape, what
    got, expected = got.detach(), expected.detach().to(got.dtype)
    scale = max(1.0, float(expected.abs().max())) if expected.numel() else 1.0
    err = float((got - expected).abs().max()) if got.numel() else 0.0
    assert err <= TOL[dtype] * scale, f"{what}: max error {err:.3g} (scale {scale:.3g})"


def make_knots(kind: str, in_dim: int, grid: int, k: int, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    """(in_dim, G + 2k + 1) knots: "uniform" (a different range per row), "random" (sorted,
    gaps between 0.2 and 1.2) or "adapted" (``KANLayer.update_grid`` on skewed samples)."""
    gen = torch.Generator().manual_seed(seed)
    if kind == "uniform":
        ranges = torch.tensor([[-1.0, 1.0], [-2.0, 3.0], [-0.5, 0.25], [0.0, 4.0]])[:in_dim]
        knots = splines.uniform_knots(in_dim, grid, k, ranges, dtype=dtype)
        assert splines._uniform_step(knots) is not None  # the kernels' division path
        return knots
    if kind == "random":
        gaps = 0.2 + torch.rand(in_dim, grid + 2 * k, generator=gen, dtype=F64)
        start = 4 * torch.rand(in_dim, 1, generator=gen, dtype=F64) - 2 - gaps.sum(1, keepdim=True) / 2
        knots = torch.cat([start, start + gaps.cumsum(1)], dim=1).to(dtype)
    else:
        layer = KANLayer(in_dim, 1, grid=grid, k=k, dtype=dtype)
        layer.update_grid(2 * torch.rand(500, in_dim, generator=gen, dtype=dtype) ** 3 - 1)
        knots = layer.knots
    assert (knots.diff(dim=1) > 0).all()
    assert splines._uniform_step(knots) is None  # the kernels' bucket-search path
    return knots


def probe_points(knots: torch.Tensor, n_random: int = 40, seed: int = 1) -> torch.Tensor:
    """(batch, in) inputs, one row per kind of point for every input: every knot exactly (both
    ends included), interval midpoints, points beyond both ends (near and far), and random
    points over and around the knots."""
    gen = torch.Generator().manual_seed(seed)
    t = knots.T  # (K, in)
    lo, hi = t[0], t[-1]
    width = hi - lo
    rand = lo - 0.3 * width + 1.6 * width * torch.rand(n_random, knots.shape[0], generator=gen, dtype=knots.dtype)
    return torch.cat([
        t, (t[:-1] + t[1:]) / 2,
        torch.stack([lo - 0.01 * width, hi + 0.01 * width, lo - 5 * width, hi + 5 * width]),
        rand,
    ]).contiguous()  # fmt: skip


def dense(local: torch.Tensor, span: torch.Tensor, k: int, n_basis: int) -> torch.Tensor:
    """(k + 1, batch, in) values of ``B_{span-k} .. B_span`` -> dense (batch, in, n_basis)."""
    _, batch, in_dim = local.shape
    padded = torch.zeros(batch, in_dim, n_basis + 2 * k, dtype=local.dtype)
    column = span.unsqueeze(0) + torch.arange(k + 1).view(-1, 1, 1)  # index + k
    padded.scatter_add_(2, column.permute(1, 2, 0), local.permute(1, 2, 0))
    return padded[..., k : k + n_basis]


def reference_basis(x: torch.Tensor, knots: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, d/dx) of every basis, (batch, in, G + k), by Cox–de Boor in float64 + autograd."""
    x64 = x.detach().double().requires_grad_()
    values = splines.cox_de_boor(x64, knots.double(), k)
    if k == 0:  # piecewise constant
        return values.detach(), torch.zeros_like(values)
    slopes = [torch.autograd.grad(values[..., c].sum(), x64, retain_graph=True)[0]
              for c in range(values.shape[-1])]  # fmt: skip
    return values.detach(), torch.stack(slopes, dim=-1)


def on_a_knot(x: torch.Tensor, knots: torch.Tensor) -> torch.Tensor:
    return (x.unsqueeze(-1) == knots.unsqueeze(0)).any(-1)


@pytest.fixture
def kernel_calls(monkeypatch: pytest.MonkeyPatch) -> collections.Counter:
    """Counts calls of every kernel entry point (``kernels.Grid`` methods and the parameter
    kernels), to prove the kernels ran, or not."""
    calls: collections.Counter = collections.Counter()
    grid_methods = ("evaluate", "input_gradient", "local_forward", "local_backward", "l1_sums", "l1_input_gradient")
    for owner, names in ((kernels.Grid, grid_methods), (kernels, ("assemble_weight", "parameter_gradients"))):
        for name in names:
            original = getattr(owner, name)

            def counted(*args, _original=original, _name=name, owner_is_grid=owner is kernels.Grid, **kwargs):
                result = _original(*args, **kwargs)
                if result is not None or owner_is_grid:  # the parameter kernels return None when they do not apply
                    calls[_name] += 1
                return result

            monkeypatch.setattr(owner, name, counted)
    return calls


def assert_on_equals_off(run, kernel_calls: collections.Counter, dtype: torch.dtype) -> list[torch.Tensor]:
    """``run()`` (a list of tensors) with the kernels off, then on: the kernels ran and every
    tensor agrees. Returns the "on" tensors."""
    with kernels.use_kernels(False):
        off = run()
    on = run()
    assert kernel_calls["evaluate"] > 0
    for a, b in zip(on, off, strict=True):
        assert_near(a, b, dtype)
    return on


def make_layer(in_dim: int, out_dim: int, k: int, dtype: torch.dtype, adapted: bool,
               base_fn: str = "silu", grid: int = 5, seed: int = 0) -> KANLayer:
    """``random_layer``: random weights, two masked edges, uniform or adapted (non-uniform) grid."""
    return random_layer(in_dim, out_dim, k, dtype, adapted, base_fn, grid, seed)


def layer_inputs(layer: KANLayer, n: int = 48, seed: int = 2) -> torch.Tensor:
    """Random inputs over the grid, some beyond the outermost knots on both sides, and (k >= 2,
    where the basis has a continuous slope) some exactly on interior knots."""
    gen = torch.Generator().manual_seed(seed)
    dtype = layer.coef.dtype
    x = 3.2 * torch.rand(n, layer.in_dim, generator=gen, dtype=dtype) - 1.6
    x[0] = layer.knots[:, 0] - 0.25
    x[1] = layer.knots[:, -1] + 0.25
    if layer.k >= 2:
        x[2] = layer.knots[:, layer.k + 1]
        x[3] = layer.knots[:, -layer.k - 2]
    return x


def run_layer(layer: KANLayer, x: torch.Tensor, x_grad: bool, r: torch.Tensor, l1: bool = False,
              r_l1: torch.Tensor | None = None, repeats: int = 1) -> list[torch.Tensor]:
    """[y, (l1,) grads of (x,) coef, scale_sp, scale_base] of ``Σ y·r (+ Σ l1·r_l1)``; the
    pass runs ``repeats`` times on the same x (the last one is returned)."""
    x = x.clone().requires_grad_(x_grad)
    params = [layer.coef, layer.scale_sp, layer.scale_base]
    wrt = ([x] if x_grad else []) + params
    for _ in range(repeats):
        if l1:
            y, norms = layer.forward_and_l1(x)
            loss = (y * r).sum() + (norms * r_l1).sum()
            outputs = [y.detach(), norms.detach()]
        else:
            y = layer(x)
            loss = (y * r).sum()
            outputs = [y.detach()]
        grads = torch.autograd.grad(loss, wrt)
    return outputs + list(grads)


# ----------------------------------------------------------------------------- always: the switch
def test_switched_off_kernels_fall_back_to_torch() -> None:
    """``use_kernels(False)`` (per thread, restored on exit even after an error) makes
    ``grid_for`` return None, and a layer then still computes the textbook result."""
    x = torch.rand(7, 3, dtype=F64) * 2 - 1
    knots = splines.uniform_knots(3, 5, 3, dtype=F64)
    was = kernels.available()
    with kernels.use_kernels(False):
        assert not kernels.available()
        assert kernels.grid_for(x, knots, 3, "silu") is None
        layer = make_layer(3, 2, 3, F64, adapted=False)
        xg = x.clone().requires_grad_()
        y = layer(xg)
        feats = torch.cat([splines.cox_de_boor(xg, layer.knots, 3), torch.nn.functional.silu(xg)[..., None]], -1)
        w = fused.weight(layer.coef, layer.scale_sp, layer.scale_base, layer.mask)
        y_ref = feats.flatten(1) @ w.flatten(1).T
        assert_near(y, y_ref, F64, "y")
        g, g_ref = torch.autograd.grad(y.sum(), xg)[0], torch.autograd.grad(y_ref.sum(), xg)[0]
        assert_near(g, g_ref, F64, "grad x")
    assert kernels.available() == was
    with pytest.raises(RuntimeError), kernels.use_kernels(False):
        raise RuntimeError("inside the block")
    assert kernels.available() == was


# ----------------------------------------------------------------------------- 1. Grid.evaluate
@needs_kernels
@pytest.mark.parametrize("kind", ["uniform", "random", "adapted"])
@pytest.mark.parametrize("k", range(6))
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_evaluate_matches_cox_de_boor(dtype: torch.dtype, k: int, kind: str) -> None:
    """Features, local values, slopes, base and base slope of ``Grid.evaluate`` equal the
    textbook recursion and its autograd derivative (for every base function), on knots, at and
    beyond both ends and in between; bases that do not exist and inputs outside the knots give
    exactly 0."""
    in_dim, grid = 3, 5
    knots = make_knots(kind, in_dim, grid, k, dtype, seed=k)
    x = probe_points(knots)
    batch, n_basis = x.shape[0], grid + k
    values, slopes = reference_basis(x, knots, k)
    outside = (x < knots[:, 0]) | (x > knots[:, -1])
    assert outside.any() and (~outside).any()
    x64 = x.double()
    for base_fn in BASE_FNS:
        g = kernels.grid_for(x, knots, k, base_fn)
        assert isinstance(g, kernels.Grid)
        out = g.evaluate(x, features=True, local=True, slopes=True)
        assert out["features"].shape == (batch, (n_basis + 1) * in_dim)
        assert out["span"].dtype == torch.int64 and out["span"].shape == (batch, in_dim)
        for name in ("values", "slopes"):
            assert out[name].shape == (k + 1, batch, in_dim)
        for name in ("values", "slopes", "base", "base_slope", "features"):
            assert out[name].dtype == dtype, name

        feats = out["features"].view(batch, n_basis + 1, in_dim)  # basis-major: c·in + i
        assert_near(feats[:, :n_basis].transpose(1, 2), values, dtype, "features vs Cox-de Boor")
        assert (feats[:, :n_basis].transpose(1, 2)[outside] == 0).all()
        assert_near(feats[:, n_basis], BASE_FUNCTIONS[base_fn](x64), dtype, f"{base_fn} column")
        assert_near(out["base"], BASE_FUNCTIONS[base_fn](x64), dtype, f"{base_fn} base")
        assert_near(out["base_slope"], BASE_DERIVATIVES[base_fn](x64), dtype, f"{base_fn} base_slope")
        xa = x64.clone().requires_grad_()
        b = BASE_FUNCTIONS[base_fn](xa).sum()
        base_autograd = torch.autograd.grad(b, xa)[0] if b.requires_grad else torch.zeros_like(x64)
        assert_near(out["base_slope"], base_autograd, dtype, f"{base_fn} base_slope vs autograd")

    # The local values are the features' k + 1 non-zero entries, at the columns span - k .. span.
    span = out["span"]
    assert (span >= 0).all() and (span <= knots.shape[1] - 2).all()
    assert torch.equal(dense(out["values"], span, k, n_basis), feats[:, :n_basis].transpose(1, 2))
    index = span.unsqueeze(0) + torch.arange(k + 1).view(-1, 1, 1) - k
    missing = (index < 0) | (index >= n_basis)
    for name in ("values", "slopes"):
        assert (out[name][missing] == 0).all(), f"{name} of bases that do not exist"
        assert (out[name][:, outside] == 0).all(), f"{name} outside the knots"
    inside = ~outside  # x lies in its interval (up to round-off at a knot, where both ends touch)
    t_left = knots.T.gather(0, span)
    t_right = knots.T.gather(0, span + 1)
    assert ((t_left <= x) & (x <= t_right))[inside].all()

    # Slopes: d/dx of each basis. Order 1 has a kink at every knot (either side's slope is right).
    got_slopes = dense(out["slopes"], span, k, n_basis)
    compare = ~on_a_knot(x, knots) if k == 1 else torch.ones_like(x, dtype=torch.bool)
    assert compare.sum() > x.shape[0]
    assert_near(got_slopes[compare], slopes[compare], dtype, "slopes vs autograd")
    if k == 0:
        assert (out["slopes"] == 0).all()


@needs_kernels
@pytest.mark.parametrize("kind", ["uniform", "adapted"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_evaluate_equals_local_support_and_partial_requests(dtype: torch.dtype, kind: str) -> None:
    """The same numbers as the torch path's ``splines.local_support`` (dense layout, so a span
    one off at a knot does not matter), and asking for fewer outputs changes none of them."""
    for k in (1, 3, 4):
        knots = make_knots(kind, 3, 7, k, dtype, seed=10 + k)
        x = probe_points(knots, seed=k)
        n_basis = knots.shape[1] - k - 1
        g = kernels.grid_for(x, knots, k, "gelu")
        full = g.evaluate(x, features=True, local=True, slopes=True)
        support = splines.local_support(x, knots, k)
        existing = support.existing()
        torch_values = dense(support.values(clamp=False) * existing, support.span, k, n_basis)
        torch_slopes = dense(support.derivatives() * existing, support.span, k, n_basis)
        assert_near(dense(full["values"], full["span"], k, n_basis), torch_values, dtype, "values")
        compare = ~on_a_knot(x, knots) if k == 1 else torch.ones_like(x, dtype=torch.bool)
        assert_near(dense(full["slopes"], full["span"], k, n_basis)[compare], torch_slopes[compare],
                    dtype, "slopes")  # fmt: skip
        assert set(g.evaluate(x).keys()) == set()
        only_features = g.evaluate(x, features=True)
        assert set(only_features) == {"features"}
        assert torch.equal(only_features["features"], full["features"])
        only_local = g.evaluate(x, local=True)
        assert set(only_local) == {"span", "values", "base"}
        only_slopes = g.evaluate(x, slopes=True)
        assert set(only_slopes) == {"span", "slopes", "base_slope"}
        for part in (only_local, only_slopes):
            for name, value in part.items():
                assert torch.equal(value, full[name]), name


@needs_kernels
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_evaluate_many_rows_and_wide_grids(dtype: torch.dtype) -> None:
    """Many inputs with very different (non-uniform, widely spread) knots per row and a large
    grid, where the bucket search must scan: still the textbook values."""
    gen = torch.Generator().manual_seed(3)
    k, grid, in_dim = 3, 40, 6
    gaps = (torch.rand(in_dim, grid + 2 * k, generator=gen, dtype=F64) ** 4 + 1e-3) * 10.0 ** torch.arange(in_dim)[:, None]
    knots = torch.cat([torch.zeros(in_dim, 1, dtype=F64), gaps.cumsum(1)], 1).to(dtype)
    assert (knots.diff(dim=1) > 0).all() and splines._uniform_step(knots) is None
    x = probe_points(knots, n_random=300)
    g = kernels.grid_for(x, knots, k, "tanh")
    feats = g.evaluate(x, features=True)["features"].view(x.shape[0], grid + k + 1, in_dim)
    values, _ = reference_basis(x, knots, k)
    assert_near(feats[:, : grid + k].transpose(1, 2), values, dtype, "features")


@pytest.mark.parametrize("grid_range", [(-1.0, 1.0), (-2.0, 3.0)], ids=["r-1_1", "r-2_3"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_order0_at_and_beyond_the_outermost_knots_on_uniform_knots(dtype: torch.dtype, grid_range) -> None:
    """k = 0 on uniform knots, G = 1..60: at x = t_0 and x = t_last a basis is 1 (the last
    interval is closed, as in ``cox_de_boor``) and one ulp beyond either end every basis is 0,
    in the kernels and in the torch path alike. Deciding "inside" from the rounded (x - t_0)/h
    instead got this wrong for some G (e.g. G = 7 at x = 1.0 in float64)."""
    for grid in range(1, 61):
        knots = splines.uniform_knots(1, grid, 0, grid_range, dtype=dtype)
        first, last = knots[:, :1], knots[:, -1:]
        x = torch.cat([first, last, torch.nextafter(first, first - 1), torch.nextafter(last, last + 1)])
        expected = splines.cox_de_boor(x, knots, 0)[:, 0]
        assert expected.sum(-1).tolist() == [1.0, 1.0, 0.0, 0.0], grid
        with kernels.use_kernels(False):
            assert torch.equal(splines.bspline_basis(x, knots, 0)[:, 0], expected), grid
        if kernels.available():
            got = kernels.grid_for(x, knots, 0, "zero").evaluate(x.contiguous(), features=True)["features"]
            assert torch.equal(got[:, :grid], expected), grid


# ----------------------------------------------------------------------------- 1b. the other kernels, directly
@needs_kernels
@pytest.mark.parametrize("kind", ["uniform", "random"])
@pytest.mark.parametrize("k", [0, 1, 3, 5])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_input_gradient_and_local_passes_match_dense_formulas(dtype: torch.dtype, k: int, kind: str) -> None:
    """``input_gradient``, ``local_forward`` and ``local_backward`` (every want_* combination)
    against the same products written densely with the reference basis and its slopes."""
    gen = torch.Generator().manual_seed(k)
    in_dim, grid, out_dim = 4, 6, 3
    knots = make_knots(kind, in_dim, grid, k, dtype, seed=20 + k)
    x = probe_points(knots, seed=k)
    x = x[~on_a_knot(x, knots).any(1)].contiguous()  # the slope of k <= 1 is not defined on knots
    batch, n_cols = x.shape[0], grid + k + 1
    base_fn = "silu"
    g = kernels.grid_for(x, knots, k, base_fn)
    saved = g.evaluate(x, local=True, slopes=True)
    values, slopes = reference_basis(x, knots, k)  # (batch, in, G + k)
    x64 = x.double()
    feats = torch.cat([values, BASE_FUNCTIONS[base_fn](x64)[..., None]], -1)  # (batch, in, C)
    dfeats = torch.cat([slopes, BASE_DERIVATIVES[base_fn](x64)[..., None]], -1)

    grad_features = torch.randn(batch, n_cols, in_dim, generator=gen, dtype=F64)
    saved_dense = g.evaluate(x, features=True, slopes=True)
    got = g.input_gradient(grad_features.to(dtype).flatten(1), saved_dense)
    assert got.shape == (batch, in_dim) and got.dtype == dtype
    expected = (grad_features.transpose(1, 2).to(dtype).double() * dfeats).sum(-1)
    assert_near(got, expected, dtype, "input_gradient")

    weight = torch.randn(out_dim, n_cols, in_dim, generator=gen, dtype=F64).to(dtype)
    w64 = weight.double()
    y = g.local_forward(saved, weight)
    assert y.shape == (batch, out_dim) and y.dtype == dtype
    assert_near(y, torch.einsum("bic,oci->bo", feats, w64), dtype, "local_forward")

    grad_y = torch.randn(batch, out_dim, generator=gen, dtype=F64).to(dtype)
    gy64 = grad_y.double()
    grad_w_ref = torch.einsum("bo,bic->oci", gy64, feats)
    grad_x_ref = torch.einsum("bo,oci,bic->bi", gy64, w64, dfeats)
    for want_weight in (True, False):
        for want_x in (True, False):
            grad_w, grad_x = g.local_backward(saved, weight, grad_y, want_weight, want_x)
            assert (grad_w is None) != want_weight and (grad_x is None) != want_x
            if want_weight:
                assert_near(grad_w, grad_w_ref, dtype, "local_backward weight")
            if want_x:
                assert_near(grad_x, grad_x_ref, dtype, "local_backward x")


# ----------------------------------------------------------------------------- 2. layers: on vs off
SHAPES = {  # name: (in, out, x requires grad, the pass fused picks)
    "dense_x_grad": (3, 8, True, fused._Pass),
    "dense_data": (3, 8, False, fused._Pass),
    "local_x_grad": (6, 1, True, fused._LocalPass),
}


@needs_kernels
@pytest.mark.parametrize("reuse", [True, False], ids=["reuse", "no_reuse"])
@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("k", [0, 1, 3, 5])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_layer_forward_backward_kernels_on_equals_off(kernel_calls, dtype, k, shape, adapted, reuse) -> None:
    """``KANLayer`` output and gradients (x, coef, scale_sp, scale_base) are the same with the
    kernels on and off, on the dense and the local pass; with feature reuse a data input runs
    three times (the third reads stored features)."""
    in_dim, out_dim, x_grad, expected_pass = SHAPES[shape]
    layer = make_layer(in_dim, out_dim, k, dtype, adapted, base_fn="gelu" if k == 5 else "silu")
    assert fused._pass_for(out_dim, k, layer.grid + k, x_grad) is expected_pass
    x = layer_inputs(layer)
    r = torch.randn(x.shape[0], out_dim, dtype=dtype)
    with fused.reuse_features(reuse):
        with kernels.use_kernels(False):
            off = run_layer(layer, x, x_grad, r)
        assert not kernel_calls
        on = run_layer(layer, x, x_grad, r, repeats=3)
    assert kernel_calls["evaluate"] >= (1 if reuse and not x_grad else 3)
    if expected_pass is fused._LocalPass:
        assert kernel_calls["local_forward"] == 3 and kernel_calls["local_backward"] == 3
    elif x_grad:
        assert kernel_calls["input_gradient"] == 3
    names = ["y"] + (["grad x"] if x_grad else []) + ["grad coef", "grad scale_sp", "grad scale_base"]
    for name, a, b in zip(names, on, off, strict=True):
        assert_near(a, b, dtype, name)
    grad_coef = on[-3]
    assert (grad_coef[layer.mask == 0] == 0).all()  # masked edges get no gradient


@needs_kernels
@pytest.mark.parametrize("x_grad", [True, False], ids=["x_grad", "x_data"])
@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_forward_and_l1_kernels_on_equals_off(kernel_calls, dtype, adapted, x_grad) -> None:
    """The sparsity path (``forward_and_l1``): output, edge norms and gradients, on vs off."""
    # Output counts below, at and above the kernels' 16-wide vector blocks (padding), every order.
    for k, (in_dim, out_dim) in ((3, (3, 4)), (2, (5, 1)), (0, (3, 17)), (1, (2, 16)), (5, (4, 33))):
        layer = make_layer(in_dim, out_dim, k, dtype, adapted)
        x = layer_inputs(layer)
        r = torch.randn(x.shape[0], out_dim, dtype=dtype)
        r_l1 = torch.randn(out_dim, in_dim, dtype=dtype)
        with kernels.use_kernels(False):
            off = run_layer(layer, x, x_grad, r, l1=True, r_l1=r_l1)
        calls = dict(kernel_calls)
        on = run_layer(layer, x, x_grad, r, l1=True, r_l1=r_l1, repeats=2)
        ran = {name for name, n in kernel_calls.items() if n > calls.get(name, 0)}
        expected = {"evaluate", "l1_sums", "assemble_weight", "parameter_gradients"}
        assert expected | ({"l1_input_gradient", "input_gradient"} if x_grad else set()) == ran
        for a, b in zip(on, off, strict=True):
            assert_near(a, b, dtype, f"k={k} {in_dim}->{out_dim}")


@needs_kernels
@pytest.mark.parametrize(("in_dim", "out_dim"), [(3, 2), (5, 1)], ids=["dense", "local"])
@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
def test_gradcheck_and_gradgradcheck_with_kernels(kernel_calls, in_dim, out_dim, adapted) -> None:
    """Finite differences agree with the kernels' backward (and the double backward) in float64."""
    layer = make_layer(in_dim, out_dim, 3, F64, adapted, grid=4)
    gen = torch.Generator().manual_seed(5)
    x = (1.8 * torch.rand(6, in_dim, generator=gen, dtype=F64) - 0.9).requires_grad_()
    inputs = (x, layer.coef.detach().clone().requires_grad_(), layer.scale_sp.detach().clone().requires_grad_(),
              layer.scale_base.detach().clone().requires_grad_())  # fmt: skip

    def f(x, coef, scale_sp, scale_base):
        return fused.spline_linear(x, coef, scale_sp, scale_base, layer.mask, layer.knots, 3, "silu")

    assert torch.autograd.gradcheck(f, inputs)
    assert kernel_calls["evaluate"] > 0
    assert kernel_calls["local_backward" if out_dim == 1 else "input_gradient"] > 0
    assert torch.autograd.gradgradcheck(f, inputs)


# ----------------------------------------------------------------------------- 3. masked and symbolic edges
@needs_kernels
@pytest.mark.parametrize(("in_dim", "out_dim"), [(3, 4), (6, 1)], ids=["dense", "local"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_masked_and_symbolic_edges_kernels_on_equals_off(kernel_calls, dtype, in_dim, out_dim) -> None:
    """A layer with masked edges and snapped (symbolic) edges: forward, forward_and_l1 and the
    gradients (the symbolic affine parameters' too) are the same with the kernels on and off."""
    layer = make_layer(in_dim, out_dim, 3, dtype, adapted=True)
    layer.set_symbolic(0, 2, "sin", (1.3, 0.2, 0.7, -0.1))
    layer.set_symbolic(out_dim - 1, 1, "x^2", (0.5, -0.3, 1.1, 0.05))
    assert layer.has_symbolic
    x = layer_inputs(layer)
    r = torch.randn(x.shape[0], out_dim, dtype=dtype)
    r_l1 = torch.randn(out_dim, in_dim, dtype=dtype)

    def run() -> list[torch.Tensor]:
        xg = x.clone().requires_grad_()
        params = [xg, layer.coef, layer.scale_sp, layer.scale_base, layer.sym_affine]
        y = layer(xg)
        y2, l1 = layer.forward_and_l1(xg)
        loss = (y * r).sum() + (y2 * r).sum() + (l1 * r_l1).sum()
        return [y.detach(), y2.detach(), l1.detach(), *torch.autograd.grad(loss, params)]

    on = assert_on_equals_off(run, kernel_calls, dtype)
    assert (on[4][layer.mask == 0] == 0).all()  # grad coef of masked edges
    assert (on[4][layer.sym_mask == 1] == 0).all()  # ... and of symbolic ones


@needs_kernels
def test_kan_with_fix_symbolic_kernels_on_equals_off(kernel_calls) -> None:
    """``KAN.fix_symbolic`` on a model, then a forward/backward: on vs off."""
    model = KAN(width=[2, 3, 1], grid=5, k=3, seed=0, dtype=F64)
    x = torch.rand(32, 2, dtype=F64) * 2 - 1
    model.fix_symbolic(0, 0, 1, "sin", x=x, fit_params=False)
    model.fix_symbolic(1, 2, 0, "x^2", x=x, fit_params=False)

    def run() -> list[torch.Tensor]:
        model.zero_grad()
        y = model(x)
        y.square().sum().backward()
        return [y.detach()] + [p.grad.clone() for p in model.parameters() if p.requires_grad]

    assert_on_equals_off(run, kernel_calls, F64)


# ----------------------------------------------------------------------------- 4. fallbacks
@needs_kernels
def test_grid_for_falls_back_when_the_kernels_do_not_apply() -> None:
    """None (torch path) for every input the kernels do not take; a Grid otherwise."""
    knots = splines.uniform_knots(3, 5, 3, dtype=F64)
    x = torch.rand(4, 3, dtype=F64)
    assert isinstance(kernels.grid_for(x, knots, 3, "silu"), kernels.Grid)
    assert kernels.grid_for(x.float(), knots, 3, "silu") is None  # dtype mismatch
    assert kernels.grid_for(x, knots.float(), 3, "silu") is None
    for low in (torch.float16, torch.bfloat16):
        assert kernels.grid_for(x.to(low), knots.to(low), 3, "silu") is None
    k_big = kernels.MAX_ORDER + 1
    big = splines.uniform_knots(3, 2, k_big, dtype=F64)
    assert kernels.grid_for(x, big, k_big, "silu") is None
    top = splines.uniform_knots(3, 2, kernels.MAX_ORDER, dtype=F64)
    assert isinstance(kernels.grid_for(x, top, kernels.MAX_ORDER, "silu"), kernels.Grid)
    assert kernels.grid_for(x, knots.clone().requires_grad_(), 3, "silu") is None
    assert kernels.grid_for(x, knots, 3, "relu") is None  # unknown base function
    assert kernels.grid_for(x[:, :2], knots, 3, "silu") is None  # wrong number of inputs
    assert kernels.grid_for(x[None], knots, 3, "silu") is None  # not 2-D
    assert kernels.grid_for(x, knots[:, :4], 3, "silu") is None  # fewer than k + 2 knots


@needs_kernels
def test_order_above_the_kernels_maximum_runs_on_torch(kernel_calls) -> None:
    """A layer with k > MAX_ORDER works (torch path) and never calls the basis kernels (the
    parameter kernels do not depend on k)."""
    k = kernels.MAX_ORDER + 1
    layer = KANLayer(2, 2, grid=2, k=k, dtype=F64)
    x = (torch.rand(5, 2, dtype=F64) * 2 - 1).requires_grad_()
    y = layer(x)
    y.sum().backward()
    assert set(kernel_calls) <= {"assemble_weight", "parameter_gradients"}
    with kernels.use_kernels(False):
        assert torch.equal(layer(x.detach()), y.detach())


@needs_kernels
def test_kernels_switch_is_per_thread() -> None:
    """``use_kernels(False)`` in one thread leaves another thread's kernels on."""
    knots = splines.uniform_knots(2, 5, 3, dtype=F64)
    x = torch.rand(3, 2, dtype=F64)
    seen: list[bool] = []
    with kernels.use_kernels(False):
        assert kernels.grid_for(x, knots, 3, "silu") is None
        worker = threading.Thread(target=lambda: seen.append(kernels.grid_for(x, knots, 3, "silu") is not None))
        worker.start()
        worker.join()
    assert seen == [True]


@needs_kernels
def test_environment_variable_turns_the_kernels_off() -> None:
    """``KANLAB_KERNELS=0`` in the environment: ``available()`` is False for the process."""
    code = "from kanlab import kernels; import sys; sys.exit(0 if not kernels.available() else 3)"
    env = {**os.environ, "KANLAB_KERNELS": "0"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode()


@needs_kernels
@pytest.mark.parametrize("lamb", [0.0, 1e-3], ids=["plain", "sparsity"])
def test_kan_training_is_the_same_with_kernels_on_and_off(kernel_calls, lamb: float) -> None:
    """A KAN [2, 3, 1] trained a few Adam steps (grid updates, and the sparsity penalty) gives
    the same losses and parameters with the kernels on and off (float64, to 1e-10)."""
    data = create_dataset(lambda x: torch.exp(torch.sin(torch.pi * x[:, :1]) + x[:, 1:] ** 2),
                          n_var=2, n_train=200, n_test=50, seed=0, dtype=F64)  # fmt: skip

    def train() -> tuple[list[float], list[torch.Tensor]]:
        model = KAN(width=[2, 3, 1], grid=5, k=3, seed=0, dtype=F64)
        history = model.fit(data, opt="Adam", steps=8, lr=0.02, lamb=lamb, grid_update_every=4,
                            progress=False)  # fmt: skip
        return history["train_loss"] + history["test_loss"] + history["reg"], [
            t.detach().clone() for t in model.state_dict().values()
        ]

    with kernels.use_kernels(False):
        losses_off, state_off = train()
    assert not kernel_calls
    losses_on, state_on = train()
    assert kernel_calls["evaluate"] > 0
    assert kernel_calls["local_forward"] > 0 or lamb > 0  # the sparsity path is always dense
    assert losses_on == pytest.approx(losses_off, rel=1e-10, abs=1e-10)
    assert losses_on[0] != losses_on[7]  # it trained
    for a, b in zip(state_on, state_off, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


# ----------------------------------------------------------------------------- 5. non-contiguous inputs
@needs_kernels
@pytest.mark.parametrize("x_grad", [True, False], ids=["x_grad", "x_data"])
@pytest.mark.parametrize(("in_dim", "out_dim"), [(3, 4), (6, 1)], ids=["dense", "local"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_non_contiguous_input_gives_the_same_result(kernel_calls, dtype, in_dim, out_dim, x_grad) -> None:
    """A transposed view, a strided column slice and an expanded (stride-0) input give the same
    output and gradients as their contiguous copy, with the kernels on and off."""
    layer = make_layer(in_dim, out_dim, 3, dtype, adapted=True)
    x = layer_inputs(layer, n=20)
    views = {  # name: a non-contiguous view of the leaf it is made from
        "transposed": lambda leaf: leaf.T,
        "strided": lambda leaf: leaf[:, ::2],
        "expanded": lambda leaf: leaf.expand(x.shape[0], in_dim),
    }
    leaves = {
        "transposed": x.T.contiguous(),
        "strided": torch.stack([x, torch.zeros_like(x)], -1).flatten(1),
        "expanded": x[5:6].clone(),
    }
    r = torch.randn(x.shape[0], out_dim, dtype=dtype)
    params = [layer.coef, layer.scale_sp, layer.scale_base]
    for name, make_view in views.items():
        expected_x = make_view(leaves[name]).contiguous()
        assert not make_view(leaves[name]).is_contiguous(), name
        with kernels.use_kernels(False):
            expected = run_layer(layer, expected_x, x_grad, r)
        for enabled in (True, False):
            leaf = leaves[name].clone().requires_grad_(x_grad)
            view = make_view(leaf)
            with kernels.use_kernels(enabled):
                for _ in range(3):  # a data input is stored on its second use
                    y = layer(view)
                grads = torch.autograd.grad((y * r).sum(), ([view] if x_grad else []) + params)
            got = [y.detach(), *grads]
            for a, b in zip(got, expected, strict=True):
                assert_near(a, b, dtype, f"{name} kernels={enabled}")
    assert kernel_calls["evaluate"] > 0


# ----------------------------------------------------------------------------- 6. the parameter kernels
@needs_kernels
@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_parameter_kernels_match_the_torch_formulas(dtype: torch.dtype) -> None:
    """``assemble_weight`` equals ``fused.weight`` (basis-major), and ``parameter_gradients``
    equals autograd through it, for every combination of wanted gradients; mixed dtypes or a
    non-CPU-float input fall back (None)."""
    gen = torch.Generator().manual_seed(3)
    out_dim, in_dim, n_basis = 4, 3, 8
    coef = torch.randn(out_dim, in_dim, n_basis, generator=gen, dtype=dtype, requires_grad=True)
    scale_sp = torch.randn(out_dim, in_dim, generator=gen, dtype=dtype, requires_grad=True)
    scale_base = torch.randn(out_dim, in_dim, generator=gen, dtype=dtype, requires_grad=True)
    numeric = (torch.rand(out_dim, in_dim, generator=gen) > 0.3).to(dtype)
    reference = fused.weight(coef, scale_sp, scale_base, numeric)  # (out, in, C)
    got = kernels.assemble_weight(coef.detach(), scale_sp.detach(), scale_base.detach(), numeric)
    assert_near(got, reference.detach().transpose(1, 2), dtype, "weight")
    g = torch.randn(out_dim, n_basis + 1, in_dim, generator=gen, dtype=dtype)
    expected = torch.autograd.grad(reference, (coef, scale_sp, scale_base), g.transpose(1, 2))
    for wanted in ((True, True, True), (True, False, False), (False, True, False), (False, False, True)):
        grads = kernels.parameter_gradients(g, coef.detach(), scale_sp.detach(), numeric, wanted)
        for want, got_g, exp_g in zip(wanted, grads, expected, strict=True):
            if want:
                assert_near(got_g, exp_g, dtype, f"gradient {wanted}")
            else:
                assert got_g is None
    other = F32 if dtype == F64 else F64
    assert kernels.assemble_weight(coef.detach(), scale_sp.detach(), scale_base.detach(), numeric.to(other)) is None
    assert kernels.parameter_gradients(g.to(other), coef.detach(), scale_sp.detach(), numeric, (True,) * 3) is None
    assert kernels.assemble_weight(*(t.detach().half() for t in (coef, scale_sp, scale_base, numeric))) is None
