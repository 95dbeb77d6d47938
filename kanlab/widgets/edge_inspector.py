"""EdgeInspector: look at one edge of a trained KAN, rank symbolic candidates, snap one.

Introduced in 07_interpretability. Choose the layer l, input i and output j; the plot shows the
edge's samples (x_i, φ_{j,i}(x_i)) on the data ``x`` and the chosen candidate's affine fit
c·f(a·x + b) + d; the table lists the top candidates from ``kanlab.symbolic.suggest_symbolic``
with R², complexity and score; "Snap" calls ``kanlab.symbolic.fix_symbolic``.

The inspector works on its own copy of the model (``copy=True``), so a notebook that later
snaps or retrains its model (07's ``auto_symbolic``) leaves the widget's edges as splines, and a
snap in the widget never changes the notebook's model. After Snap / Back to spline the picture
shows the edge as the model now computes it, and the readout how far the model's output moved
(RMS over ``x``; and its RMSE to ``y`` when given). Rankings are cached per edge and computed
for every edge in a background thread after the first one, so switching edges is quick.
"""

from __future__ import annotations

import copy as _copy
import html
import threading
from typing import Any

import numpy as np

from kanlab.widgets._base import WidgetBase, check_int, freeze_layout, new_figure, resolve_canvas


class EdgeInspector(WidgetBase):
    """``EdgeInspector(model, x, l=0, i=0, j=0, top_k=5)``; x: (batch, width[0]) inputs,
    y: optional (batch, width[-1]) targets for the readout's RMSE. ``copy=False`` inspects (and
    snaps) ``model`` itself; ``precompute=False`` ranks each edge only when it is shown."""

    def __init__(self, model: Any, x: Any, l: int = 0, i: int = 0, j: int = 0, top_k: int = 5,
                 lib: Any = None, canvas: str = "auto", y: Any = None, copy: bool = True,
                 precompute: bool = True) -> None:
        import ipywidgets as W
        import torch

        if not hasattr(model, "layers") or not hasattr(model, "width"):
            raise ValueError(f"model must be a kanlab.KAN, got {type(model).__name__}")
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != model.width[0]:
            raise ValueError(f"x must be a tensor of shape (batch, {model.width[0]}), got "
                             f"{getattr(x, 'shape', type(x))}")
        if y is not None and (not isinstance(y, torch.Tensor) or y.shape[0] != x.shape[0]):
            raise ValueError(f"y must be a tensor with {x.shape[0]} rows like x, got "
                             f"{getattr(y, 'shape', type(y))}")
        self.model = _copy.deepcopy(model) if copy else model
        self.x, self.y, self.lib = x, y, lib
        with torch.no_grad():
            self._out0 = self.model(x).detach()  # the model's output when the inspector opened
        self._cache: dict[Any, list[Any]] = {}
        self._lock = threading.Lock()
        self.top_k = check_int("top_k", top_k, 1, 50)
        self.n_layers = len(model.layers)
        self.l = check_int("l", l, 0, self.n_layers - 1)
        self.i = check_int("i", i, 0, model.layers[self.l].in_dim - 1)
        self.j = check_int("j", j, 0, model.layers[self.l].out_dim - 1)
        self._init_kwargs = dict(model=model, x=x, l=l, i=i, j=j, top_k=top_k, lib=lib, y=y,
                                 copy=copy, precompute=False)
        self.suggestions: list[Any] = []
        self._syncing = False
        self.canvas_mode = resolve_canvas(canvas)
        self.fig = new_figure((6.4, 3.2), self.canvas_mode)
        self.ax = self.fig.subplots()
        (self.sample_dots,) = self.ax.plot([], [], ".", color="#0072B2", ms=3, label="edge φ(x)")
        (self.fit_line,) = self.ax.plot([], [], "-", color="#D55E00", lw=1.8, label="candidate")
        (self.now_dots,) = self.ax.plot([], [], "x", color="#009E73", ms=4,
                                        label="edge now (snapped)")
        self.now_dots.set_visible(False)
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
        self._layout_chars = self._ytick_chars()
        self._thread: threading.Thread | None = None
        if precompute:
            self._thread = threading.Thread(target=self._rank_all, name="kanlab-rank", daemon=True)
            self._thread.start()
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
        import torch

        from kanlab.symbolic import edge_samples

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
        with torch.no_grad():
            xi, yi = edge_samples(self.model, self.l, self.i, self.j, self.x)
        self.xi, self.yi = xi.detach().cpu().numpy(), yi.detach().cpu().numpy()
        self.sample_dots.set_data(self.xi, self.yi)
        self.suggestions = self._ranked(self.l, self.i, self.j)
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
        self._update_now()
        self._update_title()
        if hasattr(self, "readout"):
            self.readout.value = (f"{len(self.suggestions)} candidates ranked for edge "
                                  f"({self.l}, {self.i}, {self.j}) &nbsp;·&nbsp; {self._effect()}")
        self.show_candidate(self.candidate_dropdown.value, redraw=False)
        if redraw:
            if self.canvas_mode == "image" and self._ytick_chars() > self._layout_chars:
                freeze_layout(self.fig)  # wider tick labels than laid out for: lay out again
                self._layout_chars = self._ytick_chars()
            self.redraw(full=True)

    def _ytick_chars(self) -> int:
        """Characters of the widest y tick label at the current limits (the left margin the
        layout needs; a constrained layout costs more than the whole redraw)."""
        axis = self.ax.yaxis
        lo, hi = sorted(self.ax.get_ylim())
        ticks = [t for t in axis.get_major_locator()() if lo <= t <= hi]
        return max((len(label) for label in axis.get_major_formatter().format_ticks(ticks)),
                   default=0)

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
        with self._lock:  # not while the background thread ranks edges of this model
            r2 = fix_symbolic(self.model, self.l, self.i, self.j, name, x=self.x)
        self._update_now()
        self.readout.value = (f"edge (l={self.l}, i={self.i}, j={self.j}) snapped to <b>{name}</b>, "
                              f"R² = {r2:.5f} &nbsp;·&nbsp; {self._effect()}")
        self._update_title()
        self.redraw(full=True)
        return r2

    def clear(self) -> None:
        """Return the edge to its spline."""
        with self._lock:
            self.model.layers[self.l].clear_symbolic(self.j, self.i)
        self._update_now()
        self.readout.value = (f"edge (l={self.l}, i={self.i}, j={self.j}) is a spline again "
                              f"&nbsp;·&nbsp; {self._effect()}")
        self._update_title()
        self.redraw(full=True)

    # ----- the model as it is now -----------------------------------------------------------------
    def edge_now(self) -> np.ndarray:
        """Edge (l, i, j)'s output as the model computes it now (its formula once snapped): (batch,)."""
        import torch

        with torch.no_grad():
            h = self.model.layer_inputs(self.x)[self.l]
            return self.model.layers[self.l].edge_activations(h)[:, self.j, self.i].cpu().numpy()

    def output_change(self) -> float:
        """RMS over x of how far the model's output moved since the inspector opened."""
        import torch

        with torch.no_grad():
            return float(torch.sqrt(torch.mean((self.model(self.x) - self._out0) ** 2)))

    def _effect(self) -> str:
        text = f"model output moved by RMS {self.output_change():.2e} since the start"
        if self.y is not None:
            import torch

            with torch.no_grad():
                rmse = float(torch.sqrt(torch.mean((self.model(self.x) - self.y) ** 2)))
            text += f"; model RMSE to y: {rmse:.2e}"
        return text

    def _update_now(self) -> None:
        """Show the snapped edge's own output next to its spline samples (hidden for splines)."""
        snapped = self.is_symbolic()
        self.now_dots.set_visible(snapped)
        self.now_dots.set_data(self.xi, self.edge_now()) if snapped else self.now_dots.set_data([], [])
        self.ax.legend(loc="best", fontsize=8)

    # ----- rankings (cached; the spline samples of layer l depend on earlier layers' snaps) ----------
    def _key(self, l: int, i: int, j: int) -> Any:
        before = tuple(tuple(map(tuple, layer.sym_names)) + (tuple(layer.sym_mask.flatten().tolist()),)
                       for layer in self.model.layers[:l])
        return (l, i, j, before)

    def _ranked(self, l: int, i: int, j: int) -> list[Any]:
        from kanlab.symbolic import suggest_symbolic

        key = self._key(l, i, j)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = suggest_symbolic(self.model, l, i, j, self.x, lib=self.lib,
                                                    top_k=self.top_k)
            return self._cache[key]

    def _rank_all(self) -> None:
        """Rank every edge once (background thread), so switching edges only draws."""
        try:
            for l, layer in enumerate(self.model.layers):
                for j in range(layer.out_dim):
                    for i in range(layer.in_dim):
                        self._ranked(l, i, j)
        except Exception:  # the foreground ranks the edge again and shows any error
            pass

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
