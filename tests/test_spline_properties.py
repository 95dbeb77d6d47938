"""Property-based tests (hypothesis) for kanlab.splines over random knots, orders and inputs.

tests/test_splines.py checks fixed cases against scipy; here hypothesis draws the knots (any
sorted, strictly increasing vector, uniform or not, at any offset and scale), the order k, the
number of inputs and the points, and checks the defining properties from 02_bsplines:

* the fast local-support basis equals the textbook Cox–de Boor recursion;
* inside the grid range [t_k, t_{G+k}] the bases sum to 1 (partition of unity);
* every basis is >= 0 and B_c vanishes outside [t_c, t_{c+k+1}] (local support), so at most
  k + 1 bases are non-zero at any x;
* grid refinement G -> m·G reproduces a spline exactly (nested spline spaces).

The conftest profile runs derandomised with ``deadline=None``; ``max_examples`` stays modest.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kanlab import KANLayer  # noqa: E402
from kanlab.splines import (  # noqa: E402
    bspline_basis,
    cox_de_boor,
    curve_to_coef,
    refine_knots,
    spline_eval,
    uniform_knots,
)

FEW = settings(max_examples=25, deadline=None)


@st.composite
def knot_sets(draw: st.DrawFn, max_in: int = 3) -> tuple[torch.Tensor, int]:
    """(knots (in_dim, G + 2k + 1) float64, strictly increasing; k)."""
    k = draw(st.integers(0, 4))
    grid = draw(st.integers(1, 8))
    in_dim = draw(st.integers(1, max_in))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([1e-5, 1e-3, 0.1, 1.0, 10.0, 1e3]))
    offset = scale * draw(st.floats(-20.0, 20.0))  # grids near zero and grids far from it
    uniform = draw(st.booleans())
    rng = np.random.default_rng(seed)
    n = grid + 2 * k + 1
    gaps = np.ones((in_dim, n - 1)) if uniform else rng.uniform(0.05, 1.0, (in_dim, n - 1))
    knots = offset + scale * np.concatenate([np.zeros((in_dim, 1)), np.cumsum(gaps, axis=1)], axis=1)
    return torch.tensor(knots, dtype=torch.float64), k


def _points(knots: torch.Tensor, seed: int, n: int = 64, beyond: float = 0.2) -> torch.Tensor:
    """n points per input, uniform over the extended knot span widened by ``beyond`` each side
    (so some lie outside, where every basis is 0)."""
    lo, hi = knots[:, 0], knots[:, -1]
    width = hi - lo
    u = torch.rand(n, knots.shape[0], generator=torch.Generator().manual_seed(seed), dtype=knots.dtype)
    return lo - beyond * width + (1 + 2 * beyond) * width * u


@FEW
@given(knot_sets(), st.integers(0, 1000))
def test_fast_basis_equals_the_recursion(ks: tuple[torch.Tensor, int], seed: int) -> None:
    knots, k = ks
    x = _points(knots, seed)
    fast, slow = bspline_basis(x, knots, k), cox_de_boor(x, knots, k)
    assert fast.shape == (x.shape[0], knots.shape[0], knots.shape[1] - k - 1)
    torch.testing.assert_close(fast, slow, atol=1e-12, rtol=0)


@FEW
@given(knot_sets(), st.integers(0, 1000))
def test_partition_of_unity_inside_the_grid(ks: tuple[torch.Tensor, int], seed: int) -> None:
    knots, k = ks
    grid = knots.shape[1] - 2 * k - 1
    lo, hi = knots[:, k], knots[:, k + grid]
    u = torch.rand(200, knots.shape[0], generator=torch.Generator().manual_seed(seed), dtype=knots.dtype)
    x = torch.cat([lo + (hi - lo) * u, lo[None], hi[None]])  # both ends of the grid included
    total = bspline_basis(x, knots, k).sum(-1)
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-12, rtol=0)


@FEW
@given(knot_sets(), st.integers(0, 1000))
def test_non_negative_and_local_support(ks: tuple[torch.Tensor, int], seed: int) -> None:
    knots, k = ks
    x = _points(knots, seed)
    basis = bspline_basis(x, knots, k)  # (n, in, G + k)
    assert (basis >= 0).all()
    n_basis = basis.shape[-1]
    c = torch.arange(n_basis)
    start, stop = knots[:, c], knots[:, c + k + 1]  # support of B_c is [t_c, t_{c+k+1}]
    xe = x.unsqueeze(-1)
    outside = (xe < start) | (xe > stop)
    assert (basis[outside] == 0).all()
    assert ((basis > 0).sum(-1) <= k + 1).all()


@FEW
@given(knot_sets(), st.integers(0, 1000))
def test_float32_basis_is_close_to_float64(ks: tuple[torch.Tensor, int], seed: int) -> None:
    """Float32 knots and points: the fast basis agrees with float64 up to float32 round-off,
    which is eps32 times the knots' magnitude over their smallest gap (the conditioning)."""
    knots, k = ks
    knots32 = knots.float()
    x32 = _points(knots, seed).float()
    ref = bspline_basis(x32.double(), knots32.double(), k)
    fast = bspline_basis(x32, knots32, k)
    assert torch.isfinite(fast).all()
    k64 = knots32.double()
    condition = float(k64.abs().max() / k64.diff(dim=1).min())
    tol = 64 * torch.finfo(torch.float32).eps * max(condition, 1.0)
    torch.testing.assert_close(fast.double(), ref, atol=tol, rtol=0)


