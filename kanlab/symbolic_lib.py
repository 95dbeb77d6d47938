"""The symbolic function library and the affine fit y ≈ c·f(a·x + b) + d.

A trained KAN edge is a curve. When that curve *is* a known function up to an affine change of
input and output, we can snap the edge to it. This module holds the library of named functions
(each with a torch form for training and a sympy form for formulas) and the robust fit that
measures how well one of them explains an edge. Snapping a model's edges and reading its
formula is ``kanlab.symbolic``. Introduced in 07_interpretability.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

_EPS = 1e-4  # distance kept from singularities so training stays finite
_EXP_MAX = 50.0  # exp argument clamp: exp(50) ≈ 5e21 is finite in float32 and float64
Affine = tuple[float, float, float, float]  # (a, b, c, d) in c·f(a·x + b) + d


@dataclass(frozen=True)
class SymbolicFunction:
    """A named function f with its torch form, sympy form and complexity.

    ``torch_fn`` must be safe (finite values and gradients everywhere, guarded near
    singularities); it equals ``sympy_fn`` wherever the latter is real and finite.
    ``canonical(a, b, c, d)`` optionally maps affine parameters to an equivalent, tidier set
    (c·f(a·x + b) + d unchanged), e.g. sin(πx) rather than -sin(-πx), or exp(x) rather than
    e^{-3}·exp(x + 3); it is what makes snapped formulas read cleanly.
    """

    name: str
    torch_fn: Callable[[torch.Tensor], torch.Tensor]
    sympy_fn: Callable[[Any], Any]
    complexity: float
    canonical: Callable[[float, float, float, float], Affine] | None = None

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate f elementwise on a tensor of any shape."""
        return self.torch_fn(x)

    def sympy(self, u: Any) -> Any:
        """Return the sympy expression f(u)."""
        return self.sympy_fn(u)

    def __repr__(self) -> str:
        return f"SymbolicFunction({self.name!r}, complexity={self.complexity})"


def _odd(a: float, b: float, c: float, d: float) -> Affine:
    """f(-u) = -f(u): make a > 0."""
    return (-a, -b, -c, d) if a < 0 else (a, b, c, d)


def _even(a: float, b: float, c: float, d: float) -> Affine:
    """f(-u) = f(u): make a > 0."""
    return (-a, -b, c, d) if a < 0 else (a, b, c, d)


def _power(p: float, parity: Callable | None) -> Callable:
    """f(a·u) = a^p·f(u) for a > 0: absorb a into c, so a = 1."""

    def canon(a: float, b: float, c: float, d: float) -> Affine:
        if parity is not None:
            a, b, c, d = parity(a, b, c, d)
        return (1.0, b / a, c * a**p, d) if a > 0 else (a, b, c, d)

    return canon


def _shift_gain(a: float, b: float, c: float, d: float) -> Affine:
    """c·exp(u + b) = sign(c)·exp(u + b + log|c|): absorb |c| into b, so c = ±1.

    (Absorbing b into c instead leaves c tiny when the exponent is large, e.g. 1e-8·exp(18 + ...),
    and retraining the snapped edge then stalls on the badly scaled parameters.)
    """
    return (a, b + math.log(abs(c)), math.copysign(1.0, c), d) if c != 0 else (a, b, c, d)


def _sinusoid(parity: Callable) -> Callable:
    """f(-u) = ±f(u) and f(u + π) = -f(u): make a > 0 and |b| <= π/2."""

    def canon(a: float, b: float, c: float, d: float) -> Affine:
        a, b, c, d = parity(a, b, c, d)
        m = round(b / math.pi)
        return a, b - m * math.pi, c * (-1.0) ** m, d

    return canon


def _tan_canon(a: float, b: float, c: float, d: float) -> Affine:
    """tan is odd with period π."""
    a, b, c, d = _odd(a, b, c, d)
    return a, b - round(b / math.pi) * math.pi, c, d


def _arccos_canon(a: float, b: float, c: float, d: float) -> Affine:
    """arccos(-u) = π - arccos(u): make a > 0."""
    return (-a, -b, -c, d + c * math.pi) if a < 0 else (a, b, c, d)


