"""Test laws and checking a recovered formula against them (10_discovering_laws).

``FEYNMAN_LAWS`` holds the laws of the notebook and ``benchmarks/discover_laws.py``, each with a
distractor input. ``round_constants`` rounds a formula's constants after pulling scales out of
powers of sums (so how a network split a constant does not matter), and ``equivalent`` asks
sympy whether a formula is the law and measures the two on points. ``kanlab.discovery`` uses them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

Fn = Callable[[torch.Tensor], torch.Tensor]


def sample_points(ranges: Sequence[Sequence[float]], n: int = 400, seed: int = 0,
                  dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """n points uniform in the box ``ranges`` (one (lo, hi) per input): (n, len(ranges)), on the CPU
    (the seeded CPU generator makes them the same on every machine)."""
    g = torch.Generator().manual_seed(seed)
    lo = torch.tensor([r[0] for r in ranges], dtype=dtype, device="cpu")
    hi = torch.tensor([r[1] for r in ranges], dtype=dtype, device="cpu")
    return lo + (hi - lo) * torch.rand(n, len(ranges), generator=g, dtype=dtype, device="cpu")


def _pull_out_scale(expr: Any) -> Any:
    """(k·u)^p = k^p·u^p for every power of a sum (k = its largest |coefficient|), so constants
    that differ only by where a scale sits inside a power compare equal after rounding."""
    import sympy

    def norm(e: Any) -> Any:
        coeffs = [abs(float(c)) for c in e.base.as_coefficients_dict().values() if c.is_number]
        k = max(coeffs, default=0.0)
        if k == 0.0 or not math.isfinite(k) or k == 1.0:
            return e
        return sympy.Float(k) ** e.exp * sympy.Pow(sympy.expand(e.base / k), e.exp)

    return expr.replace(lambda e: isinstance(e, sympy.Pow) and isinstance(e.base, sympy.Add)
                        and e.exp.is_number, norm)


def round_constants(expr: Any, digits: int = 4) -> Any:
    """Round every float in ``expr`` to ``digits`` decimals, as exact rationals (0 drops the term).

    Scales inside powers of sums are pulled out first and the expression is expanded, so the
    rounding acts on the law's own constants, not on how the network split them.
    """
    import sympy

    for _ in range(2):
        expr = sympy.expand(_pull_out_scale(sympy.expand(expr)))
        reps = {f: sympy.Rational(str(round(float(f), digits))) for f in expr.atoms(sympy.Float)}
        expr = expr.xreplace(reps)
    # simplify is slow on big expressions (a formula that is not the law): only tidy small ones
    return sympy.simplify(expr) if sympy.count_ops(expr) <= 60 else expr


def equivalent(found: Any, truth: Any, symbols: Sequence[Any], x: torch.Tensor) -> tuple[bool, float]:
    """(sympy proves ``found == truth``, max relative difference of the two on the points x).

    The symbolic check tries ``simplify(found - truth)``, then the same after rewriting inverse
    hyperbolic functions as logs and hyperbolic ones as exponentials (tanh(atanh u + atanh v) is
    (u + v)/(1 + uv)).
    """
    import sympy

    cols = [x[:, n].numpy() for n in range(x.shape[1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = sympy.lambdify(symbols, found, "numpy")(*cols)
        b = sympy.lambdify(symbols, truth, "numpy")(*cols)
    a = torch.as_tensor(a, dtype=torch.float64, device="cpu").expand(x.shape[0])  # NumPy values: CPU
    b = torch.as_tensor(b, dtype=torch.float64, device="cpu").expand(x.shape[0])
    rel = float(((a - b).abs() / b.abs().clamp(min=1e-12)).max())
    rel = rel if math.isfinite(rel) else math.inf
    if rel > 1e-6:  # numerically different: no need to ask sympy (which can take minutes)
        return False, rel
    diff = sympy.sympify(found) - sympy.sympify(truth)
    for form in (diff, diff.rewrite(sympy.log).rewrite(sympy.exp)):
        try:
            if sympy.simplify(form) == 0:
                return True, rel
        except (TypeError, ValueError, RecursionError):  # sympy gives up on some forms
            continue
    return False, rel


@dataclass(frozen=True)
class Law:
    """A test law: ``f`` on inputs named ``names`` sampled in ``ranges``; ``truth`` its sympy form.

    One input of each law is a distractor the law does not use (attribution should drop it).
    """

    name: str
    feynman: str
    f: Fn
    ranges: tuple[tuple[float, float], ...]
    names: tuple[str, ...]
    truth: str
    outside: tuple[tuple[float, float], ...] = ()
    """A wider box, inside the law's physical domain, for the check outside the training range."""

    @property
    def symbols(self) -> list[Any]:
        import sympy

        return [sympy.Symbol(s) for s in self.names]

    def truth_expr(self) -> Any:
        import sympy

        return sympy.sympify(self.truth, locals={s.name: s for s in self.symbols})

    def check(self, found: Any, outside: bool = False, seed: int = 99) -> tuple[bool, float]:
        """``equivalent(found, truth)`` on fresh points of the training box (or of ``outside``)."""
        ranges = self.outside if outside else self.ranges
        return equivalent(found, self.truth_expr(), self.symbols, sample_points(ranges, seed=seed))


def _col(x: torch.Tensor, i: int) -> torch.Tensor:
    return x[:, i]


FEYNMAN_LAWS: dict[str, Law] = {
    law.name: law
    for law in (
        Law("velocity_addition", "I.16.6 (c = 1)",
            lambda x: ((_col(x, 0) + _col(x, 1)) / (1 + _col(x, 0) * _col(x, 1)))[:, None],
            ((-0.9, 0.9), (-0.9, 0.9), (-1.0, 1.0)), ("u", "v", "w"), "(u + v)/(1 + u*v)",
            ((-0.999, 0.999), (-0.999, 0.999), (-2.0, 2.0))),
        Law("inverse_square", "I.9.18 (G = 1, one distance)",
            lambda x: (_col(x, 0) * _col(x, 1) / _col(x, 2) ** 2)[:, None],
            ((0.5, 2.0), (0.5, 2.0), (0.5, 2.0), (0.5, 2.0)), ("m_1", "m_2", "r", "T"), "m_1*m_2/r**2",
            ((0.1, 10.0), (0.1, 10.0), (0.1, 10.0), (0.1, 10.0))),
        Law("doppler", "I.34.10",
            lambda x: (_col(x, 0) / (1 - _col(x, 1) / _col(x, 2)))[:, None],
            ((1.0, 2.0), (0.0, 1.0), (2.0, 4.0), (0.5, 2.0)), ("omega_0", "v", "c", "T"), "omega_0/(1 - v/c)",
            ((0.1, 10.0), (-3.0, 1.9), (2.0, 8.0), (0.1, 10.0))),
        Law("relativistic_mass", "I.10.7",
            lambda x: (_col(x, 0) / torch.sqrt(1 - (_col(x, 1) / _col(x, 2)) ** 2))[:, None],
            ((1.0, 2.0), (0.0, 0.9), (1.0, 2.0), (0.5, 2.0)), ("m_0", "v", "c", "T"), "m_0/sqrt(1 - v**2/c**2)",
            ((0.1, 10.0), (-1.9, 1.9), (2.0, 4.0), (0.1, 10.0))),
    )
}
"""The laws of 10_discovering_laws and ``benchmarks/discover_laws.py``; relativistic mass is the
case the pipeline gets wrong (a two-edge chain whose inner edge is not identifiable)."""
