"""11_capstone's self-checks: each right answer passes, each usual mistake gets its hint.

Models are built by hand with ``set_symbolic`` (the exact formula, or a deliberately wrong
one), so the checks are tested in well under a second; one slower test runs the notebook's
pipeline (fit → sparsify → prune → snap → validate) and asserts every stage passes.
"""

from __future__ import annotations

import math
import warnings

import pytest
import sympy
import torch

from kanlab import KAN
from kanlab.exercises import Exercise
from kanlab.exercises import capstone as cap

DT = torch.float64


def _exact(outer="log", outer_affine=(1.0, 3.0, 1.0, 0.0), first=("cos", (math.pi, 0.0, 1.0, 0.0)),
           third=("x^3", (1.0, 0.0, 1.0, 0.0)), mask_x2=True, snap=(True, True, True)):
    """A [3, 1, 1] KAN computing the mystery (by default) from library functions."""
    model = KAN(width=[3, 1, 1], grid=5, k=3, seed=0, dtype=DT)
    l0, l1 = model.layers
    if snap[0]:
        l0.set_symbolic(0, 0, first[0], first[1])
    if snap[1]:
        l0.set_symbolic(0, 2, third[0], third[1])
    if snap[2]:
        l1.set_symbolic(0, 0, outer, outer_affine)
    if mask_x2:
        with torch.no_grad():
            l0.mask[0, 1] = 0.0
    return model


def _snap_x2(model):
    model.layers[0].set_symbolic(0, 1, "sin", (1.0, 0.0, 1e-6, 0.0))
    return model


def _masked(model, i):
    with torch.no_grad():
        model.layers[0].mask[0, i] = 0.0
    return model


X1, X2, X3 = sympy.symbols("x_1 x_2 x_3")
TRUE = sympy.log(3 + sympy.cos(sympy.pi * X1) + X3**3)

# check name -> answers that must be judged correct
RIGHT = {
    "check_fit": [lambda: _exact()],
    "check_sparse": [lambda: _exact()],
    "check_irrelevant_input": [lambda: 1, lambda: torch.tensor(1)],
    "check_pruned": [lambda: _exact()],
    "check_snapped": [lambda: _exact(), lambda: _exact(first=("sin", (math.pi, math.pi / 2, 1.0, 0.0)))],
    "check_formula": [lambda: TRUE, lambda: "log(3 + cos(pi*x_1) + x_3**3)", lambda: _exact().formula(),
                      lambda: _exact().formula(precision=None),
                      lambda: sympy.log(2 * (3 + sympy.cos(sympy.pi * X1) + X3**3)) - sympy.log(2)],
}

# check name -> (answer, phrase the feedback must contain)
MISTAKES = {
    "check_fit": [
        (lambda: KAN(width=[3, 5, 1], seed=0, dtype=DT), "did you train it"),
        (lambda: _exact(outer_affine=(1.0, 3.0, 1.0, 0.05)), "train longer"),
        (lambda: KAN(width=[2, 5, 1], seed=0), "3 inputs"),
        (lambda: "model", "not a kanlab KAN"),
    ],
    "check_sparse": [
        (lambda: KAN(width=[3, 5, 1], seed=0, dtype=DT), "not sparse"),
        (lambda: _exact(outer_affine=(1.0, 3.0, 1.0, 0.5)), "penalty has won"),
    ],
    "check_irrelevant_input": [
        (lambda: 2, "numbered from 0"), (lambda: 0, "strongest edge"), (lambda: 5, "no input 5"),
        (lambda: "x_2", "as a number"), (lambda: True, "boolean"),
    ],
    "check_pruned": [
        (lambda: KAN(width=[3, 2, 1], seed=0), "prune once more"),
        (lambda: _exact(mask_x2=False), "still active"),
        (lambda: _masked(_exact(), 2), "edge_th is too high"),
        (lambda: KAN(width=[3, 2, 2, 1], seed=0), "one hidden layer"),
    ],
    "check_snapped": [
        (lambda: _exact(snap=(True, False, True)), "still splines"),
        (lambda: _exact(outer="sqrt", outer_affine=(1.0, 3.0, 1.0, 0.0)), "snapped to sqrt"),
        (lambda: _exact(outer_affine=(1.0, 3.0, 1.0, 1e-3)), "retrain the affine parameters"),
        (lambda: _snap_x2(_exact(mask_x2=False)), "edge from x_2"),
    ],
    "check_formula": [
        (lambda: TRUE + X2 / 100, "depends on x_2"),
        (lambda: "log(3 + cos(3.14*x_1) + x_3**3)", "close, but not exact"),
        (lambda: sympy.exp(X1), "differs from the mystery"),
        (lambda: "log(3 + cos(pi*y) + x_3**3)", "x_1, x_2, x_3"),
        (lambda: "log(3 + ", "sympy cannot read"),
        (lambda: sympy.log(-2 + X3), "NaN"),
        (lambda: 3, "sympy expression"),
    ],
}


