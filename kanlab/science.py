"""Hypothesis tests for science with KANs (KAN 2.0, Sec. 4.2): separability and symmetry.

Each test works on a trained model or on any twice-differentiable torch callable
``f: (batch, n) -> (batch,) or (batch, 1)``, evaluated at sample points x (batch, n), and reads
the answer from first and second derivatives (torch autograd):

- **additive separability** f = g(x_A) + h(x_B): every mixed derivative ``∂²f/∂x_i∂x_j`` with
  i ∈ A, j ∈ B vanishes. The finest split is the connected components of the graph whose edges
  are the pairs with a non-negligible mixed derivative;
- **multiplicative separability** f = g(x_A)·h(x_B): the same test on log|f| (points where f is
  near 0 are left out);
- **generalised symmetry** f = g(h(x_A), x_B): the direction of ∇_A f does not depend on x_B,
  i.e. ``f_i·f_jk - f_j·f_ik = 0`` for i, j ∈ A and k ∈ B; with a given h (e.g. x_1 - x_2),
  the test checks that ∇_A f is parallel to ∇_A h everywhere.

Scores are relative (dimensionless, 0 for an exact property); a test passes when the score is
below ``tol``. Introduced in 10_discovering_laws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SeparabilityTest:
    """``interaction[i, j]``: relative size of the mixed derivative (0 = no interaction);
    ``groups``: the finest split into separable groups of inputs; ``kind``: additive/multiplicative."""

    kind: str
    interaction: torch.Tensor
    groups: list[list[int]]
    tol: float

    def separable(self, group: Sequence[int]) -> bool:
        """True when ``group`` (input indices) separates from the other inputs."""
        group = set(group)
        rest = [j for j in range(self.interaction.shape[0]) if j not in group]
        return all(float(self.interaction[i, j]) < self.tol for i in group for j in rest)

    def __repr__(self) -> str:
        return f"SeparabilityTest(kind={self.kind!r}, groups={self.groups}, tol={self.tol})"


def _scalar_fn(f: Fn) -> Fn:
    def g(x: torch.Tensor) -> torch.Tensor:
        y = f(x)
        if y.dim() == 2:
            if y.shape[1] != 1:
                raise ValueError(f"f must have one output, got shape {tuple(y.shape)}")
            y = y[:, 0]
        return y

    return g


def derivatives(f: Fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(f (batch,), gradient (batch, n), Hessian (batch, n, n)) of a scalar f at x, by autograd."""
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError(f"x must be a (batch, n) tensor of sample points, got {getattr(x, 'shape', x)}")
    x = x.detach().clone().requires_grad_(True)
    y = _scalar_fn(f)(x)
    (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    rows = []
    for i in range(x.shape[1]):
        h = None
        if grad.requires_grad:  # else f is linear: its Hessian is 0
            (h,) = torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros_like(x) if h is None else h)
    return y.detach(), grad.detach(), torch.stack(rows, dim=1).detach()


def _groups(interaction: torch.Tensor, tol: float) -> list[list[int]]:
    n = interaction.shape[0]
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            a = parent[a]
        return a

    for i in range(n):
        for j in range(i + 1, n):
            if float(interaction[i, j]) >= tol:
                parent[find(i)] = find(j)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    return sorted(comps.values())


def _interaction(hess: torch.Tensor) -> torch.Tensor:
    """rms_b |H_ij| / sqrt(rms_b|H_ii|·rms_b|H_jj| + mean rms²): relative mixed curvature (n, n)."""
    rms = hess.pow(2).mean(0).sqrt()  # (n, n)
    diag = torch.diagonal(rms)
    scale = torch.sqrt(diag[:, None] * diag[None, :]) + rms.mean() + 1e-30
    out = rms / scale
    out.fill_diagonal_(0.0)
    return out


def additive_separability(f: Fn, x: torch.Tensor, tol: float = 1e-2) -> SeparabilityTest:
    """Is f(x) = g(x_A) + h(x_B)? Mixed second derivatives at x; see the module docstring."""
    _, _, hess = derivatives(f, x)
    inter = _interaction(hess)
    return SeparabilityTest("additive", inter, _groups(inter, tol), tol)


def multiplicative_separability(f: Fn, x: torch.Tensor, tol: float = 1e-2) -> SeparabilityTest:
    """Is f(x) = g(x_A)·h(x_B)? The additive test on log|f| at the points where |f| is not tiny."""
    y = _scalar_fn(f)(x).detach()
    keep = y.abs() > 1e-3 * float(y.abs().max())
    if int(keep.sum()) < 2:
        raise ValueError("f is (nearly) zero at almost every sample point; multiplicative separability is undefined")
    test = additive_separability(lambda z: torch.log(_scalar_fn(f)(z).abs()), x[keep], tol)
    return dataclasses.replace(test, kind="multiplicative")


@dataclass(frozen=True)
class SymmetryTest:
    """``score``: relative violation (0 = exact symmetry); ``holds``: score < tol."""

    group: list[int]
    score: float
    tol: float

    @property
    def holds(self) -> bool:
        return self.score < self.tol

    def __repr__(self) -> str:
        return f"SymmetryTest(group={self.group}, score={self.score:.2e}, holds={self.holds})"


def symmetry(f: Fn, x: torch.Tensor, group: Sequence[int], h: Fn | None = None, tol: float = 1e-2) -> SymmetryTest:
    """Does f depend on the inputs ``group`` only through one combination h(x_group)?

    Without ``h``: the generalised-symmetry test f = g(h(x_A), x_B) for some unknown h (needs a
    rest B; ``f_i f_jk - f_j f_ik = 0``). With ``h`` (a callable on the full x, e.g.
    ``lambda x: x[:, 0] - x[:, 1]``): ``∇_A f ∥ ∇_A h``, i.e. ``f_i h_j - f_j h_i = 0``.
    """
    n = x.shape[1]
    group = sorted(set(group))
    if len(group) < 2 or any(not 0 <= i < n for i in group):
        raise ValueError(f"group must name at least two distinct inputs in [0, {n}), got {group}")
    _, grad, hess = derivatives(f, x)
    pairs = [(i, j) for a, i in enumerate(group) for j in group[a + 1:]]
    if h is not None:
        _, hg, _ = derivatives(h, x)
        viol = torch.stack([grad[:, i] * hg[:, j] - grad[:, j] * hg[:, i] for i, j in pairs], 1)
        norm = grad[:, group].norm(dim=1, keepdim=True) * hg[:, group].norm(dim=1, keepdim=True)
    else:
        rest = [k for k in range(n) if k not in group]
        if not rest:
            raise ValueError("without h the test needs inputs outside group (the x_B that must not matter)")
        viol = torch.stack([grad[:, i] * hess[:, j, k] - grad[:, j] * hess[:, i, k]
                            for i, j in pairs for k in rest], 1)
        norm = grad.norm(dim=1, keepdim=True) * hess.flatten(1).norm(dim=1, keepdim=True)
    score = float(viol.pow(2).mean().sqrt() / (norm.pow(2).mean().sqrt() + 1e-30))
    return SymmetryTest(group, score, tol)
