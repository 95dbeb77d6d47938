"""B-splines on per-input grids, batched over any leading shape.

Everything a KAN edge needs from spline theory (introduced in 02_bsplines):

* knots: G + 1 grid points on ``grid_range``, extended by ``k`` knots on each side, so each
  input has ``G + 2k + 1`` knots and ``G + k`` basis functions of order (degree) ``k``;
* the Cox–de Boor recursion, evaluated for all bases at once;
* least-squares coefficients from samples (ridge-stabilised, solved in float64);
* grids adapted to sample quantiles and refinement to a finer grid (grid extension).

Conventions: ``knots`` has shape (in_dim, G + 2k + 1) and is sorted along its last axis;
order-0 bases are half-open indicators ``t_m <= x < t_{m+1}`` (the last one closed); outside
``[t_0, t_{G+2k}]`` every basis is 0, so a spline is 0 there (shown in 02_bsplines and 03_learnable_activation).
"""

from __future__ import annotations

import functools
import warnings
import weakref
from collections.abc import Sequence

import torch

GridRange = tuple[float, float] | Sequence[float] | torch.Tensor


def check_grid_and_order(grid: int, k: int) -> None:
    """Raise a ``ValueError`` unless ``grid`` (G) >= 1 and ``k`` >= 0 are integers."""
    if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
        raise ValueError(f"grid (number of intervals G) must be an int >= 1, got {grid!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k (spline order) must be an int >= 0, got {k!r}")


def _range_tensor(grid_range: GridRange, in_dim: int, dtype, device) -> torch.Tensor:
    """Turn ``(lo, hi)`` or an (in_dim, 2) table into an (in_dim, 2) tensor, checking lo < hi."""
    r = torch.as_tensor(grid_range, dtype=dtype, device=device)
    if r.shape == (2,):
        r = r.expand(in_dim, 2)
    if r.shape != (in_dim, 2):
        raise ValueError(
            f"grid_range must be (lo, hi) or have shape ({in_dim}, 2), got shape {tuple(r.shape)}"
        )
    if not torch.isfinite(r).all() or not (r[:, 0] < r[:, 1]).all():
        raise ValueError(f"grid_range must be finite with lo < hi, got {r.tolist()}")
    return r.clone()


def extend_grid(points: torch.Tensor, k: int) -> torch.Tensor:
    """Add ``k`` knots on each side of each row of grid points, continuing the end spacings.

    points: (in_dim, G + 1) sorted grid points -> (in_dim, G + 2k + 1) knots.
    """
    left = points[:, 1] - points[:, 0]
    right = points[:, -1] - points[:, -2]
    steps = torch.arange(1, k + 1, dtype=points.dtype, device=points.device)
    before = points[:, :1] - left[:, None] * steps.flip(0)
    after = points[:, -1:] + right[:, None] * steps
    return torch.cat([before, points, after], dim=1)


