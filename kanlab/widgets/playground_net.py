"""The Playground's network picture: every edge's current curve in a box, faded by importance.

One matplotlib axes holds the whole network as three ``LineCollection`` s (wires, box outlines,
curves) and a scatter of nodes, so a refresh during training only swaps segment arrays and
colours (no inset axes, no new artists). Layer l's nodes sit at height l, its edges' boxes at
l + 0.5, ordered (input i, output j) from left to right as in ``kanlab.plotting.plot_kan``.
Edge (l, i, j) is drawn with opacity ``tanh(3·|φ|₁)`` (its importance score, Eq. 2.17); pruned
edges are not drawn; symbolic edges are vermillion with their function's name. A
multiplication node (``4+1`` in the hidden-layers box) is marked ×: the edges into it end at
its subnodes, one box per (input, subnode), wired to the node that multiplies them.

The canvas is ipympl's when it can be made (a click on a box reports the edge, see
:meth:`NetworkPicture.edge_at`), else the course's PNG image canvas (edges picked from a list).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from kanlab.widgets._base import canvas_png, new_figure

N_POINTS = 40  # points per edge curve
N_SAMPLES = 256  # training inputs the curves are drawn on
BOX_H = 0.32
SYMBOLIC = "#D55E00"
SELECTED = "#E69F00"
BETA = 3.0
Edge = tuple[int, int, int]


def ipympl_figure(figsize: tuple[float, float], dpi: int, lock: threading.Lock) -> Any:
    """A Figure on an ipympl canvas whose draws hold ``lock``, leaving matplotlib's backend as it
    was (importing ipympl switches it). None when ipympl cannot be imported."""
    import matplotlib
    from matplotlib.figure import Figure

    before = dict.__getitem__(matplotlib.rcParams, "backend")  # may be "not chosen yet"
    try:
        from ipympl.backend_nbagg import Canvas, FigureManager
    except ImportError:
        return None
    finally:
        if dict.__getitem__(matplotlib.rcParams, "backend") != before:
            if "matplotlib.pyplot" in sys.modules and isinstance(before, str):
                matplotlib.use(before)
            else:
                dict.__setitem__(matplotlib.rcParams, "backend", before)

    class LockedCanvas(Canvas):  # the front end asks for draws on the kernel's main thread
        def draw(self) -> None:
            with lock:
                super().draw()

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureManager(LockedCanvas(fig), 0)
    fig.canvas.header_visible = False
    fig.canvas.footer_visible = False
    fig.canvas.toolbar_visible = False
    fig.canvas.resizable = False
    fig.canvas.capture_scroll = False
    return fig


class NetworkPicture:
    """``NetworkPicture(canvas="auto")``: ``.view`` shows it; ``update(model, x)`` redraws it.

    ``on_click(callback)`` calls ``callback((l, i, j))`` when a box is clicked (ipympl canvas).
    """

    def __init__(self, canvas: str = "auto", figsize: tuple[float, float] = (8.4, 3.6),
                 dpi: int = 80) -> None:
        import ipywidgets as W
        from matplotlib.collections import LineCollection

        self.lock = threading.Lock()
        self.fig = ipympl_figure(figsize, dpi, self.lock) if canvas in ("auto", "ipympl") else None
        if self.fig is None and canvas == "ipympl":
            raise ValueError("canvas='ipympl' needs the ipympl package; use canvas='image'")
        self.mode = "image" if self.fig is None else "ipympl"
        if self.fig is None:
            self.fig = new_figure(figsize, "image", dpi=dpi)
        self.ax = self.fig.add_axes((0.01, 0.01, 0.98, 0.98))
        self.ax.axis("off")
        self.wires = LineCollection([], linewidths=0.8)
        self.boxes = LineCollection([], linewidths=0.8)
        self.curves = LineCollection([], linewidths=1.6)
        for artist in (self.wires, self.boxes, self.curves):
            self.ax.add_collection(artist)
        self.nodes = self.ax.scatter([], [], s=70, c="white", edgecolors="black", zorder=3)
        (self.highlight,) = self.ax.plot([], [], "-", color=SELECTED, lw=2.5, zorder=4)
        self._texts: list[Any] = []
        self._callbacks: list[Callable[[Edge], Any]] = []
        self.edges: list[Edge] = []
        self.width: list[int] = []
        self.outs: list[int] = []
        self.mult: list[list[int]] = []
        self.selected: Edge | None = None
        self.draw_count = 0
        if self.mode == "ipympl":
            self.view = self.fig.canvas
            self.fig.canvas.mpl_connect("button_press_event", self._on_press)
        else:
            self.view = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))

    def __repr__(self) -> str:
        return f"NetworkPicture(width={self.width}, canvas={self.mode!r}, draws={self.draw_count})"

    # ----- layout ------------------------------------------------------------------------------
    def _layout(self, width: list[int], outs: list[int] | None = None,
                mult: list[list[int]] | None = None) -> None:
        """Place nodes and boxes for ``width`` (only when the architecture changes).

        ``outs[l]`` is layer l's output count: its next width entry, or more when that entry has
        multiplication nodes (each takes ``arity`` subnodes, so its edges are drawn per subnode).
        ``mult[l]``: the multiplication nodes of width entry l, marked × in the picture.
        """
        self.width = list(width)
        n_layers = len(width) - 1
        self.outs = list(outs) if outs is not None else list(width[1:])
        self.node_x = [[(m + 0.5) / w for m in range(w)] for w in width]
        self.edges, self.centers = [], []
        for l in range(n_layers):
            n_in, n_out = width[l], self.outs[l]
            for i in range(n_in):
                for j in range(n_out):
                    self.edges.append((l, i, j))
                    self.centers.append(((i * n_out + j + 0.5) / (n_in * n_out), l + 0.5))
        self.box_w = [min(0.8 / (width[l] * self.outs[l]), 0.12) for l in range(n_layers)]
        self.index = {e: n for n, e in enumerate(self.edges)}
        xs = [x for row in self.node_x for x in row]
        ys = [float(l) for l, w in enumerate(width) for _ in range(w)]
        self.nodes.set_offsets(np.column_stack([xs, ys]))
        self.ax.set_xlim(0, 1)
        self.ax.set_ylim(-0.3, n_layers + 0.3)
        for text in self._texts:
            text.remove()
        self._texts = []
        labels = ["x", "y"] if width[0] == 2 else [f"x{m + 1}" for m in range(width[0])]
        for m, label in enumerate(labels):
            self._texts.append(self.ax.text(self.node_x[0][m], -0.12, label, ha="center", va="top"))
        self._texts.append(self.ax.text(self.node_x[-1][0], n_layers + 0.12, "f(x, y)",
                                        ha="center", va="bottom"))
        self.mult = [list(m) for m in mult] if mult is not None else [[] for _ in width]
        for l, nodes in enumerate(self.mult):
            for m in nodes:
                self._texts.append(self.ax.text(self.node_x[l][m] + 0.012, l + 0.05, "×",
                                                fontsize=11, ha="left", va="bottom"))
        self._name_texts: list[Any] = []

    def box(self, edge: Edge) -> tuple[float, float, float, float]:
        """Edge's box ``(x0, y0, w, h)`` in the axes' data coordinates."""
        cx, cy = self.centers[self.index[edge]]
        w = self.box_w[edge[0]]
        return cx - w / 2, cy - BOX_H / 2, w, BOX_H

    # ----- drawing -----------------------------------------------------------------------------
    def update(self, model: Any, x: Any) -> None:
        """Redraw every edge's curve for ``model`` on inputs ``x`` (batch, width[0])."""
        import torch

        outs = [layer.out_dim for layer in model.layers]
        layouts = getattr(model, "node_layouts", None)
        groups = [lay.groups() for lay in layouts] if layouts else [[[m] for m in range(w)]
                                                                    for w in model.width]
        mult = [[m for m, g in enumerate(gs) if len(g) > 1] for gs in groups]
        if list(model.width) != self.width or outs != self.outs or mult != self.mult:
            self._layout(list(model.width), outs, mult)
        x = x[: N_SAMPLES]
        with torch.no_grad():
            acts = [(h.numpy(), a.numpy()) for h, a in model.activations(x)]
        wires, boxes, curves, colors = [], [], [], []
        # owner[l][j]: the node of width entry l + 1 that layer l's output (subnode) j feeds
        owner = [[n for n, g in enumerate(gs) for _ in g] for gs in groups[1:]]
        names: list[tuple[float, float, str]] = []
        for l, (h, a) in enumerate(acts):
            layer = model.layers[l]
            mask, sym = layer.mask.numpy(), layer.sym_mask.numpy()
            score = np.abs(a).mean(axis=0)  # (out, in): |phi|_1
            picks = np.linspace(0, h.shape[0] - 1, N_POINTS).astype(int)
            for i in range(a.shape[2]):
                order = np.argsort(h[:, i])[picks]
                u = h[order, i]
                span_u = max(float(u[-1] - u[0]), 1e-9)
                for j in range(a.shape[1]):
                    if mask[j, i] == 0:
                        continue
                    x0, y0, w, hgt = self.box((l, i, j))
                    v = a[order, j, i]
                    span_v = max(float(v.max() - v.min()), 1e-9)
                    pts = np.column_stack([x0 + w * (u - u[0]) / span_u,
                                           y0 + 0.1 * hgt + 0.8 * hgt * (v - v.min()) / span_v])
                    alpha = float(np.clip(np.tanh(BETA * score[j, i]), 0.05, 1.0))
                    rgb = (0.84, 0.37, 0.0) if sym[j, i] else (0.0, 0.0, 0.0)
                    colors.append((*rgb, alpha))
                    curves.append(pts)
                    boxes.append(np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + hgt],
                                           [x0, y0 + hgt], [x0, y0]]))
                    wires.append(np.array([[self.node_x[l][i], l], [x0 + w / 2, y0]]))
                    wires.append(np.array([[x0 + w / 2, y0 + hgt],
                                           [self.node_x[l + 1][owner[l][j]], l + 1]]))
                    if sym[j, i]:
                        names.append((x0 + w / 2, y0 + hgt, layer.sym_names[j][i]))
        colors_arr = np.array(colors).reshape(-1, 4)
        with self.lock:
            self.curves.set_segments(curves)
            self.curves.set_color(colors_arr)
            self.boxes.set_segments(boxes)
            self.boxes.set_color(colors_arr)
            self.wires.set_segments(wires)
            self.wires.set_color(np.repeat(colors_arr, 2, axis=0))
            for text in self._name_texts:
                text.remove()
            self._name_texts = [self.ax.text(cx, cy + 0.01, name, fontsize=7, color=SYMBOLIC,
                                             ha="center", va="bottom") for cx, cy, name in names]
            self._draw_highlight()
        self.alphas = colors_arr[:, 3].copy()
        self.refresh()

    def _draw_highlight(self) -> None:
        if self.selected is None or self.selected not in self.index:
            self.highlight.set_data([], [])
            return
        x0, y0, w, h = self.box(self.selected)
        self.highlight.set_data([x0, x0 + w, x0 + w, x0, x0], [y0, y0, y0 + h, y0 + h, y0])

    def select(self, edge: Edge | None) -> None:
        """Outline ``edge``'s box (None: no outline)."""
        self.selected = edge
        with self.lock:
            self._draw_highlight()
        self.refresh()

    def refresh(self) -> None:
        """Push the current artists to the screen."""
        self.draw_count += 1
        if self.mode == "ipympl":
            self.fig.canvas.draw_idle()
        else:
            with self.lock:
                self.fig.canvas.draw()
                self.view.value = canvas_png(self.fig)

    def n_drawn_edges(self) -> int:
        """How many edges the picture shows now (pruned ones are not drawn)."""
        return len(self.curves.get_segments())

    # ----- clicks ------------------------------------------------------------------------------
    def edge_at(self, xd: float, yd: float) -> Edge | None:
        """The edge whose box is at (or nearest to, within its slot) the data point (xd, yd)."""
        best, best_d = None, float("inf")
        for edge, (cx, cy) in zip(self.edges, self.centers):
            l = edge[0]
            slot = 1.0 / (self.width[l] * self.outs[l])
            if abs(yd - cy) <= BOX_H / 2 + 0.05 and abs(xd - cx) <= slot / 2:
                d = abs(xd - cx)
                if d < best_d:
                    best, best_d = edge, d
        return best

    def pixel_center(self, edge: Edge) -> tuple[float, float]:
        """Edge's box centre in figure pixels from the top-left corner (for browser tests)."""
        cx, cy = self.centers[self.index[edge]]
        px, py = self.ax.transData.transform((cx, cy))
        return float(px), float(self.fig.bbox.height - py)

    def on_click(self, callback: Callable[[Edge], Any]) -> None:
        self._callbacks.append(callback)

    def _on_press(self, event: Any) -> None:
        if event.inaxes is not self.ax or event.xdata is None:
            return
        edge = self.edge_at(event.xdata, event.ydata)
        if edge is not None:
            for callback in self._callbacks:
                callback(edge)
