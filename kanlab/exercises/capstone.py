"""The capstone's mystery function and its self-checks, stage by stage (11_capstone).

The formula is kept here, out of the notebook: :func:`mystery_dataset` samples it, and the
checks compare the student's models and formula with it on fresh points. Reading this file
gives the answer away; the notebook works without it.

Stages and their checks: fit (:func:`check_fit`), sparsify (:func:`check_sparse`), which input
is irrelevant (:func:`check_irrelevant_input`), prune (:func:`check_pruned`), snap
(:func:`check_snapped`), and the recovered formula, inside and outside the training box
(:func:`check_formula`).
"""

from __future__ import annotations

from typing import Any

import torch

from kanlab.exercises._core import Feedback, Wrong, correct, exercise, number, wrong

NOTEBOOK = "11_capstone"
N_VAR = 3
STRONG = 0.03  # |phi|_1 above which an edge counts as strong (07's threshold)
_STRONG_EDGES_MAX = 6  # a sparse [3, 5, 1] keeps at most this many strong edges (of 20)


def _mystery(x: torch.Tensor) -> torch.Tensor:
    """The hidden function, (batch, 3) -> (batch, 1). Defined on x_3 > -1.26 (any x_1, x_2)."""
    return torch.log(3 + torch.cos(torch.pi * x[:, [0]]) + x[:, [2]] ** 3)


def mystery_dataset(n_train: int = 500, n_test: int = 1000, seed: int = 0,
                    ranges: Any = (-1.0, 1.0)) -> dict[str, torch.Tensor]:
    """Samples of the mystery function of 3 variables, in ``create_dataset``'s format.

    train_input (n_train, 3), train_label (n_train, 1), test_input, test_label; inputs uniform
    in ``ranges`` (default [-1, 1] for each), in torch's default dtype. Introduced in 11_capstone.
    """
    from kanlab.datasets import create_dataset

    return create_dataset(_mystery, n_var=N_VAR, ranges=ranges, n_train=n_train, n_test=n_test, seed=seed)


