"""A test layer shared by the fused-pass and kernel tests (imported as ``from layers import ...``)."""

from __future__ import annotations

import torch

from kanlab import splines
from kanlab.layer import KANLayer


def random_layer(in_dim: int, out_dim: int, k: int, dtype: torch.dtype = torch.float64,
                 adapted: bool = False, base_fn: str = "silu", grid: int = 5, seed: int = 0) -> KANLayer:
    """A layer with random coefficients and scales, two masked edges, and either the uniform grid
    on [-1, 1] or a grid adapted to skewed samples (non-uniform knots)."""
    gen = torch.Generator().manual_seed(seed)
    layer = KANLayer(in_dim, out_dim, grid=grid, k=k, base_fn=base_fn, dtype=dtype)
    with torch.no_grad():
        layer.coef.copy_(torch.randn(layer.coef.shape, generator=gen, dtype=dtype))
        layer.scale_base.copy_(torch.randn(out_dim, in_dim, generator=gen, dtype=dtype))
        layer.scale_sp.copy_(torch.randn(out_dim, in_dim, generator=gen, dtype=dtype))
        layer.mask[0, 1] = 0
        layer.mask[out_dim - 1, 0] = 0
    if adapted:  # skewed towards -1: short intervals on the left, long ones on the right
        layer.update_grid(2 * torch.rand(400, in_dim, generator=gen, dtype=dtype) ** 2 - 1)
        assert splines._uniform_step(layer.knots) is None  # the general (search) path
    else:
        assert splines._uniform_step(layer.knots) is not None  # the uniform (division) path
    return layer
