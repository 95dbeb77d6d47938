"""A KAN layer's numeric edges from ordinary differentiable torch ops: the fused node's reference.

``y = features(x) @ weightᵀ``: per input i the G + k B-spline values and ``b(x_i)`` (``features``),
times the scaled, masked spline coefficients (``weight``); ``l1_sign_trick`` gives every edge's
``|phi|_1`` without a per-edge tensor. ``kanlab.fused`` computes the same numbers with a
hand-written backward pass; these are what it is tested against, what double backward
differentiates, and what runs under ``torch.compile`` and ``torch.func``. Introduced in
05_vectorized_kan.
"""

from __future__ import annotations

import torch

from kanlab.base_functions import BASE_FUNCTIONS
from kanlab.local_support import bspline_basis


def features(x: torch.Tensor, knots: torch.Tensor, k: int, base_fn: str) -> torch.Tensor:
    """x (batch, in) -> (batch, in, G + k + 1): the G + k bases, then ``b(x_i)``; differentiable."""
    base = BASE_FUNCTIONS[base_fn](x).unsqueeze(-1)
    return torch.cat([bspline_basis(x, knots, k), base], dim=-1)


def weight(coef: torch.Tensor, scale_sp: torch.Tensor, scale_base: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
    """The layer's weight (out, in, G + k + 1): ``scale_sp·coef`` then ``scale_base``, masked; differentiable.

    ``phi[j, i](x_i) = Σ_c weight[j, i, c]·features[:, i, c]`` for every numeric edge
    (``numeric`` (out, in) is 1 for a numeric edge, 0 for a masked or symbolic one).
    """
    scale_sp, scale_base = scale_sp * numeric, scale_base * numeric
    return torch.cat([coef * scale_sp.unsqueeze(-1), scale_base.unsqueeze(-1)], dim=-1)


def linear(feats: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``y[b, j] = Σ_{i,c} w[j, i, c]·feats[b, i, c]``: feats (batch, in, C), w (out, in, C) -> (batch, out).

    The layer's one matmul, with ordinary differentiable ops (the fused node's reference)."""
    return feats.reshape(feats.shape[0], w[0].numel()) @ w.reshape(w.shape[0], -1).T


def l1_sign_trick(
    feats: torch.Tensor, w3: torch.Tensor, extra: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The spline part of every edge's ``|phi|_1`` from features (batch, in, C), weight (out, in, C).

    With s = sign(phi) held constant, ``mean_b |phi[j, i]| = Σ_c w3[j, i, c]·mean_b(s·feats[:, i, c])``:
    the same value and (sub)gradient as the direct formula, without a differentiable (batch,
    out, in) tensor. ``extra`` (batch, out, in): other terms of phi (symbolic edges) that count
    for the sign. Returns (l1 (out, in), signs laid out (in, batch, out)).
    """
    f_t = feats.transpose(0, 1)  # (in, batch, C)
    with torch.no_grad():
        acts = torch.bmm(f_t, w3.permute(1, 2, 0))  # (in, batch, out)
        if extra is not None:
            acts += extra.permute(2, 0, 1)
        sign_t = acts.sign_()  # (in, batch, out)
    mean_sf = torch.bmm(f_t.transpose(1, 2), sign_t).permute(2, 0, 1) / feats.shape[0]  # (out, in, C)
    return (w3 * mean_sf).sum(-1), sign_t
