"""Self-checks for 01_kolmogorov_arnold_theorem: counting the theorem's functions, writing a formula as one K–A term."""

from __future__ import annotations

import numpy as np

from kanlab.exercises._core import Feedback, Wrong, call, correct, exercise, number, wrong

NOTEBOOK = "01_kolmogorov_arnold_theorem"


@exercise(NOTEBOOK)
def check_ka_counts(ka_counts) -> Feedback:
    """``ka_counts(n) -> (outer, inner)``: how many outer Φ_q and inner φ_{q,p} the theorem uses for n inputs."""
    for n in (1, 2, 3, 10):
        got = call(ka_counts, n)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Wrong(f"ka_counts({n}) returned {got!r}", "return a pair: (number of outer, number of inner)")
        outer, inner = number(got[0], "outer"), number(got[1], "inner")
        if (outer, inner) == (2 * n + 1, n * (2 * n + 1)):
            continue
        if (outer, inner) == (n * (2 * n + 1), 2 * n + 1):
            return wrong(f"ka_counts({n}) = {got}: the two numbers are swapped",
                         "q runs over 2n+1 outer functions; each has n inner ones, one per input p")
        if outer == 2 * n:
            return wrong(f"ka_counts({n}) = {got}: q = 0..2n is 2n + 1 terms, not 2n", "count both ends of 0..2n")
        if outer == 2 * n + 1 and inner == 2 * n + 1:
            return wrong(f"ka_counts({n}) = {got}: each of the 2n+1 terms has n inner functions",
                         "φ_{q,p}: one per pair (q, p), so n(2n + 1)")
        return wrong(f"ka_counts({n}) = {got}, expected ({2 * n + 1}, {n * (2 * n + 1)})",
                     "f = Σ_{q=0}^{2n} Φ_q(Σ_{p=1}^{n} φ_{q,p}(x_p))")
    return correct("2n + 1 outer and n(2n + 1) inner functions: about 2n², not exponential in n.")


def _compose(points: np.ndarray, inner, outer) -> np.ndarray:
    total = 0.0
    for Phi, row in zip(outer, inner):
        total = total + Phi(sum(phi(points[..., p]) for p, phi in enumerate(row)))
    return np.asarray(total, dtype=float)


def _judge_term(inner, outer, lo: tuple, hi: tuple, target, mistakes) -> Feedback:
    if not (isinstance(inner, (list, tuple)) and inner and all(isinstance(r, (list, tuple)) for r in inner)):
        raise Wrong("inner must be a list of rows, one row of n functions per term: [[phi_x, phi_y]]",
                    "one term with two inputs is [[phi_01, phi_02]] and outer is [Phi_0]")
    if not isinstance(outer, (list, tuple)) or len(outer) != len(inner):
        raise Wrong(f"outer must be a list with one function per row of inner ({len(inner)})")
    xs, ys = np.linspace(lo[0], hi[0], 41), np.linspace(lo[1], hi[1], 41)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        got = _compose(np.stack([X, Y], -1), inner, outer)
        want = target(X, Y)
    if got.shape != want.shape:
        raise Wrong(f"the composition has shape {got.shape}, expected {want.shape}",
                    "use NumPy functions that act elementwise (np.log, np.exp, ...)")
    err = float(np.abs(got - want).max()) if np.isfinite(got).all() else float("inf")
    if err < 1e-9:
        return correct(f"max |composition − f| = {err:.0e} on the box.")
    with np.errstate(all="ignore"):
        for candidate, message, hint in mistakes:
            if np.allclose(got, candidate(X, Y), atol=1e-9, equal_nan=True):
                return wrong(message, hint)
    if not np.isfinite(got).all():
        return wrong("the composition gives NaN or inf somewhere on the box",
                     "a log or artanh of a number outside its domain? Check the sign of y")
    return wrong(f"max |composition − f| = {err:.3g}", "evaluate your inner sum and outer function by hand at one point")


@exercise(NOTEBOOK)
def check_velocity_addition(inner, outer) -> Feedback:
    """Exercise 1: (x + y)/(1 + xy) on [-0.9, 0.9]² as one term, ``inner=[[φ_01, φ_02]]``, ``outer=[Φ_0]``."""
    return _judge_term(inner, outer, (-0.9, -0.9), (0.9, 0.9), lambda x, y: (x + y) / (1 + x * y), [
        (lambda x, y: np.arctanh(np.tanh(x) + np.tanh(y)), "inner and outer are swapped",
         "the sum happens inside: put a = artanh x, b = artanh y, then apply tanh to a + b"),
        (lambda x, y: np.tanh(x + y), "tanh(x + y) is not (x + y)/(1 + xy)",
         "the addition formula holds for tanh(a + b) with tanh a = x: the inner functions are artanh"),
    ])


@exercise(NOTEBOOK)
def check_negative_division(inner, outer) -> Feedback:
    """Exercise 3: x/y for x in [0.5, 2], y in [-2, -0.5] as one term."""
    return _judge_term(inner, outer, (0.5, -2.0), (2.0, -0.5), lambda x, y: x / y, [
        (lambda x, y: -x / y, "you computed x/|y| = −x/y: the sign is lost",
         "log(−y) works for y < 0; put the sign back in the outer function, Φ_0(s) = −e^s"),
    ])
