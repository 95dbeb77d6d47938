"""06_function_fitting: the solutions shown in its "Check your answer" blocks pass its own checks,
every question has an answer, and the setup cell installs kanlab on Colab.

Reuses the readers of tests/test_exercises_pde_mlp.py (the same rules as for 08 and 09).
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from test_exercises_pde_mlp import HEADING, NOTEBOOKS, _solution

from kanlab.exercises import function_fitting

NOTEBOOK = "06_function_fitting.ipynb"


@pytest.mark.parametrize(
    "function,args,check",
    [
        ("exponent", "k", function_fitting.check_theory_exponent),
        ("loglog_slope", "G, rmse", function_fitting.check_loglog_slope),
        ("summarize", "rmse", function_fitting.check_seed_summary),
    ],
)
def test_shown_solution_passes_the_check(function, args, check) -> None:
    source = _solution(NOTEBOOK, function)
    assert source.startswith("return ")
    namespace = {"np": np}
    exec(f"def {function}({args}):\n    {source}\n", namespace)  # the notebook's own text
    verdict = check.judge(namespace[function])
    assert verdict.ok, f"{function}: {verdict}"


def test_every_question_has_an_answer_and_colab_installs() -> None:
    nb = nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    assert '"google.colab" in sys.modules' in setup and "pip install" in setup
    texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    bounds = [([m.start() for m in HEADING.finditer(t)] + [len(t)], t) for t in texts]
    questions = [t[a:b] for cuts, t in bounds for a, b in zip(cuts, cuts[1:])]
    assert [q[:70] for q in questions if "<summary>Check your answer</summary>" not in q] == []
    assert len(questions) >= 9


def test_check_cells_print_numbers_not_booleans() -> None:
    nb = nbformat.read(NOTEBOOKS / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            assert ": True" not in text and ": False" not in text, text
