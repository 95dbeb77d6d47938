# ruff: noqa: E741  -- `l` is the layer index in the paper's (l, i, j) edge notation
"""Snapping a KAN's edges to formulas, and reading the whole network as one equation.

For an edge (l, i, j) — layer l, from input i to output j — ``suggest_symbolic`` ranks the
library's functions by how well ``c·f(a·x + b) + d`` matches the edge's spline and how simple f
is; ``fix_symbolic`` snaps the edge (its a, b, c, d stay trainable); ``auto_symbolic`` snaps
every edge that fits well enough; ``formula`` composes the snapped edges into a sympy
expression that equals the model's forward pass. The library itself and the affine fit live in
``kanlab.symbolic_lib`` and are re-exported here. Introduced in 07_interpretability.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from kanlab.symbolic_lib import (
    SYMBOLIC_LIB,
    SymbolicFunction,
    add_symbolic,
    fit_affine,
    get_function,
    resolve_lib,
)

__all__ = [
    "SYMBOLIC_LIB", "SymbolicFunction", "SymbolicFit", "add_symbolic", "auto_symbolic",
    "edge_samples", "fit_affine", "fix_symbolic", "formula", "get_function", "resolve_lib",
    "suggest_symbolic", "unfix_symbolic",
]


@dataclass(frozen=True)
class SymbolicFit:
    """One candidate for an edge: ``c·name(a·x + b) + d`` with its R², complexity and score.

    Lower ``score`` is better: ``(1 - w)·log2(1 + 1e-5 - R²) + w·complexity`` (w = weight_simple).
    """

    name: str
    r2: float
    complexity: float
    score: float
    affine: tuple[float, float, float, float]

    def __repr__(self) -> str:
        a, b, c, d = (round(v, 4) for v in self.affine)
        return (f"SymbolicFit({self.name!r}, r2={self.r2:.6f}, complexity={self.complexity}, "
                f"affine=(a={a}, b={b}, c={c}, d={d}))")


def _check_edge(model: Any, l: int, i: int, j: int) -> Any:
    if not 0 <= l < len(model.layers):
        raise IndexError(f"layer l={l} is outside the model: l in [0, {len(model.layers)})")
    layer = model.layers[l]
    if not (0 <= i < layer.in_dim and 0 <= j < layer.out_dim):
        raise IndexError(
            f"edge (i={i}, j={j}) is outside layer {l}: "
            f"i in [0, {layer.in_dim}), j in [0, {layer.out_dim})"
        )
    return layer


@torch.no_grad()
def edge_samples(
    model: Any, l: int, i: int, j: int, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge (l, i, j)'s spline on inputs x (batch, width[0]): its input and output, (batch,) each.

    The spline part is used even if the edge is already symbolic, so an edge can be re-snapped.
    """
    from kanlab.base_functions import BASE_FUNCTIONS

    layer = _check_edge(model, l, i, j)
    h = model.layer_inputs(x)[l]
    xi = h[:, i]
    base = BASE_FUNCTIONS[layer.base_fn](xi)
    spline = layer.spline_part(h)[:, j, i]
    return xi, layer.scale_base[j, i] * base + layer.scale_sp[j, i] * spline


def _score(r2: float, complexity: float, weight_simple: float) -> float:
    return (1 - weight_simple) * math.log2(1 + 1e-5 - min(r2, 1.0)) + weight_simple * complexity


def suggest_symbolic(
    model: Any,
    l: int,
    i: int,
    j: int,
    x: torch.Tensor,
    lib: Iterable[str] | Mapping[str, SymbolicFunction] | None = None,
    top_k: int = 5,
    weight_simple: float = 0.8,
) -> list[SymbolicFit]:
    """Rank library functions for edge (l, i, j) of ``model`` on inputs x (batch, width[0]).

    Every candidate is fitted with :func:`fit_affine` (a fast grid pass), the best ``top_k`` are
    polished and re-ranked by score (fit quality traded against complexity). Introduced in
    07_interpretability.
    """
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive int, got {top_k!r}")
    if not 0.0 <= weight_simple <= 1.0:
        raise ValueError(f"weight_simple must lie in [0, 1], got {weight_simple!r}")
    xi, yi = edge_samples(model, l, i, j, x)
    fns = list(resolve_lib(lib).values())

    def rank(polish: bool, candidates: list[SymbolicFunction]) -> list[SymbolicFit]:
        fits = []
        for f in candidates:
            a, b, c, d, r2 = fit_affine(xi, yi, f, polish=polish)
            score = _score(r2, f.complexity, weight_simple)
            fits.append(SymbolicFit(f.name, r2, f.complexity, score, (a, b, c, d)))
        order = sorted(range(len(fits)), key=lambda n: (round(fits[n].score, 3), n))
        return [fits[n] for n in order]

    rough = rank(False, fns)[:top_k]
    return rank(True, [get_function(s.name) for s in rough])


