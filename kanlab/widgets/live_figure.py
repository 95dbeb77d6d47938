"""LiveFigure: your own matplotlib figure as a live image that a slider can redraw quickly.

Introduced in 00_start_here. The course widgets draw this way (``kanlab.widgets._base``): the
figure is drawn once off-screen with Agg, and after a control moves only the artists that changed
are drawn again, over a saved copy of the rest (axes, ticks, labels, legend: the text, which is
most of a full draw's cost). The new picture goes to the page as a PNG in an ``ipywidgets.Image``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kanlab.widgets._base import WidgetBase


class LiveFigure(WidgetBase):
    """``LiveFigure(fig, moving=[line, ax.title])``: ``fig`` shown in ``.view`` (an Image widget).

    ``moving``: the artists a callback changes (a line's data, a title's text); ``redraw()``
    draws them over the rest of the figure as it was first drawn. After changing anything else
    (limits, new artists) call ``redraw(full=True)``. The figure keeps its own layout; a pyplot
    figure should be closed (``plt.close(fig)``) so that it is not shown a second time.
    """

    def __init__(self, fig: Any, moving: Sequence[Any] = ()) -> None:
        import ipywidgets as W
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        if any(artist.get_figure(root=True) is not fig for artist in moving):
            raise ValueError("every artist in moving must belong to fig")
        self.fig = fig
        FigureCanvasAgg(fig)  # drawn off-screen, whatever the notebook's backend
        self.canvas_mode = "image"
        self._init_errors()
        self._background = None
        self.set_animated(list(moving))
        width, _ = fig.canvas.get_width_height()
        self.view = W.Image(format="png", layout=W.Layout(width=f"{width}px", max_width="100%"))
        self.widget = self.view
        self.redraw_count = 0
        self.redraw(full=True)
        self.redraw_count = 0  # counts the callbacks' redraws

    def __repr__(self) -> str:
        return f"LiveFigure(moving={len(self._animated)} artists, redraws={self.redraw_count})"

    def static_figure(self) -> Any:
        """A copy of the figure as it is now."""
        return self.copy_figure()
