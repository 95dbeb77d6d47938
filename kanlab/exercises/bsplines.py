"""Self-checks for 02_bsplines: knot and basis counts, one Cox–de Boor step, the normal equations."""

from __future__ import annotations

import numpy as np

from kanlab.exercises._core import (
    Feedback,
    Wrong,
    array,
    call,
    close,
    correct,
    exercise,
    number,
    wrong,
)

NOTEBOOK = "02_bsplines"


@exercise(NOTEBOOK)
def check_spline_counts(answer) -> Feedback:
    """Exercise 1: ``(n_knots, n_bases, n_nonzero_at_0.1)`` for G = 4, k = 2 (degree 2) on [-1, 1]."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        raise Wrong(f"expected three numbers (knots, bases, non-zero bases), got {answer!r}")
    knots, bases, nonzero = (number(a) for a in answer)
    if knots != 9:
        hint = ("G + 1 = 5 are only the grid points: add k = 2 extension knots on each side"
                if knots == 5 else "G + 2k + 1 knots: the G + 1 grid points plus k on each side")
        return wrong(f"{knots:g} knots", hint)
    if bases != 6:
        hint = ("kanlab's k is the degree; G + k + 1 is what you get by using de Boor's order k + 1 in place of the degree"
                if bases == 7 else "G + k bases: one fewer per recursion level, from G + 2k boxes down to G + k")
        return wrong(f"{bases:g} bases", hint)
    if nonzero != 3:
        return wrong(f"{nonzero:g} non-zero bases at x = 0.1",
                     "each basis spans k + 1 intervals, so k + 1 of them overlap at a point inside an interval")
    return correct("9 knots, 6 bases, 3 non-zero at x = 0.1 (G + 2k + 1, G + k, k + 1).")


def _hat(x: np.ndarray, t: np.ndarray, m: int) -> np.ndarray:
    rise = (x - t[m]) / (t[m + 1] - t[m])
    fall = (t[m + 2] - x) / (t[m + 2] - t[m + 1])
    return np.where((x >= t[m]) & (x < t[m + 1]), rise, 0.0) + np.where((x >= t[m + 1]) & (x < t[m + 2]), fall, 0.0)


@exercise(NOTEBOOK)
def check_hat(hat) -> Feedback:
    """``hat(x, t, m)``: the degree-1 B-spline B_{m,1} at points x (NumPy arrays), from two degree-0 boxes."""
    t = np.array([-1.0, -0.7, -0.2, 0.0, 0.5, 0.6, 1.0])  # non-uniform on purpose
    x = np.linspace(-1.2, 1.2, 481)
    for m in (0, 2, 4):
        got = array(call(hat, x.copy(), t.copy(), m), f"hat(x, t, {m})")
        if got.shape != x.shape:
            raise Wrong(f"hat(x, t, {m}) has shape {got.shape}, expected {x.shape}", "return one value per point")
        if close(got, _hat(x, t, m), atol=1e-9):
            continue
        for shift in (-1, 1):
            if 0 <= m + shift <= len(t) - 3 and close(got, _hat(x, t, m + shift), atol=1e-9):
                return wrong(f"hat(x, t, {m}) is B_{{{m + shift},1}}: an off-by-one in the knot index",
                             "B_{m,1} rises on [t_m, t_{m+1}) and falls on [t_{m+1}, t_{m+2})")
        uniform = np.where((x >= t[m]) & (x < t[m + 2]), 1 - np.abs(x - t[m + 1]) / ((t[m + 2] - t[m]) / 2), 0)
        if close(got, uniform, atol=1e-9):
            return wrong("your hat assumes evenly spaced knots", "divide by t_{m+1} − t_m and t_{m+2} − t_{m+1} separately")
        if abs(got.max() - 1) > 1e-6:
            return wrong(f"the peak of hat(x, t, {m}) is {got.max():.3g}, not 1",
                         "the two ramps are (x − t_m)/(t_{m+1} − t_m) and (t_{m+2} − x)/(t_{m+2} − t_{m+1})")
        return wrong(f"hat(x, t, {m}) differs from B_{{{m},1}} by up to {np.abs(got - _hat(x, t, m)).max():.3g}",
                     "zero outside [t_m, t_{m+2}); half-open boxes so each point is in exactly one interval")
    return correct("B_{m,1} = rising ramp × box m + falling ramp × box m+1, on non-uniform knots too.")


@exercise(NOTEBOOK)
def check_least_squares(solve) -> Feedback:
    """``solve(A, y) -> c``: the least-squares coefficients from the normal equations (A is N × (G + k))."""
    rng = np.random.default_rng(0)
    A, y = rng.random((40, 6)), rng.normal(size=40)
    want = np.linalg.lstsq(A, y, rcond=None)[0]
    got = array(call(solve, A.copy(), y.copy()), "c")
    if got.shape != want.shape:
        hint = "A.T @ A is (G+k) × (G+k); solve (A.T @ A) c = A.T @ y" if got.size != 6 else "return a vector"
        raise Wrong(f"c has shape {got.shape}, expected {want.shape}", hint)
    if close(got, want, rtol=1e-6, atol=1e-9):
        return correct("c solves (AᵀA)c = Aᵀy: the best coefficients in the least-squares sense.")
    if close(got, A.T @ y):
        return wrong("that is Aᵀy, the right-hand side only", "solve the system: np.linalg.solve(A.T @ A, A.T @ y)")
    return wrong("c is not the least-squares solution", "normal equations: (AᵀA)c = Aᵀy")
