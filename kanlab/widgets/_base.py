"""Shared machinery for the course widgets: canvases, in-place redraws, error boxes, checks.

See the design notes in ``kanlab/widgets/__init__.py``. ipywidgets and matplotlib are imported
inside functions so that ``import kanlab.widgets`` stays light.
"""

from __future__ import annotations

import io
import math
import traceback
from collections.abc import Callable, Sequence
from typing import Any

CANVAS_MODES = ("auto", "image", "ipympl")


def check_int(name: str, value: Any, lo: int, hi: int) -> int:
    """Return ``value`` as int if it is an integer in ``lo..hi``, else raise a clear ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def check_finite(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite real number, else raise a clear ValueError."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_range(name: str, value: Any) -> tuple[float, float]:
    """Return ``value`` as a float pair ``(lo, hi)`` with ``lo < hi``, else raise ValueError."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (lo, hi) of numbers, got {value!r}") from None
    if not lo < hi:
        raise ValueError(f"{name} must satisfy lo < hi, got {value!r}")
    return lo, hi


def ipympl_active() -> bool:
    """True when matplotlib's current backend is ipympl (``%matplotlib widget``)."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend.endswith("widget")


def resolve_canvas(canvas: str) -> str:
    """Map ``canvas="auto"`` to ``"ipympl"`` or ``"image"``; validate explicit choices."""
    check_choice("canvas", canvas, CANVAS_MODES)
    if canvas == "auto":
        return "ipympl" if ipympl_active() else "image"
    return canvas


def new_figure(figsize: tuple[float, float], canvas: str, dpi: int = 90) -> Any:
    """A matplotlib Figure for ``canvas`` ("image": off-screen Agg; "ipympl": an ipympl canvas).

    No pyplot state is touched for "image", so nothing is auto-displayed and nothing leaks.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    if canvas == "ipympl":
        # Importing ipympl switches matplotlib's backend (and pyplot's) as a side effect, so
        # only do it where the ipympl backend is already the user's choice.
        if not ipympl_active():
            raise ValueError("canvas='ipympl' needs the ipympl backend: run `%matplotlib widget` "
                             "first, or use canvas='image' (or 'auto')")
        # ipympl's canvas widget, made directly: no pyplot registry, no auto-display.
        from ipympl.backend_nbagg import Canvas, FigureManager

        FigureManager(Canvas(fig), 0)
        fig.canvas.header_visible = False
        fig.canvas.toolbar_visible = False
        fig.canvas.resizable = False
        return fig
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    return fig


def freeze_layout(fig: Any) -> None:
    """Run the constrained layout once, then keep the axes fixed so redraws stay cheap."""
    fig.set_layout_engine("constrained")
    fig.get_layout_engine().execute(fig)  # positions the axes; no full draw needed
    fig.set_layout_engine("none")


def figure_png(fig: Any, fast: bool = True, smooth: bool = False) -> bytes:
    """Draw ``fig`` with Agg and return PNG bytes (see :func:`canvas_png`)."""
    if not hasattr(fig.canvas, "buffer_rgba"):  # a bare Figure(): give it an Agg canvas
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return canvas_png(fig, fast, smooth)


def canvas_png(fig: Any, fast: bool = True, smooth: bool = False) -> bytes:
    """PNG bytes of what the Agg canvas of ``fig`` holds now (no redraw).

    The image is quantised to a 256-colour palette: about 3× smaller than RGB (a notebook
    stores every widget's last image in its widget state). ``fast`` (live redraws) uses the
    fast octree palette and light zlib (~3 ms for an 8×4.4 inch figure, most of a slider
    move's budget); ``smooth`` (colour maps) or ``fast=False`` (static images) use the
    median-cut palette (~100 ms), which keeps gradients free of bands.
    """
    from PIL import Image

    rgb = Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba(),
                           "raw", "RGBA", 0, 1).convert("RGB")
    method = Image.Quantize.MEDIANCUT if smooth or not fast else Image.Quantize.FASTOCTREE
    buf = io.BytesIO()
    save_opts: dict[str, Any] = {"compress_level": 1} if fast else {"optimize": True}
    rgb.quantize(256, method=method).save(buf, format="png", **save_opts)
    return buf.getvalue()


