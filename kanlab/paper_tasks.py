"""The KAN paper's fitting tasks as named, generated-in-code datasets (nothing is downloaded).

Liu et al., "KAN: Kolmogorov–Arnold Networks", arXiv:2404.19756:

* ``SPECIAL_FUNCTIONS``: the 15 bivariate special functions of Section 3.2, Table 2 ("Special
  functions"; numbered Table 1 in arXiv v1), evaluated with ``scipy.special``; each task's
  ``width`` is the table's column "Minimal KAN shape (test RMSE < 1e-2)".
* ``FEYNMAN``: the 27 equations of Section 3.3, Table 3 ("Feynman dataset"; Table 2 in v1) in
  the table's column "Dimensionless formula"; ``width`` is its column "Pruned KAN shape (smallest
  shape that achieves RMSE < 1e-2)".
* ``COMPOSITIONS``: functions whose KAN is known exactly (Section 3.1): exp(sin πx + y²) on
  [2, 1, 1], the 4-variable formula on [4, 2, 1, 1], and three more [n, 1, 1] compositions
  f(g₁(x₁) + … + gₙ(xₙ)) of smooth functions added here (marked ``source="kanlab"``).

Input ranges. The paper states no per-task ranges (Section 3.3 samples its example from
(−1, 1)). Here: variables free of constraints use [−1, 1]; angles use [0, 2π] (polar angles
[0, π]); positive or bounded quantities use the ranges pykan's ``kan/feynman.py`` gives the
corresponding dimensional variables; special functions use ranges on which scipy returns
finite values of order one (each task's docstring-like ``note`` says why). Every function
maps x (batch, n_var) to y (batch, 1). Introduced in 06_function_fitting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from kanlab.datasets import create_dataset, deep_formula_4d, exp_sin_xy

Function = Callable[[torch.Tensor], torch.Tensor]
TWO_PI = 2 * math.pi


@dataclass(frozen=True)
class PaperTask:
    """One fitting task: target ``fn``, sampling ``ranges`` (one (lo, hi) per variable), KAN ``width``.

    ``source``: where it comes from (paper table and row, or "kanlab"); ``formula`` and
    ``variables``: how the paper writes it; ``note``: why these ranges.
    """

    name: str
    fn: Function
    ranges: tuple[tuple[float, float], ...]
    width: tuple[int, ...]
    formula: str
    variables: tuple[str, ...]
    source: str
    note: str = ""

    @property
    def n_var(self) -> int:
        return len(self.ranges)

    @property
    def is_composition(self) -> bool:
        """True for a [n, 1, 1] width: one hidden node, the f(Σ gᵢ(xᵢ)) structure."""
        return len(self.width) == 3 and self.width[1] == 1 and self.width[2] == 1

    def dataset(self, n_train: int = 1000, n_test: int = 1000, seed: int = 0, **kwargs) -> dict[str, torch.Tensor]:
        """``create_dataset`` on this task's ranges (kwargs: dtype, device, normalize_input, ...)."""
        return create_dataset(self.fn, self.n_var, [list(r) for r in self.ranges], n_train=n_train,
                              n_test=n_test, seed=seed, **kwargs)


def _cols(x: torch.Tensor) -> list[torch.Tensor]:
    return [x[:, [i]] for i in range(x.shape[1])]


def _scipy(fn: Callable[..., np.ndarray]) -> Function:
    """Wrap ``fn(*columns) -> ndarray`` (float64 numpy) as a torch function in x's dtype and device."""

    def wrapped(x: torch.Tensor) -> torch.Tensor:
        cols = [c.detach().cpu().double().numpy()[:, 0] for c in _cols(x)]
        y = np.asarray(fn(*cols), dtype=np.float64)
        return torch.as_tensor(y, dtype=x.dtype, device=x.device).reshape(-1, 1)

    wrapped.__name__ = getattr(fn, "__name__", "special")
    return wrapped


