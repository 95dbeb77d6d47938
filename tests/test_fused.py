"""The fused KAN layer (kanlab.fused): one autograd node with a hand-written backward pass.

Every result of ``KANLayer.forward`` / ``forward_and_l1`` (values, first derivatives from the
hand-written backward, higher derivatives from the create_graph recomputation) must equal the
same computation written with ordinary differentiable torch ops. The reference basis here is
the textbook Cox–de Boor recursion, so it shares no code with the fast local-support path.
Also checked: the per-grid cache of features for reused inputs never serves stale values.
"""

from __future__ import annotations

import threading

import pytest
import torch
from layers import random_layer
from torch import nn

from kanlab import KAN, KANLayer, fused, splines
from kanlab.fused import BASE_FUNCTIONS
from kanlab.pde import laplacian

F64 = torch.float64
K_VALUES = [0, 1, 2, 3, 5]
BASE_FNS = ["silu", "identity", "zero", "tanh", "gelu"]
TOL = {"atol": 1e-12, "rtol": 1e-12}


# ----------------------------------------------------------------------------- helpers
def make_layer(k: int, base_fn: str = "silu", adapted: bool = False, in_dim: int = 3,
               out_dim: int = 4, grid: int = 5, seed: int = 0) -> KANLayer:
    """A float64 ``random_layer`` (random weights, two masked edges, uniform or adapted grid)."""
    return random_layer(in_dim, out_dim, k, F64, adapted, base_fn, grid, seed)


def inputs(layer: KANLayer, n: int = 64, seed: int = 1, lo: float = -4.0, hi: float = 4.0,
           some_outside: bool = True) -> torch.Tensor:
    """n random inputs in [lo, hi]; by default some of them lie beyond the outermost knots
    (where every basis is 0) on both sides, the others inside."""
    gen = torch.Generator().manual_seed(seed)
    x = lo + (hi - lo) * torch.rand(n, layer.in_dim, generator=gen, dtype=F64)
    if some_outside:
        x[0, 0] = layer.knots[0, 0] - 0.3
        x[1, -1] = layer.knots[-1, -1] + 0.3
        outside = (x < layer.knots[:, 0]) | (x > layer.knots[:, -1])
        assert outside.any() and not outside.all()
    return x


def numeric(layer: KANLayer) -> torch.Tensor:
    return layer.mask * (1 - layer.sym_mask)


