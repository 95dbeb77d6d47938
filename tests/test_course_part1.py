"""Lesson checks for notebooks 01–03: their structure, their plot helpers, the facts they teach.

The notebooks print these facts in ``# NBVAL_CHECK_OUTPUT`` cells; here the same claims are
tested directly on the library, fast, so a regression names the broken idea and not only the
notebook cell. Structure checks read the committed notebooks without running them.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from kanlab import KAN
from kanlab.layer import GRID_MARGIN
from kanlab.splines import bspline_basis, curve_to_coef, refine_knots, spline_eval, uniform_knots

REPO_ROOT = Path(__file__).resolve().parents[1]
PART1 = {
    "01_kolmogorov_arnold_theorem": ["KAComposer"],
    "02_bsplines": ["CoxDeBoorExplorer", "SplineExplorer"],
    "03_learnable_activation": ["EdgeTrainer"],
}
F64 = torch.float64


def _load(stem: str) -> nbformat.NotebookNode:
    path = REPO_ROOT / "notebooks" / f"{stem}.ipynb"
    if not path.exists():
        pytest.skip(f"{path.name} not written yet")
    return nbformat.read(path, as_version=4)


# ----------------------------------------------------------------------------- structure
@pytest.mark.parametrize("stem", sorted(PART1))
def test_notebook_has_the_course_skeleton(stem: str) -> None:
    nb = _load(stem)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "H1 title first"
    for needed in ("Learning objectives", "Prerequisites", "mybinder.org", "colab.research"):
        assert needed in first.source, f"{stem}: first cell lacks {needed!r}"
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = code[0].source
    assert "seed_everything(0)" in setup and "use_course_style()" in setup, "one setup cell"
    assert not any("seed_everything(" in c.source for c in code[1:]), "seeds only in the setup cell"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in text
    assert text.count("<details><summary>Solution</summary>") >= 3, "at least 3 hidden solutions"
    assert "predict" in text.lower(), "an exercise asks to predict before running"
    assert any(c.source.startswith("# NBVAL_CHECK_OUTPUT") for c in code), "facts are guarded"


@pytest.mark.parametrize("stem", sorted(PART1))
def test_every_widget_is_shown_static_then_live_then_questioned(stem: str) -> None:
    nb = _load(stem)
    cells = nb.cells
    for widget in PART1[stem]:
        built = [i for i, c in enumerate(cells) if c.cell_type == "code" and f"{widget}(" in c.source]
        assert built, f"{stem} never builds {widget}"
        i = built[0]
        name = cells[i].source.split("=")[0].strip()
        assert f"{name}.static_image()" in cells[i].source, f"{widget}: static picture first"
        assert cells[i + 1].source.strip() == name, f"{widget}: then the live widget"
        questions = cells[i + 2]
        assert questions.cell_type == "markdown" and "Questions" in questions.source
        assert questions.source.count("\n1. ") + questions.source.count("\n2. ") >= 2


def test_bsplines_notebook_keeps_a_live_spline_explorer_for_the_browser_test() -> None:
    nb = _load("02_bsplines")
    sources = [c.source.strip() for c in nb.cells if c.cell_type == "code"]
    assert "explorer" in sources and any("SplineExplorer(" in s for s in sources)


# ----------------------------------------------------------------------------- plot helpers
def test_plot_helpers_return_figures_and_write_nothing(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    from kanlab.plotting import plot_ka_composition, plot_mlp_vs_kan

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        fig = plot_mlp_vs_kan([2, 5, 1])
        inner = [[lambda x: x, lambda y: y], [lambda x: x, lambda y: -y]]
        outer = [lambda s: s**2 / 4, lambda s: -(s**2) / 4]
        fig2 = plot_ka_composition(inner, outer, lambda x, y: x * y, n=21)
    finally:
        os.chdir(cwd)
    assert isinstance(fig, Figure) and isinstance(fig2, Figure)
    assert len(fig.axes) == 2 and len(fig2.axes) == 4  # 3 panels + colorbar
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("width", [[2], [2, 0, 1], (3, -1)])
def test_plot_mlp_vs_kan_rejects_bad_width(width: list[int]) -> None:
    from kanlab.plotting import plot_mlp_vs_kan

    with pytest.raises(ValueError, match="width"):
        plot_mlp_vs_kan(width)


def test_plot_ka_composition_rejects_mismatched_terms() -> None:
    from kanlab.plotting import plot_ka_composition

    with pytest.raises(ValueError, match="inner and outer"):
        plot_ka_composition([[np.sin, np.cos]], [np.exp, np.exp], lambda x, y: x)


# ----------------------------------------------------------------------------- 01: the theorem
def test_worked_representations_are_exact() -> None:
    t = np.linspace(-1, 1, 41)
    x, y = np.meshgrid(t, t)
    assert np.abs(((x + y) ** 2 - (x - y) ** 2) / 4 - x * y).max() < 1e-12
    p = np.linspace(0.5, 2, 41)
    xp, yp = np.meshgrid(p, p)
    assert np.abs(np.exp(np.log(xp) - np.log(yp)) - xp / yp).max() < 1e-12
    v = np.linspace(-0.9, 0.9, 41)
    xv, yv = np.meshgrid(v, v)
    assert np.abs(np.tanh(np.arctanh(xv) + np.arctanh(yv)) - (xv + yv) / (1 + xv * yv)).max() < 1e-12


def test_theorem_network_has_the_theorems_function_counts() -> None:
    for n in (1, 2, 3):
        model = KAN(width=[n, 2 * n + 1, 1], grid=5, k=3, seed=0)
        edges = [layer.in_dim * layer.out_dim for layer in model.layers]
        assert edges == [n * (2 * n + 1), 2 * n + 1]
        assert tuple(model.layers[0].coef.shape) == (2 * n + 1, n, 5 + 3)


# ----------------------------------------------------------------------------- 02: B-splines
@pytest.mark.parametrize("k", [0, 1, 2, 3, 4])
def test_at_most_k_plus_one_bases_are_nonzero(k: int) -> None:
    knots = uniform_knots(1, grid=6, k=k, dtype=F64)
    basis = bspline_basis(torch.linspace(-1, 1, 997, dtype=F64)[:, None], knots, k)[:, 0, :]
    assert int((basis > 0).sum(dim=1).max()) == k + 1
    assert (basis.sum(dim=1) - 1).abs().max() < 1e-12


def test_refinement_is_exact_only_for_nested_grids() -> None:
    k = 3
    coarse = uniform_knots(1, grid=5, k=k, dtype=F64)
    coef = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 1, 8)))
    x_fit = torch.linspace(-1, 1, 300, dtype=F64)[:, None]
    x_check = torch.linspace(-1, 1, 1999, dtype=F64)[:, None]
    target = spline_eval(x_check, coarse, coef, k)
    errors = {}
    for new_grid in (10, 15, 7):
        fine = refine_knots(coarse, k, new_grid)
        fine_coef = curve_to_coef(x_fit, spline_eval(x_fit, coarse, coef, k), fine, k, ridge=0.0)
        errors[new_grid] = (spline_eval(x_check, fine, fine_coef, k) - target).abs().max().item()
    assert errors[10] < 1e-12 and errors[15] < 1e-12
    assert errors[7] > 1e-4


def test_splines_vanish_beyond_the_outermost_knots() -> None:
    knots = uniform_knots(1, grid=5, k=3, dtype=F64)  # outermost knots at ±2.2
    total = bspline_basis(torch.tensor([[0.5], [1.5], [2.5], [-2.5]], dtype=F64), knots, 3).sum(-1)
    assert abs(total[0].item() - 1) < 1e-12
    assert 0 < total[1].item() < 1
    assert total[2].item() == 0.0 and total[3].item() == 0.0


# ----------------------------------------------------------------------------- 03: one edge
def test_grid_update_from_samples_beats_a_fixed_grid_off_range() -> None:
    gen = torch.Generator().manual_seed(1)
    x = 4 * torch.rand(200, 1, generator=gen, dtype=F64) ** 2
    xt = 4 * torch.rand(400, 1, generator=gen, dtype=F64) ** 2
    f = lambda v: torch.sin(2 * v) * torch.exp(-v / 3)  # noqa: E731
    data = {"train_input": x, "train_label": f(x), "test_input": xt, "test_label": f(xt)}
    rmse = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a one-edge model: threads only add scheduling delays
    try:
        for update in (False, True):
            model = KAN(width=[1, 1], grid=10, k=3, seed=0, dtype=F64)
            model.fit(data, opt="LBFGS", steps=20, update_grid=update, progress=False)
            rmse[update] = model.evaluate(data)["test_rmse"]
    finally:
        torch.set_num_threads(threads)
    assert rmse[True] < 0.01 < 0.05 < rmse[False]
    knots = model.layers[0].knots[0]
    margin = GRID_MARGIN * (x.max() - x.min()).item()  # the grid reaches just beyond the samples
    assert knots[3].item() == pytest.approx(x.min().item() - margin, abs=1e-9)
    assert knots[-4].item() == pytest.approx(x.max().item() + margin, abs=1e-3)  # + tie-break gaps
