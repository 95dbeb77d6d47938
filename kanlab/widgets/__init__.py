"""Interactive widgets for the kanlab course: one class per widget, one call to build it.

Design (notebook authors code against this)
-------------------------------------------
Every widget is a plain Python class built by one call, for example::

    from kanlab.widgets import SplineExplorer
    explorer = SplineExplorer(grid=5, k=3, target="sin")
    explorer.static_image()     # 1. the default state as a PNG: readable on GitHub and under nbval
    explorer                    # 2. the live widget (its ``_ipython_display_`` shows ``.widget``)

Each class has

- ``.widget``: the ipywidgets container to display (controls + figure + readout + error box);
- ``static_figure()``: a fresh matplotlib ``Figure`` of the default state (no pyplot, no files);
- ``static_image()``: that figure as an ``IPython.display.Image`` (PNG); it displays the same
  whatever the matplotlib backend (``%matplotlib inline`` or ``%matplotlib widget``);
- plain callback methods (``on_coef_change``, ``fit_target``, ``randomize``, ``reset``, ...) that
  the controls call and that tests call directly; state is readable as attributes
  (``explorer.coef``, ``explorer.spline_line.get_ydata()``, ...);
- a ``__repr__``.

Drawing. Figures are built once and then updated in place (``set_ydata``, ``set_data``): never
rebuilt on a slider move. Two canvases, chosen when the widget is built (``canvas="auto"``):

- ``"ipympl"`` when the ipympl backend is active (``%matplotlib widget``): the figure's own
  ipympl canvas sits in the layout and ``draw_idle`` refreshes it;
- ``"image"`` otherwise: the figure is drawn off-screen with Agg and shown in an
  ``ipywidgets.Image`` whose PNG is replaced after each update. This works headless
  (nbclient/nbval) and in every browser, and is what the course uses by default.

Controls. Every control has a ``description``. Cheap controls (a coefficient) update
continuously; controls that rebuild or train (G, k, epochs) use ``continuous_update=False``.
Errors raised inside a callback are shown in the widget's error box (an ``ipywidgets.Output``
with a red traceback) and also kept in ``.last_error``; they are never swallowed silently.

Bounds. Constructor arguments and setter methods validate and raise ``ValueError`` naming the
argument and the allowed range (G in 1..20, k in 0..5). Slider values set programmatically
beyond a slider's bounds are clamped by ipywidgets to the bound (the slider shows it); the
widget then redraws for the clamped value and never raises.

Widgets (notebook that introduces each)
---------------------------------------
- ``SplineExplorer`` (02_bsplines): G, k and per-coefficient sliders; randomise/reset/fit.
- ``CoxDeBoorExplorer`` (02_bsplines): the basis built order by order 0..k.
- ``KAComposer`` (01_kolmogorov_arnold_theorem): compose inner/outer functions, see the surface.
- ``EdgeTrainer`` (03_learnable_activation): train one edge, scrub through the epochs.
- ``TrainingDashboard`` (06_function_fitting): ``callback`` for ``KAN.fit``; live losses, stop.
- ``EdgeInspector`` (07_interpretability): look at one edge, rank symbolic candidates, snap.
- ``PDEViewer`` (08_solving_pdes): scrub solution and error maps through training.
- ``LiveFigure`` (00_start_here): your own figure as a live image, redrawn only where it moved.

Importing ``kanlab.widgets`` is cheap: each class (and ipywidgets/matplotlib) is imported on
first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SplineExplorer": "kanlab.widgets.spline_explorer",
    "CoxDeBoorExplorer": "kanlab.widgets.cox_de_boor",
    "KAComposer": "kanlab.widgets.ka_composer",
    "EdgeTrainer": "kanlab.widgets.edge_trainer",
    "TrainingDashboard": "kanlab.widgets.dashboard",
    "EdgeInspector": "kanlab.widgets.edge_inspector",
    "PDEViewer": "kanlab.widgets.pde_viewer",
    "LiveFigure": "kanlab.widgets.live_figure",
    "Playground": "kanlab.widgets.playground",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a widget class on first access (PEP 562), keeping ``import kanlab.widgets`` light."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kanlab.widgets' has no attribute {name!r}")
    try:
        module = importlib.import_module(_EXPORTS[name])
    except ModuleNotFoundError as err:
        if err.name == _EXPORTS[name]:
            raise AttributeError(
                f"kanlab.widgets.{name} is not available yet ({_EXPORTS[name]} is missing)"
            ) from err
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