def reference_features(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    """(batch, in, G + k + 1) from the textbook recursion and the base function (plain autograd)."""
    basis = splines.cox_de_boor(x, layer.knots, layer.k)
    return torch.cat([basis, BASE_FUNCTIONS[layer.base_fn](x).unsqueeze(-1)], dim=-1)


def reference_weight(layer: KANLayer) -> torch.Tensor:
    return fused.weight(layer.coef, layer.scale_sp, layer.scale_base, numeric(layer))


def reference_forward(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    """``features @ weightᵀ`` with ordinary ops, plus the symbolic edges."""
    y = reference_features(layer, x).flatten(1) @ reference_weight(layer).flatten(1).T
    return y + layer.symbolic_activations(x).sum(2) if layer.has_symbolic else y


def reference_phi(layer: KANLayer, x: torch.Tensor) -> torch.Tensor:
    """Every numeric edge's output (batch, out, in)."""
    return torch.einsum("bic,oic->boi", reference_features(layer, x), reference_weight(layer))


def params(layer: KANLayer) -> list[torch.Tensor]:
    return [layer.coef, layer.scale_sp, layer.scale_base]


def reference_grad(output: torch.Tensor, wrt: list[torch.Tensor], **kwargs) -> tuple:
    """Plain-autograd gradients, zeros for inputs the reference does not depend on (k = 0 with
    the "zero" base function makes the output constant in x)."""
    return torch.autograd.grad(output, wrt, allow_unused=True, materialize_grads=True, **kwargs)


def first_derivatives(output: torch.Tensor, wrt: list[torch.Tensor], create_graph: bool) -> tuple:
    """The layer's gradients; with create_graph (the recomputation path) an input the output does
    not depend on (k = 0, "zero" base) is reported as unused, as plain autograd does, so zeros."""
    if not create_graph:
        return torch.autograd.grad(output, wrt)
    return reference_grad(output, wrt, create_graph=True)


def assert_all_close(got, expected) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, **TOL)


# ----------------------------------------------------------------------------- 1. forward + first derivatives
def test_fused_features_equal_the_textbook_basis() -> None:
    """The reference used below agrees with ``fused.features`` (values and d/dx), so a mismatch
    in the later tests points at the fused node, not at the reference."""
    for k in K_VALUES:
        for adapted in (False, True):
            layer = make_layer(k, "gelu", adapted)
            x = inputs(layer).requires_grad_()
            ours, ref = fused.features(x, layer.knots, k, "gelu"), reference_features(layer, x)
            torch.testing.assert_close(ours, ref, **TOL)
            r = torch.randn(ref.shape, dtype=F64)
            assert_all_close(torch.autograd.grad((ours * r).sum(), x),
                             reference_grad((ref * r).sum(), [x]))


@pytest.mark.parametrize("out_dim", [1, 4], ids=["local_pass", "dense_pass"])
@pytest.mark.parametrize("x_grad", [True, False], ids=["x_grad", "x_data"])
@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
@pytest.mark.parametrize("base_fn", BASE_FNS)
@pytest.mark.parametrize("k", K_VALUES)
def test_forward_and_gradients_match_reference(k: int, base_fn: str, adapted: bool, x_grad: bool,
                                               out_dim: int) -> None:
    """Output and d/dx, d/dcoef, d/dscale_sp, d/dscale_base of ``layer(x)`` equal plain autograd
    through the reference, for x inside and beyond the knots and with masked edges. An input
    that does not require grad is run twice (the second pass reads the stored features); the
    create_graph path (recomputation) must give the same first derivatives too."""
    layer = make_layer(k, base_fn, adapted, out_dim=out_dim)
    local = x_grad and out_dim * (k + 1) < layer.grid + k + 1  # a hidden layer with few outputs
    chosen = fused._pass_for(out_dim, k, layer.grid + k, x_grad)
    assert chosen is (fused._LocalPass if local else fused._Pass)
    assert local or not x_grad or k > 0  # out_dim 1 with x_grad takes the local pass
    x = inputs(layer)
    r = torch.randn(x.shape[0], layer.out_dim, dtype=F64)

    x_ref = x.clone().requires_grad_(x_grad)
    y_ref = reference_forward(layer, x_ref)
    wrt_ref = ([x_ref] if x_grad else []) + params(layer)
    expected = reference_grad((y_ref * r).sum(), wrt_ref)

    x_in = x.clone().requires_grad_(x_grad)
    wrt = ([x_in] if x_grad else []) + params(layer)
    for create_graph in (False, False, True):
        y = layer(x_in)
        torch.testing.assert_close(y, y_ref, **TOL)
        grads = first_derivatives((y * r).sum(), wrt, create_graph)
        assert_all_close(grads, expected)
    g_coef = grads[-3]
    assert (g_coef[layer.mask == 0] == 0).all()  # masked edges get no gradient


@pytest.mark.parametrize("k", [0, 3])
def test_forward_unchecked_and_plain_function_agree(k: int) -> None:
    """``fused.spline_linear`` called directly is the layer's numeric part (what KAN.forward uses)."""
    layer = make_layer(k, "silu", adapted=True)
    x = inputs(layer)
    y = fused.spline_linear(x, layer.coef, layer.scale_sp, layer.scale_base, layer.mask,
                            layer.knots, k, "silu")
    torch.testing.assert_close(y, reference_forward(layer, x), **TOL)
    torch.testing.assert_close(layer.forward_unchecked(x), y, atol=0, rtol=0)


# ----------------------------------------------------------------------------- 2. forward_and_l1
@pytest.mark.parametrize("x_grad", [True, False], ids=["x_grad", "x_data"])
@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
@pytest.mark.parametrize("base_fn", BASE_FNS)
@pytest.mark.parametrize("k", K_VALUES)
def test_forward_and_l1_match_reference(k: int, base_fn: str, adapted: bool, x_grad: bool) -> None:
    """``forward_and_l1``: output, every edge's L1 norm, and the gradients of
    ``Σ y·r1 + Σ l1·r2`` equal the sign-trick reference (``fused.l1_sign_trick``) and the direct
    ``mean_b |phi|`` formula; the create_graph path agrees as well."""
    layer = make_layer(k, base_fn, adapted)
    x = inputs(layer)
    r1 = torch.randn(x.shape[0], layer.out_dim, dtype=F64)
    r2 = torch.randn(layer.out_dim, layer.in_dim, dtype=F64)

    x_ref = x.clone().requires_grad_(x_grad)
    wrt_ref = ([x_ref] if x_grad else []) + params(layer)
    feats, w = reference_features(layer, x_ref), reference_weight(layer)
    y_ref = feats.flatten(1) @ w.flatten(1).T
    l1_trick = fused.l1_sign_trick(feats, w)[0]
    l1_direct = reference_phi(layer, x_ref).abs().mean(0)
    torch.testing.assert_close(l1_trick, l1_direct, **TOL)
    expected = reference_grad((y_ref * r1).sum() + (l1_trick * r2).sum(), wrt_ref, retain_graph=True)
    assert_all_close(reference_grad((y_ref * r1).sum() + (l1_direct * r2).sum(), wrt_ref), expected)

    x_in = x.clone().requires_grad_(x_grad)
    wrt = ([x_in] if x_grad else []) + params(layer)
    for create_graph in (False, False, True):
        y, l1 = layer.forward_and_l1(x_in)
        torch.testing.assert_close(y, y_ref, **TOL)
        torch.testing.assert_close(l1, l1_direct, **TOL)
        assert l1.shape == (layer.out_dim, layer.in_dim) and (l1[layer.mask == 0] == 0).all()
        grads = first_derivatives((y * r1).sum() + (l1 * r2).sum(), wrt, create_graph)
        assert_all_close(grads, expected)


def test_edge_l1_is_mean_absolute_edge_activation() -> None:
    """``edge_l1`` (the fused path) is literally mean over the batch of |phi| from
    ``edge_activations`` (and is not trivially zero)."""
    layer = make_layer(3, "silu", adapted=True)
    x = inputs(layer, n=200)
    l1 = layer.edge_l1(x)
    torch.testing.assert_close(l1, layer.edge_activations(x).abs().mean(0), **TOL)
    assert (l1[layer.mask == 1] > 1e-3).all()


# ----------------------------------------------------------------------------- 3. gradcheck / higher derivatives
class _WithL1(nn.Module):
    """``forward`` is the wrapped layer's ``forward_and_l1`` (so functional_call can reach it)."""

    def __init__(self, layer: KANLayer) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.layer.forward_and_l1(x)


def _as_function(layer: KANLayer, l1: bool = False):
    """layer(x) (or forward_and_l1) as a function of (x, coef, scale_sp, scale_base)."""
    module, prefix = (_WithL1(layer), "layer.") if l1 else (layer, "")
    names = [prefix + n for n in ("coef", "scale_sp", "scale_base")]

    def fn(x, *values):
        return torch.func.functional_call(module, dict(zip(names, values)), (x,))

    return fn


def _gradcheck_inputs(layer: KANLayer, n: int = 6) -> tuple[torch.Tensor, ...]:
    x = inputs(layer, n=n, lo=-1.5, hi=1.5)
    return (x.requires_grad_(), *(p.detach().clone().requires_grad_() for p in params(layer)))


@pytest.mark.parametrize("out_dim", [1, 2])
@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
@pytest.mark.parametrize("k,base_fn", [(0, "tanh"), (1, "silu"), (2, "gelu"), (3, "silu"), (5, "identity")])
def test_gradcheck_and_gradgradcheck(k: int, base_fn: str, adapted: bool, out_dim: int) -> None:
    """First derivatives (hand-written backward) and second derivatives (create_graph
    recomputation) of layer(x) wrt x and every parameter match finite differences."""
    layer = make_layer(k, base_fn, adapted, in_dim=2, out_dim=out_dim, grid=3)
    args = _gradcheck_inputs(layer)
    fn = _as_function(layer)
    assert torch.autograd.gradcheck(fn, args)
    assert torch.autograd.gradgradcheck(fn, args)


@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
def test_gradcheck_and_gradgradcheck_with_l1(adapted: bool) -> None:
    """The same for ``forward_and_l1`` (both outputs), the sparsity-penalised training pass."""
    layer = make_layer(3, "silu", adapted, in_dim=2, out_dim=2, grid=3)
    args = _gradcheck_inputs(layer)
    fn = _as_function(layer, l1=True)
    assert torch.autograd.gradcheck(fn, args)
    assert torch.autograd.gradgradcheck(fn, args)


def _model_reference(model: KAN, x: torch.Tensor) -> torch.Tensor:
    for layer in model.layers:
        x = reference_forward(layer, x)
    return x


def _laplacian(fn, x: torch.Tensor) -> torch.Tensor:
    u = fn(x)[:, 0]
    (grad,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    return sum(torch.autograd.grad(grad[:, d].sum(), x, create_graph=True)[0][:, d] for d in range(x.shape[1]))


def _random_kan(seed: int = 0) -> KAN:
    model = KAN([2, 3, 1], grid=5, k=3, seed=seed, dtype=F64)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in model.layers:
            layer.coef.copy_(torch.randn(layer.coef.shape, generator=gen, dtype=F64) * 0.5)
    return model


def test_pde_laplacian_matches_reference_and_finite_differences() -> None:
    """A PINN needs Δu of a 2-layer KAN and the gradient of a loss on Δu wrt the parameters
    (third derivatives through the fused node): both equal the plain-autograd reference, and
    Δu equals central finite differences."""
    model = _random_kan()
    gen = torch.Generator().manual_seed(3)
    x = (torch.rand(12, 2, generator=gen, dtype=F64) * 1.8 - 0.9).requires_grad_()

    lap = _laplacian(model, x)
    lap_ref = _laplacian(lambda v: _model_reference(model, v), x)
    torch.testing.assert_close(lap, lap_ref, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(laplacian(model, x.detach())[1], lap_ref, atol=1e-10, rtol=1e-10)

    h = 1e-4
    with torch.no_grad():
        fd = sum(
            (model(x + h * e) - 2 * model(x) + model(x - h * e))[:, 0] / h**2
            for e in torch.eye(2, dtype=F64)
        )
    torch.testing.assert_close(lap.detach(), fd, atol=1e-5, rtol=1e-5)
    assert lap.abs().max() > 1e-2  # a non-trivial Laplacian

    wrt = [p for p in model.parameters() if p.requires_grad] + [x]
    grads = torch.autograd.grad((lap**2).sum(), wrt)
    grads_ref = torch.autograd.grad((lap_ref**2).sum(), wrt)
    for g, e in zip(grads, grads_ref):
        torch.testing.assert_close(g, e, atol=1e-10, rtol=1e-10)


def test_laplacian_gradcheck_wrt_points() -> None:
    """d(Δu)/dx (a third derivative of the network) agrees with finite differences of Δu."""
    model = _random_kan(seed=1)
    gen = torch.Generator().manual_seed(4)
    x = (torch.rand(5, 2, generator=gen, dtype=F64) * 1.8 - 0.9).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: _laplacian(model, v), (x,))


# ----------------------------------------------------------------------------- 4. the features cache, symbolic edges
def test_reused_input_is_served_from_the_cache() -> None:
    """An input that does not require grad and is used twice has its features stored: the
    cache tests below exercise it, not just recomputation."""
    layer = make_layer(3)
    x = inputs(layer)
    first = fused._data_features(x, layer.knots, 3, "silu")
    second = fused._data_features(x, layer.knots, 3, "silu")
    assert fused._data_features(x, layer.knots, 3, "silu") is second
    torch.testing.assert_close(first, second, atol=0, rtol=0)


def _bump_in_place(how: str, x: torch.Tensor) -> None:
    if how == "mul_":
        x.mul_(0.5)
    elif how == "view":
        x[:, 2].add_(0.3)  # through a view (column 2: never masked): shares the version counter
    elif how == "copy_":
        x.copy_(torch.flip(x, dims=[0]))
    elif how == "no_grad":
        with torch.no_grad():
            x.sub_(0.25)
    elif how == "detach":
        x.detach().mul_(-1.0)  # detach() shares storage and version counter


@pytest.mark.parametrize("out_dim", [1, 4], ids=["local_pass", "dense_pass"])
@pytest.mark.parametrize("how", ["mul_", "view", "copy_", "no_grad", "detach"])
@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
def test_in_place_change_of_a_reused_input_is_seen(how: str, adapted: bool, out_dim: int) -> None:
    """Twice on the same x gives identical outputs (the second from stored features); after an
    in-place change of x the layer computes the new x's result, like a fresh copy of it."""
    layer = make_layer(3, "silu", adapted, out_dim=out_dim)
    x = inputs(layer)
    first, second = layer(x), layer(x)
    torch.testing.assert_close(first, second, atol=0, rtol=0)
    _bump_in_place(how, x)
    for _ in range(3):  # the first pass after the change and the stored one
        y = layer(x)
        torch.testing.assert_close(y, layer(x.clone()), atol=0, rtol=0)
        torch.testing.assert_close(y, reference_forward(layer, x), **TOL)
    assert not torch.allclose(y, first)


def test_grid_update_and_refine_drop_stored_features() -> None:
    """After ``update_grid`` / ``refine`` / an in-place change of the knots, a reused input's
    output is computed on the new knots (nothing stale from the old grid)."""
    layer = make_layer(3)
    x = inputs(layer, lo=-1.5, hi=1.5, n=128, some_outside=False)
    layer(x), layer(x)
    gen = torch.Generator().manual_seed(5)
    layer.update_grid(torch.rand(300, 3, generator=gen, dtype=F64) ** 3 * 2 - 1)
    for _ in range(3):
        torch.testing.assert_close(layer(x), reference_forward(layer, x), **TOL)
    layer.refine(10)
    assert layer.grid == 10
    for _ in range(3):
        torch.testing.assert_close(layer(x), reference_forward(layer, x), **TOL)
    with torch.no_grad():  # same tensor, new values
        layer.knots.copy_(splines.adaptive_knots(x * 0.7, 10, 3))
    for _ in range(3):
        y, l1 = layer.forward_and_l1(x)
        torch.testing.assert_close(y, reference_forward(layer, x), **TOL)
        torch.testing.assert_close(l1, reference_phi(layer, x).abs().mean(0), **TOL)


@pytest.mark.parametrize("how", ["data", "numpy"])
def test_change_through_data_of_a_reused_input_is_seen(how: str) -> None:
    """Changes that bypass x's version counter (``x.data``, a NumPy view) are seen too: a stored
    entry is used only while x still equals the copy kept with it."""
    layer = make_layer(3)
    x = inputs(layer)
    layer(x), layer(x)
    if how == "data":
        x.data.mul_(0.5)
    else:
        x.numpy()[:] *= 0.5
    torch.testing.assert_close(layer(x), reference_forward(layer, x), **TOL)
    x.numpy()[[0, 1]] = x.numpy()[[1, 0]]  # same values, other order: a permutation is seen too
    torch.testing.assert_close(layer(x), reference_forward(layer, x), **TOL)


@pytest.mark.parametrize("x_grad", [True, False], ids=["x_grad", "x_data"])
@pytest.mark.parametrize("adapted", [False, True], ids=["uniform", "adapted"])
def test_symbolic_edge_forward_and_gradients(adapted: bool, x_grad: bool) -> None:
    """With a snapped edge the layer is the numeric edges (the snapped one excluded) plus the
    formula; gradients, the snapped edge's affine parameters included, match the reference,
    and the L1 norms are mean |phi| of every edge, formulas included."""
    layer = make_layer(2, "silu", adapted)
    layer.set_symbolic(1, 2, "sin", (1.3, 0.2, 0.7, -0.1))
    layer.set_symbolic(0, 1, "x^2", (0.5, 0.0, 1.0, 0.0))  # a masked edge: stays 0
    x = inputs(layer)
    r = torch.randn(x.shape[0], layer.out_dim, dtype=F64)
    wrt_params = [*params(layer), layer.sym_affine]

    x_ref = x.clone().requires_grad_(x_grad)
    y_ref = reference_forward(layer, x_ref)
    expected = reference_grad((y_ref * r).sum(), ([x_ref] if x_grad else []) + wrt_params)
    x_in = x.clone().requires_grad_(x_grad)
    for _ in range(2):
        y = layer(x_in)
        torch.testing.assert_close(y, y_ref, **TOL)
        grads = torch.autograd.grad((y * r).sum(), ([x_in] if x_grad else []) + wrt_params)
        assert_all_close(grads, expected)
    assert (grads[-4][1, 2] == 0).all() and grads[-1][1, 2].abs().sum() > 0

    y, l1 = layer.forward_and_l1(x_in)
    torch.testing.assert_close(y, y_ref, **TOL)
    phi = reference_phi(layer, x) + layer.symbolic_activations(x)
    torch.testing.assert_close(l1, phi.abs().mean(0), **TOL)
    assert l1[0, 1] == 0 and l1[1, 2] > 0


# ----------------------------------------------------------------------------- 5. empty batch
@pytest.mark.parametrize("out_dim", [1, 4], ids=["local_pass", "dense_pass"])
@pytest.mark.parametrize("x_grad", [True, False], ids=["x_grad", "x_data"])
@pytest.mark.parametrize("k", [0, 3])
def test_empty_batch_forward_and_backward(k: int, x_grad: bool, out_dim: int) -> None:
    """A batch of 0 rows gives a (0, out) output, zero parameter gradients and a (0, in) input
    gradient, for a layer and for a 2-layer KAN."""
    layer = make_layer(k, adapted=True, out_dim=out_dim)
    x = torch.zeros(0, layer.in_dim, dtype=F64, requires_grad=x_grad)
    for _ in range(2):
        y = layer(x)
        assert y.shape == (0, layer.out_dim)
        wrt = ([x] if x_grad else []) + params(layer)
        grads = torch.autograd.grad(y.sum(), wrt)
        if x_grad:
            assert grads[0].shape == (0, layer.in_dim)
        for g, p in zip(grads[-3:], params(layer)):
            assert g.shape == p.shape and (g == 0).all()
    model = _random_kan()
    y = model(torch.zeros(0, 2, dtype=F64))
    y.sum().backward()
    assert y.shape == (0, 1) and all((p.grad == 0).all() for p in model.parameters() if p.requires_grad)


def test_empty_batch_forward_and_l1() -> None:
    """``forward_and_l1`` on 0 rows returns (0, out) and an (out, in) L1 table (the mean over no
    samples)."""
    layer = make_layer(3)
    y, l1 = layer.forward_and_l1(torch.zeros(0, layer.in_dim, dtype=F64))
    assert y.shape == (0, layer.out_dim) and l1.shape == (layer.out_dim, layer.in_dim)


def test_empty_batch_second_derivative() -> None:
    """d/dx with create_graph=True (a PDE residual) on 0 points gives a (0, in) gradient."""
    layer = make_layer(3)
    x = torch.zeros(0, layer.in_dim, dtype=F64, requires_grad=True)
    (g,) = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
    assert g.shape == (0, layer.in_dim)


def test_ordinary_graph_gives_the_same_numbers_without_the_fused_node() -> None:
    """Inside ``ordinary_graph()`` a layer is built from ordinary ops (what PDE Laplacians use):
    same values and gradients, and no fused node in the graph."""
    layer = make_layer(3, "silu", adapted=True)
    x = inputs(layer).requires_grad_()
    y = layer(x)
    with fused.ordinary_graph():
        y_ordinary = layer(x)
    assert type(y.grad_fn).__name__ == "_SplineLinearBackward"
    assert "SplineLinear" not in type(y_ordinary.grad_fn).__name__
    torch.testing.assert_close(y_ordinary, y, **TOL)
    g, g_ordinary = (torch.autograd.grad(v.sum(), [x, *params(layer)]) for v in (y, y_ordinary))
    assert_all_close(g_ordinary, g)


def test_switches_are_per_thread() -> None:
    """``reuse_features``/``ordinary_graph`` change only the calling thread, like torch's grad mode."""
    seen = {}

    def worker() -> None:
        seen["reuse"], seen["ordinary"] = fused._MODES.reuse, fused._MODES.ordinary

    with fused.reuse_features(False), fused.ordinary_graph():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert not fused._MODES.reuse and fused._MODES.ordinary
    assert seen == {"reuse": True, "ordinary": False}
    assert fused._MODES.reuse and not fused._MODES.ordinary
