"""The textbook Cox–de Boor recursion: kanlab's one reference implementation of B-splines.

Every fast path (``kanlab.local_support``, the fused layer, the C kernels) is tested against
``cox_de_boor``; the polynomial tables of the fast paths are built from it. Introduced in
02_bsplines.
"""

from __future__ import annotations

import torch


def cox_de_boor(x: torch.Tensor, knots: torch.Tensor, k: int) -> torch.Tensor:
    """All B-spline bases of order ``k`` at ``x`` by the Cox–de Boor recursion, level by level.

    x: (..., in_dim); knots: (in_dim, G + 2k + 1) -> (..., in_dim, G + k).

    Order 0 is the indicator of ``[t_m, t_{m+1})``; each higher order blends two neighbours:
    ``B_m^p = (x - t_m)/(t_{m+p} - t_m)·B_m^{p-1} + (t_{m+p+1} - x)/(t_{m+p+1} - t_{m+1})·B_{m+1}^{p-1}``.
    This is the textbook form (it touches all G + 2k intervals at every level); ``bspline_basis``
    computes the same numbers faster using local support. Introduced in 02_bsplines.
    """
    check_knots(x, knots, k)
    t = knots
    xe = x.unsqueeze(-1)  # (..., in_dim, 1)
    basis = ((xe >= t[:, :-1]) & (xe < t[:, 1:])).to(x.dtype)  # (..., in_dim, G + 2k)
    # Close the last interval on the right, so for k = 0 the grid's right end is covered too.
    basis[..., -1] += (x == t[:, -1]).to(x.dtype)
    for p in range(1, k + 1):
        left_den = t[:, p:-1] - t[:, : -(p + 1)]
        right_den = t[:, p + 1 :] - t[:, 1:-p]
        left = (xe - t[:, : -(p + 1)]) / torch.where(left_den == 0, 1.0, left_den)
        right = (t[:, p + 1 :] - xe) / torch.where(right_den == 0, 1.0, right_den)
        basis = left * basis[..., :-1] + right * basis[..., 1:]
    return basis


def check_knots(x: torch.Tensor, knots: torch.Tensor, k: int) -> None:
    if knots.dim() != 2 or x.dim() == 0 or x.shape[-1] != knots.shape[0]:
        raise ValueError(
            f"x's last dimension ({x.shape[-1] if x.dim() else 'scalar'}) must equal the number "
            f"of knot rows ({knots.shape[0] if knots.dim() == 2 else 'knots must be 2-D'})"
        )
    if knots.shape[1] < k + 2:
        raise ValueError(f"order k={k} needs at least k + 2 = {k + 2} knots per row, got {knots.shape[1]}")
