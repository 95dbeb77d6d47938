"""kanlab: Kolmogorov–Arnold Networks, a course and a library.

The public API is listed in ``__all__``. Heavy dependencies (sympy, matplotlib,
ipywidgets, graphviz) are imported only by the functions that need them, so
``import kanlab`` costs a few tens of milliseconds on top of ``import torch``.
"""

from __future__ import annotations

from kanlab.attribution import attribute
from kanlab.compiler import from_formula
from kanlab.datasets import TOY_FUNCTIONS, create_dataset, create_dataset_from_data
from kanlab.layer import KANLayer
from kanlab.lbfgs import LBFGS
from kanlab.model import KAN
from kanlab.plotting import plot_kan, use_course_style
from kanlab.pruning import prune, prune_inputs
from kanlab.science import additive_separability, multiplicative_separability, symmetry
from kanlab.symbolic_lib import SYMBOLIC_LIB, add_symbolic, fit_affine
from kanlab.utils import seed_everything
from kanlab.warm_start import additive_start

__version__ = "0.1.0"

__all__ = [
    "KAN",
    "KANLayer",
    "LBFGS",
    "SYMBOLIC_LIB",
    "TOY_FUNCTIONS",
    "add_symbolic",
    "additive_separability",
    "additive_start",
    "attribute",
    "create_dataset",
    "create_dataset_from_data",
    "fit_affine",
    "from_formula",
    "multiplicative_separability",
    "plot_kan",
    "prune",
    "prune_inputs",
    "seed_everything",
    "symmetry",
    "use_course_style",
    "__version__",
]