def _sign(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


def _away_from_zero(x: torch.Tensor) -> torch.Tensor:
    return _sign(x) * torch.clamp(x.abs(), min=_EPS)


def _safe_tan(x: torch.Tensor) -> torch.Tensor:
    return torch.sin(x) / _away_from_zero(torch.cos(x))


def _sp(name: str) -> Callable[[Any], Any]:
    """Lazy sympy lookup: ``_sp("sin")(u)`` imports sympy only when a formula is built."""

    def fn(u: Any) -> Any:
        import sympy

        return getattr(sympy, name)(u)

    return fn


def _build_library() -> dict[str, SymbolicFunction]:
    odd, even = _odd, _even
    entries = [
        SymbolicFunction("0", torch.zeros_like, lambda u: 0, 0),
        SymbolicFunction("x", lambda x: x, lambda u: u, 1, _power(1, odd)),
        SymbolicFunction("x^2", lambda x: x**2, lambda u: u**2, 2, _power(2, even)),
        SymbolicFunction("x^3", lambda x: x**3, lambda u: u**3, 3, _power(3, odd)),
        SymbolicFunction("x^4", lambda x: x**4, lambda u: u**4, 3, _power(4, even)),
        SymbolicFunction("1/x", lambda x: 1 / _away_from_zero(x), lambda u: 1 / u, 2,
                         _power(-1, odd)),
        SymbolicFunction("x^5", lambda x: x**5, lambda u: u**5, 3, _power(5, odd)),
        SymbolicFunction("1/x^2", lambda x: 1 / torch.clamp(x**2, min=_EPS**2), lambda u: u**-2, 2,
                         _power(-2, even)),
        SymbolicFunction("1/x^3", lambda x: 1 / _away_from_zero(x) ** 3, lambda u: u**-3, 3,
                         _power(-3, odd)),
        SymbolicFunction("1/x^4", lambda x: 1 / torch.clamp(x**2, min=_EPS**2) ** 2, lambda u: u**-4, 4,
                         _power(-4, even)),
        SymbolicFunction("1/x^5", lambda x: 1 / _away_from_zero(x) ** 5, lambda u: u**-5, 5,
                         _power(-5, odd)),
        SymbolicFunction("sqrt", lambda x: torch.sqrt(torch.clamp(x, min=_EPS)), _sp("sqrt"), 2,
                         _power(0.5, None)),
        SymbolicFunction("x^0.5", lambda x: torch.sqrt(torch.clamp(x, min=_EPS)), _sp("sqrt"), 2,
                         _power(0.5, None)),
        SymbolicFunction("x^1.5", lambda x: torch.clamp(x, min=_EPS) ** 1.5, lambda u: _sp("sqrt")(u) ** 3, 4,
                         _power(1.5, None)),
        SymbolicFunction("1/sqrt(x)", lambda x: torch.rsqrt(torch.clamp(x, min=_EPS)),
                         lambda u: 1 / _sp("sqrt")(u), 2, _power(-0.5, None)),
        SymbolicFunction("1/x^0.5", lambda x: torch.rsqrt(torch.clamp(x, min=_EPS)),
                         lambda u: 1 / _sp("sqrt")(u), 2, _power(-0.5, None)),
        SymbolicFunction("exp", lambda x: torch.exp(torch.clamp(x, max=_EXP_MAX)), _sp("exp"), 2,
                         _shift_gain),
        SymbolicFunction("log", lambda x: torch.log(torch.clamp(x, min=_EPS)), _sp("log"), 2),
        SymbolicFunction("sin", torch.sin, _sp("sin"), 2, _sinusoid(odd)),
        SymbolicFunction("cos", torch.cos, _sp("cos"), 2, _sinusoid(even)),
        SymbolicFunction("tan", _safe_tan, _sp("tan"), 3, _tan_canon),
        SymbolicFunction("tanh", torch.tanh, _sp("tanh"), 3, odd),
        SymbolicFunction("abs", torch.abs, _sp("Abs"), 3, _power(1, even)),
        SymbolicFunction("sgn", torch.sign, _sp("sign"), 3, odd),
        SymbolicFunction("arctan", torch.arctan, _sp("atan"), 4, odd),
        SymbolicFunction("arctanh", lambda x: torch.arctanh(torch.clamp(x, -1 + _EPS, 1 - _EPS)),
                         _sp("atanh"), 4, odd),
        SymbolicFunction("arcsin", lambda x: torch.arcsin(torch.clamp(x, -1 + _EPS, 1 - _EPS)),
                         _sp("asin"), 4, odd),
        SymbolicFunction("arccos", lambda x: torch.arccos(torch.clamp(x, -1 + _EPS, 1 - _EPS)),
                         _sp("acos"), 4, _arccos_canon),
        SymbolicFunction("gaussian", lambda x: torch.exp(-(x**2)), lambda u: _sp("exp")(-(u**2)), 3,
                         even),
    ]
    return {f.name: f for f in entries}


SYMBOLIC_LIB: dict[str, SymbolicFunction] = _build_library()
"""Name -> SymbolicFunction. Extend it with :func:`add_symbolic`."""


def add_symbolic(
    name: str,
    torch_fn: Callable[[torch.Tensor], torch.Tensor],
    sympy_fn: Callable[[Any], Any],
    complexity: float,
    *,
    canonical: Callable[[float, float, float, float], tuple] | None = None,
    overwrite: bool = False,
) -> SymbolicFunction:
    """Register a user function, e.g. ``add_symbolic("cosh", torch.cosh, sympy.cosh, 3)``.

    ``torch_fn`` should be safe (finite everywhere); ``sympy_fn`` maps a sympy expression to
    one. Introduced in 07_interpretability.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    if not callable(torch_fn) or not callable(sympy_fn):
        raise ValueError("torch_fn and sympy_fn must be callables")
    if isinstance(complexity, bool) or not isinstance(complexity, (int, float)) or complexity < 0:
        raise ValueError(f"complexity must be a non-negative number, got {complexity!r}")
    if canonical is not None and not callable(canonical):
        raise ValueError("canonical must be None or a callable (a, b, c, d) -> (a, b, c, d)")
    if name in SYMBOLIC_LIB and not overwrite:
        raise ValueError(f"{name!r} is already in SYMBOLIC_LIB; pass overwrite=True to replace it")
    fn = SymbolicFunction(name, torch_fn, sympy_fn, complexity, canonical)
    SYMBOLIC_LIB[name] = fn
    return fn


def get_function(name: str | SymbolicFunction) -> SymbolicFunction:
    """Look up a library function by name (a SymbolicFunction passes through)."""
    if isinstance(name, SymbolicFunction):
        return name
    try:
        return SYMBOLIC_LIB[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown symbolic function {name!r}; known: {', '.join(SYMBOLIC_LIB)}"
        ) from None


def resolve_lib(
    lib: Iterable[str | SymbolicFunction] | Mapping[str, SymbolicFunction] | None,
) -> dict[str, SymbolicFunction]:
    """Turn ``None`` (whole library), a list of names or a dict into name -> SymbolicFunction."""
    if lib is None:
        return dict(SYMBOLIC_LIB)
    if isinstance(lib, Mapping):
        return {k: get_function(v) for k, v in lib.items()}
    if isinstance(lib, (str, SymbolicFunction)):
        lib = [lib]
    fns = [get_function(n) for n in lib]
    if not fns:
        raise ValueError("lib must name at least one function")
    return {f.name: f for f in fns}


def _r2_grid(fu: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared correlation of each candidate row fu[..., n] with y (n,); 0 where undefined."""
    fc = fu - fu.mean(-1, keepdim=True)
    yc = y - y.mean()
    cov = (fc * yc).mean(-1)
    var_f = (fc**2).mean(-1)
    var_y = (yc**2).mean()
    r2 = cov**2 / (var_f * var_y)
    ok = torch.isfinite(r2) & (var_f > 1e-24 * (1 + fu.abs().amax(-1) ** 2))
    return torch.where(ok, r2, torch.zeros_like(r2)).clamp(max=1.0)


def _linear(fx: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Least-squares c, d for y ≈ c·fx + d; c = 0 when fx is constant."""
    fc = fx - fx.mean()
    var_f = (fc**2).mean()
    if not torch.isfinite(var_f) or var_f <= 1e-24 * (1 + float(fx.abs().max()) ** 2):
        return 0.0, float(y.mean())
    c = (fc * (y - y.mean())).mean() / var_f
    return float(c), float(y.mean() - c * fx.mean())


def _polish(f: SymbolicFunction, x: torch.Tensor, y: torch.Tensor, p0: list[float]) -> list[float]:
    """A few LBFGS steps on all four of (a, b, c, d) from the grid solution; keep if better."""
    p = torch.tensor(p0, dtype=torch.float64, device="cpu", requires_grad=True)
    scale = float(y.var(unbiased=False)) or 1.0  # relative error, so tolerances mean the same

    def mse() -> torch.Tensor:
        return ((p[2] * f.torch(p[0] * x + p[1]) + p[3] - y) ** 2).mean() / scale

    with torch.no_grad():
        before = float(mse())
    opt = torch.optim.LBFGS(
        [p], lr=1.0, max_iter=40, max_eval=80, tolerance_grad=1e-14, tolerance_change=1e-18,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = mse()
        loss.backward()
        return loss

    try:
        opt.step(closure)
    except RuntimeError:  # pragma: no cover - a line search that hits inf/nan
        return p0
    with torch.no_grad():
        after = float(mse())
    return p.detach().tolist() if math.isfinite(after) and after < before else p0


def fit_affine(
    x: Any,
    y: Any,
    fn: str | SymbolicFunction,
    a_range: tuple[float, float] = (-10.0, 10.0),
    b_range: tuple[float, float] = (-10.0, 10.0),
    grid_number: int = 41,
    iterations: int = 3,
    max_points: int = 128,
    polish: bool = True,
) -> tuple[float, float, float, float, float]:
    """Fit y ≈ c·f(a·x + b) + d and return ``(a, b, c, d, r2)``.

    x, y: (n,) samples of one edge (input, output); any shape is flattened. A zooming grid
    search over (a, b) — the ranges refer to x rescaled to [-1, 1] — maximises the squared correlation between f(a·x + b) and y; c, d then
    come from least squares and, if ``polish``, LBFGS refines all four. Works in float64.
    Never raises on constant or degenerate data: a constant y gives c = 0, d = mean(y), R² = 1;
    an f that cannot explain y gives R² ≈ 0. Introduced in 07_interpretability.
    """
    f = get_function(fn)
    x = torch.as_tensor(x, device="cpu").detach().reshape(-1).to(torch.float64)
    y = torch.as_tensor(y, device="cpu").detach().reshape(-1).to(torch.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same size, got {x.numel()} and {y.numel()}")
    if grid_number < 3 or iterations < 1:
        raise ValueError("grid_number must be >= 3 and iterations >= 1")
    keep = torch.isfinite(x) & torch.isfinite(y)
    x, y = x[keep], y[keep]
    if x.numel() == 0:
        return 1.0, 0.0, 0.0, 0.0, 0.0
    y_scale = float(y.abs().max())
    if float(y.std(unbiased=False)) <= 1e-12 * (1.0 + y_scale):  # a constant edge
        return 1.0, 0.0, 0.0, float(y.mean()), 1.0
    step = max(1, math.ceil(x.numel() / max_points))
    # Search on the input rescaled to [-1, 1], so the ranges fit any edge's input scale.
    center, half = float(x.max() + x.min()) / 2, float(x.max() - x.min()) / 2
    half = half if half > 1e-12 * (1.0 + abs(center)) else 1.0
    xs, ys = (x[::step] - center) / half, y[::step]
    (a_lo, a_hi), (b_lo, b_hi) = a_range, b_range
    with torch.no_grad():
        for _ in range(iterations):
            a_grid = torch.linspace(a_lo, a_hi, grid_number, dtype=torch.float64, device="cpu")
            b_grid = torch.linspace(b_lo, b_hi, grid_number, dtype=torch.float64, device="cpu")
            fu = f.torch(a_grid[:, None, None] * xs + b_grid[None, :, None])
            r2 = _r2_grid(fu, ys)
            best = int(torch.argmax(r2))
            ia, ib = divmod(best, grid_number)
            da, db = (a_hi - a_lo) / (grid_number - 1), (b_hi - b_lo) / (grid_number - 1)
            a, b = float(a_grid[ia]), float(b_grid[ib])
            a_lo, a_hi, b_lo, b_hi = a - da, a + da, b - db, b + db
        a, b = a / half, b - a * center / half  # back to the original input
        c, d = _linear(f.torch(a * x + b), y)
    if polish and c != 0.0:
        a, b, c, d = _polish(f, x, y, [a, b, c, d])
    if f.canonical is not None:
        a, b, c, d = f.canonical(a, b, c, d)
    with torch.no_grad():
        res = ((c * f.torch(a * x + b) + d - y) ** 2).sum()
        tot = ((y - y.mean()) ** 2).sum()
        r2 = float(1 - res / tot)
    return a, b, c, d, (max(r2, 0.0) if math.isfinite(r2) else 0.0)