def uniform_knots(
    in_dim: int,
    grid: int,
    k: int,
    grid_range: GridRange = (-1.0, 1.0),
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Uniform knots for ``in_dim`` inputs: G intervals on ``grid_range``, extended by k each side.

    Returns (in_dim, G + 2k + 1) with ``knots[i, m] = lo_i + (m - k)·h_i``, ``h_i = (hi_i - lo_i)/G``.
    Introduced in 02_bsplines.
    """
    check_grid_and_order(grid, k)
    dtype = dtype or torch.get_default_dtype()
    r = _range_tensor(grid_range, in_dim, dtype, device)
    frac = torch.linspace(0.0, 1.0, grid + 1, dtype=dtype, device=device)
    points = r[:, :1] + (r[:, 1:] - r[:, :1]) * frac
    return extend_grid(points, k)


def num_intervals(knots: torch.Tensor, k: int) -> int:
    """G, the number of grid intervals of (in_dim, G + 2k + 1) knots."""
    return knots.shape[-1] - 2 * k - 1


def cox_de_boor(x: torch.Tensor, knots: torch.Tensor, k: int) -> torch.Tensor:
    """All B-spline bases of order ``k`` at ``x`` by the Cox–de Boor recursion, level by level.

    x: (..., in_dim); knots: (in_dim, G + 2k + 1) -> (..., in_dim, G + k).

    Order 0 is the indicator of ``[t_m, t_{m+1})``; each higher order blends two neighbours:
    ``B_m^p = (x - t_m)/(t_{m+p} - t_m)·B_m^{p-1} + (t_{m+p+1} - x)/(t_{m+p+1} - t_{m+1})·B_{m+1}^{p-1}``.
    This is the textbook form (it touches all G + 2k intervals at every level); ``bspline_basis``
    computes the same numbers faster using local support. Introduced in 02_bsplines.
    """
    _check_knots(x, knots, k)
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


def _check_knots(x: torch.Tensor, knots: torch.Tensor, k: int) -> None:
    if knots.dim() != 2 or x.dim() == 0 or x.shape[-1] != knots.shape[0]:
        raise ValueError(
            f"x's last dimension ({x.shape[-1] if x.dim() else 'scalar'}) must equal the number "
            f"of knot rows ({knots.shape[0] if knots.dim() == 2 else 'knots must be 2-D'})"
        )
    if knots.shape[1] < k + 2:
        raise ValueError(f"order k={k} needs at least k + 2 = {k + 2} knots per row, got {knots.shape[1]}")


def bspline_basis(x: torch.Tensor, knots: torch.Tensor, k: int) -> torch.Tensor:
    """All B-spline bases of order ``k`` at ``x``, using local support (fast, exact).

    x: (..., in_dim); knots: (in_dim, G + 2k + 1) -> (..., in_dim, G + k).

    Each x lies in one knot interval ``[t_s, t_{s+1})`` and only the k + 1 bases
    ``B_{s-k} .. B_s`` are non-zero there; on that interval they are polynomials of the
    fraction ``f = (x - t_s)/(t_{s+1} - t_s)`` (see ``LocalSupport``). We evaluate those k + 1
    polynomials and scatter them into the dense result. Same numbers as ``cox_de_boor`` for any
    sorted knots, uniform or not; differentiable (twice, for PDE Laplacians) in x.
    Introduced in 05_vectorized_kan.
    """
    _check_knots(x, knots, k)
    lead = x.shape[:-1]
    support = local_support(x.reshape(-1, knots.shape[0]), knots, k)
    dense = support.scatter(support.values())  # (batch, G + k, in)
    return dense.transpose(1, 2).reshape(*lead, knots.shape[0], support.n_basis)


class LocalSupport:
    """Where each input sits on its knots, and the k + 1 bases that are non-zero there.

    For x in ``[t_s, t_{s+1})`` with fraction ``f = (x - t_s)/h_s``, the non-zero bases are
    polynomials ``B_{s-k+r}(x) = Σ_p f^p·coefs[p, r]`` (r = 0..k): the same coefficients for
    every interval of uniform knots (the cardinal B-spline), per interval otherwise (looked up
    for every input). ``values()`` and ``derivatives()`` evaluate them by Horner's rule, laid out
    (k + 1, batch, in) so every elementwise op runs over contiguous memory; ``scatter`` places
    them into dense rows laid out (batch, bases, in) and ``gather`` is its transpose. This is the
    fast path of ``bspline_basis`` and of the fused KAN layer (``kanlab.fused``); outside
    ``[t_0, t_{G+2k}]`` every value is 0.

    Fields (batch N, in_dim I): ``span`` (N, I) long, the interval s; ``frac`` (N, I), f (0
    outside the knots); ``inv_h`` (N, I) or (I,), 1/h_s; ``inside`` (N, I) bool; ``coefs``
    (k + 1 powers, k + 1 bases, N, I), or (k + 1, k + 1, 1, 1) for uniform knots; ``n_basis``,
    G + k.
    """

    def __init__(self, span, frac, inv_h, inside, coefs, k: int, n_basis: int) -> None:
        self.span, self.frac, self.inv_h, self.inside = span, frac, inv_h, inside
        self.coefs, self.k, self.n_basis = coefs, k, n_basis
        self._raw_index: torch.Tensor | None = None
        self._existing: torch.Tensor | None = None

    def _horner(self, derivative: bool = False) -> torch.Tensor:
        """``Σ_p f^p·coefs[p]`` (or its d/df): (k + 1, N, I). In place unless differentiating."""
        f, k, coefs = self.frac, self.k, self.coefs
        shape = (k + 1, *f.shape)
        lowest = 1 if derivative else 0
        grad = torch.is_grad_enabled() and f.requires_grad
        if grad and not derivative and k > 0:
            return self._power_sum()
        out = coefs[k] * k if derivative and k > 1 else coefs[k]
        for p in range(k - 1, lowest - 1, -1):
            weight = p if derivative else 1
            if grad:
                out = out * f + (coefs[p] * weight if weight != 1 else coefs[p])
            else:  # the first product makes a new tensor of the full shape; then in place
                out = out * f if p == k - 1 else out.mul_(f)
                out.add_(coefs[p], alpha=weight)
        return out.expand(shape).clone() if out.shape != shape else out

    def _power_sum(self) -> torch.Tensor:
        """``Σ_p f^p·coefs[p]`` as powers times a table: a shorter autograd graph than Horner's
        rule, which matters when a PDE loss differentiates it three times."""
        f, k = self.frac, self.k
        powers = [torch.ones_like(f), f]
        for _ in range(2, k + 1):
            powers.append(powers[-1] * f)
        powers = torch.stack(powers)  # (k + 1 powers, N, I)
        if self.coefs.shape[-1] == 1 and self.coefs.shape[-2] == 1:  # one table for all intervals
            return torch.einsum("pni,pr->rni", powers, self.coefs[..., 0, 0])
        return (powers.unsqueeze(1) * self.coefs).sum(0)

    def values(self, clamp: bool = True) -> torch.Tensor:
        """``B_{s-k} .. B_s`` at x: (k + 1, N, I), zero outside the knots.

        ``clamp`` lifts the round-off (~1e-17) below 0 at the ends of a basis' support, so the
        bases are exactly non-negative.
        """
        local = self._horner()
        if torch.is_grad_enabled() and local.requires_grad:
            return (local.clamp_min(0) if clamp else local) * self.inside
        return (local.clamp_min_(0) if clamp else local).mul_(self.inside)

    def derivatives(self) -> torch.Tensor:
        """``d/dx B_{s-k} .. B_s`` at x: (k + 1, N, I), zero outside the knots."""
        if self.k == 0:
            return self.frac.new_zeros(1, *self.frac.shape)
        return self._horner(derivative=True) * (self.inv_h * self.inside)

    def columns(self) -> torch.Tensor:
        """(N, k + 1, I): the rows of ``B_{s-k} .. B_s`` in a dense column padded by k on top."""
        return (self.span + _offsets(self.k, self.span.device)).transpose(0, 1)

    def scatter(self, local: torch.Tensor, extra: int = 0, clear: bool = True) -> torch.Tensor:
        """Dense (N, G + k + extra, I) from local values (k + 1, N, I); ``extra`` rows are 0.

        Bases that do not exist (B_m with m < 0 or m >= G + k: partial bases near the ends of
        the knots) land in padding that is cut off, or in the ``extra`` rows unless ``clear``
        (for a caller that overwrites them).
        """
        (n, i), n_basis = self.span.shape, self.n_basis
        padded = local.new_zeros(n, n_basis + 2 * self.k + max(extra, 1), i)
        src = local.transpose(0, 1)
        if torch.is_grad_enabled() and local.requires_grad:
            padded = padded.scatter_add(1, self.columns(), src)
        else:
            padded.scatter_add_(1, self.columns(), src)
        if extra and clear:
            padded[:, self.k + n_basis : self.k + n_basis + extra] = 0
        return padded[:, self.k : self.k + n_basis + extra]

    def gather(self, dense: torch.Tensor) -> torch.Tensor:
        """The transpose of ``scatter``: (N, >= G + k, I) -> the k + 1 local rows (k + 1, N, I).

        Bases that do not exist read row 0 or G + k - 1 here; their values from ``values()``
        and ``derivatives()`` must be zeroed by the caller (``existing()``).
        """
        return torch.gather(dense, 1, self.basis_index().transpose(0, 1)).transpose(0, 1)

    def _index(self) -> torch.Tensor:
        """(k + 1, N, I) long: the index c of ``B_{s-k} .. B_s`` (negative or >= G + k for bases
        that do not exist); computed once."""
        if self._raw_index is None:
            self._raw_index = self.span + (_offsets(self.k, self.span.device) - self.k)
        return self._raw_index

    def basis_index(self) -> torch.Tensor:
        """(k + 1, N, I) long: the index c of ``B_{s-k} .. B_s``, clamped into [0, G + k)."""
        return self._index().clamp(0, self.n_basis - 1)

    def existing(self) -> torch.Tensor:
        """(k + 1, N, I) bool: which of ``B_{s-k} .. B_s`` exist (index in [0, G + k)); computed once."""
        if self._existing is None:
            index = self._index()
            self._existing = (index >= 0) & (index < self.n_basis)
        return self._existing


@functools.lru_cache(maxsize=32)
def _offsets(k: int, device: torch.device) -> torch.Tensor:
    """(k + 1, 1, 1) long tensor 0..k: a column index per local basis."""
    return torch.arange(k + 1, device=device).view(-1, 1, 1)


@functools.lru_cache(maxsize=64)
def _row_starts(in_dim: int, n_intervals: int, device: torch.device) -> torch.Tensor:
    """(in_dim,) long: the first row of each input's intervals in the per-interval tables."""
    return torch.arange(in_dim, device=device) * n_intervals


def local_support(xf: torch.Tensor, knots: torch.Tensor, k: int) -> LocalSupport:
    """Locate every x of xf (N, in_dim) on its knots (in_dim, K); see ``LocalSupport``.

    Uniform knots: the interval and the fraction by one division. Any other sorted knots: the
    interval by binary search, the fraction from the interval's own left knot. ``frac`` is
    differentiable in x.
    """
    n_knots = knots.shape[1]
    step = _uniform_step(knots)
    if step is not None:
        inv_h, shift = uniform_position(knots)
        u = torch.addcmul(shift, xf.detach(), inv_h)  # (x - t_0)/h: position on the knots
        # Inside the knots by comparing x with the end knots: u's round-off must not move x = t_0
        # or t_{K-1} (where the closed last order-0 basis is 1) in or out.
        inside = (xf >= knots[:, 0]) & (xf <= knots[:, -1])
        span = u.clamp_(0, n_knots - 2).long()  # s (u >= 0 after the clamp: truncation is floor)
        if k == 0:  # order 0 jumps at knots: fix spans that round-off put one interval off
            span = _fix_span_at_knots(xf, knots, span)
        # The fraction from the interval's own left knot, not u - s: float32 keeps it to a few
        # ulps instead of ulp(G), and it matches the knots exactly (grid extension relies on it).
        t_span = torch.gather(knots.expand(xf.shape[0], -1, -1), 2, span.unsqueeze(-1)).squeeze(-1)
        frac = ((xf - t_span) * inv_h).clamp_(0, 1)
        coefs = _cardinal_polynomials(k, xf.dtype, str(xf.device)).unsqueeze(-1)  # (k+1, k+1, 1, 1)
        return LocalSupport(span, frac, inv_h, inside, coefs, k, n_knots - k - 1)
    else:
        table = interval_table(knots, k)
        span = torch.searchsorted(knots, xf.detach().T.contiguous(), right=True).T - 1
        inside = (span >= 0) & (xf <= knots[:, -1])
        span = span.clamp_(0, n_knots - 2)
        rows = (span + _row_starts(xf.shape[1], n_knots - 1, xf.device)).reshape(-1)
        looked_up = table.index_select(0, rows)  # (N·I, 2 + (k + 1)²): t_s, 1/h_s, polynomials
        t_span, inv_h = looked_up[:, 0].view(span.shape), looked_up[:, 1].view(span.shape)
        coefs = looked_up[:, 2:].T.contiguous().view(k + 1, k + 1, *span.shape)
    frac = torch.where(inside, (xf - t_span) * inv_h, 0.0)  # far outside: 0, so no inf powers
    return LocalSupport(span, frac, inv_h, inside, coefs, k, n_knots - k - 1)


def _fix_span_at_knots(xf: torch.Tensor, knots: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
    """Move spans that division round-off put one interval too low or too high (order 0 only)."""
    n_knots = knots.shape[1]
    expanded = knots.expand(xf.shape[0], -1, -1)
    nxt = torch.gather(expanded, 2, (span + 1).clamp(max=n_knots - 1).unsqueeze(-1)).squeeze(-1)
    span = span + ((xf >= nxt) & (span < n_knots - 2)).long()
    cur = torch.gather(expanded, 2, span.unsqueeze(-1)).squeeze(-1)
    return span - ((xf < cur) & (span > 0)).long()


# id(knots) -> (weak reference, knots._version, {name: derived value}); entries vanish with
# the tensor, and an in-place change of the knots (a new _version) invalidates them.
_KNOT_CACHE: dict[int, tuple[weakref.ref, int, dict]] = {}


def _cached(knots: torch.Tensor, name: str, compute):
    """``compute(knots)``, remembered per knots tensor so a layer pays for it once per grid."""
    if knots.requires_grad:
        return compute(knots)
    key = id(knots)
    entry = _KNOT_CACHE.get(key)
    if entry is None or entry[0]() is not knots or entry[1] != knots._version:
        ref = weakref.ref(knots, lambda _, key=key: _KNOT_CACHE.pop(key, None))
        entry = (ref, knots._version, {})
        _KNOT_CACHE[key] = entry
    if name not in entry[2]:
        entry[2][name] = compute(knots)
    return entry[2][name]


def uniform_position(knots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For uniform knots, (1/h, -t_0/h) per input (in_dim,) each, so ``(x - t_0)/h = shift + x/h``;
    cached per knots tensor. Used by ``local_support`` and the C kernels (``kanlab.kernels``)."""
    step = _uniform_step(knots)
    return _cached(knots, "inv_step", lambda t: (1.0 / step[:, 0], -t[:, 0] / step[:, 0]))


def interval_table(knots: torch.Tensor, k: int) -> torch.Tensor:
    """``_interval_polynomials(knots, k)``, cached per knots tensor (built once per grid)."""
    return _cached(knots, f"poly{k}", lambda t: _interval_polynomials(t, k))


def _uniform_step(knots: torch.Tensor) -> torch.Tensor | None:
    """Each row's knot spacing (in_dim, 1) when every row is uniform, else None (cached)."""
    return _cached(knots, "step", _compute_uniform_step)


def _compute_uniform_step(knots: torch.Tensor) -> torch.Tensor | None:
    if knots.shape[1] < 2:
        return None
    gaps = knots.diff(dim=1)
    step = gaps.mean(dim=1, keepdim=True)
    # Uniform up to round-off of the knots' magnitude, and that round-off tiny next to the step
    # (else the general path, which is exact for any knots, is used).
    tol = 64 * torch.finfo(knots.dtype).eps * knots.abs().amax(dim=1, keepdim=True)
    if bool(((gaps - step).abs() <= tol).all()) and bool((step > 1000 * tol).all()):
        return step
    return None


@functools.lru_cache(maxsize=32)
def _cardinal_polynomials(k: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    """(k + 1, k + 1, 1) table with ``B_{s-k+r}(t_s + f·h) = Σ_p f^p·table[p, r, 0]``, uniform knots.

    Computed once per (k, dtype, device) from the Cox–de Boor recursion in float64.
    """
    if k == 0:  # the indicator of the interval
        return torch.ones(1, 1, 1, dtype=dtype, device=device)  # (powers, bases, 1)
    knots = torch.arange(2 * k + 2, dtype=torch.float64)[None, :]
    f = (torch.arange(k + 1, dtype=torch.float64) + 0.5) / (k + 1)
    values = cox_de_boor((k + f)[:, None], knots, k)[:, 0, :]  # (k + 1 points, k + 1 bases)
    vander = torch.linalg.vander(f, N=k + 1)  # (points, powers)
    table = torch.linalg.solve(vander, values)  # (powers, bases)
    return table.unsqueeze(-1).to(dtype=dtype, device=device)


def _interval_polynomials(knots: torch.Tensor, k: int) -> torch.Tensor:
    """Per knot interval, the k + 1 non-zero bases as polynomials of the local fraction f.

    knots: (in_dim, K) -> table (in_dim·(K - 1), 2 + (k + 1)²): row ``i·(K - 1) + s`` holds
    ``t_s``, ``1/h_s`` and then ``P[p, r]`` (p-major) with ``B_{s-k+r}(t_s + f·h_s) = Σ_p f^p·P[p, r]``.
    Built once per grid by running the Cox–de Boor triangle on polynomial coefficients in
    float64 (no fitting, so no conditioning loss); zero-length intervals get 1/h = 0.
    """
    in_dim, n_knots = knots.shape
    t = extend_grid(knots.double(), k) if k > 0 else knots.double()  # pad so s - k + 1 >= 0
    s = torch.arange(n_knots - 1, device=knots.device) + k  # each interval's index in t
    h = t[:, s + 1] - t[:, s]  # (in, K - 1)

    def linear(c0: torch.Tensor, c1: torch.Tensor) -> torch.Tensor:
        poly = torch.zeros(*c0.shape, k + 1, dtype=torch.float64, device=knots.device)
        poly[..., 0] = c0
        if k > 0:
            poly[..., 1] = c1
        return poly

    def times_linear(lin: torch.Tensor, poly: torch.Tensor) -> torch.Tensor:
        shifted = torch.cat([torch.zeros_like(poly[..., :1]), poly[..., :-1]], dim=-1)
        return lin[..., :1] * poly + lin[..., 1:2] * shifted

    left = [None] + [linear(t[:, s] - t[:, s + 1 - m], h) for m in range(1, k + 1)]  # x - t_{s+1-m}
    right = [None] + [linear(t[:, s + m] - t[:, s], -h) for m in range(1, k + 1)]  # t_{s+m} - x
    values = [linear(torch.ones_like(h), torch.zeros_like(h))]
    for j in range(1, k + 1):
        saved = torch.zeros_like(values[0])
        new_values = []
        for r in range(j):
            den = (t[:, s + r + 1] - t[:, s + 1 - j + r]).unsqueeze(-1)  # right[r+1] + left[j-r]
            temp = torch.where(den > 0, values[r] / torch.where(den > 0, den, 1.0), 0.0)
            new_values.append(saved + times_linear(right[r + 1], temp))
            saved = times_linear(left[j - r], temp)
        new_values.append(saved)
        values = new_values
    table = torch.stack(values, dim=-1).reshape(-1, (k + 1) ** 2)  # (in·(K - 1), powers·bases)
    inv_h = torch.where(h > 0, 1.0 / torch.where(h > 0, h, 1.0), 0.0).reshape(-1, 1)
    return torch.cat([t[:, s].reshape(-1, 1), inv_h, table], dim=1).to(knots.dtype)


def spline_eval(x: torch.Tensor, knots: torch.Tensor, coef: torch.Tensor, k: int) -> torch.Tensor:
    """Evaluate splines ``Σ_c coef[..., i, c]·B_c(x_i)`` for every input i.

    x: (batch, in_dim); knots: (in_dim, G + 2k + 1); coef: (out_dim, in_dim, G + k)
    -> (batch, out_dim, in_dim), one curve per (out, in) pair. Introduced in 02_bsplines.
    """
    basis = bspline_basis(x, knots, k)  # (batch, in_dim, G + k)
    return torch.einsum("bic,oic->boi", basis, coef)


def curve_to_coef(
    x: torch.Tensor,
    y: torch.Tensor,
    knots: torch.Tensor,
    k: int,
    ridge: float = 0.0,
) -> torch.Tensor:
    """Least-squares spline coefficients so that ``Σ_c coef[j, i, c]·B_c(x_i) ≈ y[:, j, i]``.

    x: (batch, in_dim); y: (batch, out_dim, in_dim); knots: (in_dim, G + 2k + 1)
    -> coef (out_dim, in_dim, G + k), in x's dtype.

    Solved in float64 by an SVD-based least-squares solver, so rank-deficient designs (few,
    duplicated or constant samples) give the minimum-norm solution instead of failing; a
    ``RuntimeWarning`` says when that happened. ``ridge > 0`` adds Tikhonov damping
    ``ridge·mean(diag BᵀB)·|coef|²``. Introduced in 02_bsplines (least-squares fitting).
    """
    if x.dim() != 2 or y.dim() != 3 or y.shape[0] != x.shape[0] or y.shape[2] != x.shape[1]:
        raise ValueError(
            f"curve_to_coef needs x (batch, in_dim) and y (batch, out_dim, in_dim); "
            f"got x {tuple(x.shape)} and y {tuple(y.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError("curve_to_coef needs at least one sample, got an empty batch")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("curve_to_coef: x and y must be finite (found NaN or inf)")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge!r}")
    design = bspline_basis(x.double(), knots.double(), k).permute(1, 0, 2)  # (in, batch, n)
    target = y.double().permute(2, 0, 1)  # (in, batch, out)
    n = design.shape[-1]
    if ridge > 0:
        scale = (design**2).sum(1).mean(-1).clamp_min(1e-300)  # (in,)
        damping = (ridge * scale).sqrt()[:, None, None] * torch.eye(n, dtype=design.dtype)
        design = torch.cat([design, damping], dim=1)
        target = torch.cat([target, target.new_zeros(target.shape[0], n, target.shape[2])], dim=1)
    solution = torch.linalg.lstsq(design.cpu(), target.cpu(), driver="gelsd")
    rank = solution.rank
    if ridge == 0 and rank is not None and (rank < n).any():
        warnings.warn(
            f"curve_to_coef: {int((rank < n).sum())} input(s) have too few distinct samples for "
            f"the {n} basis functions; using the minimum-norm least-squares solution",
            RuntimeWarning,
            stacklevel=2,
        )
    coef = solution.solution.to(x.device)  # (in, n, out)
    return coef.permute(2, 0, 1).to(x.dtype).contiguous()


def adaptive_knots(
    x: torch.Tensor,
    grid: int,
    k: int,
    grid_eps: float = 0.02,
    margin: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """Knots that follow the data: grid points at sample quantiles, blended with a uniform grid.

    x: (batch, in_dim) -> (in_dim, G + 2k + 1). ``grid_eps = 1`` gives the uniform grid on the
    samples' range, ``grid_eps = 0`` pure quantiles. ``margin`` (a number, or one per input) puts
    the grid's two ends that far beyond the extreme samples. Constant inputs get a unit-width range
    around their value so knots stay strictly increasing. Introduced in 03_learnable_activation.
    """
    check_grid_and_order(grid, k)
    if not 0.0 <= grid_eps <= 1.0:
        raise ValueError(f"grid_eps must lie in [0, 1], got {grid_eps!r}")
    if x.dim() != 2 or x.shape[0] == 0:
        raise ValueError(f"adaptive_knots needs x of shape (batch >= 1, in_dim), got {tuple(x.shape)}")
    xs = torch.sort(x.detach(), dim=0).values  # (batch, in_dim)
    idx = torch.linspace(0, xs.shape[0] - 1, grid + 1, device=x.device).round().long()
    quantile = xs[idx].T  # (in_dim, G + 1)
    lo, hi = xs[0] - margin, xs[-1] + margin
    quantile[:, 0], quantile[:, -1] = lo, hi  # both grids end ``margin`` beyond the samples
    width = hi - lo
    tiny = width <= 1e-6 * hi.abs().clamp_min(1.0)
    lo = torch.where(tiny, lo - 0.5, lo)
    hi = torch.where(tiny, hi + 0.5, hi)
    frac = torch.linspace(0.0, 1.0, grid + 1, dtype=x.dtype, device=x.device)
    uniform = lo[:, None] + (hi - lo)[:, None] * frac
    points = grid_eps * uniform + (1.0 - grid_eps) * quantile
    points = torch.where(tiny[:, None], uniform, points)
    # Keep points strictly increasing even when quantiles repeat (duplicated samples).
    min_gap = 1e-4 * (hi - lo)[:, None] / grid
    points = torch.cummax(points, dim=1).values
    points = points + min_gap * torch.arange(grid + 1, dtype=x.dtype, device=x.device)
    return extend_grid(points, k)


def grid_samples(knots: torch.Tensor, k: int, n: int) -> torch.Tensor:
    """n points per input spread along its grid (piecewise-linearly between grid points).

    knots: (in_dim, G + 2k + 1) -> (n, in_dim); the first and last are the grid's ends. On a
    uniform grid these are evenly spaced; on an adapted grid they follow its density.
    """
    points = knots[:, k : knots.shape[1] - k]  # (in_dim, G + 1) grid points
    m = points.shape[1]
    pos = torch.linspace(0, m - 1, n, dtype=points.dtype, device=points.device)
    lo = pos.floor().long().clamp(max=m - 2)
    frac = pos - lo
    return (points[:, lo] * (1 - frac) + points[:, lo + 1] * frac).T


def refine_knots(knots: torch.Tensor, k: int, new_grid: int) -> torch.Tensor:
    """Knots with ``new_grid`` intervals on the same grid range, placed along the old grid.

    knots: (in_dim, G + 2k + 1) -> (in_dim, new_grid + 2k + 1). Uniform knots stay uniform; on
    any grid, G -> m·G inserts points between the old ones, so the spline spaces are nested and
    refinement reproduces a spline exactly. Introduced in 02_bsplines.
    """
    check_grid_and_order(new_grid, k)
    return extend_grid(grid_samples(knots, k, new_grid + 1).T, k)
