"""Self-checks for 08_solving_pdes: the physics-informed loss and the Laplacian by autograd."""

from __future__ import annotations

import torch

from kanlab.exercises._core import (
    Feedback,
    Wrong,
    array,
    call,
    close,
    correct,
    exercise,
    first_match,
    wrong,
)

NOTEBOOK = "08_solving_pdes"


@exercise(NOTEBOOK)
def check_pinn_loss(pinn_loss) -> Feedback:
    """``pinn_loss(residual, boundary_error, alpha) -> float``: α·mean(residual²) + mean(boundary_error²)."""
    res = torch.tensor([2.0, -1.0, 0.5, 3.0], dtype=torch.float64)
    bnd = torch.tensor([0.1, -0.2, 0.05], dtype=torch.float64)
    alpha = 0.01
    want = float(alpha * (res**2).mean() + (bnd**2).mean())
    got = float(array(call(pinn_loss, res.clone(), bnd.clone(), alpha), "the loss").sum())
    if abs(got - want) < 1e-12:
        return correct(f"L = {want:.6f}: α weights the residual term, the boundary term has weight 1.")
    return first_match(got, [
        (float((res**2).mean() + alpha * (bnd**2).mean()), "α multiplies the boundary term",
         "α belongs to the residual term: α·mean(res²) + mean(bnd²)"),
        (float(alpha * (res**2).sum() + (bnd**2).sum()), "sums instead of means",
         "mean over the points: the two sets have different sizes"),
        (float(alpha * res.abs().mean() + bnd.abs().mean()), "absolute values instead of squares", "square the errors"),
    ], rtol=1e-9) or wrong(f"L = {got:.6g}, expected {want:.6g}", "α·mean(residual²) + mean(boundary²)")


@exercise(NOTEBOOK)
def check_laplacian(laplacian) -> Feedback:
    """``laplacian(u, x) -> (n,)``: Δu at every point of x (n, 2) by autograd, for u: (n, 2) -> (n,)."""
    x = torch.rand(30, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def u(p):
        return torch.exp(p[:, 0]) * torch.sin(2 * p[:, 1]) + p[:, 0] ** 3 * p[:, 1] ** 2

    a, b = x[:, 0], x[:, 1]
    want = (-3 * torch.exp(a) * torch.sin(2 * b) + 6 * a * b**2 + 2 * a**3).numpy()
    u_xx = (torch.exp(a) * torch.sin(2 * b) + 6 * a * b**2).numpy()
    try:
        got = call(laplacian, u, x.clone())
    except RuntimeError as error:
        if "does not require grad" in str(error) or "differentiated" in str(error):
            raise Wrong(f"autograd refused: {error}",
                        "x.requires_grad_(True) before u(x), and create_graph=True on the first grad") from None
        raise
    got = array(got, "the Laplacian").reshape(-1) if array(got).size == 30 else array(got)
    if got.shape != (30,):
        raise Wrong(f"the Laplacian has shape {got.shape}, expected (30,)",
                    "one number per point: u_xx + u_yy, not the gradient (n, 2)")
    if close(got, want, atol=1e-10):
        return correct("1 + d backward passes give Δu at every point at once.")
    if close(got, u_xx, atol=1e-10):
        return wrong("that is u_xx only", "add u_yy: differentiate grad_u[:, 1].sum() with respect to x, take column 1")
    return wrong(f"Δu differs from the exact one by up to {abs(got - want).max():.3g}",
                 "grad_u = grad(u(x).sum(), x, create_graph=True); u_xx = grad(grad_u[:, 0].sum(), x)[:, 0]; same for y")
