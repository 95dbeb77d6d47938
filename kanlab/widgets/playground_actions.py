"""The Playground's training and model actions: Play/Pause/Step, optimiser, grid update,
refine (G → 2G) and prune. Mixed into ``kanlab.widgets.playground.Playground`` (which owns
``model``, ``dataset``, ``trainer``, the controls ``c`` and the loss history).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kanlab.widgets.playground_controls import guarded

MAX_GRID = 80  # refine stops here
KEPT = 0.01  # refine "keeps the function" when it moves by at most 1% of its spread (RMS)


def refined(model: Any, new_grid: int, x: Any) -> float:
    """Refine ``model`` in place to ``new_grid`` (``KAN.refine``: nested grids, the function
    kept) and return the RMS change of its output on ``x`` over the output's spread, which the
    app's message reports (so a refine that did move the function would say so)."""
    import warnings

    import torch

    with torch.no_grad(), warnings.catch_warnings():
        # "build a new optimizer" does not concern the app: fit builds one every call
        warnings.filterwarnings("ignore", message=".*optimizer.*")
        before = model(x)
        model.refine(new_grid, x=x)
        change = float(torch.sqrt(torch.mean((model(x) - before) ** 2)))
    return change / max(float(before.std()), 1e-12)


class ActionsMixin:
    """What the Training and "Read it" buttons do to the model."""

    model: Any
    dataset: dict[str, Any]

    # ----- training ------------------------------------------------------------------------------
    def _fit_state(self) -> tuple[Any, dict, dict]:
        kwargs = {"opt": self.c.opt.value, "lr": float(self.c.lr.value),
                  "lamb": float(self.c.lamb.value)}
        return self.model, self.dataset, kwargs

    def _on_step(self, history: dict) -> None:
        self.train_loss.append(float(history["train_loss"][-1]))
        self.test_loss.append(float(history["test_loss"][-1]))

    def _on_stop(self, message: str | None) -> None:
        self.c.play.description, self.c.play.icon, self.c.play.button_style = "Play", "play", "success"
        self.update_formula()
        if message:
            self.show_message(message, "error" if "diverged" in message or ":" in message[:30] else "info")

    @guarded
    def play(self) -> None:
        """Train in the background until :meth:`pause` (or 2000 steps)."""
        self.trainer.play()
        self.c.play.description, self.c.play.icon, self.c.play.button_style = "Pause", "pause", "warning"
        self.show_message("", "ok")

    @guarded
    def pause(self) -> None:
        self.trainer.pause()

    def toggle_play(self) -> None:
        """The Play/Pause button."""
        self.pause() if self.trainer.playing else self.play()

    @guarded
    def step(self, n: int = 1) -> None:
        """Train ``n`` steps now (Step button: n = 1)."""
        from kanlab.widgets._base import check_int

        self.trainer.step(check_int("steps", n, 1, 10_000))
        self.update_formula()

    @guarded
    def set_optimizer(self, name: str) -> None:
        """L-BFGS or Adam; the learning rate moves to that optimiser's usual value."""
        from kanlab.widgets.playground_controls import DEFAULT_LR

        if name not in DEFAULT_LR:
            raise ValueError(f"optimiser must be one of {list(DEFAULT_LR)}, got {name!r}")
        self._sync(opt=name, lr=DEFAULT_LR[name])
        self.trainer.restart()

    def _model_change(self, action: Callable[[], str]) -> None:
        """Pause, change the model, mark the loss curves, redraw, resume. Warnings raised on the
        way become a note in the message."""
        import warnings

        from kanlab.widgets.playground_train import DIVERGED, model_is_finite

        self.trainer.hold()
        if not model_is_finite(self.model):
            self.trainer.resume()
            raise FloatingPointError(DIVERGED)
        try:
            with warnings.catch_warnings(record=True) as caught:  # shown in the message, not the log
                warnings.simplefilter("always")
                text = action()
            notes = list(dict.fromkeys(str(w.message) for w in caught))
            if notes:
                text += f" (note: {notes[0]}{f'; +{len(notes) - 1} more' if len(notes) > 1 else ''})"
            self.marks.append(len(self.train_loss))
            self.show_message(text, "ok")
            self._structure_changed()
        finally:
            self.trainer.resume()

    @guarded
    def update_grid(self) -> None:
        """Move every layer's grid to the training data (the function is refitted)."""
        self._model_change(lambda: (self.model.update_grid(self.dataset["train_input"]),
                                    "grids updated from the training inputs")[1])

    @guarded
    def refine(self) -> None:
        """Grid extension G → 2G, keeping the function (see :func:`refined`); the message says
        so, or by how much it moved."""
        new = 2 * self.model.grid
        if new > MAX_GRID:
            raise ValueError(f"G = {self.model.grid} is the finest grid here (refining gives "
                             f"{new} > {MAX_GRID}): press Reset or choose a smaller G")

        def action() -> str:
            old, x = self.model.grid, self.dataset["train_input"]
            self.refine_change = change = refined(self.model, new, x)
            self.grid = new
            self._sync(grid=min(new, self.c.grid.max))
            kept = ("the function is kept" if change <= KEPT else
                    f"the function moved by {change:.1%} of its spread on the training points: "
                    "train a few steps")
            return f"grid refined: G = {old} → {new} ({kept})"

        self._model_change(action)

    @guarded
    def prune(self) -> None:
        """Replace the model by its pruned copy (weak hidden nodes and edges dropped)."""

        def action() -> str:
            old = self.width_text()
            self.model = self.model.prune(x=self.dataset["train_input"])
            self.hidden = [lay.spec() for lay in self.model.node_layouts[1:-1]]
            self._sync(hidden=self._hidden_text(self.hidden))
            self.trainer.steps = max(self.trainer.steps, 50)  # grids stay as they are
            self.close_inspector()
            return f"pruned: width {old} → {self.width_text()}"

        self._model_change(action)
