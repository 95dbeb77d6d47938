"""The Playground's controls and figures (built once; ``kanlab.widgets.playground`` wires them).

Every control has a description; controls that rebuild or retrain use
``continuous_update=False``. The heat maps (target with the train/test points, prediction) and
the loss curves are drawn with Agg into PNG images (the course's image canvas) and updated in
place: ``set_data`` on the images and lines, then one draw.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

from kanlab.widgets._base import canvas_png, new_figure
from kanlab.widgets.playground_data import N_TRAIN_RANGE, NOISE_RANGE, PRESETS

LAMBDAS = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
DEFAULT_LR = {"LBFGS": 1.0, "Adam": 0.01}
MESSAGE_COLORS = {"error": ("#fde8e8", "#9b1c1c"), "info": ("#e8f1fd", "#1c3f9b"),
                  "ok": ("#e8f8ee", "#1c6b3a")}


def build_controls() -> SimpleNamespace:
    """All the Playground's control widgets, by name."""
    import ipywidgets as W

    style = {"description_width": "110px"}
    wide = W.Layout(width="300px")
    c = SimpleNamespace()
    c.preset = W.Dropdown(options=[*PRESETS, "custom"], value=next(iter(PRESETS)),
                          description="preset", style=style, layout=wide)
    c.formula = W.Text(description="f(x, y) =", continuous_update=False, style=style, layout=wide,
                       placeholder="e.g. exp(sin(pi*x) + y**2)")
    c.noise = W.FloatSlider(value=0.0, min=NOISE_RANGE[0], max=NOISE_RANGE[1], step=0.05,
                            description="noise σ", continuous_update=False, style=style, layout=wide)
    c.n_train = W.IntSlider(value=200, min=N_TRAIN_RANGE[0], max=N_TRAIN_RANGE[1], step=10,
                            description="training points", continuous_update=False, style=style,
                            layout=wide)
    c.hidden = W.Text(value="5", description="hidden layers", continuous_update=False,
                      style=style, layout=wide, placeholder="5  or  4, 4  or  4+1 (+ mult nodes)")
    c.grid = W.IntSlider(value=5, min=1, max=20, description="grid G", continuous_update=False,
                         style=style, layout=wide)
    c.k = W.IntSlider(value=3, min=1, max=5, description="order k", continuous_update=False,
                      style=style, layout=wide)
    c.play = W.Button(description="Play", icon="play", button_style="success",
                      tooltip="train in the background until Pause")
    c.step = W.Button(description="Step", icon="step-forward", tooltip="one training step")
    c.reset = W.Button(description="Reset", icon="undo", tooltip="a fresh network, same settings")
    c.opt = W.Dropdown(options=list(DEFAULT_LR), value="LBFGS", description="optimiser",
                       style=style, layout=wide)
    c.lr = W.FloatLogSlider(value=1.0, base=10, min=-4, max=1, step=0.25, description="learning rate",
                            continuous_update=False, style=style, layout=wide, readout_format=".3g")
    c.lamb = W.SelectionSlider(options=[(f"{v:g}", v) for v in LAMBDAS], value=0.0,
                               description="sparsity λ", continuous_update=False, style=style,
                               layout=wide)
    c.update_grid = W.Button(description="Update grid", tooltip="move the grids to the data")
    c.refine = W.Button(description="Refine G→2G",
                        tooltip="grid extension: the function is kept (or the message says how much it moved)")
    c.prune = W.Button(description="Prune", icon="cut", tooltip="drop weak nodes and edges")
    c.auto_snap = W.Button(description="Snap all", icon="magic",
                           tooltip="snap every edge whose best formula has R² ≥ 0.99")
    for name in ("play", "step", "reset", "update_grid", "refine", "prune", "auto_snap"):
        button = getattr(c, name)
        button.layout = W.Layout(width="auto")
        button.add_class(f"kanlab-playground-{name.replace('_', '-')}")
    for name in ("lamb", "lr", "noise", "n_train", "grid", "k", "hidden", "formula"):
        getattr(c, name).add_class(f"kanlab-playground-{name.replace('_', '-')}")
    c.readout = W.HTML("step 0")
    c.readout.add_class("kanlab-playground-readout")
    c.message = W.HTML()
    c.message.add_class("kanlab-playground-message")
    c.formula_out = W.HTMLMath()
    c.formula_out.add_class("kanlab-playground-formula")
    c.edge_list = W.Dropdown(options=[], description="edge", style={"description_width": "40px"},
                             layout=W.Layout(width="200px"))
    return c


def message_html(text: str, kind: str) -> str:
    """The message box's HTML for ``kind`` in error/info/ok (empty text: no box)."""
    if not text:
        return ""
    bg, fg = MESSAGE_COLORS[kind]
    return (f"<div class='kanlab-msg-{kind}' style='background:{bg};color:{fg};padding:4px 8px;"
            f"border-radius:4px;max-width:1100px'>{html.escape(text)}</div>")


class _Blitted:
    """A figure drawn in full only when its background changes; otherwise its ``animated``
    artists are drawn over the cached background (a few ms instead of ~100 ms)."""

    fig: Any
    view: Any
    animated: list[Any]

    def _init_blit(self, animated: list[Any]) -> None:
        import ipywidgets as W

        self.animated = animated
        for artist in animated:
            artist.set_animated(True)
        self._background: Any = None
        self.full_draws = 0
        self.view = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))

    def invalidate(self) -> None:
        """The background changed (limits, colours): the next draw is a full one."""
        self._background = None

    def draw(self) -> None:
        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()
            self._background = canvas.copy_from_bbox(self.fig.bbox)
            self.full_draws += 1
        else:
            canvas.restore_region(self._background)
        for artist in self.animated:
            self.fig.draw_artist(artist)
        self.view.value = canvas_png(self.fig)


