"""Every committed notebook is one a student, GitHub and CI can all read.

Checks each notebook in ``notebooks/`` (only those that exist): listed in the README's table,
valid nbformat with the course's ``python3`` kernelspec, stored outputs from one clean top-to-bottom
run (execution counts 1..n), no error outputs, widget metadata GitHub can render (a ``state``
key), badges that open this very notebook, and under 2 MB. ``make notebooks`` produces
notebooks that pass.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
MAX_BYTES = 2_000_000
COURSE = [
    "00_start_here",
    "01_kolmogorov_arnold_theorem",
    "02_bsplines",
    "03_learnable_activation",
    "04_kan_from_scratch",
    "05_vectorized_kan",
    "06_function_fitting",
    "07_interpretability",
    "08_solving_pdes",
    "09_kan_vs_mlp",
    "10_discovering_laws",
    "11_capstone",
]


def _badges_tool():
    """tools/badges.py: the repository slug's one home ([tool.kanlab] in pyproject.toml)."""
    spec = importlib.util.spec_from_file_location("kanlab_badges", REPO_ROOT / "tools" / "badges.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The badges point at the repository and ref of pyproject's [tool.kanlab] (`make badges`).
_BADGES = _badges_tool()
BINDER = _BADGES.binder_url(*_BADGES.course_setting(), "{}")
COLAB = _BADGES.colab_url(*_BADGES.course_setting(), "{}")
# Notebooks outside the numbered course: linked from the README (not its table), their Binder
# badge opens them through Voila (the app alone).
APPS = ["playground"]
VOILA = _BADGES.voila_url(*_BADGES.course_setting(), "{}")
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"


def readme_table_rows(readme: str) -> dict[str, str]:
    """Notebook stem -> README row, for rows like ``| 02 | [..](notebooks/02_x.ipynb) | ...``."""
    rows = {}
    for line in readme.splitlines():
        match = re.match(
            r"\|\s*(\d\d)\s*\|\s*\[[^\]]+\]\(notebooks/((\d\d)_[a-z0-9_]+)\.ipynb\)", line
        )
        if match and match[1] == match[3]:
            rows[match[2]] = line
    return rows


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Code cells with any source (empty cells are never executed, so they carry no count)."""
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def execution_count_problem(nb: nbformat.NotebookNode) -> str | None:
    """None when the code cells were run once each, in order, in one fresh kernel."""
    counts = [c.get("execution_count") for c in code_cells(nb)]
    if counts != list(range(1, len(counts) + 1)):
        return f"execution counts {counts} are not 1..{len(counts)}: rerun with `make notebooks`"
    return None


def widget_state_problem(nb: nbformat.NotebookNode) -> str | None:
    """None unless ``metadata.widgets`` exists without the ``state`` GitHub needs to render it."""
    widgets = nb.metadata.get("widgets")
    if widgets is None:
        return None
    state = widgets.get(WIDGET_STATE_MIME)
    if not isinstance(state, dict) or "state" not in state:
        return "metadata.widgets has no 'state' key: GitHub refuses to render such a notebook"
    return None


@pytest.fixture(scope="module")
def readme_rows() -> dict[str, str]:
    return readme_table_rows((REPO_ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_table_lists_the_whole_course_in_order(readme_rows) -> None:
    assert list(readme_rows) == COURSE


@pytest.mark.parametrize("name", COURSE)
def test_readme_row_has_binder_and_colab_badges_for_that_notebook(readme_rows, name) -> None:
    row = readme_rows[name]
    assert f"({BINDER.format(name)})" in row
    assert f"({COLAB.format(name)})" in row


def test_course_has_notebooks() -> None:
    assert (REPO_ROOT / "notebooks" / "00_start_here.ipynb") in NOTEBOOKS


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request) -> tuple[Path, nbformat.NotebookNode]:
    path = request.param
    return path, nbformat.read(path, as_version=4)


def test_listed_in_readme_table(notebook, readme_rows) -> None:
    path, _ = notebook
    if path.stem in APPS:
        readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
        assert f"(notebooks/{path.name})" in readme and f"({VOILA.format(path.stem)})" in readme
        return
    assert path.stem in readme_rows, f"{path.name} is missing from the README's notebook table"


def test_valid_nbformat_with_python3_kernelspec(notebook) -> None:
    path, nb = notebook
    nbformat.validate(nb)
    kernelspec = nb.metadata.get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"{path.name}: kernelspec {kernelspec!r}"
    assert kernelspec.get("language") == "python"


def test_outputs_from_one_clean_run(notebook) -> None:
    path, nb = notebook
    assert code_cells(nb), f"{path.name} has no code"
    assert execution_count_problem(nb) is None, f"{path.name}: {execution_count_problem(nb)}"


def test_no_error_outputs(notebook) -> None:
    path, nb = notebook
    errors = [
        (i, out.get("ename"))
        for i, cell in enumerate(nb.cells)
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    assert errors == [], f"{path.name}: error outputs in cells {errors}"


def test_widget_metadata_has_state(notebook) -> None:
    path, nb = notebook
    assert widget_state_problem(nb) is None, f"{path.name}: {widget_state_problem(nb)}"


def test_under_two_megabytes(notebook) -> None:
    path, _ = notebook
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size / 1e6:.2f} MB"


def test_starts_with_title_and_badges_for_itself(notebook) -> None:
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# ")
    head = "\n".join(c.source for c in nb.cells[:2] if c.cell_type == "markdown")
    binder = VOILA if path.stem in APPS else BINDER
    assert binder.format(path.stem) in head, f"{path.name}: Binder badge must open this notebook"
    assert COLAB.format(path.stem) in head, f"{path.name}: Colab badge must open this notebook"


# --- the checks themselves catch what they claim to -------------------------------------------
def _nb(counts: list[int | None], widgets: dict | None = None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1", execution_count=c) for c in counts]
    nb.cells.append(nbformat.v4.new_code_cell(""))  # empty cells never run: ignored
    if widgets is not None:
        nb.metadata["widgets"] = widgets
    return nb


def test_execution_count_check() -> None:
    assert execution_count_problem(_nb([1, 2, 3])) is None
    assert "not 1..3" in execution_count_problem(_nb([1, 3, 2]))
    assert "not 1..2" in execution_count_problem(_nb([4, 5]))  # a second run in the same kernel
    assert "not 1..2" in execution_count_problem(_nb([1, None]))  # a cell never run


def test_widget_state_check() -> None:
    assert widget_state_problem(_nb([1])) is None
    ok = {WIDGET_STATE_MIME: {"state": {}, "version_major": 2, "version_minor": 0}}
    assert widget_state_problem(_nb([1], ok)) is None
    assert "no 'state'" in widget_state_problem(_nb([1], {WIDGET_STATE_MIME: {"version_major": 2}}))
    assert "no 'state'" in widget_state_problem(_nb([1], {}))


def test_readme_table_parser() -> None:
    text = "| 03 | [One edge](notebooks/03_learnable_activation.ipynb) | x |\n| 04 | no link |"
    assert list(readme_table_rows(text)) == ["03_learnable_activation"]
