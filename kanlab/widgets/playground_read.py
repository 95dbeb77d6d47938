"""The Playground's "read it" half: inspect an edge, snap/unsnap it, snap all, the formula.

Mixed into ``kanlab.widgets.playground.Playground`` (which owns ``model``, ``dataset``,
``inspector``, ``network``, ``trainer`` and the controls ``c``).
"""

from __future__ import annotations

import html
from typing import Any

from kanlab.widgets.playground_controls import guarded


class ReadingMixin:
    """Edge inspection and symbolic snapping for the Playground."""

    model: Any
    dataset: dict[str, Any]

    @guarded
    def select_edge(self, l: int, i: int, j: int) -> None:
        """Open the inspector on edge (l, i, j): its curve and top symbolic candidates with R²."""
        from kanlab.widgets._base import check_int

        l = check_int("layer l", l, 0, len(self.model.layers) - 1)
        layer = self.model.layers[l]
        i = check_int("input i", i, 0, layer.in_dim - 1)
        j = check_int("output j", j, 0, layer.out_dim - 1)
        self.inspector.show(self.model, self.dataset["train_input"], (l, i, j))
        self.network.select((l, i, j))
        self.show_message(f"inspecting edge l={l}, i={i} → j={j}", "info")

    def close_inspector(self) -> None:
        self.inspector.close()
        self.network.selected = None

    def _selected(self) -> tuple[int, int, int]:
        if self.inspector.edge is None:
            raise ValueError("no edge is selected: click an edge of the network first")
        return self.inspector.edge

    @guarded
    def snap(self, name: str | None = None) -> float | None:
        """Snap the inspected edge to candidate ``name`` (default: the one chosen); returns R²."""
        l, i, j = self._selected()
        name = name or self.inspector.candidates.value
        if name is None:
            raise ValueError("this edge has no symbolic candidates to snap to")
        r2: list[float] = []

        def action() -> str:
            r2.append(self.model.fix_symbolic(l, i, j, name, x=self.dataset["train_input"]))
            return f"edge l={l}, i={i} → j={j} snapped to {name} (R² = {r2[0]:.4f})"

        self._model_change(action)
        self.inspector.update_title(self.model)
        self.network.select((l, i, j))
        return r2[0]

    @guarded
    def unsnap(self) -> None:
        """Return the inspected edge to its spline."""
        l, i, j = self._selected()

        def action() -> str:
            self.model.layers[l].clear_symbolic(j, i)
            return f"edge l={l}, i={i} → j={j} is a spline again"

        self._model_change(action)
        self.inspector.update_title(self.model)
        self.network.select((l, i, j))

    @guarded
    def auto_snap(self, r2_threshold: float = 0.99) -> list[dict[str, Any]]:
        """Snap every spline edge whose best candidate reaches R² ≥ ``r2_threshold``."""
        report: list[Any] = []

        def action() -> str:
            import warnings

            with warnings.catch_warnings():  # weak edges are reported in the message instead
                warnings.simplefilter("ignore")
                report.extend(self.model.auto_symbolic(x=self.dataset["train_input"],
                                                       r2_threshold=r2_threshold, weak="keep"))
            fixed = sum(r["fixed"] for r in report)
            left = len(report) - fixed
            tail = (f"; {left} stay splines (best R² below {r2_threshold}): train more, prune, "
                    "or snap them by hand") if left else ""
            return f"snapped {fixed} of {len(report)} spline edges{tail}"

        self._model_change(action)
        self.close_inspector()
        return report

    def all_symbolic(self) -> bool:
        """True when every unpruned edge is a formula."""
        return all(bool(((layer.mask == 0) | (layer.sym_mask == 1)).all()) for layer in self.model.layers)

    def update_formula(self) -> None:
        """Show the network's formula and its test RMSE once every edge is symbolic."""
        out = self.c.formula_out
        if not self.all_symbolic():
            n_sym = sum(int(((layer.mask != 0) & (layer.sym_mask == 1)).sum()) for layer in self.model.layers)
            n_all = sum(int((layer.mask != 0).sum()) for layer in self.model.layers)
            out.value = (f"<small>{n_sym} of {n_all} edges are symbolic: snap every edge "
                         "(Snap all, or one by one in the inspector) to read the formula</small>")
            self.formula = None
            return
        import sympy

        self.formula = self.model.formula(var_names=["x", "y"], precision=3)
        rmse = self.model.evaluate(self.dataset)["test_rmse"]
        self.formula_rmse = rmse
        out.value = (f"<b>The network as a formula</b> (test RMSE {rmse:.3g}):<br>"
                     f"$$\\hat f(x, y) = {sympy.latex(self.formula)}$$"
                     f"<small>target: {html.escape(str(self.expr))}</small>")
