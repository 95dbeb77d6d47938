"""The Playground's trainer: Play trains ``KAN.fit`` in a background thread, Step runs one step.

Why a thread: a click or a slider move reaches Python only when the kernel's main thread is
free. ``fit`` runs in a daemon thread, so the main thread keeps answering the controls; the
thread's callback records each step, asks the app to redraw when a redraw is due (throttled:
at most every ``min_interval`` seconds and never more than ``max_draw_fraction`` of the time),
and returns True to stop ``fit`` when Pause was pressed or a setting changed (the loop then
starts a new ``fit`` with the new settings). Actions that change the model (refine, prune,
snap, ...) call :meth:`Trainer.pause` first and :meth:`Trainer.resume` after. ``benchmarks/
playground_latency.py`` measures the main thread's answer time while this thread trains.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

PLAY_STEPS = 2000  # Play stops by itself after this many steps (spares a shared Binder CPU)
GRID_UPDATE_STEPS = 50  # grids follow the data in the first steps of a model's training


DIVERGED = ("training diverged (the loss became NaN or inf): lower the learning rate or λ, "
            "then press Reset")


def model_is_finite(model: Any) -> bool:
    """True when every parameter of ``model`` is finite (no NaN/inf after a divergence)."""
    import torch

    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


class Trainer:
    """``Trainer(get_state, on_step, on_draw, on_stop)`` drives ``model.fit`` for the app.

    ``get_state()`` returns ``(model, dataset, fit_kwargs)``; ``on_step(history)`` records a
    step's losses; ``on_draw()`` refreshes the pictures; ``on_stop(message)`` is called when a
    Play run ends (message None unless something went wrong).
    """

    def __init__(self, get_state: Callable[[], tuple[Any, dict, dict]],
                 on_step: Callable[[dict], None], on_draw: Callable[[], None],
                 on_stop: Callable[[str | None], None], min_interval: float = 0.25,
                 max_draw_fraction: float = 0.3) -> None:
        self.get_state, self.on_step, self.on_draw, self.on_stop = get_state, on_step, on_draw, on_stop
        self.min_interval, self.max_draw_fraction = min_interval, max_draw_fraction
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._restart = False
        self.steps = 0  # steps trained on the current model
        self.draw_times: list[float] = []
        self._resume_after = False

    def __repr__(self) -> str:
        return f"Trainer(playing={self.playing}, steps={self.steps})"

    @property
    def playing(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    # ----- controls ----------------------------------------------------------------------------
    def play(self) -> None:
        """Start training in the background (no-op if already playing)."""
        if self.playing:
            return
        self._stop.clear()
        self.thread = threading.Thread(target=self._run, name="kanlab-playground", daemon=True)
        self.thread.start()

    def pause(self, timeout: float = 60.0) -> bool:
        """Stop after the current step and wait for the thread; returns whether it was playing."""
        was = self.playing
        self._stop.set()
        if was and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        return was

    def restart(self) -> None:
        """Settings changed: the running ``fit`` stops after this step and starts again."""
        self._restart = True

    def hold(self) -> None:
        """Pause for a model change; :meth:`resume` plays again if it was playing."""
        self._resume_after = self.pause() or self._resume_after

    def resume(self) -> None:
        if self._resume_after:
            self._resume_after = False
            self.play()

    def reset(self) -> None:
        self.pause()
        self._resume_after = False
        self.steps = 0

    def step(self, n: int = 1) -> dict[str, list[float]]:
        """Train ``n`` steps now, in the calling thread (pauses Play first)."""
        self.pause()
        model, dataset, kwargs = self.get_state()
        history = self._fit(model, dataset, kwargs, n, callback=self._record)
        self.on_draw()
        return history

    # ----- the loop ----------------------------------------------------------------------------
    def _fit(self, model: Any, dataset: dict, kwargs: dict, steps: int, callback: Any) -> dict:
        kwargs = dict(kwargs)
        if kwargs.pop("grid_schedule", True) and self.steps < GRID_UPDATE_STEPS:
            kwargs.update(update_grid=True, stop_grid_update_step=GRID_UPDATE_STEPS - self.steps)
        else:
            kwargs["update_grid"] = False
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                history = model.fit(dataset, steps=steps, callback=callback, progress=False, **kwargs)
        except ValueError:
            if model_is_finite(model):
                raise
            history = {"train_loss": [math.nan]}
        if history["train_loss"] and not math.isfinite(history["train_loss"][-1]) or any(
                "diverged" in str(w.message) for w in caught):
            raise FloatingPointError(DIVERGED)
        return history

    def _record(self, model: Any, step: int, history: dict) -> bool:
        self.steps += 1
        self.on_step(history)
        return False

    def _run(self) -> None:
        message = None
        self._last_draw, self._t0, self._draw_total = -math.inf, time.perf_counter(), 0.0
        try:
            start = self.steps
            while not self._stop.is_set() and self.steps - start < PLAY_STEPS:
                self._restart = False
                model, dataset, kwargs = self.get_state()
                self._fit(model, dataset, kwargs, PLAY_STEPS - (self.steps - start), self._callback)
                if not self._restart:
                    break
            if self.steps - start >= PLAY_STEPS:
                message = f"paused after {PLAY_STEPS} steps: press Play to go on"
        except Exception as err:  # shown in the app, never a traceback in the log
            message = f"{type(err).__name__}: {err}" if not isinstance(err, FloatingPointError) else str(err)
        finally:
            self._stop.set()
            try:
                self.on_draw()
            finally:
                self.on_stop(message)

    def _callback(self, model: Any, step: int, history: dict) -> bool:
        self._record(model, step, history)
        now = time.perf_counter()
        budget_ok = self._draw_total <= self.max_draw_fraction * (now - self._t0)
        if now - self._last_draw >= self.min_interval and budget_ok:
            self.on_draw()
            done = time.perf_counter()
            self.draw_times.append(done - now)
            self._draw_total += done - now
            self._last_draw = done
        return self._stop.is_set() or self._restart
