"""The notebooks' self-checks: each reference solution passes, each usual mistake gets its hint.

``RIGHT`` lists, per check, answers that must be judged correct (the notebook's hidden
solution); ``MISTAKES`` lists typical wrong answers with a phrase their feedback must contain.
Every check in the modules named in ``MODULES`` must appear in both, and every check must say
"not answered yet" for the untouched stub (``...``).
"""

from __future__ import annotations

import importlib
import math

import pytest
import torch

from kanlab.exercises import Exercise, Feedback
from kanlab.exercises._core import close, exercise, first_match, is_stub, number, wrong

MODULES = ["start_here"]


def _silu(x: float) -> float:
    return x / (1 + math.exp(-x))


def _edges(w):
    return sum(a * b for a, b in zip(w[:-1], w[1:]))


# check name -> answers (each a tuple of arguments) that must be judged correct
RIGHT: dict[str, list[tuple]] = {
    "start_here.check_n_edges": [(_edges,), (lambda w: sum(w[i] * w[i + 1] for i in range(len(w) - 1)),)],
    "start_here.check_n_bases": [(lambda G, k: G + k,)],
    "start_here.check_phi_outside": [(2 * _silu(3.0),), (torch.tensor(2 * _silu(3.0)),), (5.7154,)],
}

# check name -> (answer arguments, phrase the feedback must contain)
MISTAKES: dict[str, list[tuple[tuple, str]]] = {
    "start_here.check_n_edges": [
        ((lambda w: sum(w),), "number of nodes"),
        ((lambda w: math.prod(w),), "multiplies all"),
        ((lambda w: w[0] * w[1],), "first layer only"),
        ((lambda w: _edges(w) + sum(w[1:]),), "biases"),
        ((lambda w: 7,), "expected"),
        ((lambda w: None,), "returned None"),
    ],
    "start_here.check_n_bases": [
        ((lambda G, k: G + k + 1,), "polynomial degree"),
        ((lambda G, k: G + 2 * k + 1,), "number of knots"),
        ((lambda G, k: G + 1,), "grid points"),
        ((lambda G, k: G,), "intervals"),
        ((lambda G, k: G * k,), "expected"),
        ((lambda G, k: 1 / 0,), "ZeroDivisionError"),
        ((8,), "expected a function"),
    ],
    "start_here.check_phi_outside": [
        ((0.0,), "base term"),
        ((6.0,), "silu(3) as 3"),
        ((2 / (1 + math.exp(-3)),), "sigmoid"),
        ((_silu(3.0),), "w_b = 2"),
        ((4.0,), "past the knot"),
        ((True,), "boolean"),
        ((torch.ones(3),), "shape (3,)"),
    ],
}


def _check(name: str) -> Exercise:
    module, attribute = name.split(".")
    return getattr(importlib.import_module(f"kanlab.exercises.{module}"), attribute)


def _all_checks() -> list[str]:
    names = []
    for module in MODULES:
        mod = importlib.import_module(f"kanlab.exercises.{module}")
        names += [f"{module}.{n}" for n, v in vars(mod).items() if isinstance(v, Exercise)]
    return sorted(names)


@pytest.mark.parametrize("name", _all_checks())
def test_every_check_is_tested_and_says_not_answered_for_a_stub(name) -> None:
    assert name in RIGHT and name in MISTAKES, f"{name}: add its reference and typical mistakes"
    check = _check(name)
    assert check.notebook and check.__doc__
    n_args = len(RIGHT[name][0])
    verdict = check.judge(*([...] * n_args))
    assert verdict.status == "unanswered" and "Not answered yet" in str(verdict)


@pytest.mark.parametrize("name,answer", [(n, a) for n, answers in RIGHT.items() for a in answers])
def test_reference_solution_passes(name, answer) -> None:
    verdict = _check(name).judge(*answer)
    assert verdict.ok, f"{name}: {verdict}"
    assert str(verdict).startswith("✅ Correct.")


@pytest.mark.parametrize(
    "name,answer,phrase", [(n, a, p) for n, cases in MISTAKES.items() for a, p in cases]
)
def test_typical_mistake_gets_its_hint(name, answer, phrase) -> None:
    verdict = _check(name).judge(*answer)
    assert verdict.status in ("wrong", "unanswered"), f"{name} accepted a wrong answer: {verdict}"
    assert phrase in str(verdict), f"{name}: {phrase!r} not in {str(verdict)!r}"
    if verdict.status == "wrong":
        assert "Not yet" in str(verdict)


# --- the machinery ------------------------------------------------------------------------------
def test_check_prints_once_and_returns_none(capsys) -> None:
    check = _check("start_here.check_n_bases")
    assert check(lambda G, k: G + k) is None
    assert capsys.readouterr().out.startswith("✅ Correct.")
    check(...)
    assert "Not answered yet" in capsys.readouterr().out
    assert repr(check) == "Exercise('check_n_bases', notebook='00_start_here')"


def test_stubs_and_helpers() -> None:
    assert is_stub(...) and is_stub([1, ...]) and is_stub({"a": ...}) and not is_stub([1, 2])
    assert number(torch.tensor([2.5])) == 2.5 and close([1, 2], [1, 2 + 1e-9])
    assert not close([1, 2], [1, 2, 3])
    assert first_match(3.0, [(2.0, "two", ""), (3.0, "three", "h")]).message == "three"
    assert first_match(4.0, [(2.0, "two", "")]) is None


def test_a_judge_that_returns_no_feedback_is_a_bug_of_the_check() -> None:
    @exercise("nowhere")
    def check_broken(answer):
        return True

    with pytest.raises(TypeError, match="not a Feedback"):
        check_broken.judge(1)
    assert isinstance(wrong("x"), Feedback) and str(wrong("x", "y")).endswith("Hint: y")
