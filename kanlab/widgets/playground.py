"""``Playground``: build a KAN, press Play, watch every edge take shape, prune it, read the formula.

The course's signature app (notebooks/playground.ipynb, also served standalone by Voilà:
``make playground``). Choose a target (a preset or any formula in x and y), the noise and the
training-set size; the network's hidden widths, grid G and order k; then Play/Pause/Step with
L-BFGS or Adam, a learning rate and a sparsity λ. The network picture shows every edge's current
curve, faded by importance; a click on an edge opens the inspector (its symbolic candidates
with R², Snap/Unsnap). Prune drops weak nodes; once every edge is symbolic the formula and its
test error appear. Bad input (an unreadable formula, NaNs in the target, sizes out of range) is
reported in the message line above the app, never as a traceback.

Every control calls a plain method (``set_formula``, ``set_width``, ``step``, ``refine``,
``prune``, ``select_edge``, ``snap``, ...) that tests call directly; each such method reports a
problem in ``message`` (and ``last_error``) instead of raising.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from kanlab.widgets.playground_actions import ActionsMixin
from kanlab.widgets.playground_controls import guarded as _guarded
from kanlab.widgets.playground_data import (
    PRESETS,
    is_two_class,
    make_dataset,
    numpy_function,
    parse_formula,
)
from kanlab.widgets.playground_read import ReadingMixin

MAX_HIDDEN_LAYERS, MAX_NODES = 3, 8


class Playground(ActionsMixin, ReadingMixin):
    """``Playground(preset=..., hidden=(5,), grid=5, k=3, n_train=200, canvas="auto")``."""

    def __init__(self, preset: str = "exp(sin(πx) + y²)", hidden: Any = (5,), grid: int = 5,
                 k: int = 3, n_train: int = 200, noise: float | None = None, seed: int = 0,
                 canvas: str = "auto") -> None:
        import ipywidgets as W

        from kanlab.widgets.playground_controls import LossFigure, MapsFigure, build_controls
        from kanlab.widgets.playground_inspect import EdgePanel
        from kanlab.widgets.playground_net import NetworkPicture
        from kanlab.widgets.playground_train import Trainer

        t0 = time.perf_counter()
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {list(PRESETS)}, got {preset!r}")
        self.seed = seed
        self.c = build_controls()
        self.maps, self.loss = MapsFigure(), LossFigure()
        self.network = NetworkPicture(canvas=canvas)
        self.inspector = EdgePanel()
        self.trainer = Trainer(self._fit_state, self._on_step, self.draw, self._on_stop)
        self.message, self.message_kind, self.last_error = "", "ok", None
        self.train_loss: list[float] = []
        self.test_loss: list[float] = []
        self.marks: list[int] = []
        self.refine_change: float | None = None  # the last refine's RMS change / spread
        self.draw_times: list[float] = []  # wall seconds per redraw
        self.draw_cpu_times: list[float] = []  # CPU seconds of the drawing thread per redraw
        self._syncing = False
        self._building = True
        self._state_lock = threading.RLock()
        self.model: Any = None
        self.dataset: dict[str, Any] = {}
        self._expr: tuple[str, Any] | None = None  # (formula text, its sympy expression)
        self.hidden = self._check_hidden(hidden)
        self.grid, self.k = int(grid), int(k)
        self.n_train, self.noise = n_train, PRESETS[preset].noise if noise is None else noise
        self._sync(preset=preset, formula=PRESETS[preset].formula, noise=self.noise,
                   n_train=n_train, hidden=self._hidden_text(self.hidden), grid=grid, k=k)
        self._set_target(PRESETS[preset].formula)
        self._new_model()
        self._wire()
        self.widget = self._layout(W)
        self._building = False
        self.draw()
        self.build_seconds = time.perf_counter() - t0

    def __repr__(self) -> str:
        width = list(self.model.width) if self.model is not None else None
        return (f"Playground(width={width}, grid={self.model.grid if self.model else None}, "
                f"steps={len(self.train_loss)}, playing={self.trainer.playing})")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ----- layout and wiring -------------------------------------------------------------------
    def _layout(self, W: Any) -> Any:
        c = self.c
        h = functools.partial(W.HTML)
        data = W.VBox([h("<b>Data</b>"), c.preset, c.formula, c.noise, c.n_train])
        net = W.VBox([h("<b>Network</b>"), c.hidden, c.grid, c.k])
        train = W.VBox([h("<b>Training</b>"), W.HBox([c.play, c.step, c.reset]), c.opt, c.lr,
                        c.lamb, W.HBox([c.update_grid, c.refine]),
                        h("<b>Read it</b>"), W.HBox([c.prune, c.auto_snap])])
        left = W.VBox([data, net, train], layout=W.Layout(width="320px"))
        pictures = W.VBox([W.HBox([self.maps.view, self.loss.view]), c.readout,
                           W.HBox([h("<small>click an edge (or pick it here) to inspect it</small>"),
                                   c.edge_list]),
                           self.network.view, self.inspector.widget, c.formula_out])
        app = W.VBox([c.message, W.HBox([left, pictures])])
        app.add_class("kanlab-playground")
        return app

    def _wire(self) -> None:
        c = self.c

        def on(widget: Any, method: Callable[[Any], Any]) -> None:
            widget.observe(lambda ch: None if self._syncing else method(ch["new"]), "value")

        on(c.preset, self.choose_preset)
        on(c.formula, self.set_formula)
        on(c.noise, lambda v: self.set_data(noise=v))
        on(c.n_train, lambda v: self.set_data(n_train=v))
        on(c.hidden, self.set_width)
        on(c.grid, lambda v: self.set_network(grid=v))
        on(c.k, lambda v: self.set_network(k=v))
        on(c.opt, self.set_optimizer)
        on(c.lr, lambda v: self.trainer.restart())
        on(c.lamb, lambda v: self.trainer.restart())
        on(c.edge_list, lambda v: v is not None and self.select_edge(*v))
        c.play.on_click(lambda _: self.toggle_play())
        c.step.on_click(lambda _: self.step())
        c.reset.on_click(lambda _: self.reset())
        c.update_grid.on_click(lambda _: self.update_grid())
        c.refine.on_click(lambda _: self.refine())
        c.prune.on_click(lambda _: self.prune())
        c.auto_snap.on_click(lambda _: self.auto_snap())
        self.inspector.snap_button.on_click(lambda _: self.snap())
        self.inspector.unsnap_button.on_click(lambda _: self.unsnap())
        self.inspector.close_button.on_click(lambda _: self.close_inspector())
        self.network.on_click(lambda edge: self.select_edge(*edge))

    def _sync(self, **values: Any) -> None:
        """Set control values without triggering their callbacks."""
        self._syncing = True
        try:
            for name, value in values.items():
                getattr(self.c, name).value = value
        finally:
            self._syncing = False

    # ----- messages ----------------------------------------------------------------------------
    def show_message(self, text: str, kind: str = "info", err: BaseException | None = None) -> None:
        """Show ``text`` above the app (kind: "error", "info" or "ok"; "" clears it)."""
        from kanlab.widgets.playground_controls import message_html

        self.message, self.message_kind = text, kind
        self.last_error = err if kind == "error" else None
        self.c.message.value = message_html(text, kind)

    # ----- data ----------------------------------------------------------------------------------
    @_guarded
    def choose_preset(self, name: str) -> None:
        """Use preset ``name`` (its formula and noise)."""
        if name == "custom":
            return
        if name not in PRESETS:
            raise ValueError(f"preset must be one of {list(PRESETS)}, got {name!r}")
        preset = PRESETS[name]
        self._sync(preset=name, formula=preset.formula, noise=preset.noise)
        self.noise = preset.noise
        self._set_target(preset.formula)
        self.show_message(preset.hint, "info")

    @_guarded
    def set_formula(self, text: str) -> None:
        """Make the formula ``text`` in x and y the target (parsed safely; see playground_data)."""
        self._sync(formula=text)
        expr = parse_formula(text)  # sympy's exact checks (a zero divisor, huge constants) first
        self._set_target(text)
        self._expr = (text, expr)
        match = [n for n, p in PRESETS.items() if p.formula == text]
        self._sync(preset=match[0] if match else "custom")
        self.show_message(f"new target: f(x, y) = {self.expr}", "ok")

    @_guarded
    def set_data(self, noise: float | None = None, n_train: int | None = None) -> None:
        """New training data: noise σ on the labels and/or the training-set size."""
        self._set_target(self.formula_text, noise=self.noise if noise is None else noise,
                         n_train=self.n_train if n_train is None else n_train)
        self._sync(noise=self.noise, n_train=self.n_train)
        self.show_message("", "ok")

    @property
    def expr(self) -> Any:
        """The target as a sympy expression, parsed on first use (the build needs no sympy)."""
        if self._expr is None or self._expr[0] != self.formula_text:
            self._expr = (self.formula_text, parse_formula(self.formula_text))
        return self._expr[1]

    def _set_target(self, text: str, noise: float | None = None, n_train: int | None = None) -> None:
        f = numpy_function(text)  # raises FormulaError before anything changes
        noise = self.noise if noise is None else noise
        n_train = self.n_train if n_train is None else n_train
        dataset = make_dataset(f, n_train, noise, seed=self.seed, text=text)
        # While Play runs, the new data is swapped in and the training thread restarts its fit
        # on it after the current step (and redraws): the slider is answered at once.
        with self._state_lock:
            self.formula_text, self.dataset = text, dataset
            self.noise, self.n_train = float(noise), int(n_train)
            self.two_class = is_two_class(dataset)
            self.maps.set_data(dataset)
            self._clear_history()
        if self.trainer.playing:
            self.trainer.restart()
        elif self.model is not None:
            self.draw()

    # ----- network -------------------------------------------------------------------------------
    @staticmethod
    def _check_hidden(hidden: Any) -> list[Any]:
        """Hidden width entries: ``5``, or ``[n_sum, n_mult]`` (typed ``4+1``) for a layer with
        multiplication nodes (each multiplies two subnodes, as in ``kanlab.mult``)."""
        if isinstance(hidden, str):
            parts = [p for p in re.split(r"[,\s]+", hidden.strip()) if p]
            if not all(re.fullmatch(r"\d+(\+\d+)?", p) for p in parts):
                raise ValueError(f"hidden layers: write 1 to {MAX_HIDDEN_LAYERS} entries like 5 or "
                                 f"4, 4; 4+1 adds one multiplication node; got {hidden!r}")
            hidden = [[int(q) for q in p.split("+")] if "+" in p else int(p) for p in parts]
        entries = [[int(h[0]), int(h[1])] if isinstance(h, (list, tuple)) else int(h)
                   for h in hidden]

        def ok(e: Any) -> bool:
            if isinstance(e, list):
                return len(e) == 2 and e[0] >= 0 and e[1] >= 0 and 1 <= sum(e) <= MAX_NODES
            return 1 <= e <= MAX_NODES

        if not 1 <= len(entries) <= MAX_HIDDEN_LAYERS or not all(ok(e) for e in entries):
            raise ValueError(f"hidden layers: 1 to {MAX_HIDDEN_LAYERS} layers of 1 to {MAX_NODES} "
                             f"nodes each (like 5, 4, 4 or 4+1), got {hidden}")
        return [e if not isinstance(e, list) or e[1] else e[0] for e in entries]

    @staticmethod
    def _hidden_text(hidden: list[Any]) -> str:
        """The hidden entries as typed in the box: ``4+1`` for 4 sum and 1 multiplication node."""
        return ", ".join(f"{h[0]}+{h[1]}" if isinstance(h, list) else str(h) for h in hidden)

    def width_text(self) -> str:
        """The model's width as typed, e.g. ``[2, 3+1, 1]`` (3 sum and 1 multiplication node)."""
        return f"[{self._hidden_text([lay.spec() for lay in self.model.node_layouts])}]"

    @_guarded
    def set_width(self, hidden: Any) -> None:
        """New hidden widths (text "4, 4" or a list), then a fresh network."""
        self.hidden = self._check_hidden(hidden)
        self._sync(hidden=self._hidden_text(self.hidden))
        self._new_model()
        self.show_message(f"new network: width {self.width_text()}", "ok")

    @_guarded
    def set_network(self, grid: int | None = None, k: int | None = None) -> None:
        """New grid G and/or order k, then a fresh network."""
        from kanlab.widgets._base import check_int

        self.grid = check_int("grid G", self.grid if grid is None else grid, 1, 20)
        self.k = check_int("order k", self.k if k is None else k, 1, 5)
        self._sync(grid=self.grid, k=self.k)
        self._new_model()
        self.show_message(f"new network: G = {self.grid}, k = {self.k}", "ok")

    @_guarded
    def reset(self) -> None:
        """A fresh network with the same settings and data; the loss curves start over."""
        self._new_model()
        self.show_message("reset: a fresh network", "ok")

    def _new_model(self) -> None:
        from kanlab import KAN

        self.trainer.reset()
        self.model = KAN([2, *self.hidden, 1], grid=self.grid, k=self.k, seed=self.seed)
        self.model.train_input = self.dataset["train_input"]
        self.close_inspector()
        self._clear_history()
        self._structure_changed()

    def _clear_history(self) -> None:
        self.train_loss, self.test_loss, self.marks = [], [], []
        self.trainer.steps = 0

    def _structure_changed(self) -> None:
        """The edges changed (new model, prune, snap): refresh the edge list and the formula."""
        edges = [(f"l={l}: {i}→{j}", (l, i, j)) for l, layer in enumerate(self.model.layers)
                 for i in range(layer.in_dim) for j in range(layer.out_dim)
                 if float(layer.mask[j, i]) != 0.0]
        self._syncing = True
        try:
            self.c.edge_list.options = edges
            self.c.edge_list.value = None
        finally:
            self._syncing = False
        self.update_formula()
        self.draw()

    # ----- drawing -------------------------------------------------------------------------------
    def draw(self) -> None:
        """Refresh the readout, loss curves, prediction map and network picture (in place)."""
        import torch

        if self._building:
            return
        t0, cpu0 = time.perf_counter(), time.thread_time()
        with self._state_lock:  # the main thread may swap the data meanwhile
            model, data = self.model, self.dataset
            with torch.no_grad():
                pred = model(data["grid_input"]).numpy().reshape(data["grid_values"].shape)
            self.maps.set_prediction(pred)
            self.maps.draw()
            self.loss.set_data(self.train_loss, self.test_loss, self.marks)
            self.loss.draw()
            self.network.update(model, data["train_input"])
            self.c.readout.value = self.readout_text()
        self.draw_times.append(time.perf_counter() - t0)
        self.draw_cpu_times.append(time.thread_time() - cpu0)

    def readout_text(self) -> str:
        """The line under the pictures: step, train and test RMSE (and accuracy for classes)."""
        n = len(self.train_loss)
        if not n:
            return f"step 0 · width {self.width_text()} · G = {self.model.grid} · press Play or Step"
        text = (f"step <b>{n}</b> · train RMSE <b class='kanlab-train-rmse'>{self.train_loss[-1]:.4g}"
                f"</b> · test RMSE <b class='kanlab-test-rmse'>{self.test_loss[-1]:.4g}</b>")
        if self.two_class:
            text += f" · test accuracy {self.test_accuracy():.1%}"
        return text + f" · width {self.width_text()} · G = {self.model.grid}"

    def test_accuracy(self) -> float:
        """Share of test points on the right side of the midpoint between the two classes."""
        import torch

        values = np.unique(self.dataset["grid_values"])
        mid = float(values.mean())
        with torch.no_grad():
            pred = self.model(self.dataset["test_input"]).numpy().ravel() > mid
        truth = self.dataset["test_label"].numpy().ravel() > mid
        return float((pred == truth).mean())
