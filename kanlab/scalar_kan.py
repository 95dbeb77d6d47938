"""The from-scratch KAN on the scalar engine: B-splines, edges, layers, KAN, Optimizer.

Same conventions as the torch engine (docs/architecture.md), so the two compute the same
function: knots uniform on ``grid_range`` extended by ``k`` on each side, ``G + k`` bases
per input, half-open order-0 indicators, and every edge

    phi(x) = scale_base * silu(x) + scale_sp * sum_c coef[c] * B_c(x),

with output node ``j`` = sum_i phi[j, i](x_i) and no bias. Import it from
:mod:`kanlab.scalar`. Introduced in 04_kan_from_scratch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from numbers import Real
from typing import Any, TypeAlias

from kanlab.scalar_engine import Tensor

Basis: TypeAlias = "Tensor | float"  # a basis value: a Tensor, or the exact constant 0.0 / 1.0


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_range(grid_range: object) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in grid_range)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"grid_range must be a pair (lo, hi), got {grid_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"grid_range must be finite with lo < hi, got {grid_range!r}")
    return lo, hi


def knots_1d(grid: int, k: int, grid_range: tuple[float, float] = (0.0, 1.0)) -> list[float]:
    """Uniform knots on ``grid_range`` extended by ``k`` on each side: ``G + 2k + 1`` floats.

    ``t_m = lo + (m - k)·h`` with ``h = (hi - lo) / G``, m = 0..G+2k — one row of
    :func:`kanlab.splines.uniform_knots`. Introduced in 02_bsplines.
    """
    grid = _check_int(grid, "grid", 1)
    k = _check_int(k, "k", 0)
    lo, hi = _check_range(grid_range)
    h = (hi - lo) / grid
    return [lo + (m - k) * h for m in range(grid + 2 * k + 1)]


def _is_zero(b: Basis) -> bool:
    return not isinstance(b, Tensor) and b == 0.0


def _times(weight: Tensor, b: Basis) -> Tensor:
    """weight·b without a node for the exact constant b = 1.0."""
    return weight if (not isinstance(b, Tensor) and b == 1.0) else weight * b


def bspline_bases(x: Tensor, knots: Sequence[float], k: int) -> list[Basis]:
    """The ``len(knots) - k - 1`` B-spline bases of degree ``k`` at ``x``, by Cox–de Boor.

    Degree 0 is the half-open indicator ``t_m <= x < t_{m+1}``; degree p mixes two degree
    p-1 bases with linear weights in ``x``. Bases that are exactly zero (local support:
    at most k+1 are not) stay the float 0.0 and cost no graph node — skipping them is
    exact, since their value and derivative are both 0. Outside ``[t_0, t_last)`` every
    basis is 0. x: a Tensor (or number) -> list of G + k Tensors or floats.
    Introduced in 02_bsplines; used on Tensors in 04_kan_from_scratch.
    """
    k = _check_int(k, "k", 0)
    t = [float(v) for v in knots]
    if len(t) < k + 2:
        raise ValueError(f"need at least k + 2 = {k + 2} knots for order k={k}, got {len(t)}")
    if not isinstance(x, Tensor):
        x = Tensor(x)
    xv = x.data
    bases: list[Basis] = [1.0 if t[m] <= xv < t[m + 1] else 0.0 for m in range(len(t) - 1)]
    for p in range(1, k + 1):
        new: list[Basis] = []
        for m in range(len(bases) - 1):
            left, right = bases[m], bases[m + 1]
            term: Basis = 0.0
            if not _is_zero(left):  # (x - t_m) / (t_{m+p} - t_m) · B_{m,p-1}
                term = _times((x - t[m]) * (1.0 / (t[m + p] - t[m])), left)
            if not _is_zero(right):  # (t_{m+p+1} - x) / (t_{m+p+1} - t_{m+1}) · B_{m+1,p-1}
                r = _times((t[m + p + 1] - x) * (1.0 / (t[m + p + 1] - t[m + 1])), right)
                term = r if _is_zero(term) else term + r
            new.append(term)
        bases = new
    return bases


class Edge:
    """One learnable activation phi(x) = scale_base·silu(x) + scale_sp·Σ_c coef[c]·B_c(x).

    ``coef`` holds G + k Tensors; ``active`` False removes the edge (the torch ``mask``).
    Introduced in 03_learnable_activation; built from Tensors in 04_kan_from_scratch.
    """

    def __init__(
        self,
        knots: Sequence[float],
        k: int,
        coef: Sequence[float],
        scale_base: float,
        scale_sp: float,
        name: str = "",
    ) -> None:
        self.knots = [float(v) for v in knots]
        self.k = k
        if len(coef) != len(self.knots) - k - 1:
            raise ValueError(f"coef needs {len(self.knots) - k - 1} values, got {len(coef)}")
        self.coef = [Tensor(c, label=f"{name}coef[{n}]") for n, c in enumerate(coef)]
        self.scale_base = Tensor(scale_base, label=f"{name}scale_base")
        self.scale_sp = Tensor(scale_sp, label=f"{name}scale_sp")
        self.active = True

    def __call__(self, x: Tensor) -> Tensor:
        """phi(x) for one input Tensor."""
        return self.combine(x.silu(), bspline_bases(x, self.knots, self.k))

    def combine(self, silu_x: Tensor, bases: Sequence[Basis]) -> Tensor:
        """phi from precomputed silu(x) and bases, which a layer shares among its edges."""
        spline: Tensor | None = None
        for c, b in zip(self.coef, bases, strict=True):
            if not _is_zero(b):
                term = _times(c, b)
                spline = term if spline is None else spline + term
        out = self.scale_base * silu_x
        return out if spline is None else out + self.scale_sp * spline

    def parameters(self) -> list[Tensor]:
        return [*self.coef, self.scale_base, self.scale_sp]

    def __repr__(self) -> str:
        return f"Edge(G+k={len(self.coef)}, k={self.k}, active={self.active})"


class Layer:
    """``out_dim × in_dim`` edges; output j = Σ_i phi[j][i](x_i). ``edges[j][i]`` as in torch.

    Initialisation: coef ~ U(-noise_scale, noise_scale), scale_base ~ U(-1, 1)/sqrt(in_dim),
    scale_sp = 1/sqrt(in_dim). Introduced in 04_kan_from_scratch.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        grid: int = 5,
        k: int = 3,
        grid_range: tuple[float, float] = (0.0, 1.0),
        rng: random.Random | None = None,
        noise_scale: float = 0.1,
        name: str = "",
    ) -> None:
        self.in_dim = _check_int(in_dim, "in_dim", 1)
        self.out_dim = _check_int(out_dim, "out_dim", 1)
        self.grid, self.k = grid, k
        knots = knots_1d(grid, k, grid_range)
        self.knots = [list(knots) for _ in range(in_dim)]  # per input, like torch's (in, G+2k+1)
        rng = rng if rng is not None else random.Random(0)
        s = 1.0 / math.sqrt(in_dim)
        self.edges = [
            [
                Edge(
                    self.knots[i],
                    k,
                    [rng.uniform(-noise_scale, noise_scale) for _ in range(grid + k)],
                    rng.uniform(-s, s),
                    s,
                    name=f"{name}[{j},{i}].",
                )
                for i in range(in_dim)
            ]
            for j in range(out_dim)
        ]

    def __call__(self, x: Sequence[Tensor]) -> list[Tensor]:
        """x: in_dim Tensors -> out_dim Tensors."""
        silu = [xi.silu() for xi in x]
        bases = [bspline_bases(xi, self.edges[0][i].knots, self.k) for i, xi in enumerate(x)]
        out = []
        for row in self.edges:
            total: Tensor | None = None
            for i, edge in enumerate(row):
                if edge.active:
                    phi = edge.combine(silu[i], bases[i])
                    total = phi if total is None else total + phi
            out.append(total if total is not None else Tensor(0.0))
        return out

    def parameters(self) -> list[Tensor]:
        return [p for row in self.edges for edge in row for p in edge.parameters()]

    def __repr__(self) -> str:
        return f"Layer(in_dim={self.in_dim}, out_dim={self.out_dim}, grid={self.grid}, k={self.k})"