def _special_tasks() -> dict[str, PaperTask]:
    from scipy import special as sp

    src = "arXiv:2404.19756 Section 3.2, Table 2 (Table 1 in v1)"
    elliptic = ((-1.0, 1.0), (0.0, 1.0))
    bessel = ((0.0, 1.0), (0.5, 2.0))
    legendre = ((0.0, 1.0), (-0.9, 0.9))
    sphere = ((0.0, TWO_PI), (0.0, math.pi))
    why_elliptic = "x: argument in [-1, 1]; y: parameter m in [0, 1], where scipy is real"
    why_bessel = "x: order in [0, 1]; y: argument in [0.5, 2] (Y and K diverge at 0, J_v(y) ~ y^v is not smooth there)"
    why_legendre = "x: degree in [0, 1]; y: argument in [-0.9, 0.9] (non-integer degrees diverge at -1)"
    why_sphere = "x: azimuth in [0, 2pi]; y: polar angle in [0, pi]; the real part (scipy's sph_harm(m, n, x, y).real)"
    rows = [
        ("ellipj", lambda x, y: sp.ellipj(x, y)[0], elliptic, (2, 2, 1), "sn(x | y), first output of ellipj(x, y)", why_elliptic),
        ("ellipkinc", sp.ellipkinc, elliptic, (2, 2, 1, 1), "F(x | y) = ellipkinc(x, y)", why_elliptic),
        ("ellipeinc", sp.ellipeinc, elliptic, (2, 2, 1, 1), "E(x | y) = ellipeinc(x, y)", why_elliptic),
        ("jv", sp.jv, bessel, (2, 2, 1), "J_x(y) = jv(x, y)", why_bessel),
        ("yv", sp.yv, bessel, (2, 3, 1), "Y_x(y) = yv(x, y)", why_bessel),
        ("kv", sp.kv, bessel, (2, 1, 1), "K_x(y) = kv(x, y)", why_bessel),
        ("iv", sp.iv, bessel, (2, 4, 3, 2, 1, 1), "I_x(y) = iv(x, y)", why_bessel),
    ]
    for m, width in ((0, (2, 2, 1)), (1, (2, 4, 1)), (2, (2, 2, 1))):
        rows.append((f"lpmv_m{m}", lambda x, y, m=m: sp.lpmv(m, x, y), legendre, width,
                     f"P_x^{m}(y) = lpmv({m}, x, y)", why_legendre))
    for m, n, width in ((0, 1, (2, 1, 1)), (1, 1, (2, 2, 1)), (0, 2, (2, 1, 1)), (1, 2, (2, 2, 1)), (2, 2, (2, 2, 1))):
        # scipy >= 1.15 spells sph_harm(m, n, azimuth, polar) as sph_harm_y(n, m, polar, azimuth)
        rows.append((f"sph_harm_m{m}_n{n}", lambda x, y, m=m, n=n: sp.sph_harm_y(n, m, y, x).real, sphere, width,
                     f"Re Y_{n}^{m}(azimuth x, polar y) = sph_harm({m}, {n}, x, y).real", why_sphere))
    return {name: PaperTask(name, _scipy(fn), ranges, width, formula, ("x", "y"), src, note)
            for name, fn, ranges, width, formula, note in rows}


