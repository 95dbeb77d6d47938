"""The KAN paper's worked example, end to end: f(x, y) = exp(sin(πx) + y²).

Train a [2, 5, 1] KAN with sparsity, prune it to [2, 1, 1], refine the grid, snap every edge to a
formula, retrain the affine parameters, and read back exactly exp(sin(πx₁) + x₂²). This is the
recipe 07_interpretability teaches; float64, seeds fixed, single-threaded-friendly sizes.
"""

from __future__ import annotations

import math

import numpy as np
import sympy
import torch

from kanlab import KAN, create_dataset
from kanlab.datasets import exp_sin_xy

F64 = torch.float64


def active_edges(model: KAN) -> int:
    return int(sum(float(layer.mask.sum()) for layer in model.layers))


def sparse_then_prune(seed: int) -> tuple[KAN, dict[str, torch.Tensor]]:
    """Up to two rounds of (20 LBFGS steps with the sparsity penalty, then prune).

    ``edge_th=1e-3``: |phi|_1 is not scale-invariant, so the penalty can shrink the y edge into
    the hidden node below the default 3e-2 while the outer edge amplifies it; nodes use the default.
    """
    dataset = create_dataset(exp_sin_xy, n_var=2, n_train=400, n_test=1000, seed=seed, dtype=F64)
    model = KAN([2, 5, 1], grid=5, k=3, seed=seed, dtype=F64)
    for _ in range(2):
        model.fit(dataset, steps=20, lamb=0.01, lamb_entropy=10.0, progress=False)
        model = model.prune(edge_th=1e-3)
        if model.width == [2, 1, 1]:
            break
    return model, dataset


def test_exp_sin_xy_is_recovered_exactly() -> None:
    runs = {seed: sparse_then_prune(seed) for seed in (0, 1, 2)}
    skeletons = [s for s, (m, _) in runs.items() if m.width == [2, 1, 1] and active_edges(m) == 3]
    assert len(skeletons) >= 2, {s: (m.width, active_edges(m)) for s, (m, _) in runs.items()}

    model, dataset = runs[skeletons[0]]
    model.fit(dataset, steps=20, progress=False)
    model.refine(10)
    model.fit(dataset, steps=20, progress=False)
    report = model.auto_symbolic()
    picked = {(r["l"], r["i"], r["j"]): r["name"] for r in report if r["fixed"]}
    assert picked == {(0, 0, 0): "sin", (0, 1, 0): "x^2", (1, 0, 0): "exp"}, report

    model.fit(dataset, steps=20, update_grid=False, progress=False)
    assert model.evaluate(dataset)["test_rmse"] <= 1e-6

    x1, x2 = sympy.symbols("x_1 x_2")
    a, b = sympy.Wild("a"), sympy.Wild("b")
    match = model.formula(precision=6).match(sympy.exp(sympy.sin(a * x1) + b * x2**2))
    assert match is not None, model.formula(precision=6)
    assert abs(float(match[a]) - math.pi) < 1e-3 and abs(float(match[b]) - 1.0) < 1e-3
    assert model.formula() == sympy.exp(sympy.sin(sympy.Float(3.1416, 5) * x1) + x2**2)

    # the unrounded formula is the model: equal to the forward pass on random points
    x = torch.rand(1000, 2, dtype=F64) * 2 - 1
    values = sympy.lambdify([x1, x2], model.formula(precision=None), "numpy")(*x.T.numpy())
    np.testing.assert_allclose(values, model(x)[:, 0].detach().numpy(), atol=1e-6, rtol=1e-6)
