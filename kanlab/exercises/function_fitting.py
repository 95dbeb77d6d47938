"""Self-checks for 06_function_fitting: the scaling-law exponent from theory and from measurements."""

from __future__ import annotations

import numpy as np

from kanlab.exercises._core import Feedback, call, correct, exercise, first_match, number, wrong

NOTEBOOK = "06_function_fitting"


@exercise(NOTEBOOK)
def check_theory_exponent(exponent) -> Feedback:
    """``exponent(k) -> float``: the slope of log RMSE vs log G that spline theory predicts for degree k."""
    for k in (3, 1, 2, 0):
        got = number(call(exponent, k), f"exponent({k})")
        if got == -(k + 1):
            continue
        return first_match(got, [
            (-4.0, f"exponent({k}) = -4 for every k: the −4 belongs to cubics only",
             "the error of the best degree-k spline falls like h^(k+1) = G^-(k+1)"),
            (-float(k), f"exponent({k}) = {got:g}: one short", "RMSE ∝ h^(k+1): the exponent is −(k + 1)"),
            (float(k + 1), f"exponent({k}) = {got:g}: the sign is wrong", "a finer grid means a smaller error: negative slope"),
        ]) or wrong(f"exponent({k}) = {got:g}, expected {-(k + 1)}", "RMSE ∝ G^-(k+1)")
    return correct("−(k + 1): −4 for cubics, −2 for piecewise-linear splines (exercise 1).")


@exercise(NOTEBOOK)
def check_loglog_slope(slope) -> Feedback:
    """``slope(G, rmse) -> float``: the fitted exponent α of rmse ≈ C·G^α (least squares on log–log axes)."""
    G = np.array([5.0, 10, 20, 50])
    rmse = 3.0 * G**-3.2 * np.array([1.0, 1.1, 0.95, 1.02])
    want = np.polyfit(np.log(G), np.log(rmse), 1)[0]
    got = number(call(slope, G.copy(), rmse.copy()), "slope(G, rmse)")
    if abs(got - want) < 1e-6:
        return correct(f"slope {got:.3f}: polyfit(log G, log rmse, 1)[0] (any log base gives the same slope).")
    return first_match(got, [
        (1 / want, "that is 1/slope: the axes are swapped", "np.polyfit(x=log G, y=log rmse, deg=1)"),
        (np.polyfit(G, rmse, 1)[0], "that is the slope on linear axes", "take logs of both G and rmse first"),
        (np.polyfit(np.log(G), rmse, 1)[0], "only G was put on a log axis", "take the log of rmse too"),
        (np.polyfit(np.log(G), np.log(rmse), 1)[1], "that is the intercept, log C", "polyfit returns [slope, intercept]"),
    ], rtol=1e-6) or wrong(f"slope {got:.4g}, expected {want:.4g}", "np.polyfit(np.log(G), np.log(rmse), 1)[0]")
