"""The solutions shown in 08's and 09's "Check your answer" blocks pass the notebooks' own checks.

tests/test_exercises.py proves each check accepts a reference answer and gives its hints; this file
takes the code a student reads in the notebook (the fenced ``python`` block, or the one-line
``return ...``) and runs it through the same check, so the shown solution and the check cannot drift
apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import torch

from kanlab.exercises import kan_vs_mlp, solving_pdes

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _answer_blocks(name: str) -> list[str]:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "markdown" and "Check your answer" in c.source]


def _solution(name: str, function: str) -> str:
    """The solution of ``function`` shown in the notebook: a fenced def, or a one-line `return ...`."""
    for block in _answer_blocks(name):
        fenced = re.search(rf"```python\n(def {function}\(.*?)```", block, re.S)
        if fenced:
            return fenced.group(1)
    for block in _answer_blocks(name):
        if function in block:
            after = block[block.index("Check your answer", block.index(function)):]
            inline = re.search(r"`(return [^`]+)`", after)
            if inline:
                return inline.group(1)
    raise AssertionError(f"{name}: no shown solution for {function}")


def _define(source: str, function: str, args: str):
    if source.startswith("return "):
        source = f"def {function}({args}):\n    {source}\n"
    namespace = {"torch": torch}
    exec(source, namespace)  # the notebook's own text
    return namespace[function]


@pytest.mark.parametrize(
    "notebook,function,args,check",
    [
        ("08_solving_pdes.ipynb", "my_pinn_loss", "residual, boundary_error, alpha", solving_pdes.check_pinn_loss),
        ("08_solving_pdes.ipynb", "my_laplacian", "u, x", solving_pdes.check_laplacian),
        ("09_kan_vs_mlp.ipynb", "my_chebyshev", "x, n", kan_vs_mlp.check_chebyshev),
        ("09_kan_vs_mlp.ipynb", "support_width", "G, k, lo, hi", kan_vs_mlp.check_support_width),
    ],
)
def test_shown_solution_passes_the_check(notebook, function, args, check) -> None:
    answer = _define(_solution(notebook, function), function, args)
    verdict = check.judge(answer)
    assert verdict.ok, f"{notebook} {function}: {verdict}"


HEADING = re.compile(r"^\*\*(?:Questions?\b|Exercise\b|\d+\.)", re.M)


@pytest.mark.parametrize("notebook", ["08_solving_pdes.ipynb", "09_kan_vs_mlp.ipynb"])
def test_every_question_has_an_answer_and_colab_installs(notebook) -> None:
    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    assert '"google.colab" in sys.modules' in setup and "pip install" in setup
    n_questions = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        starts = [m.start() for m in HEADING.finditer(cell.source)] + [len(cell.source)]
        for start, end in zip(starts, starts[1:]):
            n_questions += 1
            chunk = cell.source[start:end]
            assert "<summary>Check your answer</summary>" in chunk, f"{notebook}: no answer after {chunk[:70]!r}"
    assert n_questions >= 6
