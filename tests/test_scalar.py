"""Tests for the scalar engine (kanlab.scalar): ops and gradients against torch, B-splines
against scipy, the classic from-scratch API, and one function in two engines."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kanlab.scalar import KAN, Optimizer, Tensor, bspline_bases, compute_loss, knots_1d

# The classic from-scratch README snippet, verbatim.
CLASSIC_SNIPPET = """
from kanlab.scalar import KAN, Tensor, Optimizer, compute_loss
from kanlab.graph import draw_dot

input_size = 2
layer_sizes = [2, 2, 2, 1]
kan = KAN(input_size, layer_sizes)

x = [[Tensor(0.25), Tensor(0.25)], [Tensor(0.25), Tensor(0.75)], [Tensor(0.75), Tensor(0.25)], [Tensor(0.75), Tensor(0.75)]]
y = [0.25, 0.75, 0.75, 0.25]

n_epochs = 100
optim = Optimizer(lr=0.001)

for _ in range(n_epochs):
    losses = Tensor(0)
    for _x, _y in zip(x, y):
        y_hat = kan(_x)
        loss = compute_loss(y_hat, _y)
        losses = loss + losses

    optim.zero_grad(kan.parameters())
    losses.grad = 1
    losses.backward()
    optim.step(kan.parameters())

