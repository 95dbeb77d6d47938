"""kanlab's own strong-Wolfe line search (Nocedal & Wright, *Numerical Optimization*, Alg. 3.5/3.6).

``kanlab.lbfgs.LBFGS`` uses torch's private ``torch.optim.lbfgs._strong_wolfe`` when it exists
with the signature it was tested with (torch 2.13), so its iterates are torch's; when a torch
release renames or changes that private function, it falls back to :func:`strong_wolfe` here.
tests/test_lbfgs.py runs L-BFGS with both on several problems and checks this one satisfies the
strong Wolfe conditions and reaches the same or a lower loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

#: ``evaluate(t) -> (loss, flat_grad)`` at ``x + t·d``; a non-finite loss means "too far".
Evaluate = Callable[[float], tuple[float, torch.Tensor]]


def cubic_minimizer(a: float, fa: float, da: float, b: float, fb: float, db: float) -> float | None:
    """Minimiser of the cubic through ``(a, fa)``, ``(b, fb)`` with slopes ``da``, ``db``.

    Nocedal & Wright eq. 3.59. None when the cubic has no real minimiser or a value is not finite.
    """
    if a == b or not all(math.isfinite(v) for v in (fa, da, fb, db)):
        return None
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - da * db
    if disc < 0:
        return None
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = db - da + 2.0 * d2
    if denom == 0:
        return None
    t = b - (b - a) * (db + d2 - d1) / denom
    return t if math.isfinite(t) else None


class _Point:
    """One trial step: ``t``, the loss there, its flat gradient and the slope ``g·d``."""

    __slots__ = ("t", "f", "g", "slope")

    def __init__(self, t: float, f: float, g: torch.Tensor, slope: float) -> None:
        self.t, self.f, self.g, self.slope = t, f, g, slope


def strong_wolfe(
    evaluate: Evaluate,
    direction: torch.Tensor,
    t: float,
    loss: float,
    grad: torch.Tensor,
    slope: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, torch.Tensor, float, int]:
    """A step ``t`` along ``direction`` (shape (P,)) that satisfies the strong Wolfe conditions.

    ``loss``, ``grad`` (shape (P,)) and ``slope = grad·direction < 0`` are at ``t = 0``; ``t`` is the
    first trial step. Bracketing (Alg. 3.5) extrapolates until the loss rises or the slope turns
    non-negative, then zoom (Alg. 3.6) shrinks the bracket by cubic interpolation (eq. 3.59),
    safeguarded: bisection when the cubic has no minimiser inside the bracket, and never within
    1 % of an end. Returns
    ``(loss, grad, t, evaluations)`` of the accepted point, or of the lowest point found when
    ``max_ls`` evaluations or a bracket narrower than ``tolerance_change`` end the search first.
    """
    if slope >= 0:
        raise ValueError(f"direction must be a descent direction (grad·d < 0), got {slope}")
    scale = float(direction.abs().max())
    start = _Point(0.0, float(loss), grad, float(slope))
    evals = 0

    def trial(step: float) -> _Point:
        nonlocal evals
        evals += 1
        f, g = evaluate(step)
        return _Point(step, float(f), g, float(g.dot(direction)))

    def decreases_enough(p: _Point) -> bool:
        return p.f <= start.f + c1 * p.t * start.slope

    def curvature_ok(p: _Point) -> bool:
        return abs(p.slope) <= -c2 * start.slope

    def zoom(lo: _Point, hi: _Point) -> _Point:
        # lo: lowest loss so far with sufficient decrease; the minimiser lies between lo and hi.
        while evals < max_ls and abs(hi.t - lo.t) * scale > tolerance_change:
            left, right = min(lo.t, hi.t), max(lo.t, hi.t)
            margin = 0.01 * (right - left)
            step = cubic_minimizer(lo.t, lo.f, lo.slope, hi.t, hi.f, hi.slope)
            if step is None or not left < step < right:
                step = 0.5 * (left + right)
            step = min(max(step, left + margin), right - margin)  # always shrink by >= 1 %
            new = trial(step)
            if not decreases_enough(new) or new.f >= lo.f:
                hi = new
            else:
                if curvature_ok(new):
                    return new
                if new.slope * (hi.t - lo.t) >= 0:
                    hi = lo
                lo = new
        return lo

    prev = start
    while True:
        new = trial(t)
        if not decreases_enough(new) or (prev is not start and new.f >= prev.f):
            best = zoom(prev, new)
            break
        if curvature_ok(new):
            best = new
            break
        if new.slope >= 0:
            best = zoom(new, prev)
            break
        if evals >= max_ls:
            best = new
            break
        # Extrapolate: the cubic's minimiser, kept within [1.1 t, 10 t] (grow, but not wildly).
        guess = cubic_minimizer(prev.t, prev.f, prev.slope, new.t, new.f, new.slope)
        prev, t = new, min(max(guess if guess is not None else 2.0 * t, 1.1 * t), 10.0 * t)
    return best.f, best.g, best.t, evals
