"""Warm start from the best additive model: a data-driven initialisation for a KAN.

Why. A KAN with a narrow hidden layer, such as the paper's [2, 1, 1] for exp(sin πx + y²), has
competing local minima. From a random start L-BFGS lands in one where the hidden node has the
wrong shape in about half the seeds, and pykan does the same (benchmarks/fit_accuracy.py).

What. The Kolmogorov–Arnold form ``f(x) = g(Σ_i φ_i(x_i))`` suggests a start that does not
depend on luck:

1. the inner sum is the best *additive* model of the target, ``Σ_i u_i(x_i) ≈ y − mean(y)``, one
   least-squares solve on the first layer's B-spline basis, rescaled to a standard deviation
   ``spread``;
2. it is carried to the last layer along hidden node 0 (in deeper networks, node 0 of each
   middle layer is the identity of node 0 before it);
3. each output's edge from node 0 is the 1-D least-squares spline of the target on that node.

Every other edge keeps its random initialisation, so wider hidden layers can still learn what
an additive start misses. A one-layer KAN *is* an additive model, so there the start is the
least-squares fit itself.

When not to use it. A target with no additive part (``x·y`` on a symmetric box) gives nothing
to start from: a warning says so and the model is left unchanged. A target whose additive part
is not the inner function it needs, like (x + y)², whose additive part is x² + y², starts in the
wrong place. Introduced in 06_function_fitting.
"""

from __future__ import annotations

import math
import warnings

import torch

from kanlab import splines
from kanlab.utils import all_finite

# An additive part explaining less than this fraction of the target's variance (R², adjusted for
# the number of coefficients fitted) counts as none: e.g. x·y, whose additive part on a sample is
# what sampling noise puts there (adjusted R² ≈ 0.02–0.05 at 400–1000 samples).
MIN_EXPLAINED_VARIANCE = 0.1


@torch.no_grad()
def additive_start(model, x: torch.Tensor, y: torch.Tensor, spread: float = 0.5, ridge: float = 1e-6):
    """Initialise ``model`` (a ``KAN``) in place from the best additive model of ``y``; returns it.

    x: (batch, width[0]) training inputs; y: (batch, width[-1]) training targets (the first
    output column defines the additive part). ``spread``: standard deviation given to hidden
    node 0. ``ridge``: relative Tikhonov damping of the least-squares solves, which also fixes
    the constant that the inputs' bases share (each basis sums to one on its grid).
    Call it before ``fit`` on a freshly built model (symbolic edges are not supported).
    """
    _check_arguments(model, x, y, spread, ridge)
    layers = model.layers
    first = layers[0]
    if len(layers) == 1:  # the model is an additive model: fit every output directly
        for o in range(first.out_dim):
            _set_spline_edges(first, o, _additive_fit(first, x, y[:, o], first.mask[o], ridge)[0])
        return model

    target = y[:, 0] - y[:, 0].mean()
    coef, inner = _additive_fit(first, x, target, first.mask[0], ridge)
    explained = _adjusted_r2(target.double(), inner, n_coef=sum(c.numel() for c in coef.values()))
    if not explained > MIN_EXPLAINED_VARIANCE:
        warnings.warn(
            f"additive_start: the best additive model explains {max(explained, 0.0):.1e} of the "
            "target's variance, so there is no additive part to start from; the model is unchanged",
            RuntimeWarning,
            stacklevel=3,
        )
        return model
    scale = spread / float(inner.std())
    _set_spline_edges(first, 0, {i: c * scale for i, c in coef.items()})
    h = first.forward_unchecked(x)
    for layer in layers[1:-1]:  # middle layers pass node 0 on unchanged
        layer.update_grid(h)
        _zero_edges(layer, 0, range(layer.in_dim))
        _set_spline_edges(layer, 0, {0: _curve_coef(layer, h[:, 0], h[:, 0])})
        h = layer.forward_unchecked(h)
    last = layers[-1]
    last.update_grid(h)
    acts = last.edge_activations(h)  # (batch, out, in)
    residual = y - (acts.sum(2) - acts[:, :, 0])  # what the other hidden nodes do not give
    for o in range(last.out_dim):
        _set_spline_edges(last, o, {0: _curve_coef(last, h[:, 0], residual[:, o])})
    return model