draw_dot(y_hat)
"""  # noqa: E501

XOR_X = [[0.25, 0.25], [0.25, 0.75], [0.75, 0.25], [0.75, 0.75]]
XOR_Y = [0.25, 0.75, 0.75, 0.25]


def total_loss(kan: KAN) -> float:
    return sum(compute_loss(kan(x), y).data for x, y in zip(XOR_X, XOR_Y, strict=True))


def test_classic_snippet_runs_unchanged_and_lowers_the_loss() -> None:
    before = total_loss(KAN(2, [2, 2, 2, 1]))  # same seed as the snippet's KAN
    ns: dict = {}
    exec(compile(CLASSIC_SNIPPET, "classic_snippet", "exec"), ns)
    after = total_loss(ns["kan"])
    assert ns["losses"].data < before
    assert after < 0.9 * before
    assert isinstance(ns["y_hat"], Tensor)


# ------------------------------------------------------------------ Tensor ops
UNARY = {
    "exp": (lambda t: t.exp(), torch.exp),
    "log": (lambda t: t.log(), torch.log),
    "tanh": (lambda t: t.tanh(), torch.tanh),
    "sigmoid": (lambda t: t.sigmoid(), torch.sigmoid),
    "silu": (lambda t: t.silu(), torch.nn.functional.silu),
    "relu": (lambda t: t.relu(), torch.relu),
    "neg": (lambda t: -t, lambda t: -t),
    "pow3": (lambda t: t**3, lambda t: t**3),
    "pow_half": (lambda t: t**0.5, lambda t: t**0.5),
    "rpow": (lambda t: 2.0**t, lambda t: 2.0**t),
    "sub_div_const": (lambda t: (t - 0.5) / 4.0 + t * 2, lambda t: (t - 0.5) / 4.0 + t * 2),
    "radd_rsub_rmul_rdiv": (
        lambda t: 3.0 - (2.0 + t) * 1.5 / (4.0 / t),
        lambda t: 3.0 - (2.0 + t) * 1.5 / (4.0 / t),
    ),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("value", [0.7, 2.3, -1.3])
def test_unary_ops_match_torch(name: str, value: float) -> None:
    if name in ("log", "pow_half") and value < 0:
        pytest.skip("outside the domain")
    ours, theirs = UNARY[name]
    x = Tensor(value)
    y = ours(x)
    y.backward()
    xt = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    yt = theirs(xt)
    yt.backward()
    assert y.data == pytest.approx(yt.item(), rel=1e-12, abs=1e-14)
    assert x.grad == pytest.approx(xt.grad.item(), rel=1e-12, abs=1e-14)


def test_binary_ops_and_reused_nodes_match_torch() -> None:
    a, b = Tensor(1.5), Tensor(-0.4)
    out = (a * b + a / b - b**2 + a * a).tanh() * (a - b).exp()
    out.backward()
    at = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(-0.4, dtype=torch.float64, requires_grad=True)
    ot = (at * bt + at / bt - bt**2 + at * at).tanh() * (at - bt).exp()
    ot.backward()
    assert out.data == pytest.approx(ot.item(), rel=1e-13)
    assert a.grad == pytest.approx(at.grad.item(), rel=1e-13)
    assert b.grad == pytest.approx(bt.grad.item(), rel=1e-13)


def test_backward_is_iterative_on_graphs_deeper_than_the_recursion_limit() -> None:
    x = Tensor(1.0)
    y = x
    depth = sys.getrecursionlimit() + 1000
    for _ in range(depth):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**depth, rel=1e-9)


def test_tensor_repr_and_bad_input() -> None:
    assert repr(Tensor(0.5, label="w")) == "Tensor(data=0.5, grad=0, label='w')"
    for bad in ("a", None, [1.0], True, Tensor(1.0)):
        with pytest.raises(TypeError, match="Tensor\\(data\\) must be a real number"):
            Tensor(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Tensor(1.0) + "a"  # type: ignore[operator]
    with pytest.raises(ValueError, match="log needs a positive input"):
        Tensor(-1.0).log()


# ------------------------------------------------------------------ B-splines
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_bases_match_scipy_and_partition_unity(k: int) -> None:
    grid = 5
    t = knots_1d(grid, k, (-1.0, 1.0))
    assert len(t) == grid + 2 * k + 1
    assert t[k] == pytest.approx(-1.0) and t[grid + k] == pytest.approx(1.0)
    xs = np.random.default_rng(0).uniform(t[0], t[-1] - 1e-9, 60)
    elements = [BSpline.basis_element(t[m : m + k + 2], extrapolate=False) for m in range(grid + k)]
    for xv in xs:
        ours = [b.data if isinstance(b, Tensor) else b for b in bspline_bases(Tensor(xv), t, k)]
        ref = [b(xv) for b in elements]
        ref = np.nan_to_num(np.array(ref, dtype=float))
        assert len(ours) == grid + k
        np.testing.assert_allclose(ours, ref, atol=1e-12)
        if t[k] <= xv < t[grid + k]:
            assert sum(ours) == pytest.approx(1.0, abs=1e-12)
    for outside in (t[0] - 0.1, t[-1], t[-1] + 0.5):
        assert all(b == 0.0 for b in bspline_bases(Tensor(outside), t, k))


def test_bases_skip_exact_zeros_local_support() -> None:
    bases = bspline_bases(Tensor(0.3), knots_1d(5, 3, (0, 1)), 3)
    assert sum(isinstance(b, Tensor) for b in bases) == 4  # k + 1 nonzero bases


# ------------------------------------------------------------------ the KAN
def torch_bases(x: torch.Tensor, t: torch.Tensor, k: int) -> torch.Tensor:
    """Full Cox–de Boor in torch (no zero skipping). x: (batch,) -> (batch, len(t) - k - 1)."""
    xb = x[:, None]
    b = ((xb >= t[:-1]) & (xb < t[1:])).to(x.dtype)
    for p in range(1, k + 1):
        left = (xb - t[: -(p + 1)]) / (t[p:-1] - t[: -(p + 1)]) * b[:, :-1]
        right = (t[p + 1 :] - xb) / (t[p + 1 :] - t[1:-p]) * b[:, 1:]
        b = left + right
    return b


def test_gradient_check_against_torch_float64() -> None:
    kan = KAN(2, [2, 2, 1], grid=5, k=3, grid_range=(-1, 1), seed=3)
    rng = np.random.default_rng(1)
    xs = rng.uniform(-1, 1, (6, 2)).tolist()
    ys = rng.uniform(-1, 1, 6).tolist()
    loss = Tensor(0.0)
    for x, y in zip(xs, ys, strict=True):
        loss = loss + compute_loss(kan(x), y)
    loss.backward()

    params = []  # torch copies of (coef, scale_base, scale_sp) per layer
    h = torch.tensor(xs, dtype=torch.float64)
    for layer in kan.layers:
        edges = layer.edges
        coef = torch.tensor(
            [[[c.data for c in e.coef] for e in row] for row in edges],
            dtype=torch.float64,
            requires_grad=True,
        )
        sb = torch.tensor(
            [[e.scale_base.data for e in row] for row in edges],
            dtype=torch.float64,
            requires_grad=True,
        )
        ssp = torch.tensor(
            [[e.scale_sp.data for e in row] for row in edges],
            dtype=torch.float64,
            requires_grad=True,
        )
        t = torch.tensor(layer.knots, dtype=torch.float64)
        basis = torch.stack([torch_bases(h[:, i], t[i], kan.k) for i in range(h.shape[1])], 1)
        spline = torch.einsum("bic,jic->bji", basis, coef)
        phi = sb * torch.nn.functional.silu(h)[:, None, :] + ssp * spline
        h = phi.sum(-1)
        params.append((edges, coef, sb, ssp))
    loss_t = ((h[:, 0] - torch.tensor(ys, dtype=torch.float64)) ** 2).sum()
    loss_t.backward()

    assert loss.data == pytest.approx(loss_t.item(), rel=1e-12)
    n_checked = 0
    for edges, coef, sb, ssp in params:
        for j, row in enumerate(edges):
            for i, e in enumerate(row):
                for c, p in enumerate(e.coef):
                    assert p.grad == pytest.approx(coef.grad[j, i, c].item(), abs=1e-10)
                assert e.scale_base.grad == pytest.approx(sb.grad[j, i].item(), abs=1e-10)
                assert e.scale_sp.grad == pytest.approx(ssp.grad[j, i].item(), abs=1e-10)
                n_checked += len(e.coef) + 2
    assert n_checked == kan.num_parameters() == (2 * 2 + 2 * 2 + 2 * 1) * (5 + 3 + 2)


def test_kan_shapes_seed_and_no_mutation() -> None:
    sizes = [3, 2]
    kan = KAN(2, sizes, grid=4, k=2, seed=7)
    assert sizes == [3, 2] and kan.width == [2, 3, 2]
    out = kan([0.1, 0.9])
    assert isinstance(out, list) and len(out) == 2
    again = KAN(2, [3, 2], grid=4, k=2, seed=7)([0.1, 0.9])
    assert [o.data for o in out] == [o.data for o in again]
    other = KAN(2, [3, 2], grid=4, k=2, seed=8)([0.1, 0.9])
    assert [o.data for o in out] != [o.data for o in other]
    assert kan.num_parameters() == (2 * 3 + 3 * 2) * (4 + 2 + 2)
    assert "layer_sizes=[3, 2]" in repr(kan)
    loss = compute_loss(out, [0.0, 1.0])
    assert loss.data == pytest.approx(out[0].data ** 2 + (out[1].data - 1) ** 2)


def test_inactive_edge_and_far_inputs() -> None:
    kan = KAN(1, [1], grid=3, k=1, grid_range=(0, 1))
    edge = kan.layers[0].edges[0][0]
    far = 10.0  # outside the extended grid: only the silu part remains
    assert kan([far]).data == pytest.approx(edge.scale_base.data * far / (1 + math.exp(-far)))
    edge.active = False
    assert kan([0.4]).data == 0.0


def test_optimizer_with_momentum() -> None:
    p = Tensor(1.0)
    opt = Optimizer(lr=0.1, momentum=0.5)
    for _ in range(2):
        opt.zero_grad([p])
        assert p.grad == 0.0
        (p * 2.0).backward()
        opt.step([p])
    assert p.data == pytest.approx(1.0 - 0.2 - (0.5 * 0.2 + 0.2))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: KAN(2, []), "layer_sizes must list at least one"),
        (lambda: KAN(2, [2, 0]), "each entry of layer_sizes"),
        (lambda: KAN(0, [1]), "input_size"),
        (lambda: KAN(2, [1], grid=0), "grid must be an int >= 1"),
        (lambda: KAN(2, [1], k=-1), "k must be an int >= 0"),
        (lambda: KAN(2, [1], k=1.5), "k must be an int"),
        (lambda: KAN(2, [1], grid_range=(1, 0)), "grid_range"),
        (lambda: KAN(2, [1])([0.1]), "expects a list of 2 inputs, got 1 inputs"),
        (lambda: KAN(2, [1])(Tensor(0.1)), "got a single value"),
        (lambda: Optimizer(lr=0), "lr must be a positive number"),
        (lambda: Optimizer(lr=0.1, momentum=1.0), "momentum"),
        (lambda: compute_loss([Tensor(1.0)], [1.0, 2.0]), "one target per output"),
    ],
)
def test_bad_input_gets_a_clear_error(call, match: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=match):
        call()


def test_one_function_two_engines() -> None:
    model_mod = pytest.importorskip("kanlab.model", reason="torch KAN not written yet")
    torch_kan = model_mod.KAN(
        [2, 3, 1], grid=4, k=3, seed=0, grid_range=(-1, 1), dtype=torch.float64
    )
    with torch.no_grad():  # make every parameter matter
        for layer in torch_kan.layers:
            layer.coef.normal_(0, 0.5)
            layer.scale_base.uniform_(-1, 1)
            layer.scale_sp.uniform_(0.5, 1.5)
    x = torch.rand(20, 2, dtype=torch.float64) * 2.4 - 1.2  # includes points outside the grid
    for change in ("none", "update_grid", "mask"):
        if change == "update_grid":  # non-uniform knots from samples
            torch_kan.update_grid(torch.rand(50, 2, dtype=torch.float64) ** 2)
        if change == "mask":  # a pruned edge
            torch_kan.layers[0].mask[1, 0] = 0.0
        scalar_kan = KAN.from_torch(torch_kan)
        expected = torch_kan(x)[:, 0].detach().tolist()
        got = [scalar_kan(row).data for row in x.tolist()]
        np.testing.assert_allclose(got, expected, atol=1e-10, err_msg=change)


def test_from_torch_refuses_what_the_scalar_engine_cannot_compute() -> None:
    model_mod = pytest.importorskip("kanlab.model", reason="torch KAN not written yet")
    torch_kan = model_mod.KAN([2, 1], grid=3, k=1, dtype=torch.float64)
    torch_kan.layers[0].sym_mask[0, 1] = 1.0
    with pytest.raises(NotImplementedError, match="symbolic edges"):
        KAN.from_torch(torch_kan)
    other = model_mod.KAN([2, 1], grid=3, k=1, base_fn="tanh")
    with pytest.raises(NotImplementedError, match="base_fn='silu'"):
        KAN.from_torch(other)
