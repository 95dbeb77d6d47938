"""Graphviz drawings: a computation graph (``draw_dot``) and a KAN's architecture (``draw_kan``).

Both return a ``graphviz.Digraph``, which Jupyter renders inline as SVG. Nothing is written
to disk: the DOT text is always available as ``.source`` (no ``dot`` program needed), and
rendering without ``dot`` raises :class:`GraphvizNotFoundError` saying how to install it.
graphviz is imported inside the functions, so ``import kanlab`` stays light.
Introduced in 04_kan_from_scratch.
"""

from __future__ import annotations

import functools
from typing import Any

INSTALL_HINT = (
    "The Graphviz 'dot' program was not found on PATH, so the graph cannot be rendered "
    "(its DOT text is still available as `.source`). Install Graphviz: "
    "`conda install -c conda-forge graphviz`, `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or https://graphviz.org/download/ (Windows); "
    "then restart the kernel."
)


class GraphvizNotFoundError(RuntimeError):
    """Raised when a graph is rendered but Graphviz's ``dot`` executable is missing."""


@functools.cache
def _digraph_class() -> type:
    """A ``graphviz.Digraph`` whose rendering errors say how to install Graphviz."""
    try:
        import graphviz
    except ImportError as err:  # pragma: no cover - graphviz is a core dependency
        raise ImportError("draw_dot needs the graphviz package: pip install graphviz") from err

    class CourseDigraph(graphviz.Digraph):
        def pipe(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().pipe(*args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                raise GraphvizNotFoundError(INSTALL_HINT) from err

        def render(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return super().render(*args, **kwargs)
            except graphviz.ExecutableNotFound as err:
                raise GraphvizNotFoundError(INSTALL_HINT) from err

    return CourseDigraph


def _parents(value: Any) -> tuple:
    """Parents of a value: ``.parents`` (kanlab.scalar.Tensor) or micrograd's ``._prev``."""
    parents = getattr(value, "parents", None)
    return tuple(parents if parents is not None else getattr(value, "_prev", ()))


def trace(root: Any) -> tuple[list[Any], list[tuple[Any, Any]]]:
    """All values in ``root``'s graph and the (parent, child) edges between them.

    Works on :class:`kanlab.scalar.Tensor` and on any object with ``data``, ``grad`` and
    ``parents`` (so the miniature engine built in 04_kan_from_scratch draws too).
    Iterative, so very deep graphs are fine.
    """
    if not hasattr(root, "data"):
        raise TypeError(f"root must be a Tensor-like value with .data, got {type(root).__name__}")
    nodes, edges, seen = [], [], {id(root)}
    stack = [root]
    while stack:
        v = stack.pop()
        nodes.append(v)
        for p in _parents(v):
            edges.append((p, v))
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return nodes, edges


def draw_dot(root: Any, rankdir: str = "LR", precision: int = 4) -> Any:
    """The computation graph behind ``root``: one record per value, one small node per op.

    Each value's record shows its label (if any), ``data`` and ``grad``; an op node (e.g.
    ``*``, ``silu``) sits between a value and its parents. rankdir: "LR" (left to right)
    or "TB". Returns a ``graphviz.Digraph``; display it in Jupyter or read ``.source``.
    The number of records equals the number of values in the graph.
    Introduced in 04_kan_from_scratch.
    """
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be one of 'LR', 'RL', 'TB', 'BT', got {rankdir!r}")
    nodes, edges = trace(root)
    name = {id(v): f"v{n}" for n, v in enumerate(nodes)}  # stable names: same graph, same DOT
    dot = _digraph_class()(graph_attr={"rankdir": rankdir}, node_attr={"fontsize": "10"})
    for v in nodes:
        uid = name[id(v)]
        label = getattr(v, "label", "") or ""
        head = f"{_escape(label)} | " if label else ""
        text = f"{{ {head}data {v.data:.{precision}f} | grad {v.grad:.{precision}f} }}"
        dot.node(uid, label=text, shape="record")
        op = getattr(v, "op", None) or getattr(v, "_op", "")
        if op:
            dot.node(uid + "op", label=_escape(op), shape="ellipse", width="0.3", height="0.3")
            dot.edge(uid + "op", uid)
    for parent, child in edges:
        dot.edge(name[id(parent)], name[id(child)] + "op")
    return dot


def _escape(text: str) -> str:
    """Escape characters that have a meaning inside a graphviz record label."""
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def draw_kan(model: Any, rankdir: str = "BT") -> Any:
    """A KAN's architecture: input nodes, sum nodes, one labelled edge per activation phi.

    Works for the scalar KAN (:mod:`kanlab.scalar`) and the torch ``kanlab.KAN``. Edge
    ``phi[l](j,i)`` carries input i of layer l to node j. Edges masked off (pruned) are
    dotted grey; symbolic edges (torch KAN) are labelled with their function's name.
    rankdir "BT" puts the inputs at the bottom, as in the KAN paper's figures.
    Introduced in 04_kan_from_scratch (scalar) and 07_interpretability (torch).
    """
    width = [int(w) for w in getattr(model, "width", ())]
    layers = list(getattr(model, "layers", ()))
    if len(width) < 2 or len(layers) != len(width) - 1:
        raise TypeError("draw_kan needs a KAN with .width (list of ints) and one layer per step")
    dot = _digraph_class()(
        graph_attr={"rankdir": rankdir, "nodesep": "0.3", "ranksep": "0.7"},
        node_attr={"fontsize": "10", "shape": "circle", "width": "0.35", "fixedsize": "true"},
        edge_attr={"fontsize": "8"},
    )
    for level, n in enumerate(width):
        with dot.subgraph(name=f"rank{level}", graph_attr={"rank": "same"}) as sub:
            for j in range(n):
                if level == 0:
                    sub.node(f"n0_{j}", label=f"x{j}", shape="box", fixedsize="false")
                elif level == len(width) - 1:
                    sub.node(f"n{level}_{j}", label=f"y{j}" if n > 1 else "y", shape="doublecircle")
                else:
                    sub.node(f"n{level}_{j}", label="Σ")
    for l, layer in enumerate(layers):  # noqa: E741
        active, symbolic = _edge_state(layer, width[l + 1], width[l])
        for j in range(width[l + 1]):
            for i in range(width[l]):
                attrs: dict[str, str] = {"label": f"φ{l}({j},{i})"}
                if not active[j][i]:
                    attrs = {"style": "dotted", "color": "grey60"}
                elif symbolic[j][i]:
                    attrs = {"label": symbolic[j][i], "color": "#D55E00", "fontcolor": "#D55E00"}
                dot.edge(f"n{l}_{i}", f"n{l + 1}_{j}", **attrs)
    return dot


def _edge_state(layer: Any, out_dim: int, in_dim: int) -> tuple[list, list]:
    """(active[j][i], symbolic_name_or_empty[j][i]) for a scalar or torch layer."""
    if hasattr(layer, "edges"):  # scalar engine
        return [[e.active for e in row] for row in layer.edges], [[""] * in_dim] * out_dim
    mask = layer.mask.detach().cpu().tolist() if hasattr(layer, "mask") else None
    active = [[mask is None or mask[j][i] != 0 for i in range(in_dim)] for j in range(out_dim)]
    symbolic = [[""] * in_dim for _ in range(out_dim)]
    sym_mask = getattr(layer, "sym_mask", None)
    names = getattr(layer, "sym_names", None)
    if sym_mask is not None:
        sm = sym_mask.detach().cpu().tolist()
        for j in range(out_dim):
            for i in range(in_dim):
                if sm[j][i]:
                    active[j][i] = True
                    symbolic[j][i] = str(names[j][i]) if names else "symbolic"
    return active, symbolic