def _feynman_tasks() -> dict[str, PaperTask]:
    src = "arXiv:2404.19756 Section 3.3, Table 3 (Table 2 in v1)"
    f = torch
    sym = (-1.0, 1.0)
    angle = (0.0, TWO_PI)
    # (name, function of columns, variables, ranges, minimal pruned shape, dimensionless formula)
    rows = [
        ("I.6.2", lambda t, s: f.exp(-t**2 / (2 * s**2)) / f.sqrt(TWO_PI * s**2), ("θ", "σ"),
         (sym, (0.5, 2.0)), (2, 2, 1), "exp(-θ²/(2σ²))/sqrt(2πσ²)"),
        ("I.6.2b", lambda t, t1, s: f.exp(-(t - t1)**2 / (2 * s**2)) / f.sqrt(TWO_PI * s**2), ("θ", "θ1", "σ"),
         ((-1.5, 1.5), (-1.5, 1.5), (0.5, 2.0)), (3, 4, 1), "exp(-(θ-θ1)²/(2σ²))/sqrt(2πσ²)"),
        ("I.9.18", lambda a, b, c, d, e, g: a / ((b - 1)**2 + (c - d)**2 + (e - g)**2), ("a", "b", "c", "d", "e", "f"),
         (sym, (-1.0, -0.5), (-1.0, -0.5), (0.5, 1.0), (-1.0, -0.5), (0.5, 1.0)), (6, 4, 1, 1),
         "a/((b-1)² + (c-d)² + (e-f)²)"),
        ("I.12.11", lambda a, t: 1 + a * f.sin(t), ("a", "θ"), (sym, angle), (2, 2, 1), "1 + a sin θ"),
        ("I.13.12", lambda a, b: a * (1 / b - 1), ("a", "b"), ((0.0, 1.0), (0.5, 2.0)), (2, 2, 1), "a(1/b - 1)"),
        ("I.15.3x", lambda a, b: (1 - a) / f.sqrt(1 - b**2), ("a", "b"), (sym, (-0.9, 0.9)), (2, 1, 1),
         "(1 - a)/sqrt(1 - b²)"),
        ("I.16.6", lambda a, b: (a + b) / (1 + a * b), ("a", "b"), ((-0.8, 0.8), (-0.8, 0.8)), (2, 2, 1),
         "(a + b)/(1 + ab)"),
        ("I.18.4", lambda a, b: (1 + a * b) / (1 + a), ("a", "b"), ((0.5, 2.0), sym), (2, 2, 1), "(1 + ab)/(1 + a)"),
        ("I.26.2", lambda n, t: f.arcsin(n * f.sin(t)), ("n", "θ2"), ((0.0, 0.99), angle), (2, 2, 1),
         "arcsin(n sin θ2)"),
        ("I.27.6", lambda a, b: 1 / (1 + a * b), ("a", "b"), ((0.5, 2.0), (0.5, 2.0)), (2, 1, 1), "1/(1 + ab)"),
        ("I.29.16", lambda a, t1, t2: f.sqrt(1 + a**2 - 2 * a * f.cos(t1 - t2)), ("a", "θ1", "θ2"),
         ((0.0, 1.0), angle, angle), (3, 2, 2, 1), "sqrt(1 + a² - 2a cos(θ1 - θ2))"),
        ("I.30.3", lambda n, t: f.sin(n * t / 2)**2 / f.sin(t / 2)**2, ("n", "θ"),
         ((0.0, 4.0), (0.4 * math.pi, 1.6 * math.pi)), (2, 4, 3, 1), "sin²(nθ/2)/sin²(θ/2)"),
        ("I.30.5", lambda a, n: f.arcsin(a / n), ("a", "n"), (sym, (1.0, 1.5)), (2, 1, 1), "arcsin(a/n)"),
        ("I.37.4", lambda a, d: 1 + a + 2 * f.sqrt(a) * f.cos(d), ("a", "δ"), ((0.1, 1.0), angle), (2, 2, 1),
         "1 + a + 2 sqrt(a) cos δ"),
        ("I.40.1", lambda n0, a: n0 * f.exp(-a), ("n0", "a"), ((0.0, 1.0), sym), (2, 2, 1), "n0 exp(-a)"),
        ("I.44.4", lambda n, a: n * f.log(a), ("n", "a"), ((0.0, 1.0), (0.5, 2.0)), (2, 2, 1), "n ln a"),
        ("I.50.26", lambda a, al: f.cos(a) + al * f.cos(a)**2, ("a", "α"), (angle, (0.0, 1.0)), (2, 3, 1),
         "cos a + α cos² a"),
        ("II.2.42", lambda a, b: (a - 1) * b, ("a", "b"), (sym, sym), (2, 2, 1), "(a - 1)b"),
        ("II.6.15a", lambda a, b, c: c / (4 * math.pi) * f.sqrt(a**2 + b**2), ("a", "b", "c"),
         ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)), (3, 2, 1, 1), "c sqrt(a² + b²)/(4π)"),
        ("II.11.7", lambda n0, a, t: n0 * (1 + a * f.cos(t)), ("n0", "a", "θ"), ((0.0, 1.0), sym, angle), (3, 3, 1, 1),
         "n0(1 + a cos θ)"),
        ("II.11.27", lambda n, al: n * al / (1 - n * al / 3), ("n", "α"), (sym, sym), (2, 1, 1), "nα/(1 - nα/3)"),
        ("II.35.18", lambda n0, a: n0 / (f.exp(a) + f.exp(-a)), ("n0", "a"), ((0.0, 1.0), sym), (2, 1, 1),
         "n0/(exp(a) + exp(-a))"),
        ("II.36.38", lambda a, al, b: a + al * b, ("a", "α", "b"), (sym, sym, sym), (3, 2, 1), "a + αb"),
        ("II.38.3", lambda a, b: a / b, ("a", "b"), ((0.0, 1.0), (0.5, 2.0)), (2, 1, 1), "a/b"),
        ("III.9.52", lambda a, b, c: a * f.sinc((b - c) / (2 * math.pi))**2, ("a", "b", "c"),
         ((0.0, 1.0), angle, angle), (3, 3, 2, 1), "a sin²((b-c)/2)/((b-c)/2)²"),
        ("III.10.19", lambda a, b: f.sqrt(1 + a**2 + b**2), ("a", "b"), (sym, sym), (2, 1, 1), "sqrt(1 + a² + b²)"),
        ("III.17.37", lambda al, be, t: be * (1 + al * f.cos(t)), ("α", "β", "θ"), (sym, sym, angle), (3, 3, 1),
         "β(1 + α cos θ)"),
    ]
    tasks = {}
    for name, fn, variables, ranges, width, formula in rows:
        tasks[name] = PaperTask(name, lambda x, fn=fn: fn(*_cols(x)), ranges, width, formula, variables, src,
                                "ranges: [-1, 1] if unconstrained, [0, 2π] for angles, else pykan's feynman.py")
    return tasks