class KAN:
    """A KAN on scalar Tensors: ``KAN(input_size, layer_sizes)``, the classic from-scratch API.

    ``layer_sizes`` lists each layer's *output* count, so ``KAN(2, [2, 2, 2, 1])`` is
    2→2→2→2→1 (``width = [2, 2, 2, 2, 1]`` in the torch engine's words). ``grid_range``
    defaults to (0, 1) because the classic 4-point task lives in the unit square.
    Calling it on ``input_size`` Tensors (or numbers) returns a Tensor when the last
    layer has one output, else a list. Introduced in 04_kan_from_scratch.
    """

    def __init__(
        self,
        input_size: int,
        layer_sizes: Sequence[int],
        grid: int = 5,
        k: int = 3,
        grid_range: tuple[float, float] = (0.0, 1.0),
        seed: int = 0,
        noise_scale: float = 0.1,
    ) -> None:
        input_size = _check_int(input_size, "input_size", 1)
        if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
            raise ValueError(f"layer_sizes must be a list of ints, got {layer_sizes!r}")
        if len(layer_sizes) == 0:
            raise ValueError("layer_sizes must list at least one layer's output count, got []")
        sizes = [_check_int(n, "each entry of layer_sizes", 1) for n in layer_sizes]
        self.grid = _check_int(grid, "grid", 1)
        self.k = _check_int(k, "k", 0)
        self.grid_range = _check_range(grid_range)
        self.seed = _check_int(seed, "seed", 0)
        self.width = [input_size, *sizes]  # a copy: the caller's list is never touched
        rng = random.Random(seed)
        self.layers = [
            Layer(n_in, n_out, grid, k, self.grid_range, rng, noise_scale, name=f"L{l}")
            for l, (n_in, n_out) in enumerate(zip(self.width[:-1], self.width[1:], strict=True))  # noqa: E741
        ]

    def __call__(self, x: Sequence[Tensor | float]) -> Tensor | list[Tensor]:
        if isinstance(x, (Tensor, Real)) or len(x) != self.width[0]:
            got = "a single value" if isinstance(x, (Tensor, Real)) else f"{len(x)} inputs"
            raise ValueError(f"KAN expects a list of {self.width[0]} inputs, got {got}")
        h = [xi if isinstance(xi, Tensor) else Tensor(xi) for xi in x]
        for layer in self.layers:
            h = layer(h)
        return h[0] if len(h) == 1 else h

    def parameters(self) -> list[Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]

    def num_parameters(self) -> int:
        return len(self.parameters())

    def __repr__(self) -> str:
        return (
            f"KAN(input_size={self.width[0]}, layer_sizes={self.width[1:]}, grid={self.grid}, "
            f"k={self.k}, grid_range={self.grid_range}, seed={self.seed})"
        )

    @classmethod
    def from_torch(cls, model: Any) -> KAN:
        """A scalar copy of a torch ``kanlab.KAN``: same knots, coef, scales and mask.

        One function, two engines: in float64 both give the same output to ~1e-12.
        Models with symbolic edges are not supported (the scalar engine has no symbolic
        branch). Introduced in 04_kan_from_scratch.
        """
        width = [int(w) for w in model.width]
        new = cls(width[0], width[1:], grid=int(model.grid), k=int(model.k))
        for layer, tl in zip(new.layers, model.layers, strict=True):
            if getattr(tl, "base_fn", "silu") not in ("silu", None):
                raise NotImplementedError(f"only base_fn='silu' is supported, got {tl.base_fn!r}")
            sym = getattr(tl, "sym_mask", None)
            if sym is not None and bool((sym != 0).any()):
                raise NotImplementedError("symbolic edges cannot be copied to the scalar engine")
            coef = tl.coef.detach().double().cpu().tolist()
            sb = tl.scale_base.detach().double().cpu().tolist()
            ssp = tl.scale_sp.detach().double().cpu().tolist()
            mask = tl.mask.detach().double().cpu().tolist()
            knots = tl.knots.detach().double().cpu().tolist()
            for j, row in enumerate(layer.edges):
                for i, edge in enumerate(row):
                    edge.knots = list(knots[i])
                    for c, value in enumerate(coef[j][i]):
                        edge.coef[c].data = value
                    edge.scale_base.data = sb[j][i]
                    edge.scale_sp.data = ssp[j][i]
                    edge.active = mask[j][i] != 0.0
        return new


