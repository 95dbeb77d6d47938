"""Physics-informed solving of Poisson's equation on a square: problems, collocation, loss, errors.

We solve ``u_xx + u_yy = f`` on ``[lo, hi]²`` with Dirichlet data ``u = g`` on the boundary by
training a network ``u_hat(x, y)`` to make the PDE residual and the boundary mismatch small at
a set of collocation points (a physics-informed neural network, PINN). The Laplacian comes from
autograd, batched over all points at once. Training (LBFGS with grid extension) lives in
``kanlab.pde_train``. Introduced in 08_solving_pdes.

Point functions used throughout map ``x`` of shape (n, 2) to a tensor of shape (n,).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

PointFunction = Callable[[Tensor], Tensor]

__all__ = [
    "PoissonProblem",
    "POISSON_PROBLEMS",
    "PINNLoss",
    "sin_sin_problem",
    "sin_sin_y2_problem",
    "poisson_problem",
    "collocation_points",
    "mesh_points",
    "evaluate_points",
    "gradient",
    "laplacian",
    "pinn_loss",
    "error_norms",
    "finite_difference_poisson",
]


def evaluate_points(fn: Callable[[Tensor], Tensor], x: Tensor, name: str = "function") -> Tensor:
    """Call a model or point function on ``x`` (n, 2) and return its values as shape (n,).

    Accepts outputs of shape (n,) or (n, 1) (a network with one output); anything else is a
    definition error, reported with ``name`` so the message says which function is wrong.
    """
    out = fn(x)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name} must return a torch.Tensor, got {type(out).__name__}")
    n = x.shape[0]
    if out.shape == (n, 1):
        return out[:, 0]
    if out.shape != (n,):
        raise ValueError(
            f"{name} must map x of shape ({n}, 2) to shape ({n},) or ({n}, 1); "
            f"got shape {tuple(out.shape)}"
        )
    return out


@dataclass(frozen=True)
class PoissonProblem:
    """Poisson's equation ``u_xx + u_yy = source`` on ``[lo, hi]²`` with ``u = boundary`` on the edge.

    Args:
        name: short label used in tables and plots.
        source: f, (n, 2) -> (n,).
        boundary: Dirichlet data g, (n, 2) -> (n,); only called on boundary points.
        exact: the exact solution u*, (n, 2) -> (n,), written with torch ops so autograd can
            differentiate it (for the H1 error); ``None`` when unknown.
        domain: ``(lo, hi)``, the square's side.

    The functions are probed once at construction, so a wrong output shape fails here, not
    in the middle of training. Introduced in 08_solving_pdes.
    """

    name: str
    source: PointFunction
    boundary: PointFunction
    exact: PointFunction | None = None
    domain: tuple[float, float] = (-1.0, 1.0)

    def __post_init__(self) -> None:
        lo, hi = _check_domain(self.domain)
        probe = torch.tensor([[lo, lo], [0.5 * (lo + hi), hi], [hi, 0.25 * lo + 0.75 * hi]], dtype=torch.float64, device="cpu")
        for field in ("source", "boundary", "exact"):
            fn = getattr(self, field)
            if fn is None and field == "exact":
                continue
            if not callable(fn):
                raise TypeError(f"PoissonProblem.{field} must be callable (n, 2) -> (n,), got {fn!r}")
            evaluate_points(fn, probe, name=f"PoissonProblem.{field}")

    def __repr__(self) -> str:
        exact = "known" if self.exact is not None else "unknown"
        return f"PoissonProblem(name={self.name!r}, domain={self.domain}, exact={exact})"


def _check_domain(domain: tuple[float, float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in domain)
    except (TypeError, ValueError):
        raise ValueError(f"domain must be a pair (lo, hi) of numbers, got {domain!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"domain must satisfy lo < hi (finite), got {domain!r}")
    return lo, hi


def sin_sin_problem() -> PoissonProblem:
    """u* = sin(πx)·sin(πy) on [-1, 1]², so f = -2π²·u* and g = 0.

    This is pykan's PDE tutorial problem, not the KAN paper's: the paper's §3.4 solves
    :func:`sin_sin_y2_problem`. Compare with the paper's numbers only on that one.
    """
    pi = math.pi

    def exact(x: Tensor) -> Tensor:
        return torch.sin(pi * x[:, 0]) * torch.sin(pi * x[:, 1])

    def source(x: Tensor) -> Tensor:
        return -2.0 * pi**2 * exact(x)

    return PoissonProblem("sin_sin", source=source, boundary=exact, exact=exact)


def sin_sin_y2_problem() -> PoissonProblem:
    """u* = sin(πx)·sin(πy²) on [-1, 1]², the KAN paper's Poisson problem (Liu et al. 2024, §3.4).

    Sharper in y near the top and bottom edges.

    f = sin(πx)·(2π·cos(πy²) - (π² + 4π²y²)·sin(πy²)); g = u* (which is 0 on the whole boundary, since sin(π) = 0).
    """
    pi = math.pi

    def exact(x: Tensor) -> Tensor:
        return torch.sin(pi * x[:, 0]) * torch.sin(pi * x[:, 1] ** 2)

    def source(x: Tensor) -> Tensor:
        y2 = x[:, 1] ** 2
        inner = 2.0 * pi * torch.cos(pi * y2) - (pi**2 + 4.0 * pi**2 * y2) * torch.sin(pi * y2)
        return torch.sin(pi * x[:, 0]) * inner

    return PoissonProblem("sin_sin_y2", source=source, boundary=exact, exact=exact)


POISSON_PROBLEMS: dict[str, Callable[[], PoissonProblem]] = {
    "sin_sin": sin_sin_problem,
    "sin_sin_y2": sin_sin_y2_problem,
}


def poisson_problem(name: str) -> PoissonProblem:
    """Return a shipped manufactured problem by name (see ``POISSON_PROBLEMS``)."""
    if name not in POISSON_PROBLEMS:
        raise ValueError(f"name must be one of {sorted(POISSON_PROBLEMS)}, got {name!r}")
    return POISSON_PROBLEMS[name]()


def _check_n_side(n_side: int, argname: str = "n_side") -> None:
    if not isinstance(n_side, int) or isinstance(n_side, bool) or n_side < 1:
        raise ValueError(f"{argname} must be a positive int (zero collocation points is not allowed), got {n_side!r}")


def mesh_points(
    n_side: int,
    domain: tuple[float, float] = (-1.0, 1.0),
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Tensor:
    """Uniform mesh over the closed square, edges included: (n_side², 2).

    Row-major with y slow and x fast, so ``values.reshape(n_side, n_side)`` is an image with
    rows = y and columns = x (``imshow(..., origin="lower")``). Used as the test mesh.
    """
    _check_n_side(n_side)
    lo, hi = _check_domain(domain)
    t = torch.linspace(lo, hi, n_side, dtype=dtype, device=device)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def collocation_points(
    n_side: int = 21,
    domain: tuple[float, float] = (-1.0, 1.0),
    sampling: str = "mesh",
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    """Interior and boundary collocation points for the PINN loss.

    Returns ``(x_interior, x_boundary)``: x_interior (n_side², 2) strictly inside the square,
    x_boundary (4·(n_side + 1), 2) on the four edges (each corner once). ``sampling="mesh"``
    puts the interior points on the uniform mesh that excludes the edges and the boundary
    points evenly along the edges; ``"random"`` draws both uniformly with a seeded generator.
    """
    _check_n_side(n_side)
    lo, hi = _check_domain(domain)
    if sampling == "mesh":
        inner = torch.linspace(lo, hi, n_side + 2, dtype=dtype, device="cpu")[1:-1]
        yy, xx = torch.meshgrid(inner, inner, indexing="ij")
        x_interior = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
        s = torch.linspace(lo, hi, n_side + 2, dtype=dtype, device="cpu")[:-1]  # n_side + 1 per edge, one corner each
    elif sampling == "random":
        gen = torch.Generator().manual_seed(seed)
        x_interior = lo + (hi - lo) * torch.rand(n_side**2, 2, generator=gen, dtype=dtype, device="cpu")
        s = lo + (hi - lo) * torch.rand(n_side + 1, generator=gen, dtype=dtype, device="cpu")
    else:
        raise ValueError(f"sampling must be 'mesh' or 'random', got {sampling!r}")
    lo_t, hi_t = torch.full_like(s, lo), torch.full_like(s, hi)
    x_boundary = torch.cat(
        [
            torch.stack([s, lo_t], 1),  # bottom, left to right
            torch.stack([hi_t, s], 1),  # right, bottom to top
            torch.stack([hi + lo - s, hi_t], 1),  # top, right to left
            torch.stack([lo_t, hi + lo - s], 1),  # left, top to bottom
        ]
    )
    return x_interior.to(device), x_boundary.to(device)


def gradient(fn: Callable[[Tensor], Tensor], x: Tensor, create_graph: bool = False) -> tuple[Tensor, Tensor]:
    """Values and spatial gradient of ``fn`` at every point, in one autograd call.

    x: (n, 2) -> ``(u (n,), grad_u (n, 2))``. Batched trick: because u_n depends only on
    x_n, the gradient of ``u.sum()`` with respect to x holds every point's own gradient.
    (This breaks for models that mix samples, e.g. batch norm.)
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        u = evaluate_points(fn, x, name="model")
        (grad_u,) = torch.autograd.grad(u.sum(), x, create_graph=create_graph)
    return u, grad_u


