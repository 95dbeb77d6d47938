"""Separability and symmetry tests (kanlab.science) and the formula-to-KAN compiler (kanlab.compiler)."""

from __future__ import annotations

import pytest
import sympy
import torch

from kanlab import KAN, create_dataset
from kanlab.compiler import from_formula
from kanlab.science import additive_separability, multiplicative_separability, symmetry

F64 = torch.float64
X1, X2, X3 = sympy.symbols("x_1 x_2 x_3")


def _points(n: int = 300, dim: int = 3, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, dim, generator=g, dtype=F64) * 2 + 0.5


@pytest.mark.parametrize("seed", [0, 1])
def test_additive_groups_on_callables(seed: int) -> None:
    x = _points(seed=seed)
    test = additive_separability(lambda x: torch.sin(x[:, 0] * x[:, 1]) + x[:, 2] ** 2, x)
    assert test.groups == [[0, 1], [2]] and test.separable([2]) and not test.separable([0])
    assert additive_separability(lambda x: (x[:, 0] + x[:, 1] + x[:, 2]) ** 2, x).groups == [[0, 1, 2]]


@pytest.mark.parametrize("seed", [0, 1])
def test_multiplicative_groups_on_callables(seed: int) -> None:
    x = _points(seed=seed)
    assert multiplicative_separability(lambda x: x[:, 0] * torch.exp(x[:, 1] + x[:, 2]), x).groups == [[0], [1], [2]]
    test = multiplicative_separability(lambda x: (x[:, 0] + x[:, 1]) / x[:, 2] ** 2, x)
    assert test.groups == [[0, 1], [2]] and test.kind == "multiplicative"


def test_symmetry_with_and_without_a_given_combination() -> None:
    x = _points()
    f = lambda x: torch.sin(x[:, 0] - x[:, 1]) * x[:, 2]  # noqa: E731
    assert symmetry(f, x, [0, 1]).holds
    assert symmetry(f, x, [0, 1], h=lambda x: x[:, 0] - x[:, 1]).holds
    assert not symmetry(f, x, [0, 1], h=lambda x: x[:, 0] / x[:, 1]).holds
    assert not symmetry(lambda x: torch.sin(x[:, 0] * x[:, 2] - x[:, 1]), x, [0, 1]).holds
    with pytest.raises(ValueError, match="at least two distinct inputs"):
        symmetry(f, x, [0])


def test_tests_run_on_a_trained_model() -> None:
    data = create_dataset(lambda x: torch.sin(2 * x[:, [0]]) + x[:, [1]] * x[:, [2]], 3, n_train=400,
                          n_test=50, seed=0, dtype=F64)
    model = KAN([3, 4, 1], seed=0, dtype=F64)
    model.fit(data, steps=40, progress=False)
    test = additive_separability(model, data["train_input"], tol=0.05)
    assert test.groups == [[0], [1, 2]], test.interaction


@pytest.mark.parametrize("f", [
    X1 * X2, X1 / X2, X1 * X2 * X3, (X1 + X2) / (1 + X1 * X2), sympy.sin(X1) + X1**2,
    X1 * sympy.sin(X1) + 3, 1 / (X1**2 + X2**2 + X3**2), sympy.sqrt(1 + X1**2) * sympy.cos(2 * X2 - 1),
    sympy.exp(sympy.sin(sympy.pi * X1) + X2**2),
])
def test_from_formula_round_trips(f) -> None:
    variables = sorted(f.free_symbols, key=lambda s: s.name)
    model = from_formula(f, variables)
    g = model.formula()
    rounded = f.xreplace({sympy.pi: sympy.Float(3.1416, 5)})  # formula() rounds constants to 4 digits
    assert sympy.simplify(g - rounded) == 0, (f, g)
    x = _points(dim=len(variables))
    ref = sympy.lambdify(variables, f, "math")
    expected = torch.tensor([ref(*row) for row in x.tolist()], dtype=F64)
    torch.testing.assert_close(model(x)[:, 0], expected, rtol=1e-12, atol=1e-12)


def test_from_formula_says_what_it_cannot_compile() -> None:
    with pytest.raises(ValueError, match="constant"):
        from_formula(sympy.Integer(3), [X1])
    with pytest.raises(ValueError, match="no library function"):
        from_formula(sympy.gamma(X1), [X1])
    with pytest.raises(ValueError, match="power"):
        from_formula(X1**7, [X1])
    with pytest.raises(ValueError, match="not among the variables"):
        from_formula(X1 * X2, [X1])