def _exp_sin_minus_y2(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(math.pi * x[:, [0]]) - x[:, [1]] ** 2)


def _tanh_sum3(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(torch.sin(math.pi * x[:, [0]]) + x[:, [1]] ** 2 + x[:, [2]] ** 3)


def _exp_sum4(x: torch.Tensor) -> torch.Tensor:
    inner = torch.sin(math.pi * x[:, [0]]) + x[:, [1]] ** 2 + x[:, [2]] ** 3 + torch.cos(math.pi * x[:, [3]])
    return torch.exp(inner / 2)


def _composition_tasks() -> dict[str, PaperTask]:
    sec31 = "arXiv:2404.19756 Section 3.1 (toy datasets)"
    box = (-1.0, 1.0)
    rows = [
        ("exp_sin_xy", exp_sin_xy, 2, (2, 1, 1), "exp(sin πx + y²)", sec31),
        ("exp_sin_x_minus_y2", _exp_sin_minus_y2, 2, (2, 1, 1), "exp(sin πx - y²)", "kanlab"),
        ("tanh_sum3", _tanh_sum3, 3, (3, 1, 1), "tanh(sin πx + y² + z³)", "kanlab"),
        ("exp_sum4", _exp_sum4, 4, (4, 1, 1), "exp((sin πx1 + x2² + x3³ + cos πx4)/2)", "kanlab"),
        ("deep_formula_4d", deep_formula_4d, 4, (4, 2, 1, 1), "exp((sin π(x1²+x2²) + sin π(x3²+x4²))/2)", sec31),
    ]
    return {name: PaperTask(name, fn, (box,) * n, width, formula, tuple(f"x{i + 1}" for i in range(n)), source)
            for name, fn, n, width, formula, source in rows}


SPECIAL_FUNCTIONS: dict[str, PaperTask] = _special_tasks()
FEYNMAN: dict[str, PaperTask] = _feynman_tasks()
COMPOSITIONS: dict[str, PaperTask] = _composition_tasks()
PAPER_TASKS: dict[str, PaperTask] = {**SPECIAL_FUNCTIONS, **FEYNMAN, **COMPOSITIONS}


def get_task(name: str) -> PaperTask:
    """The task called ``name`` (a key of ``PAPER_TASKS``), or a ValueError listing the names."""
    try:
        return PAPER_TASKS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(PAPER_TASKS)}") from None
