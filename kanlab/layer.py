"""One KAN layer: a learnable function on every edge, summed at every output node.

``phi[j, i](x_i) = scale_base[j, i]·silu(x_i) + scale_sp[j, i]·Σ_c coef[j, i, c]·B_c(x_i)``
and ``y_j = Σ_i mask[j, i]·phi[j, i](x_i)``. Introduced in 03_learnable_activation; the
vectorised form (one basis tensor, one matrix multiply) in 05_vectorized_kan.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import torch
from torch import nn

from kanlab import fused, splines
from kanlab.base_functions import BASE_FUNCTIONS
from kanlab.symbolic_lib import get_function
from kanlab.utils import check_finite

# update_grid places the grid GRID_MARGIN·(sample range) beyond the extreme samples on each side,
# so inputs just outside the samples seen (test points) stay inside the grid instead of being
# extrapolated by the outermost, weakly determined bases.
GRID_MARGIN = 0.01


# The dtypes KAN layers compute in: B-splines on a grid need more than bf16's 3 digits.
COMPUTE_DTYPES = (torch.float32, torch.float64)


class compute_dtype:  # noqa: N801  (used like a function: ``with compute_dtype(dtype, x) as x``)
    """Inside torch.autocast: autocast off, and x cast to ``dtype`` (the parameters' dtype).

    KAN layers are autocast's "float32 ops": their splines and least-squares fits need the
    parameters' precision, so under autocast they run in that dtype and return it. Outside
    autocast x is returned unchanged (a dtype mismatch then raises a clear error).
    """

    def __init__(self, dtype: torch.dtype, x: Any) -> None:
        self.dtype, self.x, self._off = dtype, x, None

    def __enter__(self) -> Any:
        x = self.x
        if isinstance(x, torch.Tensor) and _autocast_on(x.device.type):
            self._off = torch.autocast(x.device.type, enabled=False)
            self._off.__enter__()
            if x.is_floating_point() and x.dtype != self.dtype:
                x = x.to(self.dtype)
        return x

    def __exit__(self, *exc: Any) -> None:
        if self._off is not None:
            self._off.__exit__(*exc)


def _autocast_on(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4: no device argument
        return torch.is_autocast_cpu_enabled() if device_type == "cpu" else torch.is_autocast_enabled()


def over_leading_dims(fn, x: torch.Tensor, out_dim: int) -> torch.Tensor:
    """``fn`` of (batch, in) applied to x (..., in): -> (..., out_dim), like ``nn.Linear``."""
    if x.dim() == 2:
        return fn(x)
    return fn(x.reshape(-1, x.shape[-1])).reshape(*x.shape[:-1], out_dim)


def checked_forward(rows, first: KANLayer, x: Any, out_dim: int) -> torch.Tensor:
    """``rows`` (batch, in) -> (batch, out) applied to x (..., in) that ``first.check_input`` accepts.

    What ``KANLayer.forward`` and ``KAN.forward`` share (``first``: the layer that reads x): under
    autocast, x is cast to the parameters' dtype with autocast off (``compute_dtype``); outside
    it (the common case) no context manager and, for 2-D x, no reshape (``benchmarks/layer_speed.py``).
    """
    if isinstance(x, torch.Tensor) and _autocast_on(x.device.type):
        with compute_dtype(first.coef.dtype, x) as x:
            return checked_forward(rows, first, x, out_dim)
    first.check_input(x, leading=True)
    return rows(x) if x.dim() == 2 else over_leading_dims(rows, x, out_dim)


def _check_dim(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


class KANLayer(nn.Module):
    """A KAN layer from ``in_dim`` to ``out_dim`` with B-spline edges of order ``k`` on ``grid`` intervals.

    Parameters: ``coef`` (out, in, G + k), ``scale_base`` and ``scale_sp`` (out, in),
    ``sym_affine`` (out, in, 4). Buffers: ``knots`` (in, G + 2k + 1), ``mask`` and ``sym_mask``
    (out, in). The forward pass evaluates the basis once, (batch, in, G + k), and does one matrix
    multiply with the flattened (batch, in·(G + k)) basis; it never builds a per-edge tensor.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        grid: int = 5,
        k: int = 3,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        base_fn: str = "silu",
        noise_scale: float = 0.1,
        scale_base_mu: float = 0.0,
        scale_base_sigma: float = 1.0,
        scale_sp: float = 1.0,
        grid_eps: float = 0.02,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        _check_dim("in_dim", in_dim)
        _check_dim("out_dim", out_dim)
        splines.check_grid_and_order(grid, k)
        if base_fn not in BASE_FUNCTIONS:
            raise ValueError(f"base_fn must be one of {sorted(BASE_FUNCTIONS)}, got {base_fn!r}")
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps must lie in [0, 1], got {grid_eps!r}")
        dtype = dtype or torch.get_default_dtype()
        if dtype not in COMPUTE_DTYPES:
            raise ValueError(
                f"dtype must be torch.float32 or torch.float64, got {dtype}: B-splines need that precision "
                f"(for mixed precision keep the model in float32 and use torch.autocast, under which "
                f"KAN layers compute in float32)"
            )
        self.in_dim, self.out_dim, self.k = in_dim, out_dim, k
        self.base_fn, self.grid_eps = base_fn, grid_eps
        knots = splines.uniform_knots(in_dim, grid, k, grid_range, dtype=dtype, device=device)
        self.register_buffer("knots", knots)
        self.register_buffer("mask", torch.ones(out_dim, in_dim, dtype=dtype, device=device))
        self.register_buffer("sym_mask", torch.zeros(out_dim, in_dim, dtype=dtype, device=device))
        # Initial splines: small noise fitted at the grid points (as in the KAN paper).
        pts = knots[:, k : k + grid + 1].T  # (G + 1, in)
        noise = (torch.rand(grid + 1, out_dim, in_dim, dtype=dtype, device=device) - 0.5)
        noise = noise * noise_scale / grid
        coef = splines.curve_to_coef(pts, noise, knots, k, ridge=1e-6)
        self.coef = nn.Parameter(coef)
        base = scale_base_mu / math.sqrt(in_dim) + scale_base_sigma * (
            torch.rand(out_dim, in_dim, dtype=dtype, device=device) * 2 - 1
        ) / math.sqrt(in_dim)
        self.scale_base = nn.Parameter(base)
        self.scale_sp = nn.Parameter(
            torch.full((out_dim, in_dim), scale_sp / math.sqrt(in_dim), dtype=dtype, device=device)
        )
        # Affine parameters (a, b, c, d) of symbolic edges; trainable only once an edge is snapped,
        # so a purely numeric KAN has no unused parameters (parameter counts, DDP).
        self.sym_affine = nn.Parameter(
            torch.zeros(out_dim, in_dim, 4, dtype=dtype, device=device), requires_grad=False
        )
        self.sym_names: list[list[str]] = [["0"] * in_dim for _ in range(out_dim)]
        self._symbolic_edges: set[tuple[int, int]] = set()  # mirrors sym_mask, for a free check

    # ----------------------------------------------------------------- shapes and repr
    @property
    def grid(self) -> int:
        """G, the number of grid intervals."""
        return splines.num_intervals(self.knots, self.k)

    @property
    def grid_range(self) -> torch.Tensor:
        """(in, 2): each input's grid range [t_k, t_{G+k}]."""
        return torch.stack([self.knots[:, self.k], self.knots[:, self.k + self.grid]], dim=1)

    def extra_repr(self) -> str:
        n_sym = int(self.sym_mask.sum())
        sym = f", symbolic_edges={n_sym}" if n_sym else ""
        return (
            f"in_dim={self.in_dim}, out_dim={self.out_dim}, grid={self.grid}, k={self.k}, "
            f"base_fn={self.base_fn!r}{sym}"
        )

    def check_input(self, x: torch.Tensor, leading: bool = False) -> None:
        """Raise a clear error for inputs of the wrong type, dtype or shape, or with NaN/inf.

        ``leading``: accept any leading dimensions (..., in) like ``nn.Linear``, else (batch, in).
        The finiteness check never stalls a forward pass (``kanlab.utils.check_finite``).
        """
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (batch, {self.in_dim}), got {type(x)}")
        dtype = self.coef.dtype
        if x.dtype != dtype or dtype not in COMPUTE_DTYPES:  # one comparison in the common case
            if dtype not in COMPUTE_DTYPES:
                raise TypeError(
                    f"this KAN layer's parameters are {dtype}; KAN layers compute in float32 or "
                    f"float64 (convert with .float() or .double(); for mixed precision use torch.autocast)"
                )
            raise TypeError(
                f"x has dtype {x.dtype} but the model's parameters are {dtype}; "
                f"convert with x.to({dtype}) (or the model with .to(dtype))"
            )
        if leading:
            if x.dim() < 1 or x.shape[-1] != self.in_dim:
                raise ValueError(f"x must have shape (..., {self.in_dim}), got {tuple(x.shape)}")
        elif x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x must have shape (batch, {self.in_dim}), got {tuple(x.shape)}")
        check_finite(x, "x contains NaN or inf; the KAN's inputs must be finite numbers")

    # ----------------------------------------------------------------- forward
    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, in) -> B-spline basis (batch, in, G + k)."""
        return splines.bspline_basis(x, self.knots, self.k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., in) -> y (..., out), ``y_j = Σ_i phi[j, i](x_i)``; leading dimensions as in ``nn.Linear``.

        Under ``torch.autocast`` the layer computes in its parameters' dtype (float32/float64) and
        returns that dtype; lower-precision inputs are cast up first (``compute_dtype``).
        """
        return checked_forward(self.forward_unchecked, self, x, self.out_dim)

    def forward_unchecked(self, x: torch.Tensor) -> torch.Tensor:
        """``forward`` without the input checks (the model checks its input once).

        The base term is folded into the same matrix multiply as the splines: each input
        contributes G + k basis values and ``b(x_i)``, so ``y = features @ weightᵀ`` with
        features (batch, in·(G + k + 1)) and weight (out, in·(G + k + 1)), computed as one
        autograd node with a hand-written backward pass (``kanlab.fused``).
        """
        y = fused.spline_linear(x, *self._weight_parts(), self.knots, self.k, self.base_fn)
        return y + self.symbolic_activations(x).sum(dim=2) if self.has_symbolic else y

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """x (batch, in) -> (batch, in, G + k + 1): the G + k bases, then the base function."""
        return fused.features(x, self.knots, self.k, self.base_fn)

    def _weight_parts(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(coef, scale_sp, scale_base, numeric): what ``fused.weight`` combines; numeric masks
        out masked and symbolic edges."""
        numeric = self.mask * (1 - self.sym_mask) if self.has_symbolic else self.mask
        return self.coef, self.scale_sp, self.scale_base, numeric

    def _weight(self) -> torch.Tensor:
        """(out, in, G + k + 1): ``scale_sp·coef`` then ``scale_base``, masked per numeric edge.

        ``phi[j, i](x_i) = Σ_c weight[j, i, c]·features[:, i, c]`` for every numeric edge.
        """
        return fused.weight(*self._weight_parts())

    def forward_and_l1(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The layer's output (batch, out) and every edge's ``|phi|_1`` (out, in) in one pass.

        ``|phi[j, i]|_1 = mean over the batch of |phi[j, i](x_i)|`` is differentiable here without
        a differentiable (batch, out, in) tensor: with s = sign(phi) held constant,
        ``mean_b |phi| = Σ_c weight[j, i, c]·mean_b(s·features[:, i, c])`` — the same value and
        (sub)gradient (``fused.l1_sign_trick``). With kanlab's C kernels one pass computes every
        edge's value, its sign, those sums and the output together (under 2x a plain step at
        1024×64→64); with torch ops it is two batched contractions (about 3x)
        (07_interpretability; ``benchmarks/regularization.py``).
        """
        if not self.has_symbolic:
            return fused.spline_linear_l1(x, *self._weight_parts(), self.knots, self.k, self.base_fn)
        features, weight = self._features(x), self._weight()
        y = fused.linear(features, weight)
        symbolic = self.symbolic_activations(x)  # (batch, out, in)
        l1, sign_t = fused.l1_sign_trick(features, weight, extra=symbolic)
        y = y + symbolic.sum(dim=2)
        return y, l1 + (sign_t.permute(1, 2, 0) * symbolic).mean(0)

    @property
    def has_symbolic(self) -> bool:
        """True when at least one edge has been snapped to a formula (no tensor work)."""
        return bool(self._symbolic_edges)

    def sync_symbolic_edges(self) -> None:
        """Rebuild the cached set of symbolic edges from ``sym_mask`` (after loading weights)."""
        self._symbolic_edges = {(j, i) for j, i in self.sym_mask.nonzero().tolist()}
        self.sym_affine.requires_grad_(self.has_symbolic)

    def edge_activations(self, x: torch.Tensor) -> torch.Tensor:
        """Every edge's output ``phi[j, i](x_i)``: x (batch, in) -> (batch, out, in). Masked edges give 0,
        symbolic edges their formula; for plots and regularisation (the tensor ``forward`` avoids)."""
        acts = self.numeric_activations(x)
        return acts + self.symbolic_activations(x) if self.has_symbolic else acts

    def numeric_activations(self, x: torch.Tensor) -> torch.Tensor:
        """The spline + base part of every edge, (batch, in) -> (batch, out, in); masked and symbolic
        edges give 0 (pykan's "postacts_numerical", for ``kanlab.penalty.spread_penalty``)."""
        self.check_input(x)
        return torch.einsum("bic,oic->boi", self._features(x), self._weight())

    def edge_l1(self, x: torch.Tensor) -> torch.Tensor:
        """``|phi[j, i]|_1 = mean over the batch of |phi[j, i](x_i)|``: x (batch, in) -> (out, in).

        Differentiable; see ``forward_and_l1``. Introduced in 07_interpretability.
        """
        return self.forward_and_l1(x)[1]

    def spline_part(self, x: torch.Tensor) -> torch.Tensor:
        """``Σ_c coef[j, i, c]·B_c(x_i)`` without scales: x (batch, in) -> (batch, out, in)."""
        return splines.spline_eval(x, self.knots, self.coef, self.k)

    def symbolic_activations(self, x: torch.Tensor) -> torch.Tensor:
        """Symbolic edges' outputs ``c·f(a·x_i + b) + d`` (0 elsewhere): (batch, out, in)."""
        out = torch.zeros(x.shape[0], self.out_dim, self.in_dim, dtype=x.dtype, device=x.device)
        for j, i in sorted(self._symbolic_edges):
            a, b, c, d = self.sym_affine[j, i]
            fn = get_function(self.sym_names[j][i]).torch
            out[:, j, i] = c * fn(a * x[:, i] + b) + d
        return out * self.mask

    # ----------------------------------------------------------------- symbolic edges
    def get_extra_state(self) -> torch.Tensor:
        """The symbolic edges' names, in the state dict (as UTF-8 JSON bytes: a uint8 tensor).

        ``sym_mask`` and ``sym_affine`` are a buffer and a parameter; with the names here,
        ``load_state_dict`` restores symbolic edges exactly.
        """
        data = json.dumps({"sym_names": self.sym_names}).encode("utf-8")
        return torch.tensor(list(data), dtype=torch.uint8, device="cpu")

    def set_extra_state(self, state: Any) -> None:
        """Restore the names written by ``get_extra_state`` (called by ``load_state_dict``, after
        the buffers and parameters), then the set of symbolic edges from ``sym_mask``."""
        if isinstance(state, torch.Tensor):
            state = json.loads(bytes(state.to(torch.uint8).tolist()).decode("utf-8"))
        names = state.get("sym_names") if isinstance(state, dict) else None
        if (
            not isinstance(names, list) or len(names) != self.out_dim
            or any(not isinstance(row, list) or len(row) != self.in_dim for row in names)
            or any(not isinstance(n, str) for row in names for n in row)
        ):  # fmt: skip
            raise ValueError(
                f"the KANLayer's extra state must hold sym_names, {self.out_dim} lists of "
                f"{self.in_dim} names; got {state!r:.200}"
            )
        for j, i in self.sym_mask.nonzero().tolist():
            get_function(names[j][i])  # a clear error for functions this session does not know
        self.sym_names = [list(row) for row in names]
        self.sync_symbolic_edges()

    def set_symbolic(self, j: int, i: int, name: str, affine: tuple[float, float, float, float]) -> None:
        """Snap edge (j, i) to ``c·f(a·x + b) + d`` with ``f`` named ``name`` in kanlab.symbolic."""
        self._check_edge(j, i)
        get_function(name)  # raises a clear error for unknown names
        with torch.no_grad():
            self.sym_affine[j, i] = torch.as_tensor(affine, dtype=self.sym_affine.dtype, device=self.sym_affine.device)
            self.sym_mask[j, i] = 1.0
        self.sym_names[j][i] = name
        self._symbolic_edges.add((j, i))
        self.sym_affine.requires_grad_(True)

    def clear_symbolic(self, j: int, i: int) -> None:
        """Return edge (j, i) to its spline."""
        self._check_edge(j, i)
        with torch.no_grad():
            self.sym_mask[j, i] = 0.0
            self.sym_affine[j, i] = 0.0
        self.sym_names[j][i] = "0"
        self._symbolic_edges.discard((j, i))
        self.sym_affine.requires_grad_(self.has_symbolic)

    def _check_edge(self, j: int, i: int) -> None:
        if not (0 <= j < self.out_dim and 0 <= i < self.in_dim):
            raise IndexError(
                f"edge (j={j}, i={i}) is outside this layer: j in [0, {self.out_dim}), i in [0, {self.in_dim})"
            )

    # ----------------------------------------------------------------- grids
    @torch.no_grad()
    def update_grid(self, x: torch.Tensor, grid_eps: float | None = None) -> None:
        """Move the grid to the samples' quantiles and refit ``coef`` so the splines are kept.

        x: (batch, in). The new grid blends quantiles with a uniform grid by ``grid_eps`` and
        reaches ``GRID_MARGIN`` (1%) of the samples' range beyond the extreme samples; the spline
        values on the samples are preserved up to the least-squares projection error.
        Introduced in 03_learnable_activation. The parameters keep their objects and shapes, so an
        optimizer keeps stepping them (its state, e.g. Adam's moments, refers to the old grid).
        """
        self.check_input(x)
        grid_eps = self.grid_eps if grid_eps is None else grid_eps
        values = self.spline_part(x)
        span = x.amax(0) - x.amin(0) if x.shape[0] else 0.0  # (empty x: adaptive_knots says why not)
        knots = splines.adaptive_knots(x, self.grid, self.k, grid_eps=grid_eps, margin=GRID_MARGIN * span)
        self.coef.data = splines.curve_to_coef(x, values, knots, self.k)
        self.knots = knots

    @torch.no_grad()
    def refine(self, new_grid: int, x: torch.Tensor | None = None) -> None:
        """Grid extension: move to ``new_grid`` intervals, keeping the function on the grid range.

        New grid points interpolate the old ones (so G -> 2G adds midpoints and the spline spaces
        are nested: the old spline is reproduced exactly up to round-off). Introduced in
        06_function_fitting.

        ``x`` (batch, in), optional: the samples the function must be kept on (the layer's inputs
        on the training data). The least-squares fit then also weights the samples (on nested
        grids it is exact anyway; G 3 -> 5 keeps the function best where the data are). An input
        with samples beyond its grid range (training moves a hidden layer's values) keeps its
        ``k`` outer knots on each side (``refine_knots(keep_ends=...)``): every old knot stays a
        knot, so on nested grids the spline is kept exactly there too.

        Optimizers: ``coef`` gets G + k new columns, so it becomes a new ``nn.Parameter``; an
        optimizer built before would keep stepping the old tensor, which the layer no longer uses.
        Build a new optimizer after ``refine`` (``KAN.fit`` builds its own every call). A
        ``UserWarning`` says so when the old ``coef`` holds a gradient, i.e. when an optimizer
        outside ``fit`` may be using it.
        """
        samples = splines.grid_samples(self.knots, self.k, 4 * (new_grid + self.k) + 1)  # (n, in)
        outside: torch.Tensor | bool = False
        if x is not None:  # the least squares also weight the samples (G -> G' not a multiple)
            self.check_input(x)
            lo, hi = self.grid_range.unbind(1)
            outside = (x.amin(0) < lo) | (x.amax(0) > hi)
            samples = torch.cat([samples, x])
        knots = splines.refine_knots(self.knots, self.k, new_grid, keep_ends=outside)
        new_coef = splines.curve_to_coef(samples, self.spline_part(samples), knots, self.k, ridge=0.0)
        if self.coef.grad is not None:
            warnings.warn(
                f"refine replaced coef {tuple(self.coef.shape)} by a new parameter {tuple(new_coef.shape)}: "
                f"an optimizer built before would step the old one; build a new optimizer now",
                UserWarning, stacklevel=3,
            )
        self.coef = nn.Parameter(new_coef, requires_grad=self.coef.requires_grad)
        self.knots = knots
