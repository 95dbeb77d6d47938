"""KAComposer: build f(x, y) = Σ_q Φ_q(φ_{q,1}(x) + φ_{q,2}(y)) from dropdowns.

Introduced in 01_kolmogorov_arnold_theorem. The Kolmogorov–Arnold theorem writes any continuous
f of n variables with 2n + 1 outer functions Φ_q and n(2n + 1) inner functions φ_{q,p}; for
n = 2 that is up to 5 terms. Presets show exact representations: xy = ((x+y)² − (x−y)²)/4,
x/y = exp(log x − log y) on positive inputs, exp(sin πx + y²),
sin(πx)·cos(πy) = (sin π(x+y) + sin π(x−y))/2 and max(x, y) = (x+y)/2 + |x−y|/2 (a non-smooth
outer function: no sum of smooth compositions has the kink along x = y). Where a chosen function
is undefined (log of t ≤ 0) the surface is NaN, drawn grey, and the readout says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kanlab.widgets._base import WidgetBase, check_choice, check_int, new_figure, resolve_canvas

#: Inner functions φ(t) and outer functions Φ(s), by label.
INNER: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "0": np.zeros_like, "t": lambda t: t, "-t": lambda t: -t, "t²": np.square,
    "sin(πt)": lambda t: np.sin(np.pi * t), "cos(πt)": lambda t: np.cos(np.pi * t),
    "log t": lambda t: _log(t), "-log t": lambda t: -_log(t), "exp(t)": np.exp, "|t|": np.abs,
}
OUTER: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "0": np.zeros_like, "s": lambda s: s, "s/2": lambda s: s / 2, "s²/4": lambda s: s**2 / 4,
    "-s²/4": lambda s: -(s**2) / 4, "exp(s)": np.exp, "sin(s)": np.sin,
    "sin(πs)/2": lambda s: np.sin(np.pi * s) / 2, "tanh(s)": np.tanh, "s²": np.square,
    "|s|/2": lambda s: np.abs(s) / 2,
}
#: How each outer function writes its argument (for ``formula``).
_OUTER_TEXT = {"s": "{}", "s/2": "({})/2", "s²/4": "({})²/4", "-s²/4": "-({})²/4",
               "exp(s)": "exp({})", "sin(s)": "sin({})", "sin(πs)/2": "sin(π({}))/2",
               "tanh(s)": "tanh({})", "s²": "({})²", "|s|/2": "|{}|/2"}
TARGETS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x·y": lambda x, y: x * y, "x/y": lambda x, y: x / y,
    "exp(sin πx + y²)": lambda x, y: np.exp(np.sin(np.pi * x) + y**2),
    "x + y": lambda x, y: x + y, "sin(πx)·cos(πy)": lambda x, y: np.sin(np.pi * x) * np.cos(np.pi * y),
    "max(x, y)": np.maximum,
}
#: Presets: target, domain and the terms (φ_{q,1}, φ_{q,2}, Φ_q).
PRESETS: dict[str, dict[str, Any]] = {
    "x·y via squares": {"target": "x·y", "domain": (-1.0, 1.0),
                        "terms": [("t", "t", "s²/4"), ("t", "-t", "-s²/4")]},
    "x/y via exp-log": {"target": "x/y", "domain": (0.2, 2.0),
                        "terms": [("log t", "-log t", "exp(s)")]},
    "exp(sin πx + y²)": {"target": "exp(sin πx + y²)", "domain": (-1.0, 1.0),
                         "terms": [("sin(πt)", "t²", "exp(s)")]},
    "x + y": {"target": "x + y", "domain": (-1.0, 1.0), "terms": [("t", "t", "s")]},
    "sin(πx)·cos(πy) (try it!)": {"target": "sin(πx)·cos(πy)", "domain": (-1.0, 1.0),
                                  "terms": [("sin(πt)", "0", "s")]},
    "max(x, y) (try it!)": {"target": "max(x, y)", "domain": (-1.0, 1.0),
                            "terms": [("t", "t", "s/2")]},
}


def _log(t: np.ndarray) -> np.ndarray:
    """log t where t > 0, NaN where it is undefined (drawn grey, never a silent 0)."""
    t = np.asarray(t, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t > 0, np.log(np.where(t > 0, t, 1.0)), np.nan)


class KAComposer(WidgetBase):
    """Dropdowns for the inner φ_{q,1}(x), φ_{q,2}(y) and outer Φ_q of ``n_terms`` terms.

    Left: the composed surface; right: the target; the readout gives max |f − target|.
    ``KAComposer(preset="x·y via squares", n_terms=2)``; n_terms ≤ 5 (= 2n + 1 for n = 2).
    """

    smooth_colors = True  # colour maps: a palette without bands

    def __init__(self, preset: str = "x·y via squares", n_terms: int = 2, n_points: int = 81,
                 canvas: str = "auto") -> None:
        import ipywidgets as W

        check_choice("preset", preset, list(PRESETS))
        self.n_terms = check_int("n_terms", n_terms, 1, 5)
        self.n_points = check_int("n_points", n_points, 10, 400)
        self._init_kwargs = dict(preset=preset, n_terms=n_terms, n_points=n_points)
        self.canvas_mode = resolve_canvas(canvas)
        self.terms = [["0", "0", "0"] for _ in range(self.n_terms)]
        self.target_name = "x·y"
        self.domain = (-1.0, 1.0)
        self._syncing = False
        self.fig = new_figure((8.0, 3.4), self.canvas_mode)
        self.ax_f, self.ax_t = self.fig.subplots(1, 2, sharey=True)
        ext = [-1, 1, -1, 1]
        import matplotlib as mpl

        cmap = mpl.colormaps["viridis"].with_extremes(bad="0.75")  # undefined: grey
        self.image_f = self.ax_f.imshow(np.zeros((2, 2)), origin="lower", extent=ext,
                                        aspect="auto", cmap=cmap)
        self.image_t = self.ax_t.imshow(np.zeros((2, 2)), origin="lower", extent=ext,
                                        aspect="auto", cmap="viridis")
        self.fig.colorbar(self.image_t, ax=[self.ax_f, self.ax_t], label="value")
        for ax in (self.ax_f, self.ax_t):
            ax.set_xlabel("x")
            ax.grid(False)
        self.ax_f.set_ylabel("y")

        style = {"description_width": "initial"}
        self.preset_dropdown = W.Dropdown(options=list(PRESETS), value=preset,
                                          description="preset", style=style)
        self.target_dropdown = W.Dropdown(options=list(TARGETS), description="target", style=style)
        self.term_dropdowns: list[list[Any]] = []
        rows = []
        for q in range(self.n_terms):
            row = [W.Dropdown(options=list(INNER), description=f"φ{q},1(x)", style=style,
                              layout=W.Layout(width="180px")),
                   W.Dropdown(options=list(INNER), description=f"φ{q},2(y)", style=style,
                              layout=W.Layout(width="180px")),
                   W.Dropdown(options=list(OUTER), description=f"Φ{q}(s)", style=style,
                              layout=W.Layout(width="170px"))]
            for slot, dd in enumerate(row):
                dd.observe(self._wrap(lambda ch, q=q, slot=slot: self.set_term(q, slot, ch["new"])),
                           names="value")
            self.term_dropdowns.append(row)
            rows.append(W.HBox(row))
        self.readout = W.HTML()
        self.preset_dropdown.observe(self._wrap(lambda ch: self.set_preset(ch["new"])), "value")
        self.target_dropdown.observe(self._wrap(lambda ch: self.set_target(ch["new"])), "value")
        self.set_preset(preset, redraw=False)
        view = self._setup_view(self.canvas_mode)
        self.widget = W.VBox([W.HBox([self.preset_dropdown, self.target_dropdown]), *rows,
                              view, self.readout, self.error_box])
        self.widget.add_class("kanlab-ka-composer")

    def __repr__(self) -> str:
        return f"KAComposer(n_terms={self.n_terms}, target={self.target_name!r}, terms={self.terms})"

    def grid_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """The evaluation mesh on the current domain: two (n, n) arrays."""
        t = np.linspace(*self.domain, self.n_points)
        return np.meshgrid(t, t)

    def composed(self) -> np.ndarray:
        """f(x, y) = Σ_q Φ_q(φ_{q,1}(x) + φ_{q,2}(y)) on the mesh: (n, n)."""
        x, y = self.grid_xy()
        with np.errstate(all="ignore"):
            return sum(OUTER[o](INNER[a](x) + INNER[b](y)) for a, b, o in self.terms)

    def target(self) -> np.ndarray:
        """The target on the mesh: (n, n)."""
        x, y = self.grid_xy()
        return TARGETS[self.target_name](x, y)

    def formula(self) -> str:
        """The composition as text, e.g. '(x + y)²/4 + -(x - y)²/4'."""
        parts = []
        for a, b, o in self.terms:
            inner = " + ".join(name.replace("t", var) for name, var in ((a, "x"), (b, "y"))
                               if name != "0").replace("+ -", "- ") or "0"
            if o == "0":
                continue
            parts.append(_OUTER_TEXT[o].format(inner))
        return " + ".join(parts).replace("+ -", "- ") or "0"

    def max_error(self) -> float:
        """max |composed − target| on the mesh (0 up to round-off for the presets); NaN when
        the composition is undefined somewhere on the mesh (see :meth:`undefined_fraction`)."""
        return float(np.max(np.abs(self.composed() - self.target())))

    def undefined_fraction(self) -> float:
        """Share of the mesh where the composition is undefined (NaN, e.g. log of t ≤ 0)."""
        return float(np.mean(~np.isfinite(self.composed())))

    # ----- callbacks --------------------------------------------------------------------------
    def set_preset(self, name: str, redraw: bool = True) -> None:
        """Load a preset's target, domain and terms (extra terms are set to 0)."""
        preset = PRESETS[check_choice("preset", name, list(PRESETS))]
        terms = list(preset["terms"]) + [("0", "0", "0")] * self.n_terms
        self.terms = [list(t) for t in terms[: self.n_terms]]
        self.target_name, self.domain = preset["target"], preset["domain"]
        self._syncing = True
        try:
            self.target_dropdown.value = self.target_name
            for row, term in zip(self.term_dropdowns, self.terms, strict=True):
                for dd, v in zip(row, term, strict=True):
                    dd.value = v
        finally:
            self._syncing = False
        self._update(redraw)

    def set_term(self, q: int, slot: int, name: str) -> None:
        """Term q, slot 0 (φ_{q,1}), 1 (φ_{q,2}) or 2 (Φ_q) becomes the function ``name``."""
        check_int("q", q, 0, self.n_terms - 1)
        check_choice("name", name, list(OUTER if slot == 2 else INNER))
        self.terms[q][check_int("slot", slot, 0, 2)] = name
        if not self._syncing:
            self._update()

    def set_target(self, name: str) -> None:
        self.target_name = check_choice("target", name, list(TARGETS))
        if not self._syncing:
            self._update()

    def _update(self, redraw: bool = True) -> None:
        f, t = self.composed(), self.target()
        lo, hi = self.domain
        finite = np.concatenate([f[np.isfinite(f)], t[np.isfinite(t)]])
        vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        for im, z in ((self.image_f, f), (self.image_t, t)):
            im.set_data(z)
            im.set_extent([lo, hi, lo, hi])
            im.set_clim(vmin, vmax if vmax > vmin else vmin + 1)
        self.ax_f.set_title("composed: " + self.formula(), fontsize=9)
        self.ax_t.set_title(f"target: {self.target_name}", fontsize=10)
        bad = self.undefined_fraction()
        if bad > 0:
            self.readout.value = (
                f"<b>undefined on {100 * bad:.0f}% of [{lo:g}, {hi:g}]²</b> (grey): a chosen "
                "function has no value there (log t needs t &gt; 0) — no error to report")
        else:
            err = self.max_error()
            self.readout.value = (f"max |composed − target| on [{lo:g}, {hi:g}]² = {err:.2e}"
                                  + (" &nbsp;✔ exact (up to round-off)" if err < 1e-9 else ""))
        if redraw:
            self.redraw(full=True)