class Optimizer:
    """Gradient descent with optional momentum: ``v = momentum·v - lr·grad; p += v``.

    The classic API passes the parameters to each call: ``zero_grad(params)``,
    ``step(params)``. Introduced in 04_kan_from_scratch.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0) -> None:
        if isinstance(lr, bool) or not isinstance(lr, Real) or not lr > 0:
            raise ValueError(f"lr must be a positive number, got {lr!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, Real) or not 0 <= momentum < 1:
            raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
        self.lr, self.momentum = float(lr), float(momentum)
        self._velocity: dict[Tensor, float] = {}

    def zero_grad(self, params: Sequence[Tensor]) -> None:
        for p in params:
            p.grad = 0.0

    def step(self, params: Sequence[Tensor]) -> None:
        for p in params:
            v = self.momentum * self._velocity.get(p, 0.0) - self.lr * p.grad
            if self.momentum:
                self._velocity[p] = v
            p.data += v

    def __repr__(self) -> str:
        return f"Optimizer(lr={self.lr:g}, momentum={self.momentum:g})"


def compute_loss(y_hat: Tensor | Sequence[Tensor], y: float | Tensor | Sequence) -> Tensor:
    """Squared error (y_hat - y)², summed over outputs when the KAN has several.

    Introduced in 04_kan_from_scratch.
    """
    if isinstance(y_hat, Tensor):
        if not isinstance(y, (Tensor, Real)) or isinstance(y, bool):
            raise TypeError(f"y must be a number or a Tensor for a single output, got {y!r}")
        return (y_hat - y) ** 2
    if isinstance(y, (Tensor, Real)) or len(y_hat) != len(y):
        raise ValueError("y must list one target per output of y_hat")
    terms = [(yh - yi) ** 2 for yh, yi in zip(y_hat, y, strict=True)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total
