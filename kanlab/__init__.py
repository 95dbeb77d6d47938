"""kanlab: Kolmogorov–Arnold Networks, a course and a library.

The public API is listed in ``__all__``. Heavy dependencies (sympy, matplotlib,
ipywidgets, graphviz) are imported only by the functions that need them.
"""

from __future__ import annotations

from kanlab.utils import seed_everything

__version__ = "0.1.0"

__all__ = ["seed_everything", "__version__"]
