"""Self-checks for 09_kan_vs_mlp: the Chebyshev design matrix, the width of a B-spline's support."""

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
    number,
    wrong,
)

NOTEBOOK = "09_kan_vs_mlp"


def _cheb(x: torch.Tensor, n: int) -> torch.Tensor:
    T = [torch.ones_like(x), x]
    for _ in range(2, n):
        T.append(2 * x * T[-1] - T[-2])
    return torch.stack(T[:n], dim=1)


@exercise(NOTEBOOK)
def check_chebyshev(chebyshev) -> Feedback:
    """``chebyshev(x, n) -> (len(x), n)``: columns T_0(x), ..., T_{n-1}(x) by T_{m+1} = 2x·T_m − T_{m−1}."""
    x = torch.linspace(-1, 1, 21, dtype=torch.float64)
    want = _cheb(x, 6)
    got = array(call(chebyshev, x.clone(), 6), "the design matrix")
    if got.shape != (21, 6):
        hint = "n columns: T_0 up to T_{n-1}" if got.shape[:1] == (21,) else "one row per point, one column per T_m"
        raise Wrong(f"shape {got.shape}, expected (21, 6)", hint)
    if close(got, want.numpy(), atol=1e-12):
        return correct("T_m(cos θ) = cos(mθ): global polynomials, each non-zero almost everywhere on [-1, 1].")
    return first_match(got, [
        (_cheb(x, 7)[:, 1:].numpy(), "the columns start at T_1", "T_0 = 1 is the first column"),
        (torch.stack([x**c for c in range(6)], 1).numpy(), "those are monomials x^c", "use the recursion T_{m+1} = 2x·T_m − T_{m−1}"),
    ], rtol=1e-9) or wrong("the columns are not T_0..T_5", "T_0 = 1, T_1 = x, T_{m+1} = 2x·T_m − T_{m−1}")


@exercise(NOTEBOOK)
def check_support_width(support_width) -> Feedback:
    """``support_width(G, k, lo, hi) -> float``: the width of one degree-k B-spline's support on a uniform grid."""
    for G, k, lo, hi in ((50, 3, -1.0, 1.0), (10, 3, -1.0, 1.0), (8, 1, 0.0, 2.0)):
        h, got = (hi - lo) / G, number(call(support_width, G, k, lo, hi), f"support_width({G}, {k}, {lo}, {hi})")
        if abs(got - (k + 1) * h) < 1e-9:
            continue
        return first_match(got, [
            (k * h, "one interval short", "a degree-k basis spans k + 1 intervals"),
            (h, "that is one interval", "a degree-k basis spans k + 1 intervals"),
            ((k + 1) / G, "that assumes the range has length 1", "h = (hi − lo)/G"),
        ]) or wrong(f"support_width = {got:g}, expected {(k + 1) * h:g}", "(k + 1)·(hi − lo)/G")
    return correct("(k + 1)·h: 0.16 at G = 50 (inside one 0.4-wide region), 0.8 at G = 10 (wider than a region).")
