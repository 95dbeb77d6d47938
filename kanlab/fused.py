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
penalty (07_interpretability).
Introduced in 05_vectorized_kan.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn

from kanlab import kernels, splines

Fn = Callable[[torch.Tensor], torch.Tensor]


def _silu_derivative(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


def _gelu_derivative(x: torch.Tensor) -> torch.Tensor:
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    return cdf + x * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _tanh_derivative(x: torch.Tensor) -> torch.Tensor:
    return 1 - torch.tanh(x) ** 2


BASE_FUNCTIONS: dict[str, Fn] = {
    "silu": nn.functional.silu,
    "identity": lambda x: x,
    "zero": torch.zeros_like,
    "tanh": torch.tanh,
    "gelu": nn.functional.gelu,
}
BASE_DERIVATIVES: dict[str, Fn] = {
    "silu": _silu_derivative,
    "identity": torch.ones_like,
    "zero": torch.zeros_like,
    "tanh": _tanh_derivative,
    "gelu": _gelu_derivative,
}


def features(x: torch.Tensor, knots: torch.Tensor, k: int, base_fn: str) -> torch.Tensor:
    """x (batch, in) -> (batch, in, G + k + 1): the G + k bases, then ``b(x_i)``; differentiable."""
    base = BASE_FUNCTIONS[base_fn](x).unsqueeze(-1)
    return torch.cat([splines.bspline_basis(x, knots, k), base], dim=-1)


def _features_no_grad(x: torch.Tensor, support: splines.LocalSupport, base_fn: str) -> torch.Tensor:
    """``features`` from a located x, laid out basis-major: (batch, (G + k + 1)·in); no autograd.

    Column c·in + i of a sample is feature c of input i (the layout ``LocalSupport.scatter``
    writes fastest). The result is a strided view into the padded scatter buffer: matrix
    multiplies read it in place (row stride > row length), so nothing is copied.
    """
    n_basis = support.n_basis
    dense = support.scatter(support.values(clamp=False), extra=1, clear=False)  # (batch, C, in)
    if base_fn == "silu":
        torch.ops.aten.silu.out(x, out=dense[:, n_basis])
    else:
        dense[:, n_basis] = BASE_FUNCTIONS[base_fn](x)
    return dense.flatten(1)


class _Modes(threading.local):
    """Per-thread switches, like torch's grad mode: ``ordinary_graph()`` and ``reuse_features()``."""

    ordinary = False
    reuse = True


_MODES = _Modes()
# The basis of inputs that do not require grad and are used again (the training set in
# full-batch training: LBFGS evaluates the first layer on the same x dozens of times per grid)
# is stored per knots tensor, so a grid update or refinement drops it. It is stored on the
# second use of an input, so one-off tensors (a hidden layer's output) never are. A stored entry
# keeps a copy of its input and is used only while the input still equals it exactly, so no
# change to x (in place, through .data or through a NumPy view) can return a stale basis.
_MAX_STORED_INPUTS = 4  # per knots tensor: the training and the test inputs, and a spare
_MAX_STORED_BYTES = 128 * 2**20


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


def _data_features(
    x: torch.Tensor, knots: torch.Tensor, k: int, base_fn: str, grid: kernels.Grid | None = None
) -> torch.Tensor:
    """``_features_no_grad`` for an input that does not require grad, computed once per grid if reused.

    ``grid``: the C kernels' grid for this pass (``kernels.grid_for``), None for torch ops."""
    return _data_pieces(x, knots, k, base_fn, grid)["features"]


def _data_pieces(
    x: torch.Tensor, knots: torch.Tensor, k: int, base_fn: str, grid: kernels.Grid | None = None,
    local: bool = False,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """The features of a data input (``"features"``) and, with the kernels and ``local``, its
    local pieces (``kernels.Grid.evaluate(local=True)``: what the sparsity penalty's kernels
    read); stored on the input's second use (see the comment above ``_MAX_STORED_INPUTS``)."""
    store = splines._cached(knots, "data-features", lambda _: {})
    key = (id(x), x.data_ptr(), tuple(x.shape), x.stride(), x.dtype, k, base_fn)
    entry = store.get(key)
    alive = entry is not None and entry[0]() is x
    if alive and entry[2] is not None and torch.equal(x, entry[1]):
        pieces = entry[2]
        if local and grid is not None and "span" not in pieces:
            pieces.update(grid.evaluate(x.contiguous(), local=True))
        return pieces
    if grid is not None:
        pieces = grid.evaluate(x.contiguous(), features=True, local=local)
    else:
        pieces = {"features": _features_no_grad(x, splines.local_support(x, knots, k), base_fn)}
    size = sum(t.numel() * t.element_size() for t in pieces.values())
    if alive and size <= _MAX_STORED_BYTES:  # used again: keep it
        store[key] = (entry[0], x.clone(), pieces)
        return pieces
    if not alive:
        while len(store) >= _MAX_STORED_INPUTS:
            store.pop(next(iter(store)))
        store[key] = (weakref.ref(x, lambda _, key=key: store.pop(key, None)), None, None)
    return pieces


def weight(coef: torch.Tensor, scale_sp: torch.Tensor, scale_base: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
    """The layer's weight (out, in, G + k + 1): ``scale_sp·coef`` then ``scale_base``, masked; differentiable.

    ``phi[j, i](x_i) = Σ_c weight[j, i, c]·features[:, i, c]`` for every numeric edge
    (``numeric`` (out, in) is 1 for a numeric edge, 0 for a masked or symbolic one).
    """
    scale_sp, scale_base = scale_sp * numeric, scale_base * numeric
    return torch.cat([coef * scale_sp.unsqueeze(-1), scale_base.unsqueeze(-1)], dim=-1)


def _weight_no_grad(coef, scale_sp, scale_base, numeric) -> torch.Tensor:
    """``weight`` laid out basis-major, (out, G + k + 1, in), in one pass over ``coef``; no autograd."""
    w = kernels.assemble_weight(coef, scale_sp, scale_base, numeric)
    if w is not None:
        return w
    out_dim, in_dim, n_basis = coef.shape
    w = coef.new_empty(out_dim, n_basis + 1, in_dim)
    torch.mul(coef.transpose(1, 2), (scale_sp * numeric).unsqueeze(1), out=w[:, :n_basis])
    torch.mul(scale_base, numeric, out=w[:, n_basis])
    return w


class _Pass:
    """One forward pass on the dense basis, and what its backward pass needs (kept on the context)."""

    def __init__(self, ctx, x, params, knots: torch.Tensor, k: int, base_fn: str, local: bool = False) -> None:
        """``local``: also keep the kernels' local pieces, when the kernels run (the penalty's need them)."""
        self.x, self.params, self.knots, self.k, self.base_fn = x, params, knots, k, base_fn
        self.local = local
        self.n_basis = knots.shape[1] - k - 1
        self.needs = ctx.needs_input_grad[:5]
        self.w_bm = _weight_no_grad(*params)  # (out, C, in)
        self.grid = kernels.grid_for(x, knots, k, base_fn)  # the C kernels, when they apply
        self.support = None  # the local support (torch path), kept only when grad_x is needed
        self.saved: dict[str, torch.Tensor] = {}  # the C kernels' spans, slopes, ...
        if x.requires_grad or not _MODES.reuse:
            self.data = self._build(x.detach().contiguous())
        else:  # the data, on the dense pass (see _pass_for): its basis may be reused
            self.saved = _data_pieces(x, knots, k, base_fn, self.grid, local)
            self.data = self.saved["features"]

    def _build(self, x: torch.Tensor) -> Any:
        """The features (batch, C·in), and what grad_x needs when x requires grad."""
        if self.grid is not None:
            self.saved = self.grid.evaluate(x, features=True, local=self.local, slopes=self.x.requires_grad)
            return self.saved.pop("features")
        self.support = splines.local_support(x, self.knots, self.k)
        return _features_no_grad(x, self.support, self.base_fn)

    @property
    def feats(self) -> torch.Tensor:
        return self.data

    def output(self) -> torch.Tensor:
        return self.feats @ self.w_bm.flatten(1).T

    def slopes(self) -> torch.Tensor:
        """d/dx of the k + 1 local bases (k + 1, batch, in); 0 for bases that do not exist."""
        return self.support.derivatives().mul_(self.support.existing())

    def input_gradient(self, grad_features: torch.Tensor) -> torch.Tensor:
        """``Σ_c grad_features[b, c, i]·∂features[b, c, i]/∂x[b, i]`` -> (batch, in).

        grad_features: (batch, G + k + 1, in). Only the k + 1 local bases and ``b`` depend on x.
        """
        if self.grid is not None:
            return self.grid.input_gradient(grad_features, self.saved)
        spline = (self.support.gather(grad_features) * self.slopes()).sum(0)
        return spline + grad_features[:, self.n_basis] * BASE_DERIVATIVES[self.base_fn](self.x)

    def weight_gradient(self, grad_y: torch.Tensor) -> torch.Tensor:
        """d/d weight (out, C, in), basis-major."""
        return (grad_y.T @ self.feats).view(grad_y.shape[1], self.n_basis + 1, -1)

    def param_grads(self, g: torch.Tensor) -> tuple:
        """(coef, scale_sp, scale_base) gradients from the weight's gradient g (out, C, in)."""
        coef, scale_sp, _, numeric = self.params
        grads = kernels.parameter_gradients(g, coef, scale_sp, numeric, self.needs[1:4])
        if grads is not None:
            return grads
        n = self.n_basis
        grad_coef = grad_sp = grad_base = None
        if self.needs[1]:
            grad_coef = coef.new_empty(coef.shape)
            torch.mul(g[:, :n].transpose(1, 2), (scale_sp * numeric).unsqueeze(-1), out=grad_coef)
        if self.needs[2]:
            grad_sp = (g[:, :n] * coef.transpose(1, 2)).sum(1) * numeric
        if self.needs[3]:
            grad_base = g[:, n] * numeric
        return grad_coef, grad_sp, grad_base

    def grads(self, grad_y: torch.Tensor, grad_w_extra: torch.Tensor | None = None,
              grad_f_extra: torch.Tensor | None = None) -> tuple:
        """Gradients for (x, coef, scale_sp, scale_base, numeric) from ``grad_y`` (batch, out).

        ``grad_w_extra`` (out, C, in) and ``grad_f_extra`` (batch, C, in): further gradients of
        the weight and of the features (from the sparsity penalty).
        """
        batch, in_dim = self.x.shape
        grad_x, param_grads = None, (None, None, None)
        if any(self.needs[1:4]):
            g = self.weight_gradient(grad_y)
            param_grads = self.param_grads(g if grad_w_extra is None else g + grad_w_extra)
        if self.needs[0]:
            grad_f = (grad_y @ self.w_bm.flatten(1)).view(batch, self.n_basis + 1, in_dim)
            grad_x = self.input_gradient(grad_f if grad_f_extra is None else grad_f + grad_f_extra)
        return grad_x, *param_grads, None


class _LocalPass(_Pass):
    """A forward pass for layers with few outputs, on the k + 1 non-zero bases of each input only.

    With ``out·(k + 1) < G + k + 1`` (typically the last layer of a regression KAN, out = 1) it
    is cheaper to look up each edge's k + 1 active weights than to build the dense basis:
    ``y[b, j] = Σ_i Σ_r B_{s-k+r}(x_bi)·weight[j, i, s-k+r] + b(x_bi)·weight[j, i, base]``, with
    tensors of (k + 1, batch, in) per output instead of (batch, G + k + 1, in).
    """

    def _build(self, x: torch.Tensor) -> Any:
        if self.grid is not None:
            self.saved = self.grid.evaluate(x, local=True, slopes=True)
            return None
        support = self.support = splines.local_support(x, self.knots, self.k)
        values = support.values(clamp=False).mul_(support.existing())  # (k + 1, batch, in)
        column = support.basis_index() * x.shape[1] + _arange(x.shape[1], x.device)  # in (C·in)
        return values, column.reshape(-1), BASE_FUNCTIONS[self.base_fn](x)

    def output(self) -> torch.Tensor:
        if self.grid is not None:
            return self.grid.local_forward(self.saved, self.w_bm)
        values, index, base = self.data
        out_dim, batch = self.w_bm.shape[0], base.shape[0]
        self.w_local = self.w_bm.flatten(1).index_select(1, index).view(out_dim, *values.shape)
        y = base @ self.w_bm[:, self.n_basis].T  # (batch, out)
        spline = (self.w_local * values).sum(1).sum(-1)  # over bases, then inputs: (out, batch)
        return y.add_(spline.T) if batch else y

    def weight_gradient(self, grad_y: torch.Tensor) -> torch.Tensor:
        values, index, base = self.data
        out_dim = grad_y.shape[1]
        g = self.w_bm.new_zeros(out_dim, (self.n_basis + 1) * base.shape[1])
        contributions = grad_y.T.reshape(out_dim, 1, -1, 1) * values  # (out, k + 1, batch, in)
        g.index_add_(1, index, contributions.reshape(out_dim, -1))
        g = g.view(out_dim, self.n_basis + 1, -1)
        g[:, self.n_basis] = grad_y.T @ base
        return g

    def grads(self, grad_y: torch.Tensor) -> tuple:  # type: ignore[override]
        want_weight = any(self.needs[1:4])
        if self.grid is not None:
            g, grad_x = self.grid.local_backward(self.saved, self.w_bm, grad_y, want_weight, self.needs[0])
            return grad_x, *(self.param_grads(g) if want_weight else (None, None, None)), None
        grad_x, param_grads = None, (None, None, None)
        if want_weight:
            param_grads = self.param_grads(self.weight_gradient(grad_y))
        if self.needs[0]:
            out_dim = grad_y.shape[1]
            per_basis = (self.w_local * grad_y.T.reshape(out_dim, 1, -1, 1)).sum(0)  # (k + 1, batch, in)
            spline = (per_basis * self.slopes()).sum(0)
            base_slope = BASE_DERIVATIVES[self.base_fn](self.x)
            grad_x = spline + (grad_y @ self.w_bm[:, self.n_basis]) * base_slope
        return grad_x, *param_grads, None


@functools.lru_cache(maxsize=64)
def _arange(n: int, device: torch.device) -> torch.Tensor:
    return torch.arange(n, device=device)


def _pass_for(out_dim: int, k: int, n_basis: int, x_requires_grad: bool = True) -> type[_Pass]:
    """The cheaper forward pass: local lookups for a hidden layer with few outputs.

    An input that does not require grad (the data) gets the dense pass, whose basis is reused
    across passes on the same data; a hidden layer's input changes every pass.
    """
    return _LocalPass if x_requires_grad and out_dim * (k + 1) < n_basis + 1 else _Pass


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


def spline_linear(x, coef, scale_sp, scale_base, numeric, knots, k: int, base_fn: str) -> torch.Tensor:
    """A KAN layer's numeric edges summed per output: x (batch, in) -> (batch, out).

    ``y[b, j] = Σ_{i,c} weight[j, i, c]·features(x)[b, i, c]`` with ``weight`` built from coef
    (out, in, G + k), scale_sp and scale_base (out, in) and the 0/1 ``numeric`` mask (out, in).
    """
    if _MODES.ordinary:
        return linear(features(x, knots, k, base_fn), weight(coef, scale_sp, scale_base, numeric))
    return _SplineLinear.apply(x, coef, scale_sp, scale_base, numeric, knots, k, base_fn)


def spline_linear_l1(x, coef, scale_sp, scale_base, numeric, knots, k: int, base_fn: str) -> tuple:
    """``spline_linear`` and every edge's ``|phi|_1`` (out, in) in one pass (see ``l1_sign_trick``)."""
    return _SplineLinearL1.apply(x, coef, scale_sp, scale_base, numeric, knots, k, base_fn)