def test_every_check_is_tested_and_says_not_answered_for_a_stub() -> None:
    checks = sorted(n for n, v in vars(cap).items() if isinstance(v, Exercise))
    assert checks == sorted(RIGHT) == sorted(MISTAKES)
    for name in checks:
        check = getattr(cap, name)
        assert check.notebook == "11_capstone" and check.__doc__
        assert "Not answered yet" in str(check.judge(...))


@pytest.mark.parametrize("name,answer", [(n, a) for n, answers in RIGHT.items() for a in answers])
def test_right_answer_passes(name, answer) -> None:
    verdict = getattr(cap, name).judge(answer())
    assert verdict.ok, f"{name}: {verdict}"


@pytest.mark.parametrize("name,answer,phrase", [(n, a, p) for n, cases in MISTAKES.items() for a, p in cases])
def test_typical_mistake_gets_its_hint(name, answer, phrase) -> None:
    verdict = getattr(cap, name).judge(answer())
    assert verdict.status == "wrong", f"{name} accepted a wrong answer: {verdict}"
    assert phrase in str(verdict), f"{name}: {phrase!r} not in {str(verdict)!r}"


def test_mystery_dataset_is_deterministic_and_in_create_dataset_format() -> None:
    a, b = cap.mystery_dataset(n_train=50, n_test=20), cap.mystery_dataset(n_train=50, n_test=20)
    assert a["train_input"].shape == (50, 3) and a["test_label"].shape == (20, 1)
    assert torch.equal(a["train_label"], b["train_label"])
    assert not torch.equal(a["train_label"], cap.mystery_dataset(n_train=50, n_test=20, seed=1)["train_label"])


def test_the_notebook_pipeline_passes_every_stage() -> None:
    """fit → sparsify → prune → snap → validate, as 11_capstone runs it (about 7 s)."""
    torch.manual_seed(0)
    with torch.random.fork_rng():
        default = torch.get_default_dtype()
        torch.set_default_dtype(DT)
        try:
            data = cap.mystery_dataset()
            dense = KAN(width=[3, 5, 1], grid=5, k=3, seed=0)
            dense.fit(data, steps=20, progress=False)
            assert cap.check_fit.judge(dense).ok
            model = KAN(width=[3, 5, 1], grid=5, k=3, seed=0)
            model.fit(data, steps=20, lamb=0.01, lamb_entropy=10.0, progress=False)
            assert cap.check_sparse.judge(model).ok and not cap.check_sparse.judge(dense).ok
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model = model.prune(edge_th=1e-3)
            assert cap.check_pruned.judge(model).ok, cap.check_pruned.judge(model)
            model.fit(data, steps=20, progress=False)
            model.refine(10)
            model.fit(data, steps=20, progress=False)
            model.auto_symbolic()
            model.fit(data, steps=20, update_grid=False, progress=False)
            assert cap.check_snapped.judge(model).ok, cap.check_snapped.judge(model)
            assert cap.check_formula.judge(model.formula()).ok
        finally:
            torch.set_default_dtype(default)
