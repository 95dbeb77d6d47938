"""Training physics-informed networks on a ``PoissonProblem``: one loop for KANs and MLPs.

``train_pde`` runs kanlab's L-BFGS (``kanlab.lbfgs``) on the PINN loss of ``kanlab.pde`` and, for a KAN, grid extension
coarse → fine (update the grid from the collocation points, then refine). It records the loss
terms and the errors against the exact solution on a separate test mesh, and snapshots of the
predicted solution for the ``PDEViewer`` widget. ``mlp`` builds the baseline the KAN is
compared with. Introduced in 08_solving_pdes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from kanlab.lbfgs import LBFGS
from kanlab.pde import (
    PoissonProblem,
    collocation_points,
    error_norms,
    evaluate_points,
    mesh_points,
    pinn_loss,
)

__all__ = ["PDEHistory", "train_pde", "mlp", "num_parameters"]

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"tanh": nn.Tanh, "silu": nn.SiLU, "sin": lambda: _Sin()}


class _Sin(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return torch.sin(x)


def mlp(
    width: Sequence[int] = (2, 100, 100, 1),
    activation: str = "tanh",
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> nn.Sequential:
    """A plain MLP ``width[0] -> ... -> width[-1]`` with a smooth activation (twice differentiable,
    as the Laplacian needs; ReLU's is zero almost everywhere). The default has 10 501 parameters.
    """
    width = list(width)
    if len(width) < 2 or any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in width):
        raise ValueError(f"width must be a list of >= 2 positive ints, got {width!r}")
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(width[:-1], width[1:])):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if i < len(width) - 2:
            layers.append(_ACTIVATIONS[activation]())
    torch.random.set_rng_state(gen_state)
    return nn.Sequential(*layers)


def num_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (what the KAN vs MLP table reports)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass
class PDEHistory:
    """What ``train_pde`` records, one entry per optimiser step in every list.

    ``time`` is cumulative training seconds (evaluation excluded); ``grid`` the KAN grid size
    at that step (0 for an MLP). ``snapshots`` holds ``(step, u_hat)`` with u_hat a numpy array
    (n_test, n_test) on the test mesh (rows = y, columns = x); ``exact`` is u* on that mesh.
    """

    step: list[int] = field(default_factory=list)
    grid: list[int] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    pde_loss: list[float] = field(default_factory=list)
    bc_loss: list[float] = field(default_factory=list)
    u_mse: list[float] = field(default_factory=list)
    rel_l2: list[float] = field(default_factory=list)
    h1: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)
    exact: np.ndarray | None = None
    domain: tuple[float, float] = (-1.0, 1.0)

    def final(self) -> dict[str, float]:
        """The last recorded errors and the total training time."""
        if not self.step:
            raise ValueError("history is empty: train for at least one step")
        return {"u_mse": self.u_mse[-1], "rel_l2": self.rel_l2[-1], "h1": self.h1[-1], "time": self.time[-1]}

    def __repr__(self) -> str:
        if not self.step:
            return "PDEHistory(empty)"
        return (
            f"PDEHistory(steps={self.step[-1]}, u_mse={self.u_mse[-1]:.2e}, "
            f"rel_l2={self.rel_l2[-1]:.2e}, h1={self.h1[-1]:.2e}, snapshots={len(self.snapshots)})"
        )


def _per_stage(value: int | Sequence[int], n_stages: int, name: str) -> list[int]:
    values = [value] * n_stages if isinstance(value, int) else list(value)
    if len(values) != n_stages or any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values):
        raise ValueError(f"{name} must be a non-negative int or one per grid stage ({n_stages}), got {value!r}")
    return values


def train_pde(
    model: nn.Module,
    problem: PoissonProblem,
    steps: int | Sequence[int] = 20,
    grids: Sequence[int] | None = None,
    alpha: float = 0.01,
    n_side: int = 21,
    sampling: str = "mesh",
    n_test: int = 41,
    lbfgs_iters: int = 10,
    lr: float = 1.0,
    update_grid: bool = False,
    time_budget: float | None = None,
    snapshot_every: int = 0,
    seed: int = 0,
    callback: Callable[[nn.Module, int, PDEHistory], object] | None = None,
) -> PDEHistory:
    """Train ``model`` on the PINN loss of ``problem`` with LBFGS; return a ``PDEHistory``.

    Args:
        model: any (n, 2) -> (n, 1) network; a ``kanlab.KAN`` when ``grids`` is given.
        steps: optimiser steps per grid stage (an int, or one per stage). Each step is one
            ``LBFGS.step`` of up to ``lbfgs_iters`` iterations with a strong-Wolfe line search.
        grids: KAN grid sizes, coarse → fine, e.g. ``(5, 10, 20)``. Before each stage after the
            first (and before the first if the model's grid differs) the grid is refined with
            ``model.refine(G, update=False)`` (the function is kept) and LBFGS restarts. ``None``: one stage,
            no grid changes (MLPs).
        update_grid: also move the grids to the collocation points' quantiles before each
            refine (``model.update_grid(collocation points)``; never the inputs of an earlier fit). Off by default: for this problem the
            first layer's inputs already fill the grid range uniformly, and the quantile grids of
            the hidden layer gave 3-5x larger final errors in our runs (benchmarks/pde.py setup).
        alpha: weight of the PDE residual in ``alpha·pde + bc`` (> 0).
        n_side: interior collocation points per side (n_side² interior, 4·(n_side+1) boundary).
        n_test: test mesh points per side (edges included) for the error history.
        time_budget: stop once this many training seconds have passed (the MLP baseline gets the
            KAN's measured time); ``None`` for no limit.
        snapshot_every: store u_hat on the test mesh every this many steps (and at the last);
            0 stores only the final one.
        callback: ``callback(model, step, history)``; truthy return stops training.
    """
    if grids is not None:
        grids = list(grids)
        if not grids or any(not isinstance(g, int) or isinstance(g, bool) or g < 1 for g in grids):
            raise ValueError(f"grids must be a non-empty list of positive ints, got {grids!r}")
        if not hasattr(model, "refine"):
            raise TypeError(f"grids needs a model with refine(new_grid) (a kanlab.KAN), got {type(model).__name__}")
    stages: list[int | None] = list(grids) if grids is not None else [None]
    per_stage = _per_stage(steps, len(stages), "steps")
    if time_budget is not None and not (time_budget > 0 and math.isfinite(time_budget)):
        raise ValueError(f"time_budget must be a positive number of seconds or None, got {time_budget!r}")
    if not isinstance(snapshot_every, int) or snapshot_every < 0:
        raise ValueError(f"snapshot_every must be a non-negative int, got {snapshot_every!r}")

    param = next(model.parameters())
    dtype, device = param.dtype, param.device
    x_int, x_bnd = collocation_points(n_side, problem.domain, sampling, seed, dtype=dtype, device=device)
    x_all = torch.cat([x_int, x_bnd])
    x_test = mesh_points(n_test, problem.domain, dtype=dtype, device=device)
    pinn_loss(model, problem, x_int, x_bnd, alpha)  # validates alpha and the points up front

    history = PDEHistory(domain=problem.domain)
    if problem.exact is not None:
        history.exact = evaluate_points(problem.exact, x_test).detach().cpu().reshape(n_test, n_test).numpy()
    total = sum(per_stage)
    step, elapsed, stop = 0, 0.0, False
    for stage, (grid, n_steps) in enumerate(zip(stages, per_stage)):
        if stop:
            break
        if grid is not None and (stage > 0 or getattr(model, "grid", grid) != grid):
            t0 = time.perf_counter()
            for p in model.parameters():  # the last stage's optimiser is done with them
                p.grad = None
            # The grids come from these collocation points or stay as they are: never from the
            # inputs of an unrelated earlier fit (model.train_input).
            if update_grid:
                model.update_grid(x_all)
            model.refine(grid, update=False)
            elapsed += time.perf_counter() - t0
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = LBFGS(  # kanlab's: keeps its curvature memory at the tiny losses PINNs reach
            params, lr=lr, max_iter=lbfgs_iters, history_size=20, line_search_fn="strong_wolfe",
            tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32,
        )

        def closure(params: list[Tensor] = params) -> Tensor:
            for p in params:
                p.grad = None
            loss = pinn_loss(model, problem, x_int, x_bnd, alpha).loss
            loss.backward()
            return loss

        for _ in range(n_steps):
            t0 = time.perf_counter()
            optimizer.step(closure)
            elapsed += time.perf_counter() - t0
            step += 1
            terms = pinn_loss(model, problem, x_int, x_bnd, alpha)
            _record(history, model, problem, x_test, step, grid or 0, elapsed, terms)
            last = step == total or (time_budget is not None and elapsed >= time_budget)
            if (snapshot_every and step % snapshot_every == 0) or last:
                u_hat = evaluate_points(model, x_test, name="model").detach().cpu().reshape(n_test, n_test)
                history.snapshots.append((step, u_hat.numpy().copy()))
            if callback is not None and callback(model, step, history):
                stop = True
            if last:
                stop = True
            if stop:
                break
    if step and (not history.snapshots or history.snapshots[-1][0] != step):
        u_hat = evaluate_points(model, x_test, name="model").detach().cpu().reshape(n_test, n_test)
        history.snapshots.append((step, u_hat.numpy().copy()))
    return history


def _record(
    history: PDEHistory, model: nn.Module, problem: PoissonProblem, x_test: Tensor,
    step: int, grid: int, elapsed: float, terms: tuple[Tensor, Tensor, Tensor],
) -> None:
    history.step.append(step)
    history.grid.append(grid)
    history.time.append(elapsed)
    history.loss.append(float(terms[0].detach()))
    history.pde_loss.append(float(terms[1].detach()))
    history.bc_loss.append(float(terms[2].detach()))
    errors = error_norms(model, problem, x_test) if problem.exact is not None else {}
    history.u_mse.append(errors.get("u_mse", float("nan")))
    history.rel_l2.append(errors.get("rel_l2", float("nan")))
    history.h1.append(errors.get("h1", float("nan")))
