"""Self-checks for 00_start_here: edges, bases and parameters of a KAN, and one edge outside its grid."""

from __future__ import annotations

import math

from kanlab.exercises._core import Feedback, call, correct, exercise, first_match, number, wrong

NOTEBOOK = "00_start_here"
_WIDTHS = ([5, 3, 3, 2], [2, 5, 1], [3, 7, 1], [4, 2, 1, 1], [1, 1])


def _edges(width: list[int]) -> int:
    return sum(a * b for a, b in zip(width[:-1], width[1:]))


@exercise(NOTEBOOK)
def check_n_edges(n_edges) -> Feedback:
    """``n_edges(width) -> int``: the number of edges (one function each) of a KAN of ``width``."""
    for width in _WIDTHS:
        got, want = number(call(n_edges, list(width)), f"n_edges({width})"), _edges(width)
        if got == want:
            continue
        mistake = first_match(got, [
            (sum(width), f"n_edges({width}) = {got:g} is the number of nodes, not edges",
             "an edge joins node i of layer l to node j of layer l+1: n_l·n_{l+1} per pair of layers"),
            (math.prod(width), f"n_edges({width}) = {got:g} multiplies all the widths",
             "multiply neighbouring widths only, then add: Σ_l n_l·n_{l+1}"),
            (width[0] * width[1], f"n_edges({width}) = {got:g} counts the first layer only",
             "loop over every pair of neighbouring layers: zip(width[:-1], width[1:])"),
            (want + sum(width[1:]), f"n_edges({width}) = {got:g} adds one per node (an MLP's biases?)",
             "a KAN has no biases on its nodes: count only the edges"),
        ])
        return mistake or wrong(f"n_edges({width}) returned {got:g}, expected {want}",
                                "Σ_l n_l·n_{l+1}: for [2, 5, 1] that is 2·5 + 5·1 = 15")
    return correct("A KAN has Σ_l n_l·n_{l+1} edges, exactly like an MLP of the same widths.")


@exercise(NOTEBOOK)
def check_n_bases(n_bases) -> Feedback:
    """``n_bases(G, k) -> int``: the B-spline bases (= coefficients) on one edge, G intervals, degree k."""
    for G, k in ((5, 3), (10, 3), (7, 2), (3, 1), (4, 0)):
        got = number(call(n_bases, G, k), f"n_bases({G}, {k})")
        if got == G + k:
            continue
        mistake = first_match(got, [
            (G + k + 1, f"n_bases({G}, {k}) = {got:g}: one too many",
             "kanlab's k is the polynomial degree (the paper's and pykan's convention); "
             "with de Boor's order k+1 you would count G + order - 1 = G + k"),
            (G + 2 * k + 1, f"n_bases({G}, {k}) = {got:g} is the number of knots",
             "G + 2k + 1 knots make G + 2k intervals; each basis spans k + 1 of them, "
             "so there are (G + 2k + 1) - (k + 1) = G + k bases"),
            (G + 1, f"n_bases({G}, {k}) = {got:g} is the number of grid points",
             "the k extra knots on each side add k more bases than intervals: G + k"),
            (G, f"n_bases({G}, {k}) = {got:g} is the number of intervals",
             "each of the k extra knots per side adds bases that reach into the grid: G + k"),
        ])
        return mistake or wrong(f"n_bases({G}, {k}) returned {got:g}, expected {G + k}",
                                "§1.1: a grid of G intervals and degree k gives G + k bumps")
    return correct("G + k bases: G + 2k + 1 knots, each basis spanning k + 1 intervals.")


def _silu(x: float) -> float:
    return x / (1.0 + math.exp(-x))


@exercise(NOTEBOOK)
def check_phi_outside(value) -> Feedback:
    """φ(3) for the §1.1 edge (grid [-1, 1], G = 5, k = 3) with w_b = 2 and w_s = 1."""
    got, want = number(value, "φ(3)"), 2 * _silu(3.0)
    if abs(got - want) < 1e-3:
        return correct(f"φ(3) = 2·silu(3) = {want:.4f}: past the last knot (2.2) every B_c is 0.")
    return first_match(got, [
        (0.0, "φ(3) = 0: the spline is 0 there, but the base term is not",
         "φ(x) = w_b·silu(x) + w_s·spline(x); outside the knots only the spline vanishes"),
        (6.0, "φ(3) = 6 treats silu(3) as 3", "silu(x) = x/(1 + e^(-x)) is a little below x for x > 0"),
        (2 / (1 + math.exp(-3.0)), "that is 2·sigmoid(3), not 2·silu(3)", "silu(x) = x·sigmoid(x)"),
        (_silu(3.0), "that is silu(3) with w_b = 1", "multiply by the base scale w_b = 2"),
    ], rtol=1e-3) or wrong(f"φ(3) = {got:.4f}, expected a different value",
                           "at x = 3 (past the knot at 2.2) the spline is 0: φ(3) = w_b·silu(3)")