def laplacian(fn: Callable[[Tensor], Tensor], x: Tensor, create_graph: bool = True) -> tuple[Tensor, Tensor]:
    """Values and Laplacian ``u_xx + u_yy`` of ``fn`` at every point, batched over all points.

    x: (n, d) -> ``(u (n,), lap_u (n,))``. One ``autograd.grad`` for the gradient (kept in the
    graph) and one per dimension for the diagonal second derivatives: d + 1 backward passes in
    total, however many points. Keep ``create_graph=True`` to train through the result.
    Introduced in 08_solving_pdes.
    """
    from kanlab.fused import ordinary_graph

    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        with ordinary_graph():  # differentiated three times: an ordinary graph, no recomputation
            u = evaluate_points(fn, x, name="model")
        (grad_u,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        lap = torch.zeros_like(u)
        last = x.shape[1] - 1
        for d in range(x.shape[1]):
            (second,) = torch.autograd.grad(
                grad_u[:, d].sum(), x, create_graph=create_graph, retain_graph=create_graph or d < last
            )
            lap = lap + second[:, d]
    return u, lap


class PINNLoss(NamedTuple):
    """``loss = alpha·pde + bc``; ``pde`` = mean residual², ``bc`` = mean boundary error² (scalars)."""

    loss: Tensor
    pde: Tensor
    bc: Tensor


def pinn_loss(
    model: Callable[[Tensor], Tensor],
    problem: PoissonProblem,
    x_interior: Tensor,
    x_boundary: Tensor,
    alpha: float = 0.01,
) -> PINNLoss:
    """Physics-informed loss ``alpha·mean((Δu_hat - f)²) + mean((u_hat - g)²)``.

    x_interior (n_i, 2), x_boundary (n_b, 2); both need at least one point. ``alpha > 0``
    balances the residual (large at the start: about mean(f²), since an untrained network's
    Laplacian is small) against the boundary term; the KAN paper (§3.4) uses 0.01.
    Differentiable in the model's parameters. Introduced in 08_solving_pdes.
    """
    if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool) or not (alpha > 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    for arg, pts in (("x_interior", x_interior), ("x_boundary", x_boundary)):
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"{arg} must have shape (n, 2), got {tuple(pts.shape)}")
        if pts.shape[0] == 0:
            raise ValueError(f"{arg} must hold at least one collocation point, got 0")
    _, lap = laplacian(model, x_interior, create_graph=True)
    f = evaluate_points(problem.source, x_interior, name="PoissonProblem.source")
    pde = torch.mean((lap - f) ** 2)
    u_b = evaluate_points(model, x_boundary, name="model")
    g = evaluate_points(problem.boundary, x_boundary, name="PoissonProblem.boundary")
    bc = torch.mean((u_b - g) ** 2)
    return PINNLoss(alpha * pde + bc, pde, bc)


