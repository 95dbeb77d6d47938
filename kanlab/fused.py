"""A KAN layer's numeric edges as one autograd node, with the backward pass written out.

A KAN layer is ``y = features(x) @ weightᵀ``: per input i the G + k B-spline values and the
base function ``b(x_i)`` (``features``, (batch, in·(G + k + 1))), times the scaled spline
coefficients (``weight``, (out, in·(G + k + 1))). Built from ordinary torch ops, one pass
records ~20 autograd nodes, and for the small layers of the paper's examples (2 → 5 → 1) their
dispatch costs more than the arithmetic. Here the forward pass computes without recording
anything and the backward pass is the chain rule done by hand:

* ``grad_weight = grad_yᵀ · features`` (one matrix multiply);
* ``grad_x[b, i] = Σ_c (grad_y · weight)[b, i, c] · ∂features[b, i, c]/∂x[b, i]`` — only the
  k + 1 bases that are non-zero at x (local support) and the base function contribute.

Four refinements. A hidden layer with few outputs (``out·(k + 1) < G + k + 1``, e.g. the last
layer of a regression KAN) skips the dense basis and looks up each edge's k + 1 active weights
(``_LocalPass``). The data's basis is computed once per grid when the same input comes back
(full-batch training; ``reuse_features``). On CPU the basis, its slopes, ``grad_x`` and the local
pass run as compiled C loops when kanlab's optional kernels are built (``kanlab.kernels``: one call
instead of ~30 small torch ops; the torch ops below are the fallback and the reference). Higher
derivatives are exact: when the backward pass is itself recorded (``create_graph=True``) it
differentiates a recomputation with ordinary torch ops, and ``ordinary_graph()`` builds that
ordinary graph from the start (what ``kanlab.pde`` does for Laplacians). ``KANLayer`` uses
``spline_linear`` in its forward pass and ``spline_linear_l1`` when training with the sparsity
penalty (07_interpretability). Inside ``torch.compile`` or a ``torch.func`` transform the layer
is built from the ordinary ops of ``kanlab.edge_ops`` instead (the C kernels take raw pointers a
compiler cannot see, and the caches are keyed on tensor identity), so compiled equals eager.
Introduced in 05_vectorized_kan.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from kanlab.base_functions import BASE_DERIVATIVES as BASE_DERIVATIVES
from kanlab.base_functions import BASE_FUNCTIONS as BASE_FUNCTIONS
from kanlab.edge_ops import features, l1_sign_trick, linear, weight
from kanlab.fused_passes import _MAX_STORED_BYTES as _MAX_STORED_BYTES
from kanlab.fused_passes import _MAX_STORED_INPUTS as _MAX_STORED_INPUTS
from kanlab.fused_passes import _MODES, _LocalPass, _Pass, _pass_for
from kanlab.fused_passes import _data_features as _data_features
from kanlab.fused_passes import _data_pieces as _data_pieces
from kanlab.fused_passes import _features_no_grad as _features_no_grad
from kanlab.fused_passes import _weight_no_grad as _weight_no_grad
from kanlab.utils import tracing

__all__ = [
    "BASE_DERIVATIVES", "BASE_FUNCTIONS", "features", "l1_sign_trick", "linear", "ordinary_graph",
    "reuse_features", "spline_linear", "spline_linear_l1", "weight", "_LocalPass", "_MODES", "_Pass",
    "_pass_for",
]


@contextlib.contextmanager
def ordinary_graph() -> Iterator[None]:
    """Inside a ``with`` block, build every KAN layer from ordinary differentiable torch ops.

    For code that differentiates the output twice or more (PDE Laplacians, ``kanlab.pde``):
    the fused node would recompute its pass to build the graph of its own backward, while an
    ordinary graph is differentiated directly. Same numbers either way.
    """
    previous, _MODES.ordinary = _MODES.ordinary, True
    try:
        yield
    finally:
        _MODES.ordinary = previous


@contextlib.contextmanager
def reuse_features(enabled: bool) -> Iterator[None]:
    """Turn the reuse of a repeated input's features on or off inside a ``with`` block.

    On by default. Off makes every pass compute its basis (what ``benchmarks/layer_speed.py``
    measures: the cost of a layer, not of a cache lookup).
    """
    previous, _MODES.reuse = _MODES.reuse, bool(enabled)
    try:
        yield
    finally:
        _MODES.reuse = previous


def _recomputed_grads(ctx, inputs, recompute, grad_outputs) -> tuple:
    """Gradients of a differentiable recomputation, keeping their graph (double backward)."""
    needs = ctx.needs_input_grad[: len(inputs)]
    wanted = [t for t, need in zip(inputs, needs, strict=True) if need]
    with torch.enable_grad():
        outputs = recompute()
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if g is not None]
        grads = iter(torch.autograd.grad(
            [o for o, _ in pairs], wanted, [g for _, g in pairs], create_graph=True, allow_unused=True
        ))
    return (*(next(grads) if need else None for need in needs), None, None, None)


class _SplineLinear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, coef, scale_sp, scale_base, numeric, knots, k, base_fn):
        ctx.save_for_backward(x, coef, scale_sp, scale_base, numeric)
        make_pass = _pass_for(coef.shape[0], k, knots.shape[1] - k - 1, x.requires_grad)
        ctx.state = make_pass(ctx, x, (coef, scale_sp, scale_base, numeric), knots, k, base_fn)
        return ctx.state.output()

    @staticmethod
    def backward(ctx, grad_y):
        inputs, state = ctx.saved_tensors, ctx.state
        if torch.is_grad_enabled():  # create_graph=True: differentiate a differentiable recomputation
            return _recomputed_grads(ctx, inputs, lambda: (_reference(state, *inputs)[0],), (grad_y,))
        return (*state.grads(grad_y), None, None, None)


class _SplineLinearL1(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, coef, scale_sp, scale_base, numeric, knots, k, base_fn):
        ctx.save_for_backward(x, coef, scale_sp, scale_base, numeric)
        params = (coef, scale_sp, scale_base, numeric)
        state = ctx.state = _Pass(ctx, x, params, knots, k, base_fn, local=True)
        batch, in_dim = x.shape
        if state.grid is not None:  # the C kernels: one pass, every edge's value in registers
            band = state.grid.band(state.w_bm)
            sums, y = state.grid.l1_sums(state.saved, band, coef.shape[0])
            mean_sf = sums.div_(batch)  # (out, C, in)
            ctx.band, ctx.sign_t, ctx.mean_sf = band, None, mean_sf
            return y, (state.w_bm * mean_sf).sum(1)  # y comes from the same pass: no matmul
        f_t = state.feats.view(batch, state.n_basis + 1, in_dim).permute(2, 0, 1).contiguous()  # (in, batch, C)
        w_t = state.w_bm.permute(2, 0, 1)  # (in, out, C)
        sign_t = torch.bmm(f_t, w_t.transpose(1, 2)).sign_()  # (in, batch, out): sign of each edge
        # (in, C, out) is the layout in which this contraction over the batch is fast (3x here).
        mean_sf = torch.bmm(f_t.transpose(1, 2), sign_t).div_(batch).permute(2, 1, 0)  # (out, C, in)
        ctx.sign_t = sign_t if ctx.needs_input_grad[0] else None
        ctx.mean_sf = mean_sf
        return state.output(), (state.w_bm * mean_sf).sum(1)

    @staticmethod
    def backward(ctx, grad_y, grad_l1):
        inputs, state = ctx.saved_tensors, ctx.state
        if torch.is_grad_enabled():
            return _recomputed_grads(ctx, inputs, lambda: _reference(state, *inputs, l1=True), (grad_y, grad_l1))
        grad_w_extra, grad_f = grad_l1.unsqueeze(1) * ctx.mean_sf, None
        if ctx.needs_input_grad[0] and state.grid is None:
            weighted_sign = ctx.sign_t * (grad_l1.T / inputs[0].shape[0]).unsqueeze(1)  # (in, batch, out)
            grad_f = torch.bmm(weighted_sign, state.w_bm.permute(2, 0, 1)).permute(1, 2, 0)  # (batch, C, in)
        grads = state.grads(grad_y, grad_w_extra, grad_f)
        if ctx.needs_input_grad[0] and state.grid is not None:
            state.grid.l1_input_gradient(state.saved, ctx.band, grad_l1, grads[0])
        return (*grads, None, None, None)


def _reference(state: _Pass, x, coef, scale_sp, scale_base, numeric, l1: bool = False) -> tuple:
    """The same pass with ordinary differentiable torch ops (for double backward)."""
    feats = features(x, state.knots, state.k, state.base_fn)  # (batch, in, C)
    w = weight(coef, scale_sp, scale_base, numeric)
    y = linear(feats, w)
    return (y, l1_sign_trick(feats, w)[0]) if l1 else (y,)


def spline_linear(x, coef, scale_sp, scale_base, numeric, knots, k: int, base_fn: str) -> torch.Tensor:
    """A KAN layer's numeric edges summed per output: x (batch, in) -> (batch, out).

    ``y[b, j] = Σ_{i,c} weight[j, i, c]·features(x)[b, i, c]`` with ``weight`` built from coef
    (out, in, G + k), scale_sp and scale_base (out, in) and the 0/1 ``numeric`` mask (out, in).
    """
    if _MODES.ordinary or tracing():  # torch.compile / torch.func see ordinary torch ops
        return linear(features(x, knots, k, base_fn), weight(coef, scale_sp, scale_base, numeric))
    return _SplineLinear.apply(x, coef, scale_sp, scale_base, numeric, knots, k, base_fn)


def spline_linear_l1(x, coef, scale_sp, scale_base, numeric, knots, k: int, base_fn: str) -> tuple:
    """``spline_linear`` and every edge's ``|phi|_1`` (out, in) in one pass (see ``l1_sign_trick``)."""
    if tracing():
        feats, w = features(x, knots, k, base_fn), weight(coef, scale_sp, scale_base, numeric)
        return linear(feats, w), l1_sign_trick(feats, w)[0]
    return _SplineLinearL1.apply(x, coef, scale_sp, scale_base, numeric, knots, k, base_fn)
