"""Figure checks shared by the headless widget tests and the browser tests' kernel probes.

``assert_readable(fig)``: every label a reader must read (tick labels, axis labels, titles,
legends) lies inside the canvas and no two overlap. The browser tests' JupyterLab puts this
folder on the kernel's PYTHONPATH, so a probe cell can run it on the figure the page shows.
"""

from __future__ import annotations


def _text_boxes(fig) -> list[tuple[str, object]]:
    """(name, window extent) of every visible text a reader must read: tick labels, axis
    labels, titles, colour-bar labels, legends (one box each)."""
    if not hasattr(fig.canvas, "get_renderer"):  # a closed pyplot figure: draw it as savefig does
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for n, ax in enumerate(fig.axes):
        texts = []
        for role, axis, lim in (("xtick", ax.xaxis, ax.get_xlim()), ("ytick", ax.yaxis, ax.get_ylim())):
            lo, hi = sorted(lim)
            texts += [(role, tick.label1) for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                      if lo - 1e-9 * (hi - lo) <= tick.get_loc() <= hi + 1e-9 * (hi - lo)]
        texts += [("xlabel", ax.xaxis.label), ("ylabel", ax.yaxis.label), ("title", ax.title)]
        for role, t in texts:
            if t.get_visible() and t.get_text().strip():
                boxes.append((f"axes{n}.{role}:{t.get_text()}", t.get_window_extent(renderer)))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            boxes.append((f"axes{n}.legend", legend.get_window_extent(renderer)))
    return boxes


def assert_readable(fig) -> None:
    """Every label inside the canvas, no two labels on top of each other."""
    width, height = fig.canvas.get_width_height()
    boxes = _text_boxes(fig)
    for name, b in boxes:
        assert b.x0 >= -0.5 and b.y0 >= -0.5 and b.x1 <= width + 0.5 and b.y1 <= height + 0.5, \
            f"{name} leaves the {width}×{height} canvas: {b}"
    for i, (na, a) in enumerate(boxes):
        for nb, b in boxes[i + 1:]:
            ov_x, ov_y = min(a.x1, b.x1) - max(a.x0, b.x0), min(a.y1, b.y1) - max(a.y0, b.y0)
            assert ov_x <= 1 or ov_y <= 1, f"{na} overlaps {nb}"
