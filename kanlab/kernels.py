"""The optional C kernels of a KAN layer's pass (``kanlab/_cbasis.c``), behind a safe interface.

For small layers (the paper's 2 → 5 → 1) a pass built from torch ops costs ~1.5 µs of dispatch
per op and dozens of ops, far more than its arithmetic. These kernels walk the inputs once:

* ``Grid.evaluate(x)``: every input's interval s on its knots, the k + 1 non-zero bases
  ``B_{s-k} .. B_s`` and their slopes, the base function b(x) and b'(x), and/or the dense
  features (batch, G + k + 1, in) that the layer multiplies by its weight;
* ``Grid.input_gradient``: ``grad_x`` of the dense pass from the features' gradient, reading only
  the k + 1 local columns and the base column;
* ``Grid.local_forward`` / ``Grid.local_backward``: a layer with few outputs computed from the
  local bases alone (``y``, ``grad_weight`` and ``grad_x`` without any dense tensor);
* ``assemble_weight`` / ``parameter_gradients``: the layer's weight from its parameters and
  back, one pass each instead of a few elementwise ops;
* ``Grid.l1_sums`` / ``Grid.l1_input_gradient``: the sparsity penalty's per-edge sums of signed
  features and its input gradient, one pass over (sample, input) with every edge's value kept
  in registers instead of a (batch, out, in) tensor.

Same rules as ``kanlab.local_support`` (the interval by arithmetic on uniform knots, otherwise
from a bucket table and a short exact scan; the per-interval polynomial tables of ``splines``), so
the numbers equal the torch path's up to round-off; ``tests/test_kernels.py`` checks both against
the textbook recursion.

The kernels are compiled when kanlab is installed (``pip install -e .`` with a C compiler) and
skipped otherwise: ``available()`` says whether they are there, and everything works without
them. They run on CPU tensors of float32 or float64; ``use_kernels(False)`` turns them off in a
``with`` block (per thread), and ``KANLAB_KERNELS=0`` in the environment turns them off for the
process. Introduced in 05_vectorized_kan.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import torch

from kanlab import knot_tables
from kanlab.knot_tables import KnotTables

try:
    from kanlab import _cbasis
except ImportError:  # not compiled (no C compiler at install time): pure torch
    _cbasis = None

BASE_KINDS = {"silu": 0, "identity": 1, "zero": 2, "tanh": 3, "gelu": 4}
# The transcendental part of a base function, computed by torch before the kernel runs: torch's
# vectorised sigmoid/tanh cost a fraction of a scalar exp per element (silu: b = x·σ(x),
# b' = σ(x)·(1 + x·(1 - σ(x)))).
_AUX = {"silu": torch.sigmoid, "tanh": torch.tanh}
MAX_ORDER = 15  # the kernels' largest spline order k


class _Switch(threading.local):
    enabled = os.environ.get("KANLAB_KERNELS", "1") != "0"


_SWITCH = _Switch()


def available() -> bool:
    """True when the compiled kernels were built and are switched on (for this thread)."""
    return _cbasis is not None and _SWITCH.enabled


@contextlib.contextmanager
def use_kernels(enabled: bool) -> Iterator[None]:
    """Use the compiled kernels (when built) or not, inside a ``with`` block; on by default.

    Off runs every pass with torch ops: the reference the tests compare the kernels against.
    """
    previous, _SWITCH.enabled = _SWITCH.enabled, bool(enabled)
    try:
        yield
    finally:
        _SWITCH.enabled = previous


# The penalty kernels' vector width in elements of float32 (VBYTES in _cbasis.c): bands are padded
# to a multiple of it.
_OUTPUT_BLOCK = 16


def _padded(n: int) -> int:
    return -(-n // _OUTPUT_BLOCK) * _OUTPUT_BLOCK


def _ptr(t: torch.Tensor | None) -> int:
    return 0 if t is None else t.data_ptr()


class Grid:
    """One layer's knots, order and base function, prepared for the kernels (built once per grid).

    Holds the tensors whose addresses the kernels read (knots, the uniform step's inverse and
    shift, the polynomial table), so they stay alive as long as the grid does.
    """

    def __init__(self, knots: torch.Tensor, k: int, base_fn: str, derived: KnotTables | None = None) -> None:
        derived = knot_tables.tables(knots) if derived is None else derived
        self.knots = knots.detach().contiguous()
        self.k, self.n_basis, self.base_fn = k, knots.shape[1] - k - 1, base_fn
        self.in_dim = knots.shape[0]
        step = derived.step
        if step is not None:
            inv_h, shift = derived.uniform_position()
            self.inv_h, self.shift = inv_h.contiguous(), shift.contiguous()
            self.table = knot_tables._cardinal_polynomials(k, knots.dtype, str(knots.device)).contiguous()
            self.bucket_scale = self.bucket_start = None
        else:
            self.inv_h = self.shift = None
            self.table = derived.interval_table(k).contiguous()
            self.bucket_scale, self.bucket_start = _buckets(self.knots)
        self.args = (
            int(knots.dtype == torch.float64), _ptr(self.knots), knots.shape[1], k, self.n_basis,
            int(step is not None), _ptr(self.inv_h), _ptr(self.shift), _ptr(self.table),
            BASE_KINDS[base_fn], 0 if self.bucket_start is None else self.bucket_start.shape[1],
            _ptr(self.bucket_scale), _ptr(self.bucket_start),
        )  # fmt: skip

    def evaluate(
        self, x: torch.Tensor, features: bool = False, local: bool = False, slopes: bool = False
    ) -> dict[str, torch.Tensor]:
        """Evaluate at x (batch, in), contiguous. Returns the wanted pieces by name:

        ``features`` (batch, (G + k + 1)·in), basis-major with b(x) last; ``local``: ``span``
        (batch, in) long, ``values`` (k + 1, batch, in) and ``base`` (batch, in); ``slopes``:
        ``span``, ``slopes`` (k + 1, batch, in) and ``base_slope`` (batch, in). Bases that do not
        exist or inputs outside the knots give 0.
        """
        batch = x.shape[0]
        new = x.new_empty
        out: dict[str, torch.Tensor] = {}
        if features:
            out["features"] = new(batch, (self.n_basis + 1) * self.in_dim)
        if local or slopes:
            out["span"] = torch.empty(batch, self.in_dim, dtype=torch.long, device=x.device)
        if local:
            out["values"], out["base"] = new(self.k + 1, batch, self.in_dim), new(batch, self.in_dim)
        if slopes:
            out["slopes"] = new(self.k + 1, batch, self.in_dim)
            out["base_slope"] = new(batch, self.in_dim)
        names = ("features", "span", "values", "slopes", "base", "base_slope")
        aux = _AUX.get(self.base_fn)
        aux = aux(x) if aux is not None else None  # vectorised by torch; the kernel reads it
        _cbasis.evaluate(
            *self.args, batch, self.in_dim, 0, _ptr(x), _ptr(aux), *(_ptr(out.get(n)) for n in names)
        )
        return out

    def input_gradient(self, grad_features: torch.Tensor, saved: dict[str, torch.Tensor]) -> torch.Tensor:
        """``grad_x`` (batch, in) from the gradient of the dense features (batch, (G + k + 1)·in)."""
        grad_features = grad_features.contiguous()
        batch = grad_features.shape[0]
        grad_x = grad_features.new_empty(batch, self.in_dim)
        _cbasis.input_gradient(
            *self.args, batch, self.in_dim, 0, _ptr(grad_features), _ptr(saved["span"]),
            _ptr(saved["slopes"]), _ptr(saved["base_slope"]), _ptr(grad_x),
        )  # fmt: skip
        return grad_x

    def local_forward(self, saved: dict[str, torch.Tensor], weight: torch.Tensor) -> torch.Tensor:
        """``y`` (batch, out) from the local bases and the weight (out, G + k + 1, in), contiguous."""
        batch, out_dim = saved["base"].shape[0], weight.shape[0]
        y = weight.new_empty(batch, out_dim)
        _cbasis.local_forward(
            *self.args, batch, self.in_dim, out_dim, _ptr(saved["span"]), _ptr(saved["values"]),
            _ptr(saved["base"]), _ptr(weight), _ptr(y),
        )  # fmt: skip
        return y

    def band(self, weight: torch.Tensor) -> torch.Tensor:
        """The weight (out, G + k + 1, in) in the penalty kernels' band layout (in, P, out).

        It has P = G + 3k + 1 rows: row c + k is basis c, rows that stand for bases that do not exist
        are 0, and the last row is the base function; an input in interval s then has its k + 1
        bases in rows s .. s + k. The outputs are padded with zeros to a multiple of
        ``_OUTPUT_BLOCK``, the kernels' vector width.
        """
        out_dim, n_basis, k = weight.shape[0], self.n_basis, self.k
        band = weight.new_zeros(self.in_dim, n_basis + 2 * k + 1, _padded(out_dim))
        band[:, k : k + n_basis, :out_dim] = weight[:, :n_basis].permute(2, 1, 0)
        band[:, -1, :out_dim] = weight[:, n_basis].T
        return band

    def l1_sums(
        self, saved: dict[str, torch.Tensor], band: torch.Tensor, n_out: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``Σ_b sign(phi[j, i](x_bi))·feature_c(x_bi)`` for every edge (out, G + k + 1, in).

        With the signs held fixed, ``|phi[j, i]|_1 = Σ_c weight[j, c, i]·(this)/batch``: the
        sparsity penalty's value and (sub)gradient without a (batch, out, in) tensor. ``band``:
        ``band(weight)`` for a weight with ``n_out`` outputs; ``saved`` holds the local pieces
        (``evaluate(local=True)``). Returns (these sums, the layer's output (batch, n_out)): the
        same pass adds up every edge's value per output, so no matmul is needed for y.
        """
        batch, out_dim, k = saved["base"].shape[0], band.shape[2], self.k
        sums = band.new_empty(band.shape)
        y = band.new_zeros(batch, out_dim)
        _cbasis.l1_sums(
            *self.args, batch, self.in_dim, out_dim, _ptr(saved["span"]), _ptr(saved["values"]),
            _ptr(saved["base"]), _ptr(band), _ptr(sums), _ptr(y),
        )  # fmt: skip
        sums = torch.cat([sums[:, k : k + self.n_basis], sums[:, -1:]], dim=1).permute(2, 1, 0)[:n_out]
        return sums, (y if n_out == out_dim else y[:, :n_out].contiguous())

    def l1_input_gradient(
        self, saved: dict[str, torch.Tensor], band: torch.Tensor, grad_l1: torch.Tensor, grad_x: torch.Tensor
    ) -> None:
        """Add the penalty's gradient to ``grad_x`` (batch, in), in place, for ``grad_l1`` =
        d loss / d |phi|_1 (out, in): ``Σ_j sign(phi[j, i](x_bi))·grad_l1[j, i]/batch·phi'[j, i](x_bi)``."""
        batch, out_dim = grad_x.shape[0], band.shape[2]
        per_input = grad_l1.new_zeros(self.in_dim, out_dim)  # (in, padded out)
        torch.div(grad_l1.T, batch, out=per_input[:, : grad_l1.shape[0]])
        _cbasis.l1_input_gradient(
            *self.args, batch, self.in_dim, out_dim, _ptr(saved["span"]), _ptr(saved["values"]),
            _ptr(saved["slopes"]), _ptr(saved["base"]), _ptr(saved["base_slope"]), _ptr(band),
            _ptr(per_input), _ptr(grad_x),
        )  # fmt: skip

    def local_backward(
        self, saved: dict[str, torch.Tensor], weight: torch.Tensor, grad_y: torch.Tensor,
        want_weight: bool, want_x: bool,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:  # fmt: skip
        """(grad_weight (out, G + k + 1, in), grad_x (batch, in)) of ``local_forward``; None if not wanted."""
        grad_y = grad_y.contiguous()
        batch, out_dim = grad_y.shape
        grad_w = weight.new_empty(weight.shape) if want_weight else None
        grad_x = weight.new_empty(batch, self.in_dim) if want_x else None
        _cbasis.local_backward(
            *self.args, batch, self.in_dim, out_dim, _ptr(saved["span"]), _ptr(saved["values"]),
            _ptr(saved.get("slopes")), _ptr(saved["base"]), _ptr(saved.get("base_slope")),
            _ptr(weight), _ptr(grad_y), _ptr(grad_w), _ptr(grad_x),
        )  # fmt: skip
        return grad_w, grad_x


def _kernels_take(*tensors: torch.Tensor) -> bool:
    """The kernels are built and on, and the tensors are CPU float32 or float64 of one dtype."""
    dtype = tensors[0].dtype
    return available() and dtype in (torch.float32, torch.float64) and all(
        t.device.type == "cpu" and t.dtype == dtype for t in tensors
    )


def assemble_weight(coef, scale_sp, scale_base, numeric) -> torch.Tensor | None:
    """The layer's weight (out, G + k + 1, in), basis-major, in one pass (None: not applicable).

    ``weight[j, c, i] = coef[j, i, c]·scale_sp[j, i]·numeric[j, i]`` for the G + k bases and
    ``scale_base[j, i]·numeric[j, i]`` last; coef (out, in, G + k), the others (out, in).
    """
    if not _kernels_take(coef, scale_sp, scale_base, numeric):
        return None
    coef, scale_sp, scale_base, numeric = (t.contiguous() for t in (coef, scale_sp, scale_base, numeric))
    out_dim, in_dim, n_basis = coef.shape
    weight = coef.new_empty(out_dim, n_basis + 1, in_dim)
    _cbasis.assemble_weight(
        int(coef.dtype == torch.float64), out_dim, in_dim, n_basis, _ptr(coef), _ptr(scale_sp),
        _ptr(scale_base), _ptr(numeric), _ptr(weight),
    )  # fmt: skip
    return weight


def parameter_gradients(
    grad_weight: torch.Tensor, coef, scale_sp, numeric, wanted: tuple[bool, bool, bool]
) -> tuple[torch.Tensor | None, ...] | None:
    """(coef, scale_sp, scale_base) gradients from the weight's gradient (out, G + k + 1, in),
    the transpose of ``assemble_weight``; an entry is None where ``wanted`` is False (None
    altogether: not applicable)."""
    if not _kernels_take(grad_weight, coef, scale_sp, numeric):
        return None
    grad_weight, coef, scale_sp, numeric = (t.contiguous() for t in (grad_weight, coef, scale_sp, numeric))
    out_dim, in_dim, n_basis = coef.shape
    grads = (
        coef.new_empty(coef.shape) if wanted[0] else None,
        scale_sp.new_empty(scale_sp.shape) if wanted[1] else None,
        scale_sp.new_empty(scale_sp.shape) if wanted[2] else None,
    )
    _cbasis.parameter_gradients(
        int(coef.dtype == torch.float64), out_dim, in_dim, n_basis, _ptr(grad_weight), _ptr(coef),
        _ptr(scale_sp), _ptr(numeric), *(_ptr(g) for g in grads),
    )  # fmt: skip
    return grads


def _buckets(knots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where to start looking for x's interval on non-uniform knots (I, K): a search in O(1).

    Each input's range [t_0, t_{K-1}] is cut into M = 4(K - 1) equal buckets; bucket m starts
    at the interval of its left edge. The kernel takes x's bucket, starts there and scans to the
    exact interval (so round-off in the bucket arithmetic costs a step, never a wrong answer).
    Returns (scale (I, 2): t_0 and M/(t_{K-1} - t_0), in the knots' dtype; start (I, M) int64).
    """
    t = knots.double()
    n_buckets = 4 * (t.shape[1] - 1)
    width = t[:, -1] - t[:, 0]
    scale = torch.where(width > 0, n_buckets / torch.where(width > 0, width, 1.0), 0.0)
    edges = t[:, :1] + torch.arange(n_buckets, dtype=torch.float64, device=t.device) * (width / n_buckets)[:, None]
    start = (torch.searchsorted(t, edges, right=True) - 1).clamp_(0, t.shape[1] - 2)
    return torch.stack([t[:, 0], scale], dim=1).to(knots.dtype).contiguous(), start.contiguous()


def grid_for(
    x: torch.Tensor, knots: torch.Tensor, k: int, base_fn: str, derived: KnotTables | None = None
) -> Grid | None:
    """The kernels' ``Grid`` for this pass, or None when the torch path must run instead.

    The kernels take CPU float32/float64 inputs whose dtype matches the knots, 2-D x with one
    column per knot row, k <= 15, a known base function and knots that are not being trained.
    """
    if not (
        _kernels_take(x, knots)
        and not knots.requires_grad
        and x.dim() == 2
        and x.shape[1] == knots.shape[0]
        and 0 <= k <= MAX_ORDER
        and knots.shape[1] >= k + 2
        and base_fn in BASE_KINDS
    ):
        return None
    derived = knot_tables.tables(knots) if derived is None else derived
    return derived.get(f"kernel-grid{k}-{base_fn}", lambda t: Grid(t, k, base_fn, derived))
