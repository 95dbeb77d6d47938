"""The Playground's edge inspector: one edge's curve, its symbolic candidates, snap and unsnap.

Opened by a click on an edge of the network picture (or ``Playground.select_edge``). The plot
shows the edge's samples (x_i, φ(x_i)) on the training inputs and the chosen candidate's fit
c·f(a·x + b) + d; the table lists ``KAN.suggest_symbolic``'s top candidates with R².
"""

from __future__ import annotations

import base64
import html
from typing import Any

import numpy as np

from kanlab.widgets._base import canvas_png, new_figure

TOP_K = 5
# a 1×1 transparent PNG: the image until the first edge is shown (never a broken image)
BLANK_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


class EdgePanel:
    """``EdgePanel()``; ``.widget`` is hidden until :meth:`show` is called for an edge.

    Its figure is made on the first :meth:`show` (the app's build does not pay for it).
    """

    def __init__(self) -> None:
        import ipywidgets as W

        self.fig: Any = None
        self.image = W.Image(value=BLANK_PNG, format="png", layout=W.Layout(width="290px"))
        self.title = W.HTML()
        self.table = W.HTML()
        self.candidates = W.Dropdown(options=[], description="candidate",
                                     layout=W.Layout(width="220px"),
                                     style={"description_width": "initial"})
        self.snap_button = W.Button(description="Snap", icon="magnet", tooltip="fix this edge to the candidate")
        self.unsnap_button = W.Button(description="Unsnap", tooltip="back to the spline")
        self.close_button = W.Button(description="Close", tooltip="close the inspector")
        self.widget = W.VBox(
            [self.title, W.HBox([self.image, self.table]),
             W.HBox([self.candidates, self.snap_button, self.unsnap_button, self.close_button])],
            layout=W.Layout(display="none", border="1px solid #ccc", padding="4px"))
        self.widget.add_class("kanlab-playground-inspector")
        for name in ("snap", "unsnap", "close"):
            getattr(self, f"{name}_button").add_class(f"kanlab-playground-{name}")
        self.edge: tuple[int, int, int] | None = None
        self.suggestions: list[Any] = []
        self._syncing = False
        self.candidates.observe(lambda ch: None if self._syncing else self.show_candidate(ch["new"]),
                                "value")

    def __repr__(self) -> str:
        return f"EdgePanel(edge={self.edge}, candidates={[s.name for s in self.suggestions]})"

    @property
    def is_open(self) -> bool:
        return self.widget.layout.display != "none"

    def _make_figure(self) -> None:
        self.fig = new_figure((3.6, 2.2), "image", dpi=80)
        self.ax = self.fig.add_axes((0.2, 0.2, 0.76, 0.74))
        (self.dots,) = self.ax.plot([], [], ".", color="#0072B2", ms=3, label="edge φ")
        (self.fit_line,) = self.ax.plot([], [], "-", color="#D55E00", lw=1.8, label="candidate")
        self.ax.set_xlabel("edge input", fontsize=8)
        self.ax.set_ylabel("φ", fontsize=8)
        self.ax.tick_params(labelsize=7)

    def show(self, model: Any, x: Any, edge: tuple[int, int, int]) -> None:
        """Open the panel on ``edge`` = (l, i, j) of ``model``, ranking candidates on x."""
        from kanlab.symbolic import edge_samples

        l, i, j = edge
        layer = model.layers[l]
        if float(layer.mask[j, i]) == 0.0:
            raise ValueError(f"edge (l={l}, i={i}, j={j}) was pruned: nothing to inspect")
        if self.fig is None:
            self._make_figure()
        self.edge = edge
        xi, yi = edge_samples(model, l, i, j, x)
        self.xi, self.yi = xi.numpy(), yi.numpy()
        self.suggestions = model.suggest_symbolic(l, i, j, x=x, top_k=TOP_K)
        rows = "".join(f"<tr><td>{n + 1}</td><td>{html.escape(s.name)}</td><td>{s.r2:.4f}</td></tr>"
                       for n, s in enumerate(self.suggestions))
        self.table.value = ("<table class='kanlab-candidates'><tr><th>#</th><th>f</th><th>R²</th>"
                            f"</tr>{rows}</table><small>c·f(a·x+b)+d fitted to the samples</small>")
        self._syncing = True
        try:
            self.candidates.options = [s.name for s in self.suggestions]
            self.candidates.value = self.suggestions[0].name if self.suggestions else None
        finally:
            self._syncing = False
        self.dots.set_data(self.xi, self.yi)
        pad = 0.05 * (self.xi.max() - self.xi.min()) + 1e-6
        self.ax.set_xlim(self.xi.min() - pad, self.xi.max() + pad)
        ypad = 0.1 * (self.yi.max() - self.yi.min()) + 1e-6
        self.ax.set_ylim(self.yi.min() - ypad, self.yi.max() + ypad)
        self.update_title(model)
        self.show_candidate(self.candidates.value)
        self.widget.layout.display = "flex"

    def update_title(self, model: Any) -> None:
        if self.edge is None:
            return
        l, i, j = self.edge
        layer = model.layers[l] if l < len(model.layers) else None
        symbolic = layer is not None and j < layer.out_dim and i < layer.in_dim and bool(layer.sym_mask[j, i])
        state = f"symbolic: <b>{html.escape(layer.sym_names[j][i])}</b>" if symbolic else "spline"
        self.title.value = f"<b>edge l={l}, i={i} → j={j}</b> ({state})"

    def show_candidate(self, name: str | None) -> None:
        """Overlay candidate ``name``'s affine fit on the samples."""
        import torch

        from kanlab.symbolic import get_function

        if self.fig is None:
            return
        fit = next((s for s in self.suggestions if s.name == name), None)
        if fit is None:
            self.fit_line.set_data([], [])
        else:
            a, b, c, d = fit.affine
            xs = np.linspace(float(self.xi.min()), float(self.xi.max()), 120)
            with torch.no_grad():
                ys = c * get_function(name).torch(torch.as_tensor(a * xs + b)) + d
            self.fit_line.set_data(xs, ys.numpy())
        self.fig.canvas.draw()
        self.image.value = canvas_png(self.fig)

    def close(self) -> None:
        self.edge = None
        self.widget.layout.display = "none"
