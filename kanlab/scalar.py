"""The from-scratch KAN, micrograd-style: the classic API in one import.

    from kanlab.scalar import KAN, Tensor, Optimizer, compute_loss

:mod:`kanlab.scalar_engine` holds the scalar autograd ``Tensor``; :mod:`kanlab.scalar_kan` the
B-splines, edges, layers, ``KAN``, ``Optimizer`` and ``compute_loss`` built on it. Introduced in
04_kan_from_scratch. Pure Python: slow on purpose, so every multiply and every gradient can be
seen (05_vectorized_kan shows the fast torch version).
"""

from __future__ import annotations

from kanlab.scalar_engine import Tensor
from kanlab.scalar_kan import KAN, Edge, Layer, Optimizer, bspline_bases, compute_loss, knots_1d

__all__ = ["Tensor", "KAN", "Edge", "Layer", "Optimizer", "compute_loss", "bspline_bases", "knots_1d"]
