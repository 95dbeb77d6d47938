"""B-spline helpers for the widgets: a NumPy Cox–de Boor recursion that keeps every
intermediate degree, Greville abscissae, the SplineExplorer's targets and basis matrix.

The library's basis (``kanlab.splines.bspline_basis``) returns only degree k; the
CoxDeBoorExplorer needs degrees 0, 1, ..., k to show how each level blends two bases of the
level below. A test checks this against ``kanlab.splines`` and scipy. Introduced in 02_bsplines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def uniform_knots_1d(grid: int, k: int, grid_range: tuple[float, float]) -> np.ndarray:
    """Knots ``t_m = lo + (m - k)·h``, m = 0..G+2k, h = (hi - lo)/G: shape (G + 2k + 1,)."""
    lo, hi = grid_range
    h = (hi - lo) / grid
    return lo + (np.arange(grid + 2 * k + 1) - k) * h


def cox_de_boor_levels(x: np.ndarray, knots: np.ndarray, k: int) -> list[np.ndarray]:
    """All degrees of the B-spline basis on ``knots``.

    x: (n,), knots: (M,) non-decreasing -> list of k + 1 arrays; level p has shape
    (n, M - 1 - p) and holds B_{c,p}(x). Order 0 are half-open indicators t_c <= x < t_{c+1};
    level p blends neighbours: B_{c,p} = w_{c,p}·B_{c,p-1} + (1 - w_{c+1,p})·B_{c+1,p-1} with
    w_{c,p}(x) = (x - t_c)/(t_{c+p} - t_c) (0 where the denominator is 0).
    """
    x = np.asarray(x, dtype=np.float64)[:, None]
    t = np.asarray(knots, dtype=np.float64)
    levels = [((x >= t[:-1]) & (x < t[1:])).astype(np.float64)]
    for p in range(1, k + 1):
        prev = levels[-1]
        left, right = blend_weights(x[:, 0], t, p)
        levels.append(left * prev[:, :-1] + right * prev[:, 1:])
    return levels


def blend_weights(x: np.ndarray, knots: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """The two Cox–de Boor weights of level p: (n, M - 1 - p) each.

    left[:, c] = (x - t_c)/(t_{c+p} - t_c) multiplies B_{c,p-1};
    right[:, c] = (t_{c+p+1} - x)/(t_{c+p+1} - t_{c+1}) multiplies B_{c+1,p-1}.
    """
    x = np.asarray(x, dtype=np.float64)[:, None]
    t = np.asarray(knots, dtype=np.float64)
    n_basis = len(t) - 1 - p
    c = np.arange(n_basis)
    den_l = t[c + p] - t[c]
    den_r = t[c + p + 1] - t[c + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(den_l > 0, (x - t[c]) / np.where(den_l > 0, den_l, 1.0), 0.0)
        right = np.where(den_r > 0, (t[c + p + 1] - x) / np.where(den_r > 0, den_r, 1.0), 0.0)
    return left, right


def greville(knots: np.ndarray, k: int) -> np.ndarray:
    """Greville abscissae: where each coefficient 'sits' on the x axis; shape (M - 1 - k,).

    xi_c = (t_{c+1} + ... + t_{c+k}) / k for k >= 1, the interval midpoint for k = 0. Plotting
    (xi_c, coef_c) gives the control polygon that the spline follows.
    """
    t = np.asarray(knots, dtype=np.float64)
    n_basis = len(t) - 1 - k
    if k == 0:
        return 0.5 * (t[:-1] + t[1:])
    return np.array([t[c + 1 : c + k + 1].mean() for c in range(n_basis)])


def unit_range(x: np.ndarray, grid_range: tuple[float, float]) -> np.ndarray:
    """Map x from ``grid_range`` to [-1, 1] (the targets are written on [-1, 1])."""
    lo, hi = grid_range
    return (2 * x - lo - hi) / (hi - lo)


#: Targets a student can fit, written on the grid range mapped to [-1, 1].
TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": lambda u: np.sin(np.pi * u),
    "step": lambda u: (u >= 0.1).astype(np.float64),
    "abs": np.abs,
    "bump": lambda u: np.exp(-0.5 * (u / 0.2) ** 2),
    "cubic": lambda u: u**3 - 0.5 * u,
    "zigzag": lambda u: np.abs((2 * u + 1) % 1.0 - 0.5) * 2 - 0.5,
}


def basis_matrix(x: np.ndarray, grid: int, k: int, grid_range: tuple[float, float]) -> tuple[
    np.ndarray, np.ndarray
]:
    """Knots (G + 2k + 1,) and basis values (n, G + k) at points x (n,), float64.

    Uses the library's ``kanlab.splines``: the same basis the KAN layers use.
    """
    import torch

    from kanlab.splines import bspline_basis, uniform_knots

    knots_t = uniform_knots(1, grid, k, grid_range).to(torch.float64)
    xt = torch.as_tensor(x, dtype=torch.float64, device="cpu")[:, None]
    basis = bspline_basis(xt, knots_t, k)[:, 0, :]
    return knots_t[0].numpy(), basis.numpy()