class WidgetBase:
    """Common behaviour of every course widget (see the package docstring for the design).

    Subclasses build ``self.fig`` with :func:`new_figure`, call :meth:`_setup_view` once, wire
    their controls with :meth:`_wrap`, and call :meth:`redraw` after changing artists' data.
    """

    #: ipywidgets container shown by ``display(obj)``; set by subclasses.
    widget: Any = None
    #: True for widgets showing colour maps: a slower palette that keeps gradients smooth.
    smooth_colors: bool = False

    def _setup_view(self, canvas: str) -> Any:
        """Create the figure view (ipympl canvas or Image) and the error box; return the view."""
        import ipywidgets as W

        self.canvas_mode = canvas
        self._init_errors()
        self.redraw_count = 0
        self._background: Any = None
        if not hasattr(self, "_animated"):
            self._animated: list[Any] = []
        if canvas == "ipympl":
            self.view = self.fig.canvas
        else:
            freeze_layout(self.fig)
            self.view = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))
            self.redraw(full=True)
            self.redraw_count = 0
        return self.view

    def set_animated(self, artists: list[Any]) -> None:
        """Declare the artists that change on cheap updates (image canvas: blitted over a cached
        background, so a slider move redraws a few lines instead of the whole figure)."""
        self._animated = list(artists)
        if self.canvas_mode == "image":
            for artist in self._animated:
                artist.set_animated(True)
        self._background = None

    def redraw(self, full: bool = False) -> None:
        """Push the figure's current artists to the screen (in place, never a new figure).

        ``full=False`` redraws only the animated artists over the cached background (image
        canvas); pass ``full=True`` after changing anything else (axes limits, new artists).
        """
        self.redraw_count += 1
        if self.canvas_mode == "ipympl":
            self.fig.canvas.draw_idle()
            return
        canvas = self.fig.canvas
        if full or self._background is None:
            canvas.draw()  # animated artists are skipped here ...
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._animated:  # ... and drawn on top here
            if artist.get_visible():
                self.fig.draw_artist(artist)
        self.view.value = canvas_png(self.fig, smooth=self.smooth_colors)

    def _init_errors(self) -> None:
        """Create the error box (an ``ipywidgets.Output``) once."""
        if not hasattr(self, "error_box"):
            import ipywidgets as W

            self.error_box = W.Output(layout=W.Layout(max_height="12em", overflow="auto"))
            self.last_error: BaseException | None = None

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a callback so that an exception is shown in ``error_box`` and kept in
        ``last_error`` instead of vanishing into the kernel log."""
        self._init_errors()

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                result = fn(*args, **kwargs)
            except Exception as err:  # shown to the user, never swallowed
                self.show_error(err)
                return None
            self.clear_error()
            return result

        return guarded

    def show_error(self, err: BaseException) -> None:
        """Show ``err`` with its traceback in the widget's error box."""
        self.last_error = err
        text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
        self.error_box.outputs = ()
        self.error_box.append_stderr(text)

    def clear_error(self) -> None:
        """Empty the error box after a callback succeeded."""
        if self.error_box.outputs:
            self.error_box.outputs = ()
        self.last_error = None

    def static_figure(self) -> Any:
        """A new Figure of the default state (for readers on GitHub and for nbval).

        Untouched since it was built (the usual case: a notebook calls ``static_image()`` right
        after the constructor), the widget's own figure is copied (pickled), so no second set of
        ipywidgets is created (each would be stored in the notebook's widget state). Otherwise
        the widget is rebuilt off-screen from its arguments (``self._init_kwargs``).
        """
        if self.redraw_count == 0:
            return self.copy_figure()
        fresh = type(self)(**{**self._init_kwargs, "canvas": "image"})
        return fresh.copy_figure()

    def copy_figure(self) -> Any:
        """A copy (pickled) of the figure as it is now, with an Agg canvas and every artist
        drawn normally (no blitting flags), detached from the widget."""
        import pickle

        from matplotlib.backends.backend_agg import FigureCanvasAgg

        for artist in self._animated:
            artist.set_animated(False)
        try:
            fig = pickle.loads(pickle.dumps(self.fig))
        finally:
            for artist in self._animated:
                artist.set_animated(self.canvas_mode == "image")
        FigureCanvasAgg(fig)
        return fig

    def static_image(self) -> Any:
        """The default state as an ``IPython.display.Image`` (PNG), whatever the backend."""
        from IPython.display import Image

        return Image(data=figure_png(self.static_figure(), fast=False), format="png")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
