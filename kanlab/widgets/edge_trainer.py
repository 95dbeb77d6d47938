"""EdgeTrainer: train one learnable activation and scrub through its training.

Introduced in 03_learnable_activation. One KAN edge is
φ(x) = scale_base·silu(x) + scale_sp·Σ_c coef_c·B_c(x): a ``KANLayer(1, 1, grid, k)``. The
widget trains it with Adam on samples of a 1-D target, keeps snapshots of the curve, its two
parts and its coefficients, and lets you scrub through the epochs with a slider.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from kanlab.widgets._base import (
    WidgetBase,
    check_choice,
    check_int,
    check_range,
    freeze_layout,
    new_figure,
    resolve_canvas,
)

#: 1-D targets on [-1, 1].
TARGETS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin(πx)": lambda x: np.sin(np.pi * x),
    "x²": np.square,
    "|x|": np.abs,
    "exp(x)": np.exp,
    "sin(3πx)": lambda x: np.sin(3 * np.pi * x),
    "bump": lambda x: np.exp(-0.5 * (x / 0.2) ** 2),
}


class EdgeTrainer(WidgetBase):
    """Train ``KANLayer(1, 1, grid, k)`` on a 1-D target with Adam; scrub the epoch slider.

    Left: the target, the samples, φ at the chosen epoch and its two parts (silu residual and
    spline); right: the training RMSE (log scale) with the chosen epoch marked. A Train button
    retrains with the chosen G, target and learning rate. ``losses[e]`` is the training RMSE
    after e Adam steps (``losses[0]``: at initialisation), shape (epochs + 1,).
    ``EdgeTrainer(grid=5, k=3, target="sin(πx)", epochs=200, lr=0.02)``.
    """

    def __init__(
        self,
        grid: int = 5,
        k: int = 3,
        target: str = "sin(πx)",
        epochs: int = 200,
        lr: float = 0.02,
        n_samples: int = 64,
        snapshot_every: int = 2,
        seed: int = 0,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        canvas: str = "auto",
    ) -> None:
        import ipywidgets as W

        self.grid = check_int("grid", grid, 1, 50)
        self.k = check_int("k", k, 0, 5)
        self.target_name = check_choice("target", target, list(TARGETS))
        self.epochs = check_int("epochs", epochs, 1, 20_000)
        if not (isinstance(lr, int | float) and 0 < lr <= 10):
            raise ValueError(f"lr must be a number in (0, 10], got {lr!r}")
        self.lr = float(lr)
        self.n_samples = check_int("n_samples", n_samples, 2, 100_000)
        self.snapshot_every = check_int("snapshot_every", snapshot_every, 1, self.epochs)
        self.seed = check_int("seed", seed, 0, 2**31 - 1)
        self.grid_range = check_range("grid_range", grid_range)
        self._init_kwargs = dict(grid=grid, k=k, target=target, epochs=epochs, lr=lr,
                                 n_samples=n_samples, snapshot_every=snapshot_every, seed=seed,
                                 grid_range=grid_range)
        self.canvas_mode = resolve_canvas(canvas)
        lo, hi = self.grid_range
        pad = 0.2 * (hi - lo)
        self.x = np.linspace(lo - pad, hi + pad, 301)
        self.train()

        self.fig = new_figure((8.6, 3.9), self.canvas_mode)
        self.ax_phi, self.ax_loss = self.fig.subplots(1, 2, width_ratios=[3, 2])
        ax = self.ax_phi
        for a, b in ((self.x[0], lo), (hi, self.x[-1])):
            ax.axvspan(a, b, color="0.85", zorder=0)
        (self.target_line,) = ax.plot(self.x, self._target(self.x), ":", color="black", label="target")
        (self.sample_dots,) = ax.plot(self.x_train, self.y_train, ".", color="0.5", ms=3,
                                      label="samples")
        (self.phi_line,) = ax.plot(self.x, self.x * 0, "-", color="#0072B2", lw=2.5, label="φ(x)")
        (self.base_line,) = ax.plot(self.x, self.x * 0, "--", color="#E69F00",
                                    label="$w_b$·silu(x)")
        (self.spline_line,) = ax.plot(self.x, self.x * 0, "-.", color="#009E73",
                                      label="$w_s$·spline(x)")
        (self.coef_dots,) = ax.plot([], [], "o", color="#009E73", ms=4, mfc="none",
                                    label="$w_s c_m$ at $\\tau_m$")
        ax.set_xlim(self.x[0], self.x[-1])
        ax.set_xlabel("x (grey: outside the grid)")
        ax.set_ylabel("φ(x)")
        # below the axes, never over the data
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=3)
        al = self.ax_loss
        (self.loss_line,) = al.semilogy(np.arange(self.epochs + 1), self.losses, color="#D55E00")
        (self.epoch_marker,) = al.plot([], [], "o", color="black")
        al.set_xlabel("epoch")
        al.set_ylabel("training RMSE")
        al.set_title("loss (log scale)", fontsize=10)

        style = {"description_width": "initial"}
        self.epoch_slider = W.IntSlider(value=self.epochs, min=0, max=self.epochs,
                                        step=self.snapshot_every, description="epoch",
                                        style=style, layout=W.Layout(width="420px"))
        self.play = W.Play(value=self.epochs, min=0, max=self.epochs, step=self.snapshot_every,
                           interval=60, tooltip="play through the stored epochs (play, stop, repeat)")
        # no description: ipywidgets shows the tooltip only on widgets without one (the Play
        # widget draws no description anyway)
        W.jslink((self.play, "value"), (self.epoch_slider, "value"))
        self.grid_slider = W.IntSlider(value=self.grid, min=1, max=20, description="G",
                                       continuous_update=False, style=style)
        self.target_dropdown = W.Dropdown(options=list(TARGETS), value=self.target_name,
                                          description="target", style=style)
        self.lr_slider = W.FloatLogSlider(value=self.lr, base=10, min=-3, max=0, description="lr",
                                          continuous_update=False, style=style)
        self.train_button = W.Button(description="Train", icon="play",
                                     tooltip="train a fresh edge with this G, target and lr")
        self.readout = W.HTML()
        self.epoch_slider.observe(self._wrap(lambda ch: self.show_epoch(ch["new"])), "value")
        self.train_button.on_click(self._wrap(lambda _: self.retrain()))
        self._fix_limits()
        self.set_animated([self.phi_line, self.base_line, self.spline_line, self.coef_dots,
                           self.epoch_marker, self.ax_phi.title])
        self.show_epoch(self.epochs, redraw=False)
        view = self._setup_view(self.canvas_mode)
        self.widget = W.VBox([
            W.HBox([self.grid_slider, self.target_dropdown, self.lr_slider, self.train_button]),
            W.HBox([self.play, self.epoch_slider]), view, self.readout, self.error_box])
        self.widget.add_class("kanlab-edge-trainer")

    def __repr__(self) -> str:
        return (f"EdgeTrainer(grid={self.grid}, k={self.k}, target={self.target_name!r}, "
                f"epochs={self.epochs}, lr={self.lr})")

    def _target(self, x: np.ndarray) -> np.ndarray:
        return TARGETS[self.target_name](x)

    # ----- training ----------------------------------------------------------------------------
    def train(self) -> None:
        """Train a fresh edge; store ``snapshots[epoch] = dict(phi, base, spline, coef)``."""
        import torch

        from kanlab.layer import BASE_FUNCTIONS, KANLayer
        from kanlab.widgets._bspline_np import greville

        gen = torch.Generator().manual_seed(self.seed)
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            layer = KANLayer(1, 1, grid=self.grid, k=self.k, grid_range=self.grid_range,
                             dtype=torch.float64)
        lo, hi = self.grid_range
        x_train = lo + (hi - lo) * torch.rand(self.n_samples, 1, generator=gen, dtype=torch.float64, device="cpu")
        y_train = torch.as_tensor(self._target(x_train.numpy()), device="cpu")
        self.x_train, self.y_train = x_train[:, 0].numpy(), y_train[:, 0].numpy()
        x_plot = torch.as_tensor(self.x, device="cpu")[:, None]
        with torch.no_grad():
            self._basis_plot = layer.basis(x_plot)[:, 0].numpy()
            self._silu_plot = BASE_FUNCTIONS[layer.base_fn](x_plot[:, 0]).numpy()
        opt = torch.optim.Adam(layer.parameters(), lr=self.lr)
        self.layer = layer
        self.greville = greville(layer.knots[0].numpy(), self.k)
        self.snapshots: dict[int, dict[str, np.ndarray]] = {0: self._snapshot()}
        losses = []  # losses[e]: the RMSE of the edge after e steps (the loss step e + 1 sees)
        for epoch in range(1, self.epochs + 1):
            opt.zero_grad()
            loss = torch.mean((layer(x_train) - y_train) ** 2)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()) ** 0.5)
            if epoch % self.snapshot_every == 0 or epoch == self.epochs:
                self.snapshots[epoch] = self._snapshot()
        with torch.no_grad():  # after the last step
            losses.append(float(torch.mean((layer(x_train) - y_train) ** 2)) ** 0.5)
        self.losses = np.array(losses)

    def _snapshot(self) -> dict[str, np.ndarray]:
        """The edge on the plot points from its parameters: the basis there is computed once
        (the knots do not move during training), so a snapshot is a (301, G+k) @ (G+k,)."""
        layer = self.layer
        w_b, w_s = layer.scale_base[0, 0].item(), layer.scale_sp[0, 0].item()
        coef = w_s * layer.coef[0, 0].detach().numpy().copy()
        base = w_b * self._silu_plot
        spline = self._basis_plot @ coef
        return {"phi": base + spline, "base": base, "spline": spline, "coef": coef}

    def nearest_epoch(self, epoch: int) -> int:
        """The stored snapshot closest to ``epoch`` (snapshots every ``snapshot_every``)."""
        return min(self.snapshots, key=lambda e: (abs(e - epoch), e))

    # ----- callbacks ----------------------------------------------------------------------------
    def show_epoch(self, epoch: int, redraw: bool = True) -> None:
        """Draw the edge as it was after ``epoch`` Adam steps (0 = initialisation)."""
        epoch = self.nearest_epoch(check_int("epoch", epoch, 0, self.epochs))
        snap = self.snapshots[epoch]
        self.phi_line.set_ydata(snap["phi"])
        self.base_line.set_ydata(snap["base"])
        self.spline_line.set_ydata(snap["spline"])
        self.coef_dots.set_data(self.greville, snap["coef"])
        self.epoch_marker.set_data([epoch], [self.losses[epoch]])
        self.ax_phi.set_title(f"φ after {epoch} epochs (G = {self.grid}, k = {self.k})",
                              fontsize=10)
        self.epoch = epoch
        self.readout.value = (f"epoch {epoch}: training RMSE {self.losses[epoch]:.4f} &nbsp;·&nbsp; "
                              f"{self.grid + self.k} spline coefficients + 2 scales")
        if redraw:
            self.redraw()  # only the animated artists: scrubbing stays smooth

    def retrain(self) -> None:
        """Retrain with the controls' G, target and lr; show the last epoch."""
        self.grid = check_int("grid", self.grid_slider.value, 1, 50)
        self.target_name = check_choice("target", self.target_dropdown.value, list(TARGETS))
        self.lr = float(self.lr_slider.value)
        self.train()
        self.target_line.set_ydata(self._target(self.x))
        self.sample_dots.set_data(self.x_train, self.y_train)
        self.loss_line.set_data(np.arange(self.epochs + 1), self.losses)
        self._fix_limits()
        if self.canvas_mode == "image":
            freeze_layout(self.fig)  # new limits, new tick labels: lay the axes out again
        self._background = None  # limits changed: the next redraw is a full one
        if self.epoch_slider.value != self.epochs:
            self.epoch_slider.value = self.epochs  # triggers show_epoch
        else:
            self.show_epoch(self.epochs)

    def _fix_limits(self) -> None:
        """Axis limits that hold every snapshot, so scrubbing never rescales the axes."""
        curves = [s[key] for s in self.snapshots.values() for key in ("phi", "base", "spline")]
        ymin = min(min(float(c.min()) for c in curves), float(self.y_train.min()))
        ymax = max(max(float(c.max()) for c in curves), float(self.y_train.max()))
        pad = 0.08 * (ymax - ymin) + 1e-9
        self.ax_phi.set_ylim(ymin - pad, ymax + pad)
        lo = max(float(self.losses.min()), 1e-12)
        self.ax_loss.set_ylim(lo / 2, float(self.losses.max()) * 2)
