"""kanlab's L-BFGS: the same iterates as torch's, but it keeps learning at tiny curvature."""

import pytest
import torch

from kanlab.lbfgs import LBFGS


def _rosenbrock_run(opt_cls, steps: int = 5, scale: float = 1.0, **kwargs) -> list[float]:
    p = torch.nn.Parameter(torch.tensor([-1.2, 1.0], dtype=torch.float64))
    opt = opt_cls([p], lr=1.0, history_size=10, line_search_fn="strong_wolfe",
                  tolerance_grad=1e-32, tolerance_change=1e-32, **kwargs)

    def closure():
        opt.zero_grad()
        loss = scale * ((1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2)
        loss.backward()
        return loss

    losses = []
    for _ in range(steps):
        opt.step(closure)
        losses.append(float(closure().detach()))
    return losses


def test_same_iterates_as_torch_when_curvature_is_large() -> None:
    ours = _rosenbrock_run(LBFGS, tolerance_ys=1e-10)
    theirs = _rosenbrock_run(torch.optim.LBFGS)
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-300)


def test_keeps_quasi_newton_memory_when_curvature_is_tiny() -> None:
    # Scaling the loss by 1e-12 makes every y·s pair tiny: torch's fixed 1e-10 threshold drops
    # them all and crawls; with tolerance_ys=1e-32 we take the same steps as on the unscaled loss.
    scaled = _rosenbrock_run(LBFGS, steps=4, scale=1e-12, tolerance_ys=1e-32)
    torch_scaled = _rosenbrock_run(torch.optim.LBFGS, steps=4, scale=1e-12)
    assert scaled[-1] < 1e-3 * torch_scaled[-1]


def test_rejects_unknown_line_search() -> None:
    with pytest.raises(ValueError, match="line_search_fn"):
        LBFGS([torch.nn.Parameter(torch.zeros(1))], line_search_fn="backtracking")


def test_memory_window_matches_torch_over_many_pairs() -> None:
    """With a short memory (3 pairs) and a 40-dimensional ill-conditioned quadratic, dozens of
    pairs pass through the memory (its buffer slides back to row 0 every 3 pairs); the iterates
    stay torch's two-loop recursion's."""
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(40, 40, generator=gen, dtype=torch.float64))
    a = q @ torch.diag(torch.logspace(0, 3, 40, dtype=torch.float64)) @ q.T
    b = torch.randn(40, generator=gen, dtype=torch.float64)

    def run(opt_cls) -> list[float]:
        p = torch.nn.Parameter(torch.zeros(40, dtype=torch.float64))
        opt = opt_cls([p], lr=1.0, history_size=3, line_search_fn="strong_wolfe", max_iter=10,
                      tolerance_grad=1e-32, tolerance_change=1e-32)

        def closure():
            opt.zero_grad()
            loss = 0.5 * p @ a @ p - b @ p
            loss.backward()
            return loss

        return [float(opt.step(closure).detach()) for _ in range(6)]

    assert run(LBFGS) == pytest.approx(run(torch.optim.LBFGS), rel=1e-9)