def fix_symbolic(
    model: Any,
    l: int,
    i: int,
    j: int,
    name: str,
    x: torch.Tensor | None = None,
    fit_params: bool = True,
) -> float | None:
    """Snap edge (l, i, j) to ``c·name(a·x + b) + d``; returns the fit's R² (None if not fitted).

    With ``fit_params`` the affine parameters are fitted to the edge's spline on inputs x;
    otherwise they start at (a, b, c, d) = (1, 0, 1, 0). Either way they stay trainable.
    """
    layer = _check_edge(model, l, i, j)
    fn = get_function(name)
    if float(layer.mask[j, i]) == 0.0:
        raise ValueError(f"edge (l={l}, i={i}, j={j}) is pruned (mask 0); there is nothing to snap")
    if not fit_params:
        layer.set_symbolic(j, i, fn.name, (1.0, 0.0, 1.0, 0.0))
        return None
    if x is None:
        raise ValueError("x (training inputs, batch x width[0]) is needed to fit the parameters")
    a, b, c, d, r2 = fit_affine(*edge_samples(model, l, i, j, x), fn)
    layer.set_symbolic(j, i, fn.name, (a, b, c, d))
    return r2


def auto_symbolic(
    model: Any,
    x: torch.Tensor,
    lib: Iterable[str] | Mapping[str, SymbolicFunction] | None = None,
    r2_threshold: float = 0.99,
    weight_simple: float = 0.8,
    weak: str = "snap",
) -> list[dict[str, Any]]:
    """Snap every active spline edge to its best library candidate; layer by layer.

    Later layers see the snapped earlier ones. An edge whose best candidate reaches
    ``R² >= r2_threshold`` is snapped to it. For the others, ``weak`` decides:

    - ``"snap"`` (default, what pykan's recipe expects: ``auto_symbolic`` then ``formula`` never
      raises): snap the best-fitting candidate anyway and warn with the edges and their R², so
      ``formula()`` always gives a full formula — check those R²s (and retrain) before trusting it;
    - ``"keep"``: leave the edge a spline (``formula`` then raises and names it).

    Returns one record per edge: ``{"l", "i", "j", "name", "r2", "fixed", "weak"}``
    (``weak``: the fit was below the threshold). Introduced in 07_interpretability.
    """
    if isinstance(r2_threshold, bool) or not isinstance(r2_threshold, (int, float)) or not 0 <= r2_threshold <= 1:
        raise ValueError(f"r2_threshold must be a number in [0, 1], got {r2_threshold!r}")
    if weak not in ("snap", "keep"):
        raise ValueError(f"weak must be 'snap' (snap the best fit anyway) or 'keep' (leave a spline), got {weak!r}")
    report = []
    for l, layer in enumerate(model.layers):
        for j in range(layer.out_dim):
            for i in range(layer.in_dim):
                if float(layer.mask[j, i]) == 0.0 or float(layer.sym_mask[j, i]) == 1.0:
                    continue
                fits = suggest_symbolic(model, l, i, j, x, lib, 3, weight_simple)
                good = [f for f in fits if f.r2 >= r2_threshold]
                best = good[0] if good else max(fits, key=lambda f: f.r2)
                fixed = bool(good) or weak == "snap"
                if fixed:
                    layer.set_symbolic(j, i, best.name, best.affine)
                report.append({"l": l, "i": i, "j": j, "name": best.name, "r2": best.r2,
                               "fixed": fixed, "weak": not good})
    weak_edges = [f"({r['l']},{r['i']},{r['j']}) {r['name']} R²={r['r2']:.4f}" for r in report if r["weak"]]
    if weak_edges:
        what = "snapped anyway" if weak == "snap" else "left as splines"
        warnings.warn(
            f"{len(weak_edges)} edge(s) fit no candidate with R² >= {r2_threshold}, {what}: "
            + "; ".join(weak_edges[:8]),
            stacklevel=3,
        )
    return report


