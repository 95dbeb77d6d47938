"""Figures for the course: every function returns a matplotlib ``Figure`` and writes no file.

matplotlib is imported inside each function so ``import kanlab`` stays light.
Several authors add functions here: append new functions, keep each one small.
"""

from __future__ import annotations

from typing import Any

# Okabe–Ito colour-blind-safe palette, paired with markers and line styles.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)), (0, (5, 5))]


def use_course_style() -> None:
    """Apply the course's plot style: white background, colour-blind-safe cycle, readable sizes.

    Called in every notebook's setup cell (see 00_start_here).
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.dpi": 90,
            "figure.figsize": (7.0, 3.6),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=OKABE_ITO) + cycler(linestyle=LINESTYLES),
            "font.size": 10,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def style_cycle(n: int) -> list[dict[str, Any]]:
    """Return ``n`` distinct (color, marker, linestyle) keyword dicts for manual plotting."""
    return [
        {
            "color": OKABE_ITO[i % len(OKABE_ITO)],
            "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)],
        }
        for i in range(n)
    ]
