"""SplineExplorer: reshape a B-spline with sliders (G, k, one slider per coefficient).

Introduced in 02_bsplines. The spline is S(x) = Σ_c coef_c·B_c(x) on a uniform grid of G
intervals on ``grid_range``, extended by k knots each side (docs/architecture.md); there are
G + k coefficients. The basis is evaluated once per (G, k) on a fixed set of plot points, so a
coefficient move costs one (n, G+k) @ (G+k,) product and an in-place redraw.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kanlab.widgets._base import (
    WidgetBase,
    check_choice,
    check_finite,
    check_int,
    check_range,
    resolve_canvas,
)
from kanlab.widgets._bspline_np import TARGETS, basis_matrix, greville, unit_range

G_MAX, K_MAX = 20, 5
INITS = ("fit", "ones", "zeros")
#: Coefficient sliders move in steps of STEP; the exact coefficients live in ``coef``.
STEP = 0.05
#: How far the plot reaches past the grid range, as a fraction of its width (at most).
MAX_PAD = 0.6


class SplineExplorer(WidgetBase):
    """Sliders for G (1–20), k (0–5) and each of the G + k coefficients of a B-spline.

    Buttons randomise, set every coefficient to 1, reset (back to ``init``; shown only when
    ``init`` is not "fit", where Fit does the same) and least-squares-fit the chosen target. The
    top panel shows the spline, its control points (Greville abscissa, coef) and the target; the
    bottom panel the G + k basis functions, the last-moved one highlighted with its support.
    The x axis reaches to the outermost knots (where the bases fade out; at most ``MAX_PAD``
    grid widths past the range); the y axis follows the spline and target on the grid range.
    A readout gives the partition-of-unity error and the RMSE to the target on the grid range.

    The exact coefficients are ``coef``; the sliders show them rounded to ``STEP``. A slider
    value equal to that rounding is what the browser sends back after rounding (not a move) and
    leaves ``coef`` alone, so the picture and the readout always show the same numbers.

    Introduced in 02_bsplines. ``SplineExplorer(grid=5, k=3, target="sin")``.
    """

    def __init__(
        self,
        grid: int = 5,
        k: int = 3,
        target: str = "sin",
        grid_range: tuple[float, float] = (-1.0, 1.0),
        init: str = "fit",
        seed: int = 0,
        n_points: int = 401,
        canvas: str = "auto",
    ) -> None:
        import ipywidgets as W

        self.grid = check_int("grid", grid, 1, G_MAX)
        self.k = check_int("k", k, 0, K_MAX)
        self.target_name = check_choice("target", target, list(TARGETS))
        self.grid_range = check_range("grid_range", grid_range)
        self.init = check_choice("init", init, INITS)
        self.seed = check_int("seed", seed, 0, 2**31 - 1)
        self.n_points = check_int("n_points", n_points, 50, 5000)
        self._init_kwargs = dict(
            grid=grid, k=k, target=target, grid_range=grid_range, init=init, seed=seed,
            n_points=n_points,
        )
        self._rng = np.random.default_rng(seed)
        self.selected = 0
        self._syncing = False
        self._full = True

        self.fig = self._new_axes(resolve_canvas(canvas))
        self._compute_basis()
        self.coef = self._initial_coef()
        self._draw_all()

        style = {"description_width": "initial"}
        self.grid_slider = W.IntSlider(value=self.grid, min=1, max=G_MAX, description="G (intervals)",
                                       continuous_update=False, style=style)
        self.k_slider = W.IntSlider(value=self.k, min=0, max=K_MAX, description="k (degree)",
                                    continuous_update=False, style=style)
        self.target_dropdown = W.Dropdown(options=list(TARGETS), value=self.target_name,
                                          description="target", style=style)
        self.randomize_button = W.Button(description="Randomise",
                                         tooltip="random coefficients in [-1, 1]")
        self.ones_button = W.Button(description="All c = 1",
                                    tooltip="every coefficient 1 (partition of unity: S = 1)")
        self.reset_button = W.Button(description="Reset", tooltip=f"coefficients back to '{init}'",
                                     layout=W.Layout(display="none" if init == "fit" else ""))
        self.fit_button = W.Button(description="Fit target",
                                   tooltip="least-squares coefficients for the target")
        self.readout = W.HTML()
        # wrap into rows: every slider stays visible (23 at G = 20), no hidden scroll area
        self.coef_box = W.HBox(layout=W.Layout(flex_flow="row wrap"))
        self.coef_sliders: list[Any] = []

        self.grid_slider.observe(self._wrap(lambda ch: self.set_grid(ch["new"])), names="value")
        self.k_slider.observe(self._wrap(lambda ch: self.set_k(ch["new"])), names="value")
        self.target_dropdown.observe(self._wrap(lambda ch: self.set_target(ch["new"])), "value")
        self.randomize_button.on_click(self._wrap(lambda _: self.randomize()))
        self.reset_button.on_click(self._wrap(lambda _: self.reset()))
        self.ones_button.on_click(self._wrap(lambda _: self.set_all(1.0)))
        self.fit_button.on_click(self._wrap(lambda _: self.fit_target()))

        view = self._setup_view(self.canvas_mode)
        self._build_coef_sliders()
        self._update_readout()
        self.widget = W.VBox([
            W.HBox([self.grid_slider, self.k_slider, self.target_dropdown]),
            W.HBox([self.randomize_button, self.ones_button, self.reset_button,
                    self.fit_button]),
            view,
            W.HTML("<b>coefficients</b> c<sub>0</sub> … c<sub>G+k−1</sub> (drag or focus + arrow keys)"),
            self.coef_box,
            self.readout,
            self.error_box,
        ])
        self.widget.add_class("kanlab-spline-explorer")

    def __repr__(self) -> str:
        return (f"SplineExplorer(grid={self.grid}, k={self.k}, target={self.target_name!r}, "
                f"grid_range={self.grid_range})")

    # ----- state -------------------------------------------------------------------------------
    @property
    def n_basis(self) -> int:
        """Number of basis functions (and coefficients): G + k."""
        return self.grid + self.k

    @property
    def spline(self) -> np.ndarray:
        """S(x) at the plot points ``self.x``: (n_points,)."""
        return self.basis @ self.coef

    @property
    def target(self) -> np.ndarray:
        """The target at the plot points: (n_points,)."""
        return TARGETS[self.target_name](unit_range(self.x, self.grid_range))

    def support(self, c: int) -> tuple[float, float]:
        """Where B_c can be non-zero: [t_c, t_{c+k+1})."""
        return float(self.knots[c]), float(self.knots[c + self.k + 1])

    def partition_error(self) -> float:
        """max |Σ_c B_c(x) − 1| over plot points inside the grid range (≈ 1e-16)."""
        return float(np.max(np.abs(self.basis[self.inside].sum(axis=1) - 1.0)))

    def fit_rmse(self) -> float:
        """RMSE between the spline and the target on the grid range."""
        return float(np.sqrt(np.mean((self.spline - self.target)[self.inside] ** 2)))

    def _compute_basis(self) -> None:
        """Plot points from the outermost knots (capped at MAX_PAD widths), basis there."""
        lo, hi = self.grid_range
        h, cap = (hi - lo) / self.grid, MAX_PAD * (hi - lo)
        reach = min(self.k * h, cap) + 0.04 * (hi - lo)
        self.x = np.linspace(lo - reach, hi + reach, self.n_points)
        self.inside = (self.x >= lo) & (self.x <= hi)
        self.knots, self.basis = basis_matrix(self.x, self.grid, self.k, self.grid_range)
        self.greville = greville(self.knots, self.k)

    def _initial_coef(self) -> np.ndarray:
        if self.init == "ones":
            return np.ones(self.n_basis)
        if self.init == "zeros":
            return np.zeros(self.n_basis)
        return self._lstsq_coef()

    def _lstsq_coef(self) -> np.ndarray:
        b, y = self.basis[self.inside], self.target[self.inside]
        # A tiny ridge keeps the solve well posed for bases barely touching the range.
        a = b.T @ b + 1e-10 * np.eye(self.n_basis)
        return np.linalg.solve(a, b.T @ y)

    # ----- callbacks (called by the controls; call them directly in tests) ---------------------
    def _on_slider(self, c: int, value: float) -> None:
        """A coefficient slider's value changed (a move, or the browser's rounding echo)."""
        if self._syncing or abs(value - _on_step(self.coef[c])) < 1e-9:
            return  # the slider shows coef[c] rounded: nothing moved, keep the exact value
        self.on_coef_change(c, value)

    def on_coef_change(self, c: int, value: float) -> None:
        """Coefficient c moved: update the spline, its control point and the highlight."""
        self.coef[c] = check_finite("value", value)
        self.selected = c
        if self._syncing:
            return
        self._update_curves()
        self._redraw()

    def _redraw(self, full: bool = False) -> None:
        self.redraw(full=full or self._full)
        self._full = False

    def set_coef(self, c: int, value: float) -> None:
        """Set coefficient c through its slider (as a student would; clamped to its bounds)."""
        check_int("c", c, 0, self.n_basis - 1)
        self.coef_sliders[c].value = check_finite("value", value)

    def set_grid(self, grid: int) -> None:
        """New G: recompute the basis, refit/reset coefficients, rebuild the sliders."""
        self.grid = check_int("grid", grid, 1, G_MAX)
        self._rebuild()

    def set_k(self, k: int) -> None:
        """New k: recompute the basis, refit/reset coefficients, rebuild the sliders."""
        self.k = check_int("k", k, 0, K_MAX)
        self._rebuild()

    def set_target(self, name: str) -> None:
        """Choose another target (the coefficients stay; press Fit to fit it)."""
        self.target_name = check_choice("target", name, list(TARGETS))
        self.target_line.set_ydata(self.target)
        self._update_curves()
        self._redraw(full=True)

    def randomize(self) -> None:
        """Random coefficients in [-1, 1] (a seeded sequence: the same clicks, the same curves)."""
        self._set_all_coef(self._rng.uniform(-1.0, 1.0, self.n_basis))

    def reset(self) -> None:
        """Coefficients back to the ``init`` rule for the current G and k."""
        self._set_all_coef(self._initial_coef())

    def fit_target(self) -> None:
        """Least-squares coefficients for the current target on the grid range."""
        self._set_all_coef(self._lstsq_coef())

    def set_all(self, value: float) -> None:
        """Every coefficient ``value`` (the "All c = 1" button uses 1)."""
        self._set_all_coef(np.full(self.n_basis, check_finite("value", value)))

    # ----- drawing -----------------------------------------------------------------------------
    def _new_axes(self, canvas: str) -> Any:
        from kanlab.widgets._base import new_figure

        self.canvas_mode = canvas
        fig = new_figure((8.0, 4.4), canvas)
        self.ax_spline, self.ax_basis = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        lo, hi = self.grid_range
        far = 10.0 * (hi - lo)  # the grey bands reach past any x limits we use
        for ax in (self.ax_spline, self.ax_basis):
            for a, b in ((lo - far, lo), (hi, hi + far)):
                ax.axvspan(a, b, color="0.85", zorder=0)
        self.ax_spline.set_ylabel("S(x)")
        self.ax_basis.set_ylabel("$B_m(x)$")
        self.ax_basis.set_xlabel("x (grey: outside the grid range)")
        self.ax_basis.set_ylim(-0.05, 1.1)
        return fig

    def _draw_all(self) -> None:
        """(Re)create the artists whose number depends on G and k; others update in place."""
        ax, axb = self.ax_spline, self.ax_basis
        if not hasattr(self, "spline_line"):
            (self.target_line,) = ax.plot(self.x, self.target, ":", color="black", lw=1.5,
                                          label="target")
            (self.spline_line,) = ax.plot(self.x, self.spline, "-", color="#0072B2", lw=2.5,
                                          label="spline S(x)")
            (self.control_line,) = ax.plot([], [], "--o", color="#D55E00", lw=1, ms=4,
                                           label="control points $(\\tau_m, c_m)$")
            (self.selected_point,) = ax.plot([], [], "s", color="#D55E00", ms=9, mfc="none")
            self.support_span = ax.axvspan(0, 0, color="#E69F00", alpha=0.2, zorder=0)
            (self.highlight_line,) = axb.plot(self.x, np.zeros_like(self.x), "-", color="black",
                                              lw=2.5)
            ax.legend(loc="upper right", fontsize=8, ncols=3)
            # What a coefficient move changes: blitted over a cached background (image canvas).
            self.set_animated([self.support_span, self.spline_line, self.control_line,
                               self.selected_point, self.highlight_line])
        else:
            for line in self.basis_lines + self.knot_lines:
                line.remove()
            for line in (self.target_line, self.spline_line, self.highlight_line):
                line.set_xdata(self.x)
            self.target_line.set_ydata(self.target)
        self.ax_spline.set_xlim(self.x[0], self.x[-1])
        colors = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]
        styles = ["-", "--", "-.", ":"]
        self.basis_lines = [
            axb.plot(self.x, self.basis[:, c], styles[c % 4], color=colors[c % 6], lw=1.0)[0]
            for c in range(self.n_basis)
        ]
        lo, hi = self.grid_range
        grid_pts = self.knots[(self.knots >= lo - 1e-12) & (self.knots <= hi + 1e-12)]
        self.knot_lines = [axb.plot(grid_pts, np.zeros_like(grid_pts), "|", color="black",
                                    ms=10)[0]]
        self.ax_spline.set_title(f"G = {self.grid} intervals, degree k = {self.k}: "
                                 f"{self.n_basis} basis functions", fontsize=10)
        self._update_curves()

    def _update_curves(self) -> None:
        c = min(self.selected, self.n_basis - 1)
        self.spline_line.set_ydata(self.spline)
        self.control_line.set_data(self.greville, self.coef)
        self.selected_point.set_data([self.greville[c]], [self.coef[c]])
        a, b = self.support(c)
        self.support_span.set_x(a)
        self.support_span.set_width(b - a)
        self.highlight_line.set_ydata(np.where(self.basis[:, c] > 0, self.basis[:, c], np.nan))
        # The y axis follows what the reader looks at: the spline and the target on the grid
        # range (control points far off, e.g. at G = 1, may leave it). Rescale only when the
        # curve leaves the axis or shrinks a lot (a full redraw).
        ymax = max(1.2, float(np.max(np.abs(self.spline[self.inside]))),
                   float(np.max(np.abs(self.target[self.inside]))))
        top = self.ax_spline.get_ylim()[1]
        if top < 1.05 * ymax or top > 1.8 * ymax:
            self.ax_spline.set_ylim(-1.2 * ymax, 1.2 * ymax)
            self._full = True
        self._update_readout()

    def _update_readout(self) -> None:
        if not hasattr(self, "readout"):
            return
        self.readout.value = (
            f"partition of unity on the grid range: max |Σ<sub>c</sub> B<sub>c</sub>(x) − 1| = "
            f"{self.partition_error():.1e} &nbsp;·&nbsp; RMSE to target '{self.target_name}': "
            f"<b class='kanlab-rmse'>{self.fit_rmse():.2e}</b> &nbsp;·&nbsp; "
            f"{self.n_basis} coefficients"
        )

    # ----- sliders ----------------------------------------------------------------------------
    def _build_coef_sliders(self) -> None:
        import ipywidgets as W

        bound = max(2.0, float(np.ceil(np.max(np.abs(self.coef)) * 1.2)))
        sliders = []
        for c in range(self.n_basis):
            s = W.FloatSlider(value=_on_step(self.coef[c]), min=-bound, max=bound, step=STEP,
                              orientation="vertical", description=f"c{c}", readout_format=".2f",
                              continuous_update=True, layout=W.Layout(width="46px", height="150px"))
            s.add_class("kanlab-coef-slider")
            s.observe(self._wrap(lambda ch, c=c: self._on_slider(c, ch["new"])), names="value")
            sliders.append(s)
        self.coef_sliders = sliders
        self.coef_box.children = sliders

    def _set_all_coef(self, values: np.ndarray) -> None:
        """Set every coefficient (sliders included) with a single redraw."""
        values = np.asarray(values, dtype=np.float64)
        bound = max(2.0, float(np.ceil(np.max(np.abs(values)) * 1.2)))
        self._syncing = True
        try:
            for s, v in zip(self.coef_sliders, values, strict=True):
                if bound > s.max:
                    s.max, s.min = bound, -bound
                s.value = _on_step(v)  # the browser would round it to the step anyway
        finally:
            self._syncing = False
        self.coef = values.copy()  # exact values, not the sliders' rounded ones
        self._update_curves()
        self._redraw()

    def _rebuild(self) -> None:
        self._compute_basis()
        self.coef = self._initial_coef()
        self.selected = min(self.selected, self.n_basis - 1)
        self._draw_all()
        self._build_coef_sliders()
        self._redraw(full=True)


def _on_step(value: float) -> float:
    """``value`` rounded to the sliders' grid (multiples of STEP), as the browser shows it."""
    return round(round(float(value) / STEP) * STEP, 10)
