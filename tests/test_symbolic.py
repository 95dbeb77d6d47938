"""Tests for the symbolic library, the affine fit, snapping edges and formulas (kanlab.symbolic).

The key property: a snapped model's sympy formula, evaluated with lambdify, equals the model's
own forward pass (float64, to 1e-6) — for nested layers and negative affine scales too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy
import torch

from kanlab import KAN
from kanlab.splines import curve_to_coef
from kanlab.symbolic import (
    SYMBOLIC_LIB,
    SymbolicFit,
    add_symbolic,
    auto_symbolic,
    fit_affine,
    fix_symbolic,
    formula,
    get_function,
    suggest_symbolic,
)

F64 = torch.float64
# Points where each library function is real and finite (the sympy form is defined there).
DOMAIN = {"sqrt": (0.1, 3.0), "log": (0.1, 3.0), "1/x": (0.2, 3.0), "1/x^2": (0.2, 3.0),
          "arctanh": (-0.9, 0.9), "arcsin": (-0.9, 0.9), "tan": (-1.2, 1.2),
          "1/x^3": (0.2, 3.0), "1/x^4": (0.2, 3.0), "1/x^5": (0.2, 3.0), "x^0.5": (0.1, 3.0),
          "x^1.5": (0.1, 3.0), "1/sqrt(x)": (0.1, 3.0), "1/x^0.5": (0.1, 3.0), "arccos": (-0.9, 0.9)}


# --------------------------------------------------------------------------- the library
@pytest.mark.parametrize("name", sorted(SYMBOLIC_LIB))
def test_torch_form_equals_sympy_form(name: str) -> None:
    fn = get_function(name)
    lo, hi = DOMAIN.get(name, (-2.0, 2.0))
    x = torch.linspace(lo, hi, 41, dtype=F64)
    u = sympy.Symbol("u")
    ref = sympy.lambdify(u, fn.sympy(u), "numpy")(x.numpy())
    np.testing.assert_allclose(fn.torch(x).numpy(), np.broadcast_to(ref, x.shape), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(SYMBOLIC_LIB))
def test_torch_form_is_safe_at_singularities(name: str) -> None:
    """Values and gradients stay finite everywhere, including 0, ±1, poles and large inputs."""
    x = torch.tensor([-1e4, -3.0, -1.0, -1e-9, 0.0, 1e-9, 1.0, math.pi / 2, 3.0, 60.0, 1e4],
                     dtype=F64, requires_grad=True)
    y = get_function(name).torch(x)
    assert torch.isfinite(y).all()
    if y.requires_grad:  # "0" is a constant: no gradient to check
        y.sum().backward()
        assert torch.isfinite(x.grad).all()


def test_get_function_names_the_known_functions() -> None:
    assert get_function("sin") is SYMBOLIC_LIB["sin"]
    with pytest.raises(ValueError, match="unknown symbolic function 'sinh'.*known: 0, x, x\\^2"):
        get_function("sinh")


def test_add_symbolic_registers_a_usable_function() -> None:
    try:
        fn = add_symbolic("cosh", torch.cosh, sympy.cosh, 3)
        assert get_function("cosh") is fn and "cosh" in repr(fn)
        x = torch.linspace(-1, 1, 200, dtype=F64)
        a, b, c, d, r2 = fit_affine(x, 2 * torch.cosh(0.5 * x) - 1, "cosh")
        assert r2 > 1 - 1e-10
        torch.testing.assert_close(c * torch.cosh(a * x + b) + d, 2 * torch.cosh(0.5 * x) - 1)
        with pytest.raises(ValueError, match="already in SYMBOLIC_LIB"):
            add_symbolic("cosh", torch.cosh, sympy.cosh, 3)
    finally:
        SYMBOLIC_LIB.pop("cosh", None)
    with pytest.raises(ValueError, match="complexity"):
        add_symbolic("bad", torch.cosh, sympy.cosh, -1)
    with pytest.raises(ValueError, match="name"):
        add_symbolic("", torch.cosh, sympy.cosh, 1)


# --------------------------------------------------------------------------- the affine fit
@pytest.mark.parametrize(
    ("name", "a", "b", "c", "d"),
    [("sin", math.pi, 0.0, 1.0, 0.0), ("sin", -2.0, 0.5, -0.7, 0.3), ("x^2", 1.3, -0.2, 0.5, 0.1),
     ("exp", 0.7, -0.3, -2.0, 1.0), ("tanh", 3.0, 1.0, 0.5, -1.0), ("x", 2.0, 1.0, -3.0, 0.0),
     ("sqrt", 2.0, 3.0, 1.5, 0.0), ("1/x", 3.0, 4.0, 2.0, 0.0), ("arctanh", 0.8, 0.1, 1.0, 0.0),
     ("gaussian", 2.0, 0.5, 1.0, -0.5), ("cos", 2.5, 1.0, -1.0, 0.0)],
)
def test_fit_affine_recovers_an_exact_affine_function(name, a, b, c, d) -> None:
    x = torch.rand(300, dtype=F64) * 2 - 1
    fn = get_function(name)
    y = c * fn.torch(a * x + b) + d
    a2, b2, c2, d2, r2 = fit_affine(x, y, name)
    assert r2 > 1 - 1e-8
    torch.testing.assert_close(c2 * fn.torch(a2 * x + b2) + d2, y, atol=1e-5, rtol=1e-5)


def test_fit_affine_reports_canonical_parameters() -> None:
    """Equivalent parameter sets collapse to one: sin(πx), not -sin(-πx + π); exp with c = ±1."""
    x = torch.rand(300, dtype=F64) * 2 - 1
    a, b, c, d, _ = fit_affine(x, -torch.sin(-math.pi * x), "sin")
    np.testing.assert_allclose([a, b, c, d], [math.pi, 0, 1, 0], atol=1e-5)
    a, b, c, d, _ = fit_affine(x, 3 * torch.exp(x + 1), "exp")
    np.testing.assert_allclose([a, b, c, d], [1, 1 + math.log(3), 1, 0], atol=1e-5)
    a, b, c, d, _ = fit_affine(x, 0.5 * (2 * x - 1) ** 2, "x^2")
    np.testing.assert_allclose([a, b, c, d], [1, -0.5, 2, 0], atol=1e-4)


def test_fit_affine_r2_is_low_for_the_wrong_function() -> None:
    x = torch.rand(300, dtype=F64) * 2 - 1
    assert fit_affine(x, torch.sin(3 * math.pi * x), "x^2")[4] < 0.3


@pytest.mark.parametrize(
    ("x", "y"),
    [(torch.linspace(-1, 1, 50), torch.full((50,), 2.5)),  # constant edge
     (torch.zeros(50), torch.linspace(-1, 1, 50)),  # constant input
     (torch.tensor([0.3]), torch.tensor([1.0])),  # a single sample
     (torch.tensor([0.1, float("nan"), 0.4, 0.9]), torch.tensor([1.0, 2.0, float("inf"), 0.0])),
     (torch.tensor([float("nan")]), torch.tensor([1.0])),  # nothing finite left
     (torch.linspace(-1e6, 1e6, 50), torch.linspace(-1e8, 1e8, 50) ** 2)],
)
def test_fit_affine_never_raises_on_degenerate_data(x, y) -> None:
    for name in SYMBOLIC_LIB:
        result = fit_affine(x, y, name)
        assert len(result) == 5 and all(math.isfinite(v) for v in result)
        assert 0.0 <= result[4] <= 1.0


def test_fit_affine_constant_edge_is_its_mean() -> None:
    a, b, c, d, r2 = fit_affine(torch.linspace(-1, 1, 50), torch.full((50,), 2.5), "sin")
    assert (c, d, r2) == (0.0, 2.5, 1.0)


def test_fit_affine_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="same size"):
        fit_affine(torch.zeros(3), torch.zeros(4), "x")
    with pytest.raises(ValueError, match="unknown symbolic function"):
        fit_affine(torch.zeros(3), torch.zeros(3), "nope")


# --------------------------------------------------------------------------- snapping a model
def spline_model(target, grid: int = 20) -> KAN:
    """A [1, 1] KAN whose single edge is a least-squares spline of ``target`` on [-1, 1]."""
    model = KAN([1, 1], grid=grid, k=3, seed=0, dtype=F64)
    layer = model.layers[0]
    x = torch.linspace(-1, 1, 400, dtype=F64)[:, None]
    with torch.no_grad():
        layer.scale_base.zero_()
        layer.scale_sp.fill_(1.0)
        layer.coef.copy_(curve_to_coef(x, target(x)[:, :, None], layer.knots, layer.k))
    return model


def test_suggest_symbolic_ranks_the_true_function_first() -> None:
    model = spline_model(lambda x: torch.sin(math.pi * x))
    x = torch.rand(200, 1, dtype=F64) * 2 - 1
    fits = suggest_symbolic(model, 0, 0, 0, x, top_k=4)
    assert len(fits) == 4 and all(isinstance(f, SymbolicFit) for f in fits)
    assert fits[0].name == "sin" and fits[0].r2 > 0.99999
    np.testing.assert_allclose(fits[0].affine, [math.pi, 0, 1, 0], atol=1e-3)
    assert [f.score for f in fits] == sorted(f.score for f in fits)
    assert model.suggest_symbolic(0, 0, 0, x=x, lib=["x", "x^2"], top_k=1)[0].name == "x"


def test_fix_symbolic_snaps_and_keeps_affine_trainable() -> None:
    model = spline_model(lambda x: 0.5 * x**2 - 0.2)
    x = torch.rand(200, 1, dtype=F64) * 2 - 1
    r2 = fix_symbolic(model, 0, 0, 0, "x^2", x)
    assert r2 > 0.9999 and model.layers[0].sym_names[0][0] == "x^2"
    torch.testing.assert_close(model(x), 0.5 * x**2 - 0.2, atol=1e-3, rtol=0)
    loss = ((model(x) - (x**2)) ** 2).mean()  # a new target: the affine parameters must move
    loss.backward()
    assert model.layers[0].sym_affine.grad[0, 0].abs().sum() > 0
    assert fix_symbolic(model, 0, 0, 0, "sin", fit_params=False) is None
    torch.testing.assert_close(model(x), torch.sin(x))


def test_fix_symbolic_rejects_bad_edges() -> None:
    model = KAN([2, 3, 1], seed=0, dtype=F64)
    x = torch.rand(20, 2, dtype=F64)
    with pytest.raises(IndexError, match="layer l=2"):
        fix_symbolic(model, 2, 0, 0, "x", x)
    with pytest.raises(IndexError, match="edge \\(i=2, j=0\\)"):
        fix_symbolic(model, 0, 2, 0, "x", x)
    model.layers[0].mask[1, 0] = 0
    with pytest.raises(ValueError, match="pruned"):
        fix_symbolic(model, 0, 0, 1, "x", x)


def test_auto_symbolic_respects_the_threshold() -> None:
    model = spline_model(lambda x: torch.exp(0.8 * x))
    x = torch.rand(200, 1, dtype=F64) * 2 - 1
    with pytest.warns(UserWarning, match=r"left as splines: \(0,0,0\) x\^2 R²=0\.9"):
        report = auto_symbolic(model, x, lib=["x", "x^2", "sin"], r2_threshold=0.99999, weak="keep")
    assert report[0]["fixed"] is False and report[0]["weak"] and model.layers[0].sym_mask.sum() == 0
    report = auto_symbolic(model, x, lib=["x", "x^2", "exp", "sin"], r2_threshold=0.999)
    assert report == [{"l": 0, "i": 0, "j": 0, "name": "exp", "r2": report[0]["r2"], "fixed": True, "weak": False}]
    assert model.layers[0].sym_names[0][0] == "exp"


def test_auto_symbolic_snaps_the_best_below_the_threshold_by_default() -> None:
    # pykan's recipe: auto_symbolic then formula() must not raise; the weak fit is reported.
    model = spline_model(lambda x: torch.exp(0.8 * x))
    x = torch.rand(200, 1, dtype=F64) * 2 - 1
    with pytest.warns(UserWarning, match="snapped anyway"):
        report = auto_symbolic(model, x, lib=["x", "sin"], r2_threshold=0.99999)
    assert report[0]["fixed"] and report[0]["weak"] and report[0]["r2"] < 0.99999
    assert model.layers[0].sym_names[0][0] == report[0]["name"]
    assert model.formula().free_symbols == {sympy.Symbol("x_1")}
    with pytest.raises(ValueError, match="weak must be"):
        auto_symbolic(model, x, weak="drop")


def test_unfix_symbolic_restores_the_spline() -> None:
    model = spline_model(lambda x: torch.sin(2 * x))
    x = torch.rand(100, 1, dtype=F64) * 2 - 1
    before = model(x)
    model.fix_symbolic(0, 0, 0, "sin", x)
    assert not torch.equal(model(x), before)
    assert model.unfix_symbolic(0, 0, 0) == 1
    torch.testing.assert_close(model(x), before, atol=0, rtol=0)
    model.fix_symbolic(0, 0, 0, "sin", x)
    assert model.unfix_symbolic() == 1 and model.layers[0].sym_mask.sum() == 0
    with pytest.raises(ValueError, match="all of l, i, j"):
        model.unfix_symbolic(0, 0)


@pytest.mark.parametrize("name, u, ref", [
    ("x^5", 1.3, 1.3**5), ("1/x^3", -0.7, -0.7**-3), ("1/x^4", 0.6, 0.6**-4), ("1/x^5", 2.0, 2.0**-5),
    ("x^1.5", 2.25, 3.375), ("1/sqrt(x)", 0.25, 2.0), ("arccos", 0.5, math.acos(0.5)),
])
def test_new_library_functions_agree_with_sympy_and_stay_finite(name, u, ref) -> None:
    f = get_function(name)
    assert float(f.torch(torch.tensor(u, dtype=F64))) == pytest.approx(ref, rel=1e-12)
    assert float(f.sympy(sympy.Float(u))) == pytest.approx(ref, rel=1e-12)
    t = torch.linspace(-3, 3, 601, dtype=F64, requires_grad=True)  # through 0 and |x| = 1
    y = f.torch(t)
    y.sum().backward()
    assert torch.isfinite(y).all() and torch.isfinite(t.grad).all()
    a, b, c, d = 1.7, 0.3, -0.8, 0.2
    if f.canonical is not None:  # the tidier parameters describe the same function
        a2, b2, c2, d2 = f.canonical(-a, -b, c, d)
        s = torch.linspace(0.05, 0.5, 7, dtype=F64)
        torch.testing.assert_close(c2 * f.torch(a2 * s + b2) + d2, c * f.torch(-a * s - b) + d)


# --------------------------------------------------------------------------- formulas
def snapped_model(width, edges) -> KAN:
    """A KAN with exactly the given symbolic edges {(l, i, j): (name, (a, b, c, d))}; others masked."""
    model = KAN(width, seed=0, dtype=F64)
    with torch.no_grad():
        for layer in model.layers:
            layer.mask.zero_()
    for (l, i, j), (name, affine) in edges.items():  # noqa: E741
        model.layers[l].mask[j, i] = 1.0
        model.layers[l].set_symbolic(j, i, name, affine)
    return model


PI = math.pi
FORMULA_CASES = {
    # exp(sin(πx) + y²) written with negative scales and a shifted exponential
    "exp_sin_xy": ([2, 1, 1], {(0, 0, 0): ("sin", (-PI, 0.0, -2.0, 0.3)),
                               (0, 1, 0): ("x^2", (-1.0, 0.0, 2.0, -0.3)),
                               (1, 0, 0): ("exp", (0.5, 0.7, math.exp(-0.7), 0.0))}),
    # xy = ((x + y)² − (x − y)²) / 4
    "xy": ([2, 2, 1], {(0, 0, 0): ("x", (1.0, 0.0, 1.0, 0.0)), (0, 1, 0): ("x", (1.0, 0.0, 1.0, 0.0)),
                       (0, 0, 1): ("x", (1.0, 0.0, 1.0, 0.0)), (0, 1, 1): ("x", (1.0, 0.0, -1.0, 0.0)),
                       (1, 0, 0): ("x^2", (1.0, 0.0, 0.25, 0.0)),
                       (1, 1, 0): ("x^2", (1.0, 0.0, -0.25, 0.0))}),
    # relativistic velocity addition (x + y) / (1 + xy) = tanh(arctanh x + arctanh y)
    "velocity": ([2, 1, 1], {(0, 0, 0): ("arctanh", (1.0, 0.0, 1.0, 0.0)),
                             (0, 1, 0): ("arctanh", (-1.0, 0.0, -1.0, 0.0)),
                             (1, 0, 0): ("tanh", (1.0, 0.0, 1.0, 0.0))}),
}
TARGETS = {
    "exp_sin_xy": lambda x, y: np.exp(np.sin(PI * x) + y**2),
    "xy": lambda x, y: x * y,
    "velocity": lambda x, y: (x + y) / (1 + x * y),
}
X1, X2 = sympy.symbols("x_1 x_2")
CLEAN = {
    "exp_sin_xy": sympy.exp(sympy.sin(sympy.Float(3.1416, 5) * X1) + X2**2),
    "xy": X1 * X2,
    "velocity": sympy.tanh(sympy.atanh(X1) + sympy.atanh(X2)),
}


@pytest.mark.parametrize("case", sorted(FORMULA_CASES))
def test_formula_equals_forward_pass(case: str) -> None:
    model = snapped_model(*FORMULA_CASES[case])
    x = torch.rand(500, 2, dtype=F64) * 1.8 - 0.9
    expr = formula(model, precision=None)
    values = sympy.lambdify([X1, X2], expr, "numpy")(x[:, 0].numpy(), x[:, 1].numpy())
    forward = model(x)[:, 0].detach().numpy()
    np.testing.assert_allclose(values, forward, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(forward, TARGETS[case](x[:, 0].numpy(), x[:, 1].numpy()), atol=1e-9)


@pytest.mark.parametrize("case", sorted(FORMULA_CASES))
def test_formula_simplifies_to_the_clean_expression(case: str) -> None:
    expr = snapped_model(*FORMULA_CASES[case]).formula()  # precision=4
    assert sympy.simplify(expr - CLEAN[case]) == 0, expr


def test_formula_of_a_random_deep_snapped_model_equals_forward() -> None:
    """Nested layers, every edge snapped with a random (often negative) affine map."""
    gen = torch.Generator().manual_seed(3)
    names = ["x", "x^2", "sin", "cos", "tanh", "arctan", "gaussian", "x^3"]
    width = [3, 4, 2, 1]
    edges = {}
    for l in range(3):  # noqa: E741
        for j in range(width[l + 1]):
            for i in range(width[l]):
                name = names[int(torch.randint(len(names), (1,), generator=gen))]
                affine = tuple((torch.rand(4, generator=gen, dtype=F64) * 2 - 1).tolist())
                edges[(l, i, j)] = (name, affine)
    model = snapped_model(width, edges)
    syms = sympy.symbols("a b c")
    expr = model.formula(var_names=["a", "b", "c"], precision=None)
    x = torch.rand(300, 3, dtype=F64) * 2 - 1
    values = sympy.lambdify(syms, expr, "numpy")(*x.T.numpy())
    np.testing.assert_allclose(values, model(x)[:, 0].detach().numpy(), atol=1e-6, rtol=1e-6)


def test_formula_needs_every_active_edge_snapped() -> None:
    model = snapped_model(*FORMULA_CASES["xy"])
    model.layers[1].clear_symbolic(0, 1)
    with pytest.raises(ValueError, match=r"edges \(l, i, j\) \[\(1, 1, 0\)\] are still splines"):
        model.formula()
    with pytest.raises(ValueError, match="var_names needs 2 names"):
        snapped_model(*FORMULA_CASES["xy"]).formula(var_names=["x"])


def test_formula_lists_one_expression_per_output() -> None:
    model = snapped_model([1, 2], {(0, 0, 0): ("sin", (1.0, 0.0, 1.0, 0.0)),
                                   (0, 0, 1): ("x", (2.0, 0.0, 1.0, 1.0))})
    t = sympy.Symbol("t")
    assert model.formula(var_names=[t]) == [sympy.sin(t), 2 * t + 1]


def test_rounding_keeps_constants_beyond_float64() -> None:
    """A snapped exp with a huge gain can leave constants like 1e400 in the formula; rounding
    must keep them instead of failing (it did: OverflowError in the README's quick start)."""
    from kanlab.symbolic import _round_floats

    x = sympy.Symbol("x")
    rounded = _round_floats(sympy.Float("1e400") * x + sympy.Float(0.123456), 2)
    assert rounded.has(sympy.Float("1e400")) and rounded.has(sympy.Float(0.12, 2))