@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "non-uniform"])
@pytest.mark.parametrize("k", [0, 1, 3])
def test_fast_basis_equals_the_recursion_on_the_knots_themselves(k: int, uniform: bool) -> None:
    """Half-open intervals [t_m, t_{m+1}): a point exactly on a knot belongs to the interval on
    its right. Knots 1.000, 1.001, ... are not exact binary fractions, which is where a fast path
    that divides by the spacing can slip."""
    gaps = torch.full((8,), 1e-3, dtype=torch.float64) if uniform else torch.linspace(1e-3, 2e-3, 8, dtype=torch.float64)
    knots = (1.0 + torch.cat([torch.zeros(1, dtype=torch.float64), gaps.cumsum(0)]))[None, :]
    x = knots.T.clone()
    torch.testing.assert_close(bspline_basis(x, knots, k), cox_de_boor(x, knots, k), atol=1e-9, rtol=0)


@FEW
@given(
    st.integers(0, 4), st.integers(1, 6), st.integers(2, 3),
    st.floats(-3.0, 3.0), st.floats(0.1, 10.0), st.integers(0, 1000),
)
def test_uniform_refinement_is_exact(k: int, grid: int, factor: int, lo: float, width: float, seed: int) -> None:
    """G -> factor·G on the same range: the old spline lies in the new space, so least squares
    on enough samples recovers it to round-off everywhere on the grid range."""
    knots = uniform_knots(2, grid, k, (lo, lo + width), dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    coef = torch.randn(3, 2, grid + k, generator=gen, dtype=torch.float64)
    fine = refine_knots(knots, k, factor * grid)
    assert fine.shape == (2, factor * grid + 2 * k + 1)
    torch.testing.assert_close(fine[:, [k, -k - 1]], knots[:, [k, -k - 1]], atol=1e-12, rtol=0)
    # Samples strictly inside the grid (for k = 0 the spline jumps to 0 just past its last knot).
    x = lo + width * torch.rand(8 * (factor * grid + k), 2, generator=gen, dtype=torch.float64)
    new_coef = curve_to_coef(x, spline_eval(x, knots, coef, k), fine, k)
    check = lo + width * torch.rand(300, 2, generator=gen, dtype=torch.float64)
    scale = float(coef.abs().max())
    torch.testing.assert_close(spline_eval(check, fine, new_coef, k), spline_eval(check, knots, coef, k),
                               atol=1e-9 * scale, rtol=0)


@FEW
@given(st.integers(1, 3), st.integers(2, 6), st.integers(2, 3), st.integers(0, 1000))
def test_layer_refine_after_grid_update_is_exact(k: int, grid: int, factor: int, seed: int) -> None:
    """Non-uniform (data-adapted) grids too: refine(factor·G) inserts points between the old ones,
    so the layer's function is unchanged on its grid range."""
    gen = torch.Generator().manual_seed(seed)
    layer = KANLayer(2, 2, grid=grid, k=k, dtype=torch.float64)
    with torch.no_grad():
        layer.coef.copy_(torch.randn(layer.coef.shape, generator=gen, dtype=torch.float64))
    layer.update_grid(torch.randn(400, 2, generator=gen, dtype=torch.float64).tanh())
    r = layer.grid_range  # (2, 2)
    x = r[:, 0] + (r[:, 1] - r[:, 0]) * torch.rand(300, 2, generator=gen, dtype=torch.float64)
    before = layer(x)
    layer.refine(factor * grid)
    assert layer.grid == factor * grid
    torch.testing.assert_close(layer(x), before, atol=1e-9 * float(before.detach().abs().max()), rtol=0)
