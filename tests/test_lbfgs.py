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