def unfix_symbolic(model: Any, l: int | None = None, i: int | None = None, j: int | None = None) -> int:
    """Return edge (l, i, j) to its spline, or every symbolic edge when l, i, j are all None.

    The spline coefficients were kept while the edge was symbolic, so the edge gets back the curve
    it had before snapping. Returns how many edges were unfixed.
    """
    if l is None and i is None and j is None:
        count = 0
        for layer in model.layers:
            for jj, ii in sorted(layer._symbolic_edges):
                layer.clear_symbolic(jj, ii)
                count += 1
        return count
    if l is None or i is None or j is None:
        raise ValueError("give all of l, i, j (one edge) or none of them (every edge)")
    layer = _check_edge(model, l, i, j)
    was = float(layer.sym_mask[j, i]) == 1.0
    layer.clear_symbolic(j, i)
    return int(was)


def _round_floats(expr: Any, precision: int) -> Any:
    import sympy

    reps = {}
    for f in expr.atoms(sympy.Float):
        r = round(float(f), precision)
        if not math.isfinite(r):  # beyond float64 (e.g. a huge exp gain): keep sympy's value
            continue
        if r == int(r):
            reps[f] = sympy.Integer(int(r))
        else:
            digits = f"{abs(r):.{precision}f}".replace(".", "").lstrip("0").rstrip("0")
            reps[f] = sympy.Float(r, max(1, len(digits)))
    return expr.xreplace(reps)


def formula(
    model: Any, var_names: Any = None, precision: int | None = 4, simplify: bool = True
) -> Any:
    """The fully snapped network as a sympy expression of its inputs (a list if width[-1] > 1).

    ``var_names``: names or sympy symbols for the inputs (default x_1, x_2, ...).
    ``precision=None`` keeps every constant at float64 precision, so the formula equals the
    forward pass to round-off. An int rounds constants to that many decimals after ``simplify``
    (expand, pull constants out of exponentials, recombine), dropping terms that round to 0:
    readable, but only as exact as the rounding. Introduced in 07_interpretability.
    """
    import sympy

    n_in = model.width[0]
    if var_names is None:
        syms = list(sympy.symbols(f"x_1:{n_in + 1}"))
    else:
        syms = [sympy.Symbol(v) if isinstance(v, str) else v for v in var_names]
        if len(syms) != n_in:
            raise ValueError(f"var_names needs {n_in} names (one per input), got {len(syms)}")
    bad = isinstance(precision, bool) or not isinstance(precision, int) or precision < 0
    if precision is not None and bad:
        raise ValueError(f"precision must be None or a non-negative int, got {precision!r}")
    exprs, missing = syms, []
    for l, layer in enumerate(model.layers):
        mask, sym_mask = layer.mask.tolist(), layer.sym_mask.tolist()
        affine = layer.sym_affine.detach().double().cpu().tolist()
        outs = []
        for j in range(layer.out_dim):
            total = sympy.Integer(0)
            for i in range(layer.in_dim):
                if mask[j][i] == 0:
                    continue
                if sym_mask[j][i] == 0:
                    missing.append((l, i, j))
                    continue
                a, b, c, d = (sympy.Float(v) for v in affine[j][i])
                total += c * get_function(layer.sym_names[j][i]).sympy(a * exprs[i] + b) + d
            outs.append(total)
        exprs = model.node_layouts[l + 1].combine_sympy(outs)  # multiplication nodes (kanlab.mult)
    if missing:
        raise ValueError(
            f"edges (l, i, j) {missing[:8]} are still splines; "
            "snap them with fix_symbolic or auto_symbolic first"
        )
    if precision is not None:
        exprs = [_tidy(e, precision, simplify) for e in exprs]
    return exprs[0] if len(exprs) == 1 else exprs


def _tidy(expr: Any, precision: int, simplify: bool) -> Any:
    import sympy

    if simplify:
        expr = _round_floats(sympy.expand(expr), precision)
        expr = sympy.powsimp(expr, combine="exp")
    return _round_floats(expr, precision)
