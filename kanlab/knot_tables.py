"""What a layer derives from its knots once per grid: spacing, polynomial tables, caches.

Locating x on uniform knots needs each row's spacing (``uniform_position``); on any other knots
the per-interval polynomial tables (``interval_table``); the fused layer and the C kernels keep
more per grid (the data's basis, the kernels' grid). All of it lives in one ``KnotTables`` per
knots tensor. ``tables(knots)`` checks that the knots still hold the values the tables were
built from (one comparison of a small tensor), so an edit of the knots in any way — assignment,
an in-place op, through ``.data`` or a NumPy view — rebuilds them instead of returning stale
tables. Introduced in 05_vectorized_kan.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

import torch

from kanlab.knots import extend_grid
from kanlab.recursion import cox_de_boor


class KnotTables:
    """The values derived from one knots tensor (in_dim, K), computed on first use by name.

    ``knots``: the tensor they were built from; ``snapshot``: a copy of its values then (what
    ``tables`` compares against). ``get(name, compute)`` returns ``compute(knots)``, remembered.
    """

    def __init__(self, knots: torch.Tensor, remember: bool = True) -> None:
        self.knots = knots
        self.snapshot = knots.detach().clone() if remember else None
        self.values: dict[str, Any] = {}
        self.remember = remember

    def __repr__(self) -> str:
        return f"KnotTables(shape={tuple(self.knots.shape)}, built={sorted(self.values)})"

    def matches(self, knots: torch.Tensor) -> bool:
        """True while ``knots`` holds exactly the values these tables were built from."""
        snap = self.snapshot  # torch.equal compares shapes, not dtypes; devices must match first
        return (
            snap is not None and snap.dtype == knots.dtype and snap.device == knots.device
            and torch.equal(snap, knots)
        )  # fmt: skip

    def get(self, name: str, compute: Callable[[torch.Tensor], Any]) -> Any:
        if not self.remember:
            return compute(self.knots)
        if name not in self.values:
            self.values[name] = compute(self.knots)
        return self.values[name]

    @property
    def step(self) -> torch.Tensor | None:
        """Each row's knot spacing (in_dim, 1) when every row is uniform, else None."""
        return self.get("step", _compute_uniform_step)

    def uniform_position(self) -> tuple[torch.Tensor, torch.Tensor]:
        """For uniform knots, (1/h, -t_0/h) per input (in_dim,) each: ``(x - t_0)/h = shift + x/h``."""
        step = self.step
        return self.get("inv_step", lambda t: (1.0 / step[:, 0], -t[:, 0] / step[:, 0]))

    def interval_table(self, k: int) -> torch.Tensor:
        """``_interval_polynomials(knots, k)``: the per-interval polynomials of any sorted knots."""
        return self.get(f"poly{k}", lambda t: _interval_polynomials(t, k))


# id(knots) -> (weak reference, its tables); an entry vanishes with its tensor.
_KNOT_CACHE: dict[int, tuple[weakref.ref, KnotTables]] = {}


def tables(knots: torch.Tensor) -> KnotTables:
    """The ``KnotTables`` of ``knots``, rebuilt when the knots changed since they were built.

    Knots that require grad (being trained) get fresh tables every call, never stored.
    """
    if knots.requires_grad:
        return KnotTables(knots, remember=False)
    key = id(knots)
    entry = _KNOT_CACHE.get(key)
    if entry is not None and entry[0]() is knots and entry[1].matches(knots):
        return entry[1]
    table = KnotTables(knots)
    _KNOT_CACHE[key] = (weakref.ref(knots, functools.partial(_forget, key, _KNOT_CACHE)), table)
    return table


def _forget(key: int, cache: dict, ref: weakref.ref) -> None:
    """Drop the entry of a knots tensor that died (unless its id already holds a newer one)."""
    entry = cache.get(key)
    if entry is not None and entry[0] is ref:
        del cache[key]


def _cached(knots: torch.Tensor, name: str, compute: Callable[[torch.Tensor], Any]) -> Any:
    """``compute(knots)``, remembered per knots tensor (``tables(knots).get``)."""
    return tables(knots).get(name, compute)


def uniform_position(knots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For uniform knots, (1/h, -t_0/h) per input (in_dim,) each, so ``(x - t_0)/h = shift + x/h``.
    Used by ``local_support`` and the C kernels (``kanlab.kernels``)."""
    return tables(knots).uniform_position()


def interval_table(knots: torch.Tensor, k: int) -> torch.Tensor:
    """``_interval_polynomials(knots, k)``, built once per grid."""
    return tables(knots).interval_table(k)


def _uniform_step(knots: torch.Tensor) -> torch.Tensor | None:
    """Each row's knot spacing (in_dim, 1) when every row is uniform, else None (built once per grid)."""
    return tables(knots).step


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
    knots = torch.arange(2 * k + 2, dtype=torch.float64, device="cpu")[None, :]
    f = (torch.arange(k + 1, dtype=torch.float64, device="cpu") + 0.5) / (k + 1)
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
