"""The from-data-to-law pipeline (kanlab.discovery): its steps on small problems, and one law end to end."""

from __future__ import annotations

import pytest
import sympy
import torch

from kanlab import KAN, create_dataset
from kanlab.discovery import (
    FEYNMAN_LAWS,
    Feature,
    Shape,
    choose_shape,
    discover,
    equivalent,
    relevant_inputs,
    round_constants,
    sample_points,
    snap,
)

F64 = torch.float64
U, V, Q, M = sympy.symbols("u v q m")


def test_round_constants_removes_how_the_network_split_a_scale() -> None:
    k = 1.2345
    found = k * M / sympy.sqrt(k**2 - k**2 * Q**2) + 3e-7
    assert round_constants(found) == M / sympy.sqrt(1 - Q**2)
    assert round_constants(sympy.Float(0.99999) * U * V / (sympy.Float(2.00001) * Q + 1e-8) ** 2) == U * V / (4 * Q**2)
    assert round_constants(sympy.Float(1.5) * U) == sympy.Rational(3, 2) * U  # a real constant stays


def test_equivalent_proves_the_rapidity_form_and_rejects_a_near_miss() -> None:
    x = sample_points([(-0.9, 0.9), (-0.9, 0.9)], n=50)
    truth = (U + V) / (1 + U * V)
    same, rel = equivalent(sympy.tanh(sympy.atanh(U) + sympy.atanh(V)), truth, [U, V], x)
    assert same and rel < 1e-12
    same, rel = equivalent((U + V) / (1 + sympy.Rational(999, 1000) * U * V), truth, [U, V], x)
    assert not same and 1e-5 < rel < 1e-2


def test_shapes_build_the_masked_architectures() -> None:
    feats = (Feature("a", (0,)), Feature("b", (1,)), Feature("c", (2,)))
    product = Shape("product", feats).build()
    assert product.config["width"] == [3, [0, 1]] and product.config["mult_arity"] == 3
    assert torch.equal(product.layers[0].mask, torch.eye(3, dtype=F64))
    chain = Shape("sum", feats[:2], depth=2).build()
    assert chain.width == [2, 2, 1] and torch.equal(chain.layers[0].mask, torch.eye(2, dtype=F64))
    mixed = Shape("mixed", feats[:2]).build()
    assert mixed.config["width"] == [2, [1, 1], [0, 1]]
    assert mixed.layers[0].mask.tolist() == [[1, 1], [1, 0], [0, 1]]
    x = torch.rand(5, 3, dtype=F64)
    assert torch.allclose(Shape("product", (Feature("r", (0, 1), "ratio"),)).transform(x)[:, 0], x[:, 0] / x[:, 1])


@pytest.mark.parametrize(("name", "kind", "labels"), [
    ("inverse_square", "product", ["m_1", "m_2", "r"]),
    ("doppler", "product", ["omega_0", "v/c"]),
    ("velocity_addition", "outer", ["u", "v"]),
])
def test_tests_choose_the_shape(name: str, kind: str, labels: list[str]) -> None:
    law = FEYNMAN_LAWS[name]
    kept = list(range(len(law.names) - 1))  # the last input is the distractor
    shape, info = choose_shape(law.f, sample_points(law.ranges), kept, law.names)
    assert shape.kind == kind and [f.label for f in shape.features] == labels, info


def test_attribution_drops_the_distractor() -> None:
    law = FEYNMAN_LAWS["inverse_square"]
    data = create_dataset(law.f, 4, ranges=law.ranges, n_train=300, n_test=10, dtype=F64)
    kept, score = relevant_inputs(data, steps=15)
    assert kept == [0, 1, 2] and float(score[3]) < 0.02


def test_snap_lookahead_finds_a_square() -> None:
    data = create_dataset(lambda x: 0.5 * x[:, [0]] ** 2 - 0.3, 1, n_train=200, n_test=50, dtype=F64)
    model = KAN([1, 1], seed=0, dtype=F64)
    model.fit(data, steps=20, progress=False)
    report = snap(model, data)
    assert [r["name"] for r in report] == ["x^2"]
    assert model.evaluate(data)["test_rmse"] < 1e-10


@pytest.mark.slow
def test_discover_recovers_the_inverse_square_law() -> None:
    law = FEYNMAN_LAWS["inverse_square"]
    found = discover(law.f, law.ranges, law.names, seed=0, n_train=300)
    assert found.kept == [0, 1, 2] and found.shape.kind == "product"
    same, rel = law.check(found.formula, outside=True)  # outside the training range too
    assert same and rel < 1e-9, found.formula
