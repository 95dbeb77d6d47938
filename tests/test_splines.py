"""B-splines against scipy, their defining properties, least squares and refinement."""

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kanlab import splines


def _random_knots(rng: np.random.Generator, grid: int, k: int) -> torch.Tensor:
    inner = np.sort(rng.uniform(-1.5, 1.5, grid + 2 * k + 1))
    inner += np.arange(inner.size) * 1e-3  # strictly increasing
    return torch.tensor(inner)[None, :]


def _scipy_basis(x: np.ndarray, t: np.ndarray, k: int) -> np.ndarray:
    n = len(t) - k - 1
    out = np.empty((x.size, n))
    for c in range(n):
        coef = np.zeros(n)
        coef[c] = 1.0
        out[:, c] = np.nan_to_num(BSpline(t, coef, k, extrapolate=False)(x))
    return out


@pytest.mark.parametrize("k", range(6))
@pytest.mark.parametrize("kind", ["uniform", "random"])
def test_basis_matches_scipy(k: int, kind: str) -> None:
    rng = np.random.default_rng(k)
    knots = (
        splines.uniform_knots(1, 7, k, (-1, 1), dtype=torch.float64)
        if kind == "uniform"
        else _random_knots(rng, 7, k)
    )
    t = knots[0].numpy()
    # scipy evaluates on its base interval [t_k, t_{n}]; compare there (excluding the last point).
    x = np.linspace(t[k], t[-k - 1], 301)[:-1]
    expected = _scipy_basis(x, t, k)
    xt = torch.tensor(x)[:, None]
    for fn in (splines.bspline_basis, splines.cox_de_boor):
        got = fn(xt, knots, k)[:, 0, :].numpy()
        np.testing.assert_allclose(got, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("k", range(6))
def test_fast_basis_equals_recursion_everywhere(k: int) -> None:
    gen = torch.Generator().manual_seed(k)
    knots = splines.uniform_knots(3, 4, k, dtype=torch.float64)
    knots[1] = torch.sort(torch.rand(4 + 2 * k + 1, generator=gen, dtype=torch.float64) * 4 - 2).values
    x = torch.rand(400, 3, generator=gen, dtype=torch.float64) * 6 - 3  # far outside too
    x[:3, 0] = torch.tensor([knots[0, 0], knots[0, -1], knots[0, k]])
    torch.testing.assert_close(splines.bspline_basis(x, knots, k), splines.cox_de_boor(x, knots, k), atol=1e-13, rtol=0)


@pytest.mark.parametrize("k", range(6))
def test_partition_of_unity_and_local_support(k: int) -> None:
    knots = splines.uniform_knots(2, 6, k, (-2.0, 3.0), dtype=torch.float64)
    x = torch.stack([torch.linspace(-2, 3, 501, dtype=torch.float64)] * 2, dim=1)
    basis = splines.bspline_basis(x, knots, k)
    assert basis.shape == (501, 2, 6 + k)
    assert (basis >= 0).all()
    assert (basis.sum(-1) - 1).abs().max() < 1e-12
    assert ((basis > 0).sum(-1) <= k + 1).all()


def test_outside_extended_grid_every_basis_is_zero() -> None:
    knots = splines.uniform_knots(1, 5, 3)
    x = torch.tensor([[-10.0], [knots[0, 0].item() - 1e-3], [10.0]])
    assert splines.bspline_basis(x, knots, 3).abs().max() == 0


def test_basis_any_leading_shape() -> None:
    knots = splines.uniform_knots(4, 5, 3)
    x = torch.rand(2, 3, 4) * 2 - 1
    assert splines.bspline_basis(x, knots, 3).shape == (2, 3, 4, 8)


def test_basis_gradcheck_float64() -> None:
    knots = splines.uniform_knots(2, 4, 3, dtype=torch.float64)
    x = (torch.rand(20, 2, dtype=torch.float64) * 1.8 - 0.9).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: splines.bspline_basis(t, knots, 3), (x,))
    assert torch.autograd.gradgradcheck(lambda t: splines.bspline_basis(t, knots, 3), (x,))


def test_least_squares_recovers_a_spline_exactly() -> None:
    knots = splines.uniform_knots(2, 6, 3, dtype=torch.float64)
    coef = torch.randn(3, 2, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = torch.rand(300, 2, dtype=torch.float64) * 2 - 1
    y = splines.spline_eval(x, knots, coef, 3)
    fitted = splines.curve_to_coef(x, y, knots, 3)
    torch.testing.assert_close(fitted, coef, atol=1e-9, rtol=0)


def test_least_squares_survives_degenerate_samples() -> None:
    knots = splines.uniform_knots(1, 5, 3)
    x = torch.full((10, 1), 0.3)  # all samples identical: rank 1
    y = torch.full((10, 1, 1), 2.0)
    with pytest.warns(RuntimeWarning, match="minimum-norm"):
        coef = splines.curve_to_coef(x, y, knots, 3)
    assert torch.isfinite(coef).all()
    assert abs(splines.spline_eval(x[:1], knots, coef, 3).item() - 2.0) < 1e-4


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_refinement_is_exact(dtype: torch.dtype, tol: float) -> None:
    knots = splines.uniform_knots(2, 5, 3, dtype=dtype)
    coef = torch.randn(1, 2, 8, dtype=dtype, generator=torch.Generator().manual_seed(1)) * 0.5
    fine = splines.refine_knots(knots, 3, 10)
    x = torch.rand(200, 2, dtype=dtype) * 2 - 1
    samples = torch.linspace(-1, 1, 81, dtype=dtype)[:, None].expand(-1, 2)
    new_coef = splines.curve_to_coef(samples, splines.spline_eval(samples, knots, coef, 3), fine, 3)
    diff = splines.spline_eval(x, fine, new_coef, 3) - splines.spline_eval(x, knots, coef, 3)
    assert diff.abs().max() < tol


def test_adaptive_knots_follow_quantiles_and_stay_sorted() -> None:
    x = torch.cat([torch.zeros(50, 1), torch.rand(50, 1)])  # half the samples duplicated
    knots = splines.adaptive_knots(x, 5, 3, grid_eps=0.0)
    assert knots.shape == (1, 12)
    assert (knots.diff(dim=1) > 0).all()
    const = splines.adaptive_knots(torch.full((7, 2), 4.0), 5, 3)
    assert (const.diff(dim=1) > 0).all() and const[:, 3].max() < 4.0 < const[:, 8].min()


@pytest.mark.parametrize(
    "kwargs,match",
    [({"grid": 0, "k": 3}, "grid"), ({"grid": 5, "k": -1}, "spline order"), ({"grid": 2.5, "k": 3}, "grid")],
)
def test_bad_grid_or_order(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        splines.uniform_knots(1, **kwargs)


def test_bad_shapes_are_named() -> None:
    knots = splines.uniform_knots(3, 5, 3)
    with pytest.raises(ValueError, match="last dimension"):
        splines.bspline_basis(torch.rand(4, 2), knots, 3)
    with pytest.raises(ValueError, match="grid_range"):
        splines.uniform_knots(2, 5, 3, (1.0, -1.0))
