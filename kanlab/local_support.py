"""Local support: where each input sits on its knots, and the k + 1 bases non-zero there.

On the interval ``[t_s, t_{s+1})`` only ``B_{s-k} .. B_s`` are non-zero, and they are polynomials
of the fraction ``f = (x - t_s)/h_s``. ``local_support`` finds s and f for a batch of inputs (one
division on uniform knots, a binary search otherwise), ``LocalSupport`` evaluates the k + 1
polynomials and scatters them into dense rows, and ``bspline_basis`` is the dense basis built
that way: the same numbers as the reference recursion (``kanlab.recursion.cox_de_boor``), faster.
Derivatives are exact at and next to knots: the clamps that keep f in [0, 1] and the bases
non-negative change values by round-off only and pass derivatives through unchanged.
Introduced in 05_vectorized_kan.
"""

from __future__ import annotations

import functools

import torch

from kanlab.knot_tables import KnotTables, _cardinal_polynomials, tables
from kanlab.recursion import check_knots, cox_de_boor
from kanlab.utils import tracing


def bspline_basis(x: torch.Tensor, knots: torch.Tensor, k: int) -> torch.Tensor:
    """All B-spline bases of order ``k`` at ``x``, using local support (fast, exact).

    x: (..., in_dim); knots: (in_dim, G + 2k + 1) -> (..., in_dim, G + k).

    Each x lies in one knot interval ``[t_s, t_{s+1})`` and only the k + 1 bases
    ``B_{s-k} .. B_s`` are non-zero there; on that interval they are polynomials of the
    fraction ``f = (x - t_s)/(t_{s+1} - t_s)`` (see ``LocalSupport``). We evaluate those k + 1
    polynomials and scatter them into the dense result. Same numbers as ``cox_de_boor`` for any
    sorted knots, uniform or not; differentiable (any order, for PDE Laplacians) in x. Inside
    ``torch.compile`` or a ``torch.func`` transform it is ``cox_de_boor`` itself.
    Introduced in 05_vectorized_kan.
    """
    if tracing():  # torch.compile / torch.func: the reference recursion, ordinary ops only
        return cox_de_boor(x, knots, k)
    check_knots(x, knots, k)
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
            return (_pass_through(local, local.clamp_min(0)) if clamp else local) * self.inside
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


def local_support(xf: torch.Tensor, knots: torch.Tensor, k: int, derived: KnotTables | None = None) -> LocalSupport:
    """Locate every x of xf (N, in_dim) on its knots (in_dim, K); see ``LocalSupport``.

    Uniform knots: the interval and the fraction by one division. Any other sorted knots: the
    interval by binary search, the fraction from the interval's own left knot. ``frac`` is
    differentiable in x, with d(frac)/dx = 1/h_s everywhere inside the knots (also where round-off
    put x an ulp outside its interval and the value was clamped). ``derived``: the knots'
    ``KnotTables`` when the caller has them (else looked up).
    """
    n_knots = knots.shape[1]
    derived = tables(knots) if derived is None else derived
    step = derived.step
    if step is not None:
        inv_h, shift = derived.uniform_position()
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
        frac = (xf - t_span) * inv_h
        if torch.is_grad_enabled() and frac.requires_grad:  # the value clamped, the slope kept
            frac = _pass_through(frac, frac.clamp(0, 1))
        else:
            frac = frac.clamp_(0, 1)
        coefs = _cardinal_polynomials(k, xf.dtype, str(xf.device)).unsqueeze(-1)  # (k+1, k+1, 1, 1)
        return LocalSupport(span, frac, inv_h, inside, coefs, k, n_knots - k - 1)
    else:
        table = derived.interval_table(k)
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


def _pass_through(raw: torch.Tensor, clamped: torch.Tensor) -> torch.Tensor:
    """``clamped``'s values with ``raw``'s derivatives of every order.

    A clamp moves a value by round-off only (an ulp outside [0, 1], ~1e-17 below 0), but its
    derivative there is 0, which would drop the spline's slope at points next to a knot.
    """
    return raw + (clamped - raw).detach()
