"""B-splines on per-input grids, batched over any leading shape.

Everything a KAN edge needs from spline theory (introduced in 02_bsplines):

* knots: G + 1 grid points on ``grid_range``, extended by ``k`` knots on each side, so each
  input has ``G + 2k + 1`` knots and ``G + k`` basis functions of order (degree) ``k``;
* the Cox–de Boor recursion, evaluated for all bases at once;
* least-squares coefficients from samples (ridge-stabilised, solved in float64);
* grids adapted to sample quantiles and refinement to a finer grid (grid extension).

Conventions: ``knots`` has shape (in_dim, G + 2k + 1) and is sorted along its last axis;
order-0 bases are half-open indicators ``t_m <= x < t_{m+1}`` (the last one closed); outside
``[t_0, t_{G+2k}]`` every basis is 0, so a spline is 0 there (shown in 02_bsplines and 03_learnable_activation).

Modules: ``knots`` (uniform, adapted and refined grids), ``recursion`` (``cox_de_boor``, the
reference every fast path is tested against), ``knot_tables`` (what is derived from the knots
once per grid), ``local_support`` (``bspline_basis``: the fast, exact basis) and
``spline_curves`` (``spline_eval``, ``curve_to_coef``).
"""

from __future__ import annotations

# The pieces, one idea per module (this module gathers them under one name, as the notebooks use):
from kanlab.knot_tables import KnotTables as KnotTables
from kanlab.knot_tables import _cached as _cached
from kanlab.knot_tables import _cardinal_polynomials as _cardinal_polynomials
from kanlab.knot_tables import _interval_polynomials as _interval_polynomials
from kanlab.knot_tables import _uniform_step as _uniform_step
from kanlab.knot_tables import interval_table as interval_table
from kanlab.knot_tables import tables as tables
from kanlab.knot_tables import uniform_position as uniform_position
from kanlab.knots import GridRange as GridRange
from kanlab.knots import adaptive_knots as adaptive_knots
from kanlab.knots import check_grid_and_order as check_grid_and_order
from kanlab.knots import extend_grid as extend_grid
from kanlab.knots import grid_samples as grid_samples
from kanlab.knots import num_intervals as num_intervals
from kanlab.knots import refine_knots as refine_knots
from kanlab.knots import uniform_knots as uniform_knots
from kanlab.local_support import LocalSupport as LocalSupport
from kanlab.local_support import bspline_basis as bspline_basis
from kanlab.local_support import local_support as local_support
from kanlab.recursion import check_knots as check_knots
from kanlab.recursion import cox_de_boor as cox_de_boor
from kanlab.spline_curves import curve_to_coef as curve_to_coef
from kanlab.spline_curves import spline_eval as spline_eval
