"""The fused KAN layer's forward passes without autograd, and what their backward passes need.

``_Pass`` (the dense basis times the weight, one matmul) and ``_LocalPass`` (a layer with few
outputs: each edge's k + 1 active weights looked up) compute a layer's output and, later, the
gradients by the chain rule written out (see ``kanlab.fused``). On CPU the C kernels
(``kanlab.kernels``) do the work when they apply; torch ops are the fallback. The basis of a
data input used again (full-batch training) is kept per grid (``_data_pieces``).
Introduced in 05_vectorized_kan.
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import Any

import torch

from kanlab import kernels
from kanlab.base_functions import BASE_DERIVATIVES, BASE_FUNCTIONS
from kanlab.knot_tables import KnotTables, tables
from kanlab.local_support import LocalSupport, local_support


def _features_no_grad(x: torch.Tensor, support: LocalSupport, base_fn: str) -> torch.Tensor:
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


def _data_features(
    x: torch.Tensor, knots: torch.Tensor, k: int, base_fn: str, grid: kernels.Grid | None = None,
    derived: KnotTables | None = None,
) -> torch.Tensor:  # fmt: skip
    """``_features_no_grad`` for an input that does not require grad, computed once per grid if reused.

    ``grid``: the C kernels' grid for this pass (``kernels.grid_for``), None for torch ops."""
    return _data_pieces(x, knots, k, base_fn, grid, derived=derived)["features"]


def _data_pieces(
    x: torch.Tensor, knots: torch.Tensor, k: int, base_fn: str, grid: kernels.Grid | None = None,
    local: bool = False, derived: KnotTables | None = None,
) -> dict[str, torch.Tensor]:  # fmt: skip
    """The features of a data input (``"features"``) and, with the kernels and ``local``, its
    local pieces (``kernels.Grid.evaluate(local=True)``: what the sparsity penalty's kernels
    read); stored on the input's second use (see the comment above ``_MAX_STORED_INPUTS``)."""
    derived = tables(knots) if derived is None else derived
    store = derived.get("data-features", lambda _: {})
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
        pieces = {"features": _features_no_grad(x, local_support(x, knots, k, derived), base_fn)}
    size = sum(t.numel() * t.element_size() for t in pieces.values())
    if alive and size <= _MAX_STORED_BYTES:  # used again: keep it
        store[key] = (entry[0], x.clone(), pieces)
        return pieces
    if not alive:
        while len(store) >= _MAX_STORED_INPUTS:
            store.pop(next(iter(store)))
        store[key] = (weakref.ref(x, lambda _, key=key: store.pop(key, None)), None, None)
    return pieces


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
        self.tables = tables(knots)  # checked once per pass: the knots did not change since built
        self.grid = kernels.grid_for(x, knots, k, base_fn, self.tables)  # the C kernels, when they apply
        self.support = None  # the local support (torch path), kept only when grad_x is needed
        self.saved: dict[str, torch.Tensor] = {}  # the C kernels' spans, slopes, ...
        if x.requires_grad or not _MODES.reuse:
            self.data = self._build(x.detach().contiguous())
        else:  # the data, on the dense pass (see _pass_for): its basis may be reused
            self.saved = _data_pieces(x, knots, k, base_fn, self.grid, local, self.tables)
            self.data = self.saved["features"]

    def _build(self, x: torch.Tensor) -> Any:
        """The features (batch, C·in), and what grad_x needs when x requires grad."""
        if self.grid is not None:
            self.saved = self.grid.evaluate(x, features=True, local=self.local, slopes=self.x.requires_grad)
            return self.saved.pop("features")
        self.support = local_support(x, self.knots, self.k, self.tables)
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
        support = self.support = local_support(x, self.knots, self.k, self.tables)
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