def _validation(n: int = 2000, seed: int = 2024, ranges: Any = (-1.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor]:
    data = mystery_dataset(n_train=n, n_test=1, seed=seed, ranges=ranges)
    return data["train_input"], data["train_label"]


def _kan(model: Any, what: str = "the model") -> Any:
    if not (hasattr(model, "layers") and hasattr(model, "width") and callable(model)):
        raise Wrong(f"{what} is {type(model).__name__}, not a kanlab KAN", "pass the model itself: check(model)")
    width = [int(w) for w in model.width]
    if width[0] != N_VAR or width[-1] != 1:
        raise Wrong(f"{what} has width {width}: the mystery has {N_VAR} inputs and 1 output",
                    "build it as KAN(width=[3, ..., 1], ...)")
    return model


def _rmse(model: Any, x: torch.Tensor, y: torch.Tensor) -> float:
    dtype = model.layers[0].coef.dtype
    with torch.no_grad():
        y_hat = model(x.to(dtype))
    return float(torch.sqrt(torch.mean((y_hat.double() - y.double()) ** 2)))


def _strong_edges(model: Any, x: torch.Tensor) -> int:
    dtype = model.layers[0].coef.dtype
    with torch.no_grad():
        scores = model.edge_scores(x.to(dtype))
    return int(sum(int(((s > STRONG) & (layer.mask > 0)).sum()) for s, layer in zip(scores, model.layers)))


@exercise(NOTEBOOK)
def check_fit(model) -> Feedback:
    """Stage 1: a KAN [3, ..., 1] fitted to the mystery data, judged on 2000 fresh points."""
    model = _kan(model)
    x, y = _validation()
    rmse, spread = _rmse(model, x, y), float(y.std())
    if rmse < 2e-2:
        return correct(f"validation RMSE {rmse:.1e} on 2000 fresh points, {spread / rmse:.0f}× below the spread "
                       f"of f ({spread:.2f}): the spline network has learnt the function, but cannot tell you what it is.")
    if rmse > 0.9 * spread:
        return wrong(f"validation RMSE {rmse:.2f}: no better than predicting one constant (the spread of f is {spread:.2f})",
                     "did you train it? model.fit(dataset, steps=20)")
    return wrong(f"validation RMSE {rmse:.2e}: it has learnt something, but not enough (aim for below 2e-2)",
                 "train longer (more steps) or refine the grid (model.refine(10)), then fit again")


@exercise(NOTEBOOK)
def check_sparse(model) -> Feedback:
    """Stage 2: the same architecture trained with the sparsity penalty: few strong edges, still accurate."""
    model = _kan(model)
    x, y = _validation()
    strong, total = _strong_edges(model, x), int(sum(float(layer.mask.sum()) for layer in model.layers))
    rmse, spread = _rmse(model, x, y), float(y.std())
    if strong > _STRONG_EDGES_MAX:
        return wrong(f"{strong} of {total} edges are strong (|φ|₁ > {STRONG}): the network is not sparse yet",
                     "train with the penalty: model.fit(dataset, steps=20, lamb=0.01, lamb_entropy=10.0); "
                     "if you did, raise lamb a little")
    if rmse > 0.2 * spread:
        return wrong(f"only {strong} strong edges, but the validation RMSE is {rmse:.2f} (the spread of f is {spread:.2f}): "
                     "the penalty has won over the fit", "lower lamb (below 0.01), or train longer with it (steps=40)")
    return correct(f"{strong} of {total} edges are strong (|φ|₁ > {STRONG}), validation RMSE {rmse:.1e}: "
                   "few edges carry the function, and pruning can remove the rest.")


@exercise(NOTEBOOK)
def check_irrelevant_input(i) -> Feedback:
    """Which input (index i = 0, 1 or 2, as in edge (l, i, j)) does the mystery function ignore?"""
    if isinstance(i, str):
        raise Wrong(f"got the text {i!r}", "give the input's index i as a number: 0, 1 or 2")
    value = number(i, "the input index")
    if value == 1:
        return correct("input i = 1 (the formula's x_2): its edges faded under the penalty, and f does not change "
                       "along it. Pruning removes its edge next.")
    if value == 2:
        return wrong("input i = 2 (x_3) has a strong edge",
                     "inputs are numbered from 0, as in edge (l, i, j); the formula calls input i by the name x_{i+1}")
    if value == 0:
        return wrong("input i = 0 (x_1) has the strongest edge of the first layer",
                     "look for the input whose edges all have |φ|₁ near 0 (model.edge_scores()[0], one column per input)")
    return wrong(f"there is no input {value:g}: the mystery has inputs 0, 1 and 2", "give an index 0, 1 or 2")


@exercise(NOTEBOOK)
def check_pruned(model) -> Feedback:
    """Stage 3: the pruned model: width [3, 1, 1], the irrelevant input's edge masked, the others kept."""
    model = _kan(model)
    width = [int(w) for w in model.width]
    if len(width) != 3:
        return wrong(f"width {width}: the mystery needs one hidden layer", "start from KAN(width=[3, 5, 1])")
    if width[1] > 1:
        return wrong(f"width {width}: {width[1]} hidden nodes survived, one is enough",
                     "fit again with the penalty and prune once more (as in 07 §3), or raise node_th")
    mask = model.layers[0].mask[0].tolist()
    if mask[0] == 0 or mask[2] == 0:
        dropped = [f"x_{n + 1}" for n in (0, 2) if mask[n] == 0]
        return wrong(f"the edge from {', '.join(dropped)} was pruned, but f depends on it",
                     "edge_th is too high: prune(edge_th=1e-3) keeps the weak but needed edges")
    if mask[1] != 0:
        return wrong("width [3, 1, 1], but the edge from x_2 is still active",
                     "the irrelevant input's edge should go: prune after the sparse fit, with edge_th above its "
                     "score (model.edge_scores()[0])")
    return correct("width [3, 1, 1] with 3 active edges: f = Φ(φ₁(x_1) + φ₃(x_3)), and x_2 is gone.")


def _symbolic_edges(model: Any) -> list[tuple[int, int, int, str]]:
    """Active edges as (l, i, j, name); name '' for an edge that is still a spline."""
    edges = []
    for l, layer in enumerate(model.layers):  # noqa: E741
        for j in range(layer.out_dim):
            for i in range(layer.in_dim):
                if float(layer.mask[j, i]) != 0.0:
                    symbolic = float(layer.sym_mask[j, i]) == 1.0
                    edges.append((l, i, j, layer.sym_names[j][i] if symbolic else ""))
    return edges


_RIGHT_NAMES = {(0, 0, 0): {"cos", "sin"}, (0, 2, 0): {"x^3"}, (1, 0, 0): {"log"}}


@exercise(NOTEBOOK)
def check_snapped(model) -> Feedback:
    """Stage 4: every active edge snapped to a library function, the affine parameters retrained."""
    model = _kan(model)
    edges = _symbolic_edges(model)
    splines = [e for e in edges if not e[3]]
    if splines:
        where = ", ".join(f"({l}, {i}, {j})" for l, i, j, _ in splines)
        return wrong(f"edge(s) {where} are still splines", "model.auto_symbolic() snaps every edge, "
                     "or fix_symbolic(l, i, j, name) one at a time")
    x, y = _validation()
    rmse = _rmse(model, x, y)
    for l, i, j, name in edges:
        if l == 0 and i == 1:
            return wrong(f"the edge from x_2, (0, 1, {j}), is still active (snapped to {name})",
                         "f ignores x_2: prune its edge (stage 3), or snap it to the constant: "
                         f"model.fix_symbolic(0, 1, {j}, '0')")
    wrong_names = [(l, i, j, name) for l, i, j, name in edges if name not in _RIGHT_NAMES.get((l, i, j), {"0"})]
    if wrong_names:
        l, i, j, name = wrong_names[0]
        return wrong(f"edge ({l}, {i}, {j}) is snapped to {name}, which is not what the mystery computes there "
                     f"(validation RMSE {rmse:.1e})",
                     f"compare the candidates' R² (model.suggest_symbolic({l}, {i}, {j})) and snap another one; "
                     "a right snap retrains to round-off")
    if rmse > 1e-6:
        return wrong(f"the right functions, but the validation RMSE is {rmse:.1e}",
                     "retrain the affine parameters: model.fit(dataset, steps=20, update_grid=False)")
    return correct(f"all {len(edges)} edges are formulas, and the validation RMSE is {rmse:.0e}: round-off.")


def _as_function(expr: Any):
    import sympy

    if isinstance(expr, str):
        try:
            expr = sympy.sympify(expr)
        except (sympy.SympifyError, SyntaxError, TypeError) as err:
            raise Wrong(f"sympy cannot read {expr!r}: {err}", "write it as Python: log(3 + x_1**2), pi, exp(...)") from None
    if not isinstance(expr, sympy.Expr):
        raise Wrong(f"expected a sympy expression (or a string), got {type(expr).__name__}",
                    "pass model.formula(), or your own formula as a string such as 'sin(pi*x_1) + x_3'")
    names = {s.name for s in expr.free_symbols}
    unknown = names - {"x_1", "x_2", "x_3"}
    if unknown:
        raise Wrong(f"the formula uses {sorted(unknown)}; the inputs are called x_1, x_2, x_3")
    if "x_2" in names:
        raise Wrong("your formula depends on x_2, which the mystery ignores",
                    "drop the x_2 terms (after pruning, the model's formula has none)")
    syms = sympy.symbols("x_1 x_2 x_3")
    fn = sympy.lambdify(syms, expr, "numpy")

    def f(x: torch.Tensor) -> torch.Tensor:
        cols = x.double().numpy().T
        out = torch.as_tensor(fn(*cols), dtype=torch.float64)
        return out.reshape(-1, 1).expand(x.shape[0], 1) if out.dim() == 0 else out.reshape(-1, 1)

    return f


@exercise(NOTEBOOK)
def check_formula(expr) -> Feedback:
    """Stage 5: the recovered formula (sympy or a string in x_1, x_2, x_3) against the hidden function.

    Compared on 2000 fresh points in the training box [-1, 1]³ and on 2000 outside it
    (x_3 in [1, 1.25]), where no spline was trained.
    """
    f = _as_function(expr)
    worst = {}
    for name, ranges in (("inside", (-1.0, 1.0)), ("outside", [(-1.0, 1.0), (-1.0, 1.0), (1.0, 1.25)])):
        x, y = _validation(ranges=ranges)
        with torch.no_grad():
            got = f(x)
        if not torch.isfinite(got).all():
            raise Wrong(f"the formula gives NaN or inf {name} the training box",
                        "check the constants inside log, sqrt or 1/x")
        worst[name] = float((got - y.double()).abs().max())
    if max(worst.values()) < 2e-4:  # the 4-decimal formula() of a right snap is within ~3e-5
        return correct(f"the formula matches the hidden function to {worst['inside']:.0e} inside the training box "
                       f"and to {worst['outside']:.0e} outside it, where no spline was trained "
                       "(largest errors over 2000 fresh points each). That is what recovering a law means.")
    if max(worst.values()) < 3e-2:
        return wrong(f"close, but not exact: errors up to {max(worst.values()):.1e}",
                     "constants rounded too coarsely? Use model.formula(precision=None), or keep 4 digits; "
                     "is every edge snapped to the right function?")
    return wrong(f"the formula differs from the mystery by up to {worst['inside']:.2g} inside the box "
                 f"(and {worst['outside']:.2g} outside; f itself lies between 0 and 1.8)",
                 "validate edge by edge: a wrong snap shows in the retrained RMSE (stage 4)")
