"""Knots: the grids B-splines live on, and how they are built, adapted and refined.

Conventions (02_bsplines): ``knots`` has shape (in_dim, G + 2k + 1): G + 1 grid points on
``grid_range`` extended by ``k`` knots on each side, sorted along the last axis. Grids adapted to
sample quantiles (03_learnable_activation) and refined to more intervals (grid extension,
06_function_fitting) keep that layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

GridRange = tuple[float, float] | Sequence[float] | torch.Tensor


def check_grid_and_order(grid: int, k: int) -> None:
    """Raise a ``ValueError`` unless ``grid`` (G) >= 1 and ``k`` >= 0 are integers."""
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
        raise ValueError(f"grid (number of intervals G) must be an int >= 1, got {grid!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k (spline order) must be an int >= 0, got {k!r}")


def _range_tensor(grid_range: GridRange, in_dim: int, dtype, device) -> torch.Tensor:
    """Turn ``(lo, hi)`` or an (in_dim, 2) table into an (in_dim, 2) tensor, checking lo < hi."""
    r = torch.as_tensor(grid_range, dtype=dtype, device=device)
    if r.shape == (2,):
        r = r.expand(in_dim, 2)
    if r.shape != (in_dim, 2):
        raise ValueError(
            f"grid_range must be (lo, hi) or have shape ({in_dim}, 2), got shape {tuple(r.shape)}"
        )
    if not torch.isfinite(r).all() or not (r[:, 0] < r[:, 1]).all():
        raise ValueError(f"grid_range must be finite with lo < hi, got {r.tolist()}")
    return r.clone()


def extend_grid(points: torch.Tensor, k: int) -> torch.Tensor:
    """Add ``k`` knots on each side of each row of grid points, continuing the end spacings.

    points: (in_dim, G + 1) sorted grid points -> (in_dim, G + 2k + 1) knots.
    """
    left = points[:, 1] - points[:, 0]
    right = points[:, -1] - points[:, -2]
    steps = torch.arange(1, k + 1, dtype=points.dtype, device=points.device)
    before = points[:, :1] - left[:, None] * steps.flip(0)
    after = points[:, -1:] + right[:, None] * steps
    return torch.cat([before, points, after], dim=1)


def uniform_knots(
    in_dim: int,
    grid: int,
    k: int,
    grid_range: GridRange = (-1.0, 1.0),
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Uniform knots for ``in_dim`` inputs: G intervals on ``grid_range``, extended by k each side.

    Returns (in_dim, G + 2k + 1) with ``knots[i, m] = lo_i + (m - k)·h_i``, ``h_i = (hi_i - lo_i)/G``.
    Introduced in 02_bsplines.
    """
    check_grid_and_order(grid, k)
    dtype = dtype or torch.get_default_dtype()
    r = _range_tensor(grid_range, in_dim, dtype, device)
    frac = torch.linspace(0.0, 1.0, grid + 1, dtype=dtype, device=device)
    points = r[:, :1] + (r[:, 1:] - r[:, :1]) * frac
    return extend_grid(points, k)


def num_intervals(knots: torch.Tensor, k: int) -> int:
    """G, the number of grid intervals of (in_dim, G + 2k + 1) knots."""
    return knots.shape[-1] - 2 * k - 1


def adaptive_knots(
    x: torch.Tensor,
    grid: int,
    k: int,
    grid_eps: float = 0.02,
    margin: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """Knots that follow the data: grid points at sample quantiles, blended with a uniform grid.

    x: (batch, in_dim) -> (in_dim, G + 2k + 1). ``grid_eps = 1`` gives the uniform grid on the
    samples' range, ``grid_eps = 0`` pure quantiles. ``margin`` (a number, or one per input) puts
    the grid's two ends that far beyond the extreme samples. Constant inputs get a unit-width range
    around their value so knots stay strictly increasing. Introduced in 03_learnable_activation.
    """
    check_grid_and_order(grid, k)
    if not 0.0 <= grid_eps <= 1.0:
        raise ValueError(f"grid_eps must lie in [0, 1], got {grid_eps!r}")
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"adaptive_knots needs x of shape (batch >= 1, in_dim), got {tuple(x.shape)}")
    xs = torch.sort(x.detach(), dim=0).values  # (batch, in_dim)
    idx = torch.linspace(0, xs.shape[0] - 1, grid + 1, device=x.device).round().long()
    quantile = xs[idx].T  # (in_dim, G + 1)
    lo, hi = xs[0] - margin, xs[-1] + margin
    quantile[:, 0], quantile[:, -1] = lo, hi  # both grids end ``margin`` beyond the samples
    width = hi - lo
    tiny = width <= 1e-6 * hi.abs().clamp_min(1.0)
    lo = torch.where(tiny, lo - 0.5, lo)
    hi = torch.where(tiny, hi + 0.5, hi)
    frac = torch.linspace(0.0, 1.0, grid + 1, dtype=x.dtype, device=x.device)
    uniform = lo[:, None] + (hi - lo)[:, None] * frac
    points = grid_eps * uniform + (1.0 - grid_eps) * quantile
    points = torch.where(tiny[:, None], uniform, points)
    # Keep points strictly increasing even when quantiles repeat (duplicated samples).
    min_gap = 1e-4 * (hi - lo)[:, None] / grid
    points = torch.cummax(points, dim=1).values
    points = points + min_gap * torch.arange(grid + 1, dtype=x.dtype, device=x.device)
    return extend_grid(points, k)


def grid_samples(knots: torch.Tensor, k: int, n: int) -> torch.Tensor:
    """n points per input spread along its grid (piecewise-linearly between grid points).

    knots: (in_dim, G + 2k + 1) -> (n, in_dim); the first and last are the grid's ends. On a
    uniform grid these are evenly spaced; on an adapted grid they follow its density.
    """
    points = knots[:, k : knots.shape[1] - k]  # (in_dim, G + 1) grid points
    m = points.shape[1]
    pos = torch.linspace(0, m - 1, n, dtype=points.dtype, device=points.device)
    lo = pos.floor().long().clamp(max=m - 2)
    frac = pos - lo
    return (points[:, lo] * (1 - frac) + points[:, lo + 1] * frac).T


def refine_knots(knots: torch.Tensor, k: int, new_grid: int, keep_ends: bool | torch.Tensor = False) -> torch.Tensor:
    """Knots with ``new_grid`` intervals on the same grid range, placed along the old grid.

    knots: (in_dim, G + 2k + 1) -> (in_dim, new_grid + 2k + 1). Uniform knots stay uniform; on
    any grid, G -> m·G inserts points between the old ones, so the spline spaces are nested and
    refinement reproduces a spline exactly on the grid range. Introduced in 02_bsplines.

    ``keep_ends`` (a bool, or one per input): keep the ``k`` extension knots on each side as they
    are instead of continuing the new grid's end spacing. Then every old knot is a new knot (knot
    insertion), so on G -> m·G the old spline is reproduced exactly *everywhere*, also beyond the
    grid range (where a trained hidden layer's values can lie).
    """
    check_grid_and_order(new_grid, k)
    refined = extend_grid(grid_samples(knots, k, new_grid + 1).T, k)
    if keep_ends is False or k == 0:
        return refined
    kept = torch.cat([knots[:, :k], refined[:, k : refined.shape[1] - k], knots[:, knots.shape[1] - k :]], dim=1)
    if keep_ends is True:
        return kept
    return torch.where(torch.as_tensor(keep_ends, device=knots.device)[:, None], kept, refined)
