"""Self-checks for 06_function_fitting: the scaling-law exponent from theory and from measurements,
and the median and worst run over seeds that a fair comparison reports."""

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


def _pair(got, what: str) -> tuple[float, float] | Feedback:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return wrong(f"{what} returned {got!r}; two numbers (median, worst) were expected",
                     "end with `return median, worst`")
    return number(got[0], "the median"), number(got[1], "the worst run")


@exercise(NOTEBOOK)
def check_seed_summary(summarize) -> Feedback:
    """``summarize(rmse) -> (median, worst)``: one model's test RMSEs over seeds (a list) in two numbers."""
    for runs in ([3e-4, 5e-1, 2e-4, 4e-4, 6e-4], [2e-4, 1e-3, 4e-4, 3e-4]):
        got = _pair(call(summarize, list(runs)), f"summarize({runs})")
        if isinstance(got, Feedback):
            return got
        median, worst = float(np.median(runs)), max(runs)
        if np.allclose(got, (median, worst), rtol=1e-6):
            continue
        ordered = sorted(runs)
        return first_match(got, [
            ((worst, median), "the two numbers are swapped", "return them in the order (median, worst)"),
            ((float(np.mean(runs)), worst), f"that median is the mean: with one stalled seed in {runs} it is "
             "pulled far up by that one run", "np.median(rmse): half the seeds are better, half worse"),
            ((ordered[len(runs) // 2], worst), f"for an even number of seeds ({runs}) the median is the mean "
             "of the two middle values", "np.median does that for you"),
            ((median, min(runs)), "the worst run is the one with the *largest* RMSE", "max(rmse), not min"),
            ((min(runs), worst), "that is the best seed, not the median", "np.median(rmse)"),
        ]) or wrong(f"summarize({runs}) = ({got[0]:.3g}, {got[1]:.3g}), expected ({median:.3g}, {worst:.3g})",
                    "median = np.median(rmse), worst = max(rmse)")
    return correct("the median says what a typical seed gives, the worst what you risk on one run; "
                   "a mean of RMSEs is ruled by its single worst seed.")
