"""The formula-to-KAN compiler (KAN 2.0's "kanpiler"): ``from_formula(sympy_expr, variables)``.

A formula is parsed into the two kinds of KAN nodes:

- a **sum node** ``Σ_k c_k·f_k(a_k·u_k + b_k) + d`` (a sympy ``Add``, or a single term), one edge
  per term, each edge a library function of a child node u_k;
- a **multiplication node** ``Π_k (c_k·f_k(a_k·u_k + b_k) + d_k)`` (a sympy ``Mul`` of at least
  two non-constant factors), one subnode per factor.

Nodes are placed at the depth of their deepest child plus one; a child that sits lower is carried
up by identity edges ``x``. Two terms of one sum that read the same child (``sin x + x²``) cannot
share an edge, so the second is given its own node first. Every edge of the result is symbolic
(all other edges masked), so ``from_formula(f).formula()`` is f again (up to sympy's ordering and
rounding) and the model computes f; training it afterwards tunes the affine parameters.
Introduced in 10_discovering_laws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from kanlab.model import KAN

# sympy exponent -> library name (for powers of a non-constant base)
_POWERS = {2: "x^2", 3: "x^3", 4: "x^4", 5: "x^5", -1: "1/x", -2: "1/x^2", -3: "1/x^3", -4: "1/x^4",
           -5: "1/x^5", 0.5: "sqrt", -0.5: "1/sqrt(x)", 1.5: "x^1.5"}
# sympy function class name -> library name
_FUNCTIONS = {"sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh", "exp": "exp", "log": "log",
              "Abs": "abs", "sign": "sgn", "atan": "arctan", "atanh": "arctanh", "asin": "arcsin",
              "acos": "arccos"}


@dataclass(eq=False)
class _Node:
    """A KAN node: ``kind`` "var" (input ``index``), "sum" or "mult"; ``edges``: (child, name, a, b, c, d)."""

    kind: str
    level: int
    edges: list[tuple[_Node, str, float, float, float, float]] = field(default_factory=list)
    index: int = -1


class _Compiler:
    def __init__(self, variables: Sequence[Any]) -> None:
        self.vars = {v: _Node("var", 0, index=n) for n, v in enumerate(variables)}
        self.cache: dict[Any, _Node] = {}
        self.relays: dict[tuple[int, int], _Node] = {}

    def node(self, expr: Any) -> _Node:
        import sympy

        if expr in self.vars:
            return self.vars[expr]
        if expr in self.cache:
            return self.cache[expr]
        if isinstance(expr, sympy.Symbol):
            raise ValueError(f"the formula uses {expr}, which is not among the variables {list(self.vars)}")
        coeff, rest = self.split(expr, mul=True)
        factors = [f for f in sympy.Mul.make_args(rest) if not f.is_number] if isinstance(rest, sympy.Mul) else []
        if len(factors) >= 2:  # a multiplication node, the coefficient on its first factor
            edges = [self.edge(f) for f in factors]
            child, name, a, b, c, d = edges[0]
            edges[0] = (child, name, a, b, c * coeff, d * coeff)
            node = _Node("mult", 1 + max(e[0].level for e in edges), edges)
        else:
            const, rest = self.split(expr, mul=False)
            terms = sympy.Add.make_args(rest)
            edges, seen = [], set()
            for term in terms:
                e = self.edge(term)
                if id(e[0]) in seen:  # the same child twice: give this term its own node
                    e = (self.single(term), "x", 1.0, 0.0, 1.0, 0.0)
                seen.add(id(e[0]))
                edges.append(e)
            if not edges:
                raise ValueError(f"{expr} is a constant; a KAN needs a formula that depends on a variable")
            child, name, a, b, c, d = edges[0]
            edges[0] = (child, name, a, b, c, d + const)
            node = _Node("sum", 1 + max(e[0].level for e in edges), edges)
        self.cache[expr] = node
        return node

    def split(self, expr: Any, mul: bool) -> tuple[float, Any]:
        """(constant, rest) with expr = constant·rest (``mul``) or constant + rest; the constant
        holds no variable (π and e included)."""
        const, rest = expr.as_independent(*self.vars, as_Add=not mul)
        if not const.is_number:
            raise ValueError(f"{expr} has symbols that are not among the variables {list(self.vars)}")
        return float(const), rest

    def single(self, term: Any) -> _Node:
        e = self.edge(term)
        return _Node("sum", e[0].level + 1, [e])

    def edge(self, expr: Any) -> tuple[_Node, str, float, float, float, float]:
        """expr = c·f(a·u + b) + d with f in the library: (node of u, f, a, b, c, d)."""
        import sympy

        d, expr = self.split(expr, mul=False)
        c, core = self.split(expr, mul=True)
        name, inner = "x", core
        if isinstance(core, sympy.Pow) and not core.base.is_number and core.exp.is_number:
            p = float(core.exp)
            key = int(p) if p == int(p) else p
            if key not in _POWERS:
                raise ValueError(f"the power {core} has no library function (known exponents: {sorted(_POWERS)})")
            name, inner = _POWERS[key], core.base
        elif isinstance(core, sympy.Function) and type(core).__name__ in _FUNCTIONS and len(core.args) == 1:
            name, inner = _FUNCTIONS[type(core).__name__], core.args[0]
        elif isinstance(core, (sympy.Function, sympy.Pow)) and not isinstance(core, (sympy.Add, sympy.Mul)):
            raise ValueError(f"{core} has no library function; known: {sorted(_FUNCTIONS)} and powers {sorted(_POWERS)}")
        a, b = 1.0, 0.0
        if name != "x":
            b, inner = self.split(inner, mul=False)
            a, inner = self.split(inner, mul=True)
        elif not isinstance(core, (sympy.Add, sympy.Mul, sympy.Symbol)):
            raise ValueError(f"{core} has no library function; known: {sorted(_FUNCTIONS)} and powers {sorted(_POWERS)}")
        return self.node(inner), name, a, b, c, d

    def relay(self, node: _Node, level: int) -> _Node:
        """``node`` carried up to ``level`` by identity edges."""
        if node.level == level:
            return node
        key = (id(node), level)
        if key not in self.relays:
            self.relays[key] = _Node("sum", level, [(self.relay(node, level - 1), "x", 1.0, 0.0, 1.0, 0.0)])
        return self.relays[key]


def from_formula(expr: Any, variables: Sequence[Any] | None = None, dtype: torch.dtype = torch.float64) -> KAN:
    """Compile a sympy expression into a KAN whose every edge is symbolic; see the module docstring.

    ``variables``: the input symbols in order (default: the expression's free symbols, sorted by
    name). Raises a clear ``ValueError`` for constants, unknown functions and unknown powers.
    """
    import sympy

    expr = sympy.sympify(expr)
    if expr.is_number:
        raise ValueError(f"{expr} is a constant; a KAN needs a formula that depends on a variable")
    if variables is None:
        variables = sorted(expr.free_symbols, key=lambda s: s.name)
    variables = [sympy.Symbol(v) if isinstance(v, str) else v for v in variables]
    if not variables:
        raise ValueError(f"{expr} has no variables; pass the input symbols as variables")
    comp = _Compiler(variables)
    root = comp.node(expr)
    depth = root.level
    levels: list[list[_Node]] = [list(comp.vars.values())] + [[] for _ in range(depth)]

    def place(node: _Node) -> None:
        if node.kind == "var" or node in levels[node.level]:
            return
        node.edges = [(comp.relay(ch, node.level - 1), *rest) for ch, *rest in node.edges]
        for ch, *_ in node.edges:
            place(ch)
        levels[node.level].append(node)

    place(root)
    for lev in levels[1:]:  # sum nodes first, then multiplication nodes (kanlab.mult's layout)
        lev.sort(key=lambda n: n.kind == "mult")
        for n, node in enumerate(lev):
            node.index = n
    width: list[Any] = [len(variables)]
    arity: list[list[int]] = [[]]
    for lev in levels[1:]:
        n_mult = sum(n.kind == "mult" for n in lev)
        width.append(len(lev) if n_mult == 0 else [len(lev) - n_mult, n_mult])
        arity.append([len(n.edges) for n in lev if n.kind == "mult"])
    model = KAN(width, mult_arity=arity if any(arity) else 2, seed=0, dtype=dtype)
    with torch.no_grad():
        for layer in model.layers:
            layer.mask.zero_()
    for l, lev in enumerate(levels[1:]):  # noqa: E741
        layer, groups = model.layers[l], model.node_layouts[l + 1].groups()
        for node in lev:
            rows = groups[node.index] if node.kind == "mult" else [groups[node.index][0]] * len(node.edges)
            for row, (child, name, a, b, c, d) in zip(rows, node.edges, strict=True):
                layer.mask[row, child.index] = 1.0
                layer.set_symbolic(row, child.index, name, (a, b, c, d))
    return model