class MapsFigure(_Blitted):
    """Target and prediction heat maps on [-1, 1]², train points (●) and test points (×)."""

    def __init__(self) -> None:
        self.fig = new_figure((6.4, 3.0), "image", dpi=80)
        # fixed axes positions: no layout engine (constrained layout costs ~1 s on first use)
        self.ax_t = self.fig.add_axes((0.08, 0.13, 0.38, 0.78))
        self.ax_p = self.fig.add_axes((0.505, 0.13, 0.38, 0.78), sharey=self.ax_t)
        cax = self.fig.add_axes((0.905, 0.13, 0.02, 0.78))
        blank = np.zeros((2, 2))
        opts = {"extent": (-1, 1, -1, 1), "origin": "lower", "cmap": "viridis", "aspect": "equal"}
        self.target = self.ax_t.imshow(blank, **opts)
        self.pred = self.ax_p.imshow(blank, **opts)
        self.train_pts = self.ax_t.scatter([], [], s=9, c="white", edgecolors="black",
                                           linewidths=0.5, label="train")
        self.test_pts = self.ax_t.scatter([], [], s=9, marker="x", c="#D55E00", linewidths=0.7,
                                          label="test")
        self.ax_t.set_title("target f(x, y) and the data", fontsize=9)
        self.ax_p.set_title("the network's prediction", fontsize=9)
        for ax in (self.ax_t, self.ax_p):
            ax.set_xticks([-1, 0, 1])
            ax.set_yticks([-1, 0, 1])
            ax.set_xlabel("x", fontsize=8)
            ax.tick_params(labelsize=7)
        self.ax_t.set_ylabel("y", fontsize=8, labelpad=1)
        self.ax_p.tick_params(labelleft=False)
        self.fig.colorbar(self.pred, cax=cax).ax.tick_params(labelsize=7)
        self._init_blit([self.pred])

    def set_data(self, dataset: dict[str, Any], n_test_shown: int = 150) -> None:
        values = dataset["grid_values"]
        lo, hi = float(values.min()), float(values.max())
        hi = hi if hi > lo else lo + 1e-6
        self.target.set_data(values)
        for image in (self.target, self.pred):
            image.set_clim(lo, hi)
        self.train_pts.set_offsets(dataset["train_input"][:400].numpy())
        self.test_pts.set_offsets(dataset["test_input"][:n_test_shown].numpy())
        self.invalidate()

    def set_prediction(self, values: np.ndarray) -> None:
        self.pred.set_data(values)


class LossFigure(_Blitted):
    """Train and test RMSE per step (log scale); dotted lines mark grid/structure changes.
    The limits move in whole decades and doublings, so the background is rarely redrawn."""

    def __init__(self) -> None:
        from matplotlib.ticker import FuncFormatter

        self.fig = new_figure((3.8, 3.0), "image", dpi=80)
        self.ax = self.fig.add_axes((0.19, 0.14, 0.77, 0.8))
        (self.train,) = self.ax.plot([], [], "-", color="#0072B2", label="train RMSE")
        (self.test,) = self.ax.plot([], [], "--", color="#D55E00", label="test RMSE")
        self.ax.set_yscale("log")
        self.ax.set_xlabel("step", fontsize=8)
        self.ax.set_ylabel("RMSE (log scale)", fontsize=8)
        self.ax.tick_params(labelsize=7)
        self.ax.legend(loc="upper right", fontsize=7)
        self.ax.set_xlim(0, 10)
        self.ax.set_ylim(1e-3, 1)
        self.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # no mathtext
        self.ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        self._marks: list[Any] = []
        self._init_blit([self.train, self.test])

    def set_data(self, train: list[float], test: list[float], marks: list[int]) -> None:
        n = min(len(train), len(test))
        steps = np.arange(1, n + 1)
        self.train.set_data(steps, np.array(train[:n]))
        self.test.set_data(steps, np.array(test[:n]))
        if list(marks) != [line.get_xdata()[0] - 0.5 for line in self._marks]:
            for line in self._marks:
                line.remove()
            self._marks = [self.ax.axvline(m + 0.5, color="0.6", lw=0.8, ls=":") for m in marks]
            self.invalidate()
        values = np.array([v for v in train[:n] + test[:n] if v > 0 and np.isfinite(v)])
        ylim = self._ylim(values) if values.size else self.ax.get_ylim()
        xmax = 10.0
        while xmax < n + 1:
            xmax *= 2
        if ylim != self.ax.get_ylim() or (0, xmax) != self.ax.get_xlim():
            self.ax.set_ylim(*ylim)
            self.ax.set_xlim(0, xmax)
            self.invalidate()

    def _ylim(self, values: np.ndarray, spare: int = 2) -> tuple[float, float]:
        """y limits in whole decades that move rarely (each move is a full redraw): kept while
        the values fit and at most ``spare`` decades stay empty; else the values' decades with one
        spare decade below (the loss tends to fall)."""
        lo, hi = np.round(np.log10(self.ax.get_ylim()))
        need_lo, need_hi = np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))
        need_hi = max(need_hi, need_lo + 1)
        if lo <= need_lo and need_hi <= hi and (hi - lo) - (need_hi - need_lo) <= spare:
            return self.ax.get_ylim()
        return 10.0 ** (need_lo - 1), 10.0 ** need_hi


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run the app method ``fn``; a problem becomes the app's message (never a traceback in the log)."""

    @functools.wraps(fn)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except (ValueError, IndexError, FloatingPointError) as err:
            self.show_message(str(err), "error", err)
        except Exception as err:  # unexpected: still shown in the app
            self.show_message(f"unexpected {type(err).__name__}: {err}", "error", err)
        return None

    return run
