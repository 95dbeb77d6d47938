"""kanlab: Kolmogorov–Arnold Networks, a course and a library.

The public API is listed in ``__all__``. Heavy dependencies (sympy, matplotlib,
ipywidgets, graphviz) are imported only by the functions that need them.
"""

from __future__ import annotations

from kanlab.datasets import TOY_FUNCTIONS, create_dataset
from kanlab.layer import KANLayer
from kanlab.model import KAN
from kanlab.utils import seed_everything

__version__ = "0.1.0"

__all__ = ["KAN", "KANLayer", "TOY_FUNCTIONS", "create_dataset", "seed_everything", "__version__"]
