"""Splines as curves: evaluate ``Σ_c coef·B_c`` and fit coefficients to samples (least squares).

Introduced in 02_bsplines (least-squares fitting) and used by grid updates and grid extension.
"""

from __future__ import annotations

import warnings

import torch

from kanlab.local_support import bspline_basis


def spline_eval(x: torch.Tensor, knots: torch.Tensor, coef: torch.Tensor, k: int) -> torch.Tensor:
    """Evaluate splines ``Σ_c coef[..., i, c]·B_c(x_i)`` for every input i.

    x: (batch, in_dim); knots: (in_dim, G + 2k + 1); coef: (out_dim, in_dim, G + k)
    -> (batch, out_dim, in_dim), one curve per (out, in) pair. Introduced in 02_bsplines.
    """
    basis = bspline_basis(x, knots, k)  # (batch, in_dim, G + k)
    return torch.einsum("bic,oic->boi", basis, coef)


def curve_to_coef(
    x: torch.Tensor,
    y: torch.Tensor,
    knots: torch.Tensor,
    k: int,
    ridge: float = 0.0,
) -> torch.Tensor:
    """Least-squares spline coefficients so that ``Σ_c coef[j, i, c]·B_c(x_i) ≈ y[:, j, i]``.

    x: (batch, in_dim); y: (batch, out_dim, in_dim); knots: (in_dim, G + 2k + 1)
    -> coef (out_dim, in_dim, G + k), in x's dtype.

    Solved in float64 by an SVD-based least-squares solver, so rank-deficient designs (few,
    duplicated or constant samples) give the minimum-norm solution instead of failing; a
    ``RuntimeWarning`` says when that happened. ``ridge > 0`` adds Tikhonov damping
    ``ridge·mean(diag BᵀB)·|coef|²``. Introduced in 02_bsplines (least-squares fitting).
    """
    if x.dim() != 2 or y.dim() != 3 or y.shape[0] != x.shape[0] or y.shape[2] != x.shape[1]:
        raise ValueError(
            f"curve_to_coef needs x (batch, in_dim) and y (batch, out_dim, in_dim); "
            f"got x {tuple(x.shape)} and y {tuple(y.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError("curve_to_coef needs at least one sample, got an empty batch")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("curve_to_coef: x and y must be finite (found NaN or inf)")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge!r}")
    design = bspline_basis(x.double(), knots.double(), k).permute(1, 0, 2)  # (in, batch, n)
    target = y.double().permute(2, 0, 1)  # (in, batch, out)
    n = design.shape[-1]
    if ridge > 0:
        scale = (design**2).sum(1).mean(-1).clamp_min(1e-300)  # (in,)
        damping = (ridge * scale).sqrt()[:, None, None] * torch.eye(n, dtype=design.dtype, device=design.device)
        design = torch.cat([design, damping], dim=1)
        target = torch.cat([target, target.new_zeros(target.shape[0], n, target.shape[2])], dim=1)
    solution = torch.linalg.lstsq(design.cpu(), target.cpu(), driver="gelsd")
    rank = solution.rank
    if ridge == 0 and rank is not None and (rank < n).any():
        warnings.warn(
            f"curve_to_coef: {int((rank < n).sum())} input(s) have too few distinct samples for "
            f"the {n} basis functions; using the minimum-norm least-squares solution",
            RuntimeWarning,
            stacklevel=2,
        )
    coef = solution.solution.to(x.device)  # (in, n, out)
    return coef.permute(2, 0, 1).to(x.dtype).contiguous()
