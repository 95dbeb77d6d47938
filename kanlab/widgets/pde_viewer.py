"""PDEViewer: scrub through a PINN's training, solution and error maps side by side.

Introduced in 08_solving_pdes. ``train_pde(..., snapshot_every=s)`` stores the predicted
solution on the test mesh every s steps; this widget shows one snapshot at a time: the
prediction u_hat(x, y), the error map log10 |u_hat - u*|, and the error curve of every model
with a marker at the shown step. The colour scales are fixed over all snapshots, so a darker
error map really means a smaller error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kanlab.widgets._base import WidgetBase, check_choice, new_figure, resolve_canvas

METRICS = ("u_mse", "rel_l2", "h1")
_METRIC_NAMES = {"u_mse": "u MSE", "rel_l2": "relative L2 error", "h1": "H1 seminorm error"}
_FLOOR = 1e-16  # |error| floor before the log


class PDEViewer(WidgetBase):
    """Slider over the stored snapshots of one or more ``PDEHistory`` objects.

    ``PDEViewer({"KAN": h_kan, "MLP": h_mlp}, metric="u_mse")`` (or one history). A dropdown
    picks whose maps are shown; the slider picks the snapshot. Callbacks (also what tests call):
    ``show(index)``, ``set_model(label)``. State: ``.label``, ``.index``, ``.step``,
    ``.image_u.get_array()``, ``.image_err.get_array()``, ``.readout.value``.
    """

    def __init__(
        self,
        histories: Any,
        metric: str = "u_mse",
        label: str | None = None,
        index: int = -1,
        canvas: str = "auto",
    ) -> None:
        import ipywidgets as W

        self._init_kwargs = dict(histories=histories, metric=metric, label=label, index=index)
        self.histories = self._check_histories(histories)
        self.metric = check_choice("metric", metric, METRICS)
        self.label = check_choice("label", label, list(self.histories)) if label is not None else next(iter(self.histories))
        self.canvas_mode = resolve_canvas(canvas)
        self._build_figure()
        self.index = self._check_index(index)

        self.slider = W.IntSlider(
            value=self.index, min=0, max=len(self.history.snapshots) - 1,
            description="snapshot", style={"description_width": "initial"},
        )
        self.model_box = W.Dropdown(options=list(self.histories), value=self.label, description="model")
        self.readout = W.HTML()
        self.slider.observe(self._wrap(lambda ch: self.show(ch["new"])), names="value")
        self.model_box.observe(self._wrap(lambda ch: self.set_model(ch["new"])), names="value")
        self._update_artists()
        view = self._setup_view(self.canvas_mode)
        self.set_animated([self.image_u, self.image_err, self.marker])
        controls = [self.slider] + ([self.model_box] if len(self.histories) > 1 else [])
        self.widget = W.VBox([W.HBox(controls), self.readout, view, self.error_box])
        self.widget.add_class("kanlab-pde-viewer")
        self.redraw(full=True)

    # ----------------------------------------------------------------- checks and data
    @staticmethod
    def _check_histories(histories: Any) -> dict[str, Any]:
        if not isinstance(histories, dict):
            histories = {"model": histories}
        if not histories:
            raise ValueError("histories must hold at least one PDEHistory")
        for name, h in histories.items():
            if not hasattr(h, "snapshots") or not h.snapshots or getattr(h, "exact", None) is None:
                raise ValueError(
                    f"histories[{name!r}] must be a PDEHistory with an exact solution and at least one "
                    "snapshot (train_pde(..., snapshot_every=...) on a problem with a known solution)"
                )
        return dict(histories)

    def _check_index(self, index: int) -> int:
        n = len(self.history.snapshots)
        if isinstance(index, bool) or not isinstance(index, int) or not -n <= index < n:
            raise ValueError(f"index must be an integer in {-n}..{n - 1}, got {index!r}")
        return index % n

    @property
    def history(self) -> Any:
        """The ``PDEHistory`` whose maps are shown."""
        return self.histories[self.label]

    @property
    def step(self) -> int:
        """Training step of the snapshot shown."""
        return self.history.snapshots[self.index][0]

    def maps(self) -> tuple[np.ndarray, np.ndarray]:
        """(u_hat, log10 |u_hat - u*|) of the snapshot shown, each (n_test, n_test)."""
        u_hat = self.history.snapshots[self.index][1]
        return u_hat, np.log10(np.abs(u_hat - self.history.exact) + _FLOOR)

    def metric_at_step(self) -> float:
        """The chosen error metric of the shown model at the shown step."""
        h = self.history
        return float(getattr(h, self.metric)[h.step.index(self.step)])

    def __repr__(self) -> str:
        return (
            f"PDEViewer(models={list(self.histories)}, label={self.label!r}, index={self.index}, "
            f"step={self.step}, metric={self.metric!r})"
        )

    # ----------------------------------------------------------------- drawing
    def _build_figure(self) -> None:
        self.fig = new_figure((9.6, 3.2), self.canvas_mode)
        self.fig.set_layout_engine("constrained")  # before the colour bars, so they join the layout
        ax_u, ax_err, ax_curve = self.fig.subplots(1, 3, width_ratios=[1.0, 1.0, 1.15])
        self.ax_u, self.ax_err, self.ax_curve = ax_u, ax_err, ax_curve
        exact = next(iter(self.histories.values())).exact
        vmax = float(np.abs(exact).max())
        logs = [np.log10(np.abs(u - h.exact) + _FLOOR) for h in self.histories.values() for _, u in h.snapshots]
        lo_e, hi_e = float(min(np.percentile(g, 1) for g in logs)), float(max(g.max() for g in logs))
        lo, hi = next(iter(self.histories.values())).domain
        extent = (lo, hi, lo, hi)
        blank = np.zeros_like(exact)
        self.image_u = ax_u.imshow(blank, origin="lower", extent=extent, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        self.image_err = ax_err.imshow(blank, origin="lower", extent=extent, cmap="viridis", vmin=lo_e, vmax=hi_e)
        for ax, im, title, cbar in ((ax_u, self.image_u, "prediction u_hat(x, y)", "u"),
                                    (ax_err, self.image_err, "log10 |u_hat − u*|", "log10 |error|")):
            ax.set(title=title, xlabel="x", ylabel="y")
            ax.grid(False)
            self.fig.colorbar(im, ax=ax, label=cbar)
        from kanlab.plotting import style_cycle

        for st, (name, h) in zip(style_cycle(len(self.histories)), self.histories.items()):
            ax_curve.semilogy(h.step, getattr(h, self.metric), color=st["color"], linestyle=st["linestyle"], label=name)
        self.marker = ax_curve.axvline(0, color="black", linewidth=1.0, linestyle="--")
        ax_curve.set(title=f"{_METRIC_NAMES[self.metric]} vs step", xlabel="LBFGS step",
                     ylabel=_METRIC_NAMES[self.metric])
        ax_curve.legend(fontsize=8)
        from matplotlib.ticker import MaxNLocator

        ax_curve.xaxis.set_major_locator(MaxNLocator(integer=True))

    def _update_artists(self) -> None:
        u_hat, log_err = self.maps()
        self.image_u.set_data(u_hat)
        self.image_err.set_data(log_err)
        self.marker.set_xdata([self.step, self.step])
        self.readout.value = (
            f"<b>{self.label}</b>, step {self.step} "
            f"(snapshot {self.index} of 0–{len(self.history.snapshots) - 1}): "
            f"{_METRIC_NAMES[self.metric]} = {self.metric_at_step():.2e}"
        )

    # ----------------------------------------------------------------- callbacks
    def show(self, index: int) -> None:
        """Show snapshot ``index`` of the current model (negative counts from the end)."""
        self.index = self._check_index(index)
        if self.slider.value != self.index:
            self.slider.value = self.index  # the observer calls show() again, which draws
            return
        self._update_artists()
        self.redraw()

    def set_model(self, label: str) -> None:
        """Show the maps of ``label``'s history, at the same snapshot position when it has one."""
        self.label = check_choice("label", label, list(self.histories))
        if self.model_box.value != self.label:
            self.model_box.value = self.label  # the observer calls set_model() again, which draws
            return
        n = len(self.history.snapshots)
        self.index = min(self.index, n - 1)
        self.slider.max = n - 1
        if self.slider.value != self.index:
            self.slider.value = self.index  # draws through show()
            return
        self._update_artists()
        self.redraw()