def _check_arguments(model, x: torch.Tensor, y: torch.Tensor, spread: float, ridge: float) -> None:
    model._check_input(x)
    n_out = model.width[-1]
    if y.dim() != 2 or y.shape != (x.shape[0], n_out):
        raise ValueError(f"y must have shape (batch, {n_out}) = ({x.shape[0]}, {n_out}), got {tuple(y.shape)}")
    if not all_finite(y):  # x was checked by the model
        raise ValueError("additive_start: y must be finite (found NaN or inf)")
    if x.shape[0] < 2:
        raise ValueError(f"additive_start needs at least 2 samples, got {x.shape[0]}")
    if not (isinstance(spread, (int, float)) and math.isfinite(spread) and spread > 0):
        raise ValueError(f"spread must be a finite number > 0, got {spread!r}")
    if not (isinstance(ridge, (int, float)) and math.isfinite(ridge) and ridge > 0):
        raise ValueError(f"ridge must be a finite number > 0, got {ridge!r}")
    if any(layer.has_symbolic for layer in model.layers):
        raise ValueError("additive_start initialises a numeric KAN; this one has symbolic edges")


def _adjusted_r2(target: torch.Tensor, fit: torch.Tensor, n_coef: int) -> float:
    """Fraction of ``target``'s variance that ``fit`` explains, discounted for ``n_coef`` fitted numbers."""
    n = target.shape[0]
    r2 = 1.0 - float(((target - fit) ** 2).mean()) / max(float(target.var(unbiased=False)), 1e-300)
    return 1.0 - (1.0 - r2) * (n - 1) / max(n - n_coef - 1, 1)


def _additive_fit(
    layer, x: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, ridge: float
) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """Per unmasked input i, coefficients (G + k,) with ``Σ_i Σ_c coef[i][c]·B_c(x_i) ≈ target``,
    and that sum on the samples (batch,), float64.

    One ridge-damped least-squares solve over all inputs' bases at once, in float64.
    """
    basis = splines.bspline_basis(x.double(), layer.knots.double(), layer.k)  # (batch, in, n)
    basis = basis * mask.double()[None, :, None]
    batch, n_in, n = basis.shape
    design = basis.reshape(batch, n_in * n)
    gram = design.T @ design
    damping = ridge * float(gram.diagonal().mean()) * torch.eye(n_in * n, dtype=gram.dtype, device=gram.device)
    rhs = design.T @ target.double().reshape(batch, 1)
    solution = torch.linalg.solve(gram + damping, rhs)  # (in·n, 1)
    coef = solution.reshape(n_in, n)
    return {i: coef[i] for i in mask.nonzero().flatten().tolist()}, (design @ solution)[:, 0]


def _curve_coef(layer, inputs: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Coefficients (G + k,) of the 1-D spline on input 0's knots that fits ``values(inputs)``."""
    return splines.curve_to_coef(inputs[:, None], values[:, None, None], layer.knots[:1], layer.k, ridge=1e-8)[0, 0]


def _set_spline_edges(layer, out: int, coef_by_input: dict[int, torch.Tensor]) -> None:
    """Edges (out, i) become pure splines (no base term) with coefficients ``coef_by_input[i]``."""
    sp = 1.0 / math.sqrt(layer.in_dim)  # the initial spline scale
    for i, coef in coef_by_input.items():
        layer.scale_base[out, i] = 0.0
        layer.scale_sp[out, i] = sp
        layer.coef[out, i] = coef.to(layer.coef.dtype) / sp


def _zero_edges(layer, out: int, inputs) -> None:
    for i in inputs:
        layer.scale_base[out, i] = 0.0
        layer.coef[out, i] = 0.0