def error_norms(model: Callable[[Tensor], Tensor], problem: PoissonProblem, x_test: Tensor) -> dict[str, float]:
    """Errors of ``model`` against the exact solution at test points x_test (n, 2).

    Returns ``{"u_mse", "rel_l2", "h1"}``: mean((u_hat - u*)²); ||u_hat - u*|| / ||u*||; and the
    H1 seminorm error sqrt(mean |∇u_hat - ∇u*|²), with both gradients from autograd. On a
    uniform mesh these are the integral norms up to the factor |Ω|. The KAN paper's two metrics
    (§3.4, "L2 squared" and "H1 squared") are ``u_mse`` and ``u_mse + h1**2``. Introduced in
    08_solving_pdes.
    """
    if problem.exact is None:
        raise ValueError(f"problem {problem.name!r} has no exact solution, so errors cannot be measured")
    u_hat, grad_hat = gradient(model, x_test)
    u_star, grad_star = gradient(problem.exact, x_test)
    err = (u_hat - u_star).detach()
    return {
        "u_mse": float(torch.mean(err**2)),
        "rel_l2": float(torch.linalg.vector_norm(err) / torch.linalg.vector_norm(u_star.detach())),
        "h1": float(torch.sqrt(torch.mean(torch.sum((grad_hat - grad_star).detach() ** 2, dim=1)))),
    }


