"""TrainingDashboard: live loss curves, the network picture and a stop button for ``KAN.fit``.

Introduced in 06_function_fitting. The dashboard *is* the callback: pass it to
``model.fit(dataset, callback=dashboard)``. Each call records the step's train/test RMSE;
drawing is throttled (every ``every`` steps and at most once per ``min_interval`` seconds) so
that it never dominates training, and the network picture (``kanlab.plotting.plot_kan``) is
refreshed only every ``network_every`` steps. Several fits in a row (a grid-extension schedule)
append to the same curves, each new fit marked by a vertical line.

About the stop button: a click is a comm message, and a kernel busy running the training cell
reads its messages only when the cell ends. On ipykernel ≥ 7 (kernel subshells) the dashboard
routes its Stop button's messages to a subshell of its own, whose thread handles the click while
the cell trains, so Stop works in a plain synchronous ``model.fit(..., callback=dashboard)`` or
``dashboard.fit(...)``. Elsewhere use ``dashboard.fit(..., background=True)`` (training in a
thread, the cell returns at once) or the notebook's interrupt button. ``stop_in_cell`` says
which applies. The steps/s figure is over the last ``RATE_WINDOW`` steps of the running fit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from kanlab.widgets._base import WidgetBase, check_int, figure_png, new_figure, resolve_canvas

RATE_WINDOW = 20  # steps/s is measured over the last this many steps


def _route_to_subshell(widget: Any) -> bool:
    """Have the frontend's messages for ``widget`` handled on a kernel subshell's thread.

    ipykernel ≥ 7 routes a comm's incoming messages to the subshell that last published on it
    (``comm._reply_subshell_id``); a fresh subshell thread is free while the main shell runs a
    cell. Returns False (nothing changed) outside such a kernel.
    """
    try:
        from ipykernel.kernelbase import Kernel

        if not Kernel.initialized():
            return False
        kernel = Kernel.instance()
        channel = getattr(kernel, "shell_channel_thread", None)
        comm = getattr(widget, "comm", None)
        if not getattr(kernel, "_supports_kernel_subshells", False) or channel is None or comm is None:
            return False
        made: dict[str, str] = {}
        done = threading.Event()

        def create() -> None:  # the manager creates subshells on the shell channel's thread
            try:
                made["id"] = channel.manager._create_subshell()
            finally:
                done.set()

        channel.io_loop.add_callback(create)
        if not done.wait(5) or "id" not in made:
            return False
        comm._reply_subshell_id = made["id"]
        return True
    except Exception:  # any other kernel: Stop works with background=True
        return False


class TrainingDashboard(WidgetBase):
    """``callback(model, step, history) -> bool`` for ``KAN.fit`` with live, throttled plots.

    ``TrainingDashboard(every=5, network_every=50, min_interval=0.3, x=None)``; ``x`` (batch,
    width[0]) are the inputs for the network picture (default: the model's training inputs).
    A draw is skipped while drawing has used more than ``max_draw_fraction`` of the wall time.
    """

    def __init__(
        self,
        every: int = 5,
        network_every: int = 50,
        min_interval: float = 0.3,
        x: Any = None,
        show_network: bool = True,
        max_draw_fraction: float = 0.25,
        canvas: str = "auto",
    ) -> None:
        import ipywidgets as W

        self.every = check_int("every", every, 1, 10**6)
        self.network_every = check_int("network_every", network_every, 1, 10**6)
        if not (isinstance(min_interval, int | float) and min_interval >= 0):
            raise ValueError(f"min_interval must be a number >= 0 (seconds), got {min_interval!r}")
        self.min_interval = float(min_interval)
        if not (isinstance(max_draw_fraction, int | float) and 0 < max_draw_fraction <= 1):
            raise ValueError(f"max_draw_fraction must be in (0, 1], got {max_draw_fraction!r}")
        self.max_draw_fraction = float(max_draw_fraction)
        self.x, self.show_network = x, bool(show_network)
        self._init_kwargs = dict(every=every, network_every=network_every,
                                 min_interval=min_interval, show_network=False,
                                 max_draw_fraction=max_draw_fraction)
        self.canvas_mode = resolve_canvas(canvas)
        self.fig = new_figure((7.0, 3.0), self.canvas_mode)
        self.ax = self.fig.subplots()
        (self.train_line,) = self.ax.plot([], [], "-", color="#0072B2", label="train RMSE")
        (self.test_line,) = self.ax.plot([], [], "--", color="#D55E00", label="test RMSE")
        self.ax.set_yscale("log")
        from matplotlib.ticker import LogLocator, NullFormatter

        # labels on powers of ten only (the limits always span one, see draw): no crowding
        self.ax.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
        self.ax.yaxis.set_minor_formatter(NullFormatter())
        self.ax.set_xlabel("step")
        self.ax.set_ylabel("RMSE (log scale)")
        self.ax.set_title("training", fontsize=10)
        self.ax.legend(loc="upper right", fontsize=8)
        self.ax.set_xlim(0, 10)
        self.ax.set_ylim(1e-3, 1)

        self.stop_button = W.Button(description="Stop", button_style="danger",
                                    tooltip="stop training after the current step", icon="stop")
        self.stop_button.on_click(self._wrap(lambda _: self.request_stop()))
        #: True when a Stop click is handled even while the training cell runs (see above).
        self.stop_in_cell = _route_to_subshell(self.stop_button)
        self.status = W.HTML("waiting for the first step …")
        self.network_view = W.Image(format="png", layout=W.Layout(max_width="100%"))
        self.network_note = W.HTML()
        self.reset()
        view = self._setup_view(self.canvas_mode)
        children = [W.HBox([self.stop_button, self.status]), view]
        if self.show_network:
            children += [self.network_note, self.network_view]
        self.widget = W.VBox([*children, self.error_box])
        self.widget.add_class("kanlab-dashboard")

    def __repr__(self) -> str:
        return (f"TrainingDashboard(every={self.every}, network_every={self.network_every}, "
                f"steps_seen={len(self.train_loss)})")

    # ----- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget all recorded steps (a new experiment)."""
        self.train_loss: list[float] = []
        self.test_loss: list[float] = []
        self.fit_starts: list[int] = []
        self.stop_requested = False
        self.draw_count = self.network_count = 0
        self.draw_seconds = self.callback_seconds = 0.0
        self._last_draw = -float("inf")
        self._last_drawn_step = -1
        self._t0 = time.perf_counter()
        self._step_times: deque[float] = deque(maxlen=RATE_WINDOW)
        self.running = False
        self._fit_lines: list[Any] = []

    def request_stop(self) -> None:
        """Ask the running fit to stop after its current step (the Stop button)."""
        if not self.running:
            self.status.value = "nothing is training: Stop acts on the next step of a running fit"
            return
        self.stop_requested = True
        self.status.value = "<b>stop requested</b> — finishing the current step"

    def steps_per_second(self) -> float:
        """Training speed over the last ``RATE_WINDOW`` steps of the current fit (0 before 2)."""
        t = self._step_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) >= 2 and t[-1] > t[0] else 0.0

    def finish(self) -> None:
        """The fit has returned: final draw, and a status that says how it ended."""
        self.running = False
        n = len(self.train_loss)
        how = "stopped by the Stop button" if self.stop_requested else "finished"
        if n:
            self.status.value = (f"{how} after step {n} &nbsp;·&nbsp; train RMSE "
                                 f"{self.train_loss[-1]:.3e} &nbsp;·&nbsp; test RMSE "
                                 f"{self.test_loss[-1]:.3e}")
        self.stop_requested = False

    # ----- the callback ---------------------------------------------------------------------------
    def __call__(self, model: Any, step: int, history: dict[str, list[float]]) -> bool:
        """Record this step; redraw when due. Returns True to stop ``fit``."""
        t_start = time.perf_counter()
        if step == 0:
            self.fit_starts.append(len(self.train_loss))
            self._step_times.clear()
        self.running = True
        self._step_times.append(t_start)
        self.train_loss.append(float(history["train_loss"][-1]))
        self.test_loss.append(float(history["test_loss"][-1]))
        n = len(self.train_loss)
        try:
            # due: enough new steps, enough time since the last draw, and drawing so far has
            # taken at most max_draw_fraction of the wall time (so it never dominates training)
            due = (n - 1 - self._last_drawn_step >= self.every
                   and t_start - self._last_draw >= self.min_interval
                   and self.draw_seconds <= self.max_draw_fraction * (t_start - self._t0))
            if due or self.stop_requested:
                self.draw(model)
        except Exception as err:  # show it in the widget; training goes on
            self.show_error(err)
        self.callback_seconds += time.perf_counter() - t_start
        return self.stop_requested

    def draw(self, model: Any = None) -> None:
        """Redraw the loss curves now (and the network picture when it is due)."""
        import numpy as np

        t0 = time.perf_counter()
        n = len(self.train_loss)
        steps = np.arange(1, n + 1)
        self.train_line.set_data(steps, np.array(self.train_loss))  # copies: the lists grow
        self.test_line.set_data(steps, np.array(self.test_loss))
        for line in self._fit_lines:
            line.remove()
        self._fit_lines = [self.ax.axvline(s + 0.5, color="0.6", lw=0.8, ls=":")
                           for s in self.fit_starts[1:]]
        values = np.array([v for v in self.train_loss + self.test_loss if v > 0 and np.isfinite(v)])
        if values.size:  # widened to whole decades: at least two labelled ticks, never crowded
            lo, hi = np.log10(values.min() / 1.5), np.log10(values.max() * 1.5)
            self.ax.set_ylim(10 ** np.floor(lo), 10 ** max(np.ceil(hi), np.floor(lo) + 1))
        self.ax.set_xlim(0, max(10, n + 1))
        self.redraw(full=True)
        if model is not None and self.show_network and (
            self.network_count == 0 or n // self.network_every > (self._last_drawn_step + 1) // self.network_every
        ):
            self._draw_network(model)
        self._last_drawn_step, self._last_draw = n - 1, time.perf_counter()
        self.draw_count += 1
        self.draw_seconds += time.perf_counter() - t0
        rate = self.steps_per_second()
        self.status.value = (f"step {n} &nbsp;·&nbsp; train RMSE {self.train_loss[-1]:.3e} "
                             f"&nbsp;·&nbsp; test RMSE {self.test_loss[-1]:.3e} &nbsp;·&nbsp; "
                             f"{rate:.1f} steps/s")

    def _draw_network(self, model: Any) -> None:
        from kanlab import plotting

        plot_kan = getattr(plotting, "plot_kan", None)
        if plot_kan is None:
            self.network_note.value = "<i>network picture: kanlab.plotting.plot_kan is not available</i>"
            return
        x = self.x if self.x is not None else getattr(model, "train_input", None)
        fig = plot_kan(model, x=x)
        self.network_view.value = figure_png(fig)
        self.network_count += 1
        self.network_note.value = f"network after step {len(self.train_loss)}"
        import matplotlib.pyplot as plt

        plt.close(fig)

    # ----- convenience ---------------------------------------------------------------------------
    def fit(self, model: Any, dataset: dict[str, Any], background: bool = False,
            **fit_kwargs: Any) -> Any:
        """``model.fit(dataset, callback=self, progress=False, **fit_kwargs)``, then a final draw.

        With ``background=True`` training runs in a thread and this returns the thread at once
        (the kernel stays free, so the Stop button works); ``self.history`` holds the result.
        """
        fit_kwargs.setdefault("progress", False)
        self.stop_requested = False

        def run() -> None:
            try:
                self.history = model.fit(dataset, callback=self, **fit_kwargs)
                self.draw(model)
            except Exception as err:
                self.show_error(err)
                raise
            finally:
                self.finish()

        if not background:
            run()
            return self.history
        self.thread = threading.Thread(target=run, name="kanlab-fit", daemon=True)
        self.thread.start()
        return self.thread

    def static_figure(self) -> Any:
        """The loss curves recorded so far as a new Figure (for a notebook's stored output)."""
        import numpy as np

        fig = new_figure((7.0, 3.0), "image")
        ax = fig.subplots()
        steps = np.arange(1, len(self.train_loss) + 1)
        ax.semilogy(steps, self.train_loss, "-", color="#0072B2", label="train RMSE")
        ax.semilogy(steps, self.test_loss, "--", color="#D55E00", label="test RMSE")
        for s in self.fit_starts[1:]:
            ax.axvline(s + 0.5, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel("step")
        ax.set_ylabel("RMSE (log scale)")
        ax.set_title(f"training: {len(steps)} steps", fontsize=10)
        ax.legend(loc="upper right", fontsize=8)
        fig.set_layout_engine("constrained")
        return fig
