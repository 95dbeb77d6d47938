"""EdgeInspector: look at one edge of a trained KAN, rank symbolic candidates, snap one.

Introduced in 07_interpretability. Choose the layer l, input i and output j; the plot shows the
edge's samples (x_i, φ_{j,i}(x_i)) on the data ``x`` and the chosen candidate's affine fit
c·f(a·x + b) + d; the table lists the top candidates from ``kanlab.symbolic.suggest_symbolic``
with R², complexity and score; "Snap" calls ``kanlab.symbolic.fix_symbolic``.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from kanlab.widgets._base import WidgetBase, check_int, new_figure, resolve_canvas


class EdgeInspector(WidgetBase):
    """``EdgeInspector(model, x, l=0, i=0, j=0, top_k=5)``; x: (batch, width[0]) inputs."""

    def __init__(self, model: Any, x: Any, l: int = 0, i: int = 0, j: int = 0, top_k: int = 5,
                 lib: Any = None, canvas: str = "auto") -> None:
        import ipywidgets as W
        import torch

        if not hasattr(model, "layers") or not hasattr(model, "width"):
            raise ValueError(f"model must be a kanlab.KAN, got {type(model).__name__}")
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != model.width[0]:
            raise ValueError(f"x must be a tensor of shape (batch, {model.width[0]}), got "
                             f"{getattr(x, 'shape', type(x))}")
        self.model, self.x, self.lib = model, x, lib
        self.top_k = check_int("top_k", top_k, 1, 50)
        self.n_layers = len(model.layers)
        self.l = check_int("l", l, 0, self.n_layers - 1)
        self.i = check_int("i", i, 0, model.layers[self.l].in_dim - 1)
        self.j = check_int("j", j, 0, model.layers[self.l].out_dim - 1)
        self._init_kwargs = dict(model=model, x=x, l=l, i=i, j=j, top_k=top_k, lib=lib)
        self.suggestions: list[Any] = []
        self._syncing = False
        self.canvas_mode = resolve_canvas(canvas)
        self.fig = new_figure((6.4, 3.2), self.canvas_mode)
        self.ax = self.fig.subplots()
        (self.sample_dots,) = self.ax.plot([], [], ".", color="#0072B2", ms=3, label="edge φ(x)")
        (self.fit_line,) = self.ax.plot([], [], "-", color="#D55E00", lw=1.8, label="candidate")
        self.ax.set_xlabel("edge input $x_i$")
        self.ax.set_ylabel("edge output φ")
        self.ax.legend(loc="best", fontsize=8)

        style = {"description_width": "initial"}
        self.l_slider = W.IntSlider(value=self.l, min=0, max=self.n_layers - 1, description="layer l",
                                    continuous_update=False, style=style)
        self.i_slider = W.IntSlider(value=self.i, min=0, max=model.layers[self.l].in_dim - 1,
                                    description="input i", continuous_update=False, style=style)
        self.j_slider = W.IntSlider(value=self.j, min=0, max=model.layers[self.l].out_dim - 1,
                                    description="output j", continuous_update=False, style=style)
        self.candidate_dropdown = W.Dropdown(options=[], description="candidate", style=style)
        self.snap_button = W.Button(description="Snap", tooltip="fix this edge to the candidate")
        self.clear_button = W.Button(description="Back to spline", tooltip="undo the snap")
        self.table = W.HTML()
        self.readout = W.HTML()
        for s in (self.l_slider, self.i_slider, self.j_slider):
            s.observe(self._wrap(lambda _: self._on_edge_control()), "value")
        self.candidate_dropdown.observe(
            self._wrap(lambda ch: None if self._syncing else self.show_candidate(ch["new"])), "value")
        self.snap_button.on_click(self._wrap(lambda _: self.snap()))
        self.clear_button.on_click(self._wrap(lambda _: self.clear()))
        self.select_edge(self.l, self.i, self.j, redraw=False)
        view = self._setup_view(self.canvas_mode)
        self.widget = W.VBox([
            W.HBox([self.l_slider, self.i_slider, self.j_slider]),
            W.HBox([view, self.table]),
            W.HBox([self.candidate_dropdown, self.snap_button, self.clear_button]),
            self.readout, self.error_box])
        self.widget.add_class("kanlab-edge-inspector")

    def __repr__(self) -> str:
        return f"EdgeInspector(width={list(self.model.width)}, edge=(l={self.l}, i={self.i}, j={self.j}))"

    # ----- callbacks ----------------------------------------------------------------------------
    def _on_edge_control(self) -> None:
        if not self._syncing:  # bounds being adjusted by select_edge itself
            self.select_edge(self.l_slider.value, self.i_slider.value, self.j_slider.value)

    def select_edge(self, l: int, i: int, j: int, redraw: bool = True) -> None:
        """Show edge (l, i, j): its samples and its ranked symbolic candidates."""
        from kanlab.symbolic import edge_samples, suggest_symbolic

        self.l = check_int("l", l, 0, self.n_layers - 1)
        layer = self.model.layers[self.l]
        self._sync_bounds(layer)
        self.i = check_int("i", min(i, layer.in_dim - 1), 0, layer.in_dim - 1)
        self.j = check_int("j", min(j, layer.out_dim - 1), 0, layer.out_dim - 1)
        if hasattr(self, "l_slider"):
            self._syncing = True
            try:
                self.l_slider.value, self.i_slider.value, self.j_slider.value = self.l, self.i, self.j
            finally:
                self._syncing = False
        self.readout.value = "ranking symbolic candidates …" if hasattr(self, "readout") else ""
        xi, yi = edge_samples(self.model, self.l, self.i, self.j, self.x)
        self.xi, self.yi = xi.detach().cpu().numpy(), yi.detach().cpu().numpy()
        self.sample_dots.set_data(self.xi, self.yi)
        self.suggestions = suggest_symbolic(self.model, self.l, self.i, self.j, self.x,
                                            lib=self.lib, top_k=self.top_k)
        rows = "".join(
            f"<tr><td>{n + 1}</td><td>{html.escape(s.name)}</td><td>{s.r2:.5f}</td>"
            f"<td>{s.complexity:g}</td></tr>" for n, s in enumerate(self.suggestions))
        self.table.value = ("<table><tr><th>#</th><th>f</th><th>R²</th><th>complexity</th></tr>"
                            f"{rows}</table><small>c·f(a·x+b)+d fitted to the samples</small>")
        self._syncing = True
        try:
            self.candidate_dropdown.options = [s.name for s in self.suggestions]
            self.candidate_dropdown.value = self.suggestions[0].name if self.suggestions else None
        finally:
            self._syncing = False
        lo, hi = float(self.xi.min()), float(self.xi.max())
        pad = 0.05 * (hi - lo) + 1e-6
        self.ax.set_xlim(lo - pad, hi + pad)
        ylo, yhi = float(self.yi.min()), float(self.yi.max())
        ypad = 0.1 * (yhi - ylo) + 1e-6
        self.ax.set_ylim(ylo - ypad, yhi + ypad)
        self._update_title()
        if hasattr(self, "readout"):
            self.readout.value = f"{len(self.suggestions)} candidates ranked for edge ({self.l}, {self.i}, {self.j})"
        self.show_candidate(self.candidate_dropdown.value, redraw=redraw)

    def candidate_curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The candidate's fitted curve c·f(a·x+b)+d on a grid over the samples' range."""
        import torch

        from kanlab.symbolic import get_function

        fit = next(s for s in self.suggestions if s.name == name)
        a, b, c, d = fit.affine
        xs = np.linspace(float(self.xi.min()), float(self.xi.max()), 200)
        with torch.no_grad():
            ys = c * get_function(name).torch(torch.as_tensor(a * xs + b, device="cpu")) + d
        return xs, ys.numpy()

    def show_candidate(self, name: str | None, redraw: bool = True) -> None:
        """Overlay candidate ``name``'s affine fit on the samples."""
        if name is None:
            self.fit_line.set_data([], [])
        else:
            fit = next(s for s in self.suggestions if s.name == name)
            self.fit_line.set_data(*self.candidate_curve(name))
            a, b, c, d = fit.affine
            self.fit_line.set_label(f"{c:.3g}·{name}({a:.3g}x {b:+.3g}) {d:+.3g}  R²={fit.r2:.4f}")
            self.ax.legend(loc="best", fontsize=8)
        if redraw:
            self.redraw(full=True)

    def snap(self) -> float | None:
        """Fix the edge to the chosen candidate (``kanlab.symbolic.fix_symbolic``); returns R²."""
        from kanlab.symbolic import fix_symbolic

        name = self.candidate_dropdown.value
        if name is None:
            raise ValueError("no candidate to snap: this edge has no suggestions")
        r2 = fix_symbolic(self.model, self.l, self.i, self.j, name, x=self.x)
        self.readout.value = f"edge (l={self.l}, i={self.i}, j={self.j}) snapped to <b>{name}</b>, R² = {r2:.5f}"
        self._update_title()
        self.redraw(full=True)
        return r2

    def clear(self) -> None:
        """Return the edge to its spline."""
        self.model.layers[self.l].clear_symbolic(self.j, self.i)
        self.readout.value = f"edge (l={self.l}, i={self.i}, j={self.j}) is a spline again"
        self._update_title()
        self.redraw(full=True)

    def static_figure(self) -> Any:
        """The edge as shown now (samples and chosen candidate) as a new Figure."""
        return self.copy_figure()

    def is_symbolic(self) -> bool:
        return bool(self.model.layers[self.l].sym_mask[self.j, self.i])

    def _update_title(self) -> None:
        layer = self.model.layers[self.l]
        state = f"symbolic: {layer.sym_names[self.j][self.i]}" if self.is_symbolic() else "spline"
        self.ax.set_title(f"edge l={self.l}, i={self.i} → j={self.j} ({state})", fontsize=10)

    def _sync_bounds(self, layer: Any) -> None:
        if hasattr(self, "i_slider"):
            self._syncing = True
            try:
                self.i_slider.max, self.j_slider.max = layer.in_dim - 1, layer.out_dim - 1
            finally:
                self._syncing = False