def finite_difference_poisson(problem: PoissonProblem, n: int) -> tuple[Tensor, Tensor]:
    """The classical baseline: the 5-point finite-difference solution on an (n+1) × (n+1) mesh.

    Solves ``(u[i-1,j] + u[i+1,j] + u[i,j-1] + u[i,j+1] - 4u[i,j]) / h² = f`` at the
    (n-1)² interior nodes with ``u = g`` on the boundary nodes (one sparse direct solve;
    second-order accurate, so the error falls like h² = (2/n)² on [-1, 1]²). Returns
    ``(points, u)``: all mesh nodes ((n+1)², 2) in float64 and the solution there ((n+1)²,),
    ordered like :func:`mesh_points` with ``n + 1`` points a side. Introduced in 08_solving_pdes.
    """
    import numpy as np
    from scipy.sparse import diags, identity, kron
    from scipy.sparse.linalg import spsolve

    _check_n_side(n, "n")
    if n < 2:
        raise ValueError(f"n must be at least 2 intervals a side, got {n}")
    lo, hi = problem.domain
    h = (hi - lo) / n
    points = mesh_points(n + 1, domain=(lo, hi))                   # ((n+1)², 2)
    on_edge = (points[:, 0] == lo) | (points[:, 0] == hi) | (points[:, 1] == lo) | (points[:, 1] == hi)
    u = torch.zeros(len(points), dtype=torch.float64, device="cpu")  # a SciPy solve, on the CPU
    u[on_edge] = evaluate_points(problem.boundary, points[on_edge], "PoissonProblem.boundary").to(u)
    grid_u = u.reshape(n + 1, n + 1).numpy().copy()
    m = n - 1                                                       # interior nodes per side
    second = diags([np.ones(m - 1), -2 * np.ones(m), np.ones(m - 1)], [-1, 0, 1]) / h**2
    A = (kron(identity(m), second) + kron(second, identity(m))).tocsr()
    inner = points.reshape(n + 1, n + 1, 2)[1:-1, 1:-1].reshape(-1, 2)
    rhs = evaluate_points(problem.source, inner, "PoissonProblem.source").numpy().reshape(m, m).copy()
    rhs[0, :] -= grid_u[0, 1:-1] / h**2                            # boundary values move to the right side
    rhs[-1, :] -= grid_u[-1, 1:-1] / h**2
    rhs[:, 0] -= grid_u[1:-1, 0] / h**2
    rhs[:, -1] -= grid_u[1:-1, -1] / h**2
    grid_u[1:-1, 1:-1] = spsolve(A, rhs.reshape(-1)).reshape(m, m)
    return points, torch.as_tensor(grid_u.reshape(-1), device="cpu")
