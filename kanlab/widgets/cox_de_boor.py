"""CoxDeBoorExplorer: the B-spline basis built degree by degree, 0 -> k.

Introduced in 02_bsplines. Order 0 bases are indicators of the knot intervals; each basis of
degree p blends two neighbours of degree p − 1 with linear ramps:
B_{c,p}(x) = w_{c,p}(x)·B_{c,p−1}(x) + (1 − w_{c+1,p}(x))·B_{c+1,p−1}(x),
w_{c,p}(x) = (x − t_c)/(t_{c+p} − t_c). The widget shows level p, one basis c of it, and the two
weighted lower-degree pieces that add up to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kanlab.widgets._base import WidgetBase, check_int, check_range, new_figure, resolve_canvas
from kanlab.widgets._bspline_np import blend_weights, cox_de_boor_levels, uniform_knots_1d

G_MAX, K_MAX = 20, 5
#: The grid range's band (the axis label calls it "blue band").
BAND = "#CFE6F7"


class CoxDeBoorExplorer(WidgetBase):
    """Sliders for G, k, the level p (0..k) and the basis index c at that level.

    Top panel: every basis of degree p (thin) and B_{c,p} (thick), filled with its two
    contributions (orange: w·B_{c,p−1}, green: (1 − w')·B_{c+1,p−1}). Bottom panel: the two
    degree p − 1 bases and the two ramps that weight them.
    ``CoxDeBoorExplorer(grid=4, k=3, level=2, c=1)``.
    """

    def __init__(
        self,
        grid: int = 4,
        k: int = 3,
        level: int | None = None,
        c: int = 2,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        n_points: int = 601,
        canvas: str = "auto",
    ) -> None:
        import ipywidgets as W

        self.grid = check_int("grid", grid, 1, G_MAX)
        self.k = check_int("k", k, 0, K_MAX)
        self.level = self.k if level is None else check_int("level", level, 0, self.k)
        self.c = check_int("c", c, 0, self.n_at_level(self.level) - 1)
        self.grid_range = check_range("grid_range", grid_range)
        self._init_kwargs = dict(grid=grid, k=k, level=level, c=c, grid_range=grid_range,
                                 n_points=n_points)
        self.n_points = check_int("n_points", n_points, 50, 5000)
        self._compute()
        self.canvas_mode = resolve_canvas(canvas)
        self.fig = new_figure((8.0, 4.4), self.canvas_mode)
        self.ax_level, self.ax_lower = self.fig.subplots(2, 1, sharex=True)
        self._static: list[Any] = []
        self._grey: list[Any] = []  # the bases of degree p (thin grey)
        self._fills: list[Any] = []  # the two weighted pieces of B_{c,p}
        self._lines: list[Any] = []  # B_{c,p}, then the lower degree's two bases and two ramps
        self._notes: list[Any] = []
        self._draw()

        style = {"description_width": "initial"}
        self.grid_slider = W.IntSlider(value=self.grid, min=1, max=G_MAX, description="G (intervals)",
                                       continuous_update=False, style=style)
        self.k_slider = W.IntSlider(value=self.k, min=0, max=K_MAX, description="k (final degree)",
                                    continuous_update=False, style=style)
        self.level_slider = W.IntSlider(value=self.level, min=0, max=self.k,
                                        description="degree p shown", style=style)
        self.c_slider = W.IntSlider(value=self.c, min=0, max=self.n_at_level(self.level) - 1,
                                    description="basis m", style=style)
        self.grid_slider.observe(self._wrap(lambda ch: self.set_grid(ch["new"])), names="value")
        self.k_slider.observe(self._wrap(lambda ch: self.set_k(ch["new"])), names="value")
        self.level_slider.observe(self._wrap(lambda ch: self.set_level(ch["new"])), names="value")
        self.c_slider.observe(self._wrap(lambda ch: self.set_c(ch["new"])), names="value")
        view = self._setup_view(self.canvas_mode)
        self.widget = W.VBox([W.HBox([self.grid_slider, self.k_slider]),
                              W.HBox([self.level_slider, self.c_slider]), view, self.error_box])
        self.widget.add_class("kanlab-cox-de-boor")

    def __repr__(self) -> str:
        return f"CoxDeBoorExplorer(grid={self.grid}, k={self.k}, level={self.level}, c={self.c})"

    def n_at_level(self, p: int) -> int:
        """Bases of degree p on the G + 2k + 1 knots: G + 2k − p (G + k at p = k)."""
        return self.grid + 2 * self.k - p

    def _compute(self) -> None:
        lo, hi = self.grid_range
        self.knots = uniform_knots_1d(self.grid, self.k, self.grid_range)
        pad = 0.05 * (hi - lo)
        self.x = np.linspace(self.knots[0] - pad, self.knots[-1] + pad, self.n_points)
        self.levels = cox_de_boor_levels(self.x, self.knots, self.k)

    def pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """The two weighted degree p − 1 terms that sum to B_{c,p}: (n,), (n,) (zeros at p = 0)."""
        p, c = self.level, self.c
        if p == 0:
            return self.levels[0][:, c], np.zeros_like(self.x)
        left, right = blend_weights(self.x, self.knots, p)
        lower = self.levels[p - 1]
        return left[:, c] * lower[:, c], right[:, c] * lower[:, c + 1]

    # ----- callbacks --------------------------------------------------------------------------
    def set_grid(self, grid: int) -> None:
        self.grid = check_int("grid", grid, 1, G_MAX)
        self._after_structure_change()

    def set_k(self, k: int) -> None:
        self.k = check_int("k", k, 0, K_MAX)
        self.level = min(self.level, self.k)
        self._after_structure_change()

    def set_level(self, level: int) -> None:
        """Show degree p = level (0..k)."""
        was_zero = self.level == 0
        self.level = check_int("level", level, 0, self.k)
        self.c = min(self.c, self.n_at_level(self.level) - 1)
        self._sync_sliders()
        if was_zero != (self.level == 0):  # degree 0 has other legends: draw everything
            self._draw()
            self.redraw(full=True)
            return
        self._draw_curves()
        self.redraw()  # the knots, band, legends and axes stay: only the curves are drawn again

    def set_c(self, c: int) -> None:
        """Decompose basis c of the current degree."""
        self.c = check_int("c", c, 0, self.n_at_level(self.level) - 1)
        self._draw_curves(new_level=False)
        self.redraw()

    def _after_structure_change(self) -> None:
        self.c = min(self.c, self.n_at_level(self.level) - 1)
        self._compute()
        self._sync_sliders()
        self._draw()
        self.redraw(full=True)

    def _sync_sliders(self) -> None:
        if hasattr(self, "level_slider"):
            self.level_slider.max = self.k
            self.level_slider.value = self.level
            self.c_slider.max = self.n_at_level(self.level) - 1
            self.c_slider.value = self.c

    # ----- drawing ----------------------------------------------------------------------------
    def _draw(self) -> None:
        """Everything: the knots and the grid range's band (fixed for this G and k), then the
        curves of the shown degree and basis (:meth:`_draw_curves`)."""
        for artist in [*self._static, *self._grey, *self._fills, *self._lines, *self._notes]:
            artist.remove()
        self._grey, self._fills, self._lines, self._notes = [], [], [], []
        ax, axl = self.ax_level, self.ax_lower
        lo, hi = self.grid_range
        self._static = [ax.axvline(t, color="0.8", lw=0.6, zorder=0) for t in self.knots]
        # opaque enough to survive the live image's 256-colour palette (see _base.canvas_png)
        self._static += [a.axvspan(lo, hi, color=BAND, zorder=0) for a in (ax, axl)]
        self._static += self._legends()
        ax.set_xlim(self.x[0], self.x[-1])  # the knots' span of this G and k (never only growing)
        ax.set_ylim(-0.05, 1.4)  # every curve is <= 1: the legends above them, never covered
        axl.set_ylim(-0.05, 1.4)
        axl.set_xlabel("x (blue band: the grid range; grey lines: knots)")
        ax.set_ylabel("degree p")
        axl.set_ylabel("degree p − 1, weights")
        if self.level == 0:
            self._notes = [axl.text(0.5, 0.5, "degree 0 has no lower degree: half-open indicators",
                                    transform=axl.transAxes, ha="center", va="center")]
        self._draw_curves()

    def _legends(self) -> list[Any]:
        """Legends in the general notation (the title names this c and p): they do not change
        with the sliders, so they are drawn once, with the axes."""
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        orange = Patch(color="#E69F00", alpha=0.5)
        black = Line2D([], [], color="black", lw=2.2)
        if self.level == 0:
            return [self.ax_level.legend([orange, black], ["indicator", "$B_{m,0}$"],
                                         loc="upper right", fontsize=8, ncols=2)]
        green = Patch(color="#009E73", alpha=0.5)
        upper = self.ax_level.legend(
            [orange, green, black], ["$w\\,B_{m,p-1}$", "$(1-w')\\,B_{m+1,p-1}$", "$B_{m,p}$"],
            loc="upper right", fontsize=8, ncols=3)
        lines = [Line2D([], [], ls="--", color="#E69F00"), Line2D([], [], ls="--", color="#009E73"),
                 Line2D([], [], ls=":", color="#D55E00", lw=1.5),
                 Line2D([], [], ls="-.", color="#0072B2", lw=1.5)]
        lower = self.ax_lower.legend(lines, ["$B_{m,p-1}$", "$B_{m+1,p-1}$", "ramp $w$",
                                             "ramp $1-w'$"], loc="upper right", fontsize=8, ncols=4)
        return [upper, lower]

    def _draw_curves(self, new_level: bool = True) -> None:
        """The curves and title of degree p and basis c, in place: on the image canvas they are
        blitted over the saved axes (a slider move redraws only these). ``new_level``: the grey
        bases of the degree change too (not when only c moves)."""
        ax, axl, x, p, c = self.ax_level, self.ax_lower, self.x, self.level, self.c
        if new_level or not self._grey:
            for line in self._grey:
                line.remove()
            self._grey = [ax.plot(x, self.levels[p][:, m], color="0.6", lw=0.8)[0]
                          for m in range(self.n_at_level(p))]
        left, right = self.pieces()
        fills = [(0, left, "#E69F00")] + ([(left, left + right, "#009E73")] if p else [])
        if len(self._fills) != len(fills) or not hasattr(self._fills[0], "set_data"):
            for fill in self._fills:  # (matplotlib < 3.10: no set_data, drawn again)
                fill.remove()
            self._fills = [ax.fill_between(x, lo, hi, color=col, alpha=0.5) for lo, hi, col in fills]
        else:
            for fill, (lo, hi, _) in zip(self._fills, fills):
                fill.set_data(x, lo, hi)
        curves = [(ax, x, self.levels[p][:, c], "-", "black", 2.2)]
        if p:
            lower, t = self.levels[p - 1], self.knots
            lw, rw = blend_weights(x, t, p)
            on_l = (x >= t[c]) & (x <= t[c + p])  # each ramp only matters where its
            on_r = (x >= t[c + 1]) & (x <= t[c + p + 1])  # lower-degree basis lives
            curves += [(axl, x, lower[:, c], "--", "#E69F00", 1.5),
                       (axl, x, lower[:, c + 1], "--", "#009E73", 1.5),
                       (axl, x[on_l], lw[on_l, c], ":", "#D55E00", 1.5),
                       (axl, x[on_r], rw[on_r, c], "-.", "#0072B2", 1.5)]
        if len(self._lines) != len(curves):
            for line in self._lines:
                line.remove()
            self._lines = [a.plot(xs, ys, ls, color=col, lw=lw)[0] for a, xs, ys, ls, col, lw in curves]
        else:
            for line, (_, xs, ys, *_) in zip(self._lines, curves):
                line.set_data(xs, ys)
        self.basis_line = self._lines[0]
        n = self.n_at_level(p)
        ax.set_title(f"degree p = {p}: {n} {'basis' if n == 1 else 'bases'} on {len(self.knots)} knots"
                     + (f"; basis m = {c} (black) = orange + green" if p
                        else f": indicators, basis m = {c} in orange"), fontsize=10)
        # the title changes with p and c: drawn with the curves, not into the background (the
        # y labels do not change: an axis draws its label into the background whatever its flag)
        self._animated = [*self._grey, *self._fills, *self._lines, *self._notes, ax.title]
        if self.canvas_mode == "image":
            for artist in self._animated:
                artist.set_animated(True)
