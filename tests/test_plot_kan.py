"""Tests for ``plot_kan``: the network picture with every edge's curve drawn inside it.

Run in a read-only temporary working directory, so any attempt to write a file fails.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from kanlab import KAN
from kanlab.plotting import OKABE_ITO, plot_kan

F64 = torch.float64


@pytest.fixture
def read_only_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """chdir into an empty directory nobody can write to; check it is still empty afterwards."""
    folder = tmp_path / "ro"
    folder.mkdir()
    monkeypatch.chdir(folder)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        yield folder
        assert os.listdir(folder) == []
    finally:
        folder.chmod(stat.S_IRWXU)


def edge_boxes(fig: Figure) -> list:
    """The small axes that hold the edge curves (insets of the network canvas)."""
    (canvas,) = fig.axes
    return list(canvas.child_axes)


@pytest.mark.parametrize("width", [[2, 5, 1], [4, 4, 2, 1]])
def test_plot_kan_returns_a_figure_with_one_box_per_edge(width, read_only_cwd) -> None:
    model = KAN(width, seed=0)
    fig = plot_kan(model)
    assert isinstance(fig, Figure)
    n_edges = sum(a * b for a, b in zip(width[:-1], width[1:], strict=True))
    assert len(edge_boxes(fig)) == n_edges
    fig.savefig(io.BytesIO(), format="png")  # renders (maths labels included) in memory only


def test_plot_kan_marks_symbolic_and_hides_pruned_edges(read_only_cwd) -> None:
    model = KAN([2, 3, 1], seed=0, dtype=F64)
    model.layers[0].set_symbolic(1, 0, "sin", (3.0, 0.0, 1.0, 0.0))
    model.layers[1].mask[0, 2] = 0.0
    fig = plot_kan(model, in_vars=["x", "y"], out_vars=["f"])
    boxes = edge_boxes(fig)
    assert len(boxes) == 6 + 3 - 1
    titled = [b for b in boxes if b.get_title()]
    assert [b.get_title() for b in titled] == ["sin"]
    assert to_rgba(titled[0].lines[0].get_color())[:3] == to_rgba(OKABE_ITO[3])[:3]
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"$x$", "$y$", "$f$"} <= texts


def test_plot_kan_fades_edges_by_importance(read_only_cwd) -> None:
    model = KAN([1, 2], seed=0, dtype=F64)
    with torch.no_grad():
        model.layers[0].scale_base.copy_(torch.tensor([[1.0], [0.01]]))
        model.layers[0].scale_sp.copy_(torch.tensor([[1.0], [0.01]]))
    strong, weak = edge_boxes(plot_kan(model, beta=3))
    assert strong.lines[0].get_alpha() > 0.5 > 0.1 > weak.lines[0].get_alpha()


def test_plot_kan_draws_on_the_given_inputs(read_only_cwd) -> None:
    model = KAN([1, 1], seed=0, dtype=F64)
    x = torch.linspace(-0.5, 0.25, 40, dtype=F64)[:, None]
    (box,) = edge_boxes(plot_kan(model, x=x))
    xs = box.lines[0].get_xdata()
    assert len(xs) == 40 and min(xs) == pytest.approx(-0.5) and max(xs) == pytest.approx(0.25)
    (box,) = edge_boxes(plot_kan(model))  # no data: a sweep of the grid range [-1, 1]
    assert min(box.lines[0].get_xdata()) == pytest.approx(-1.0)


def test_plot_kan_rejects_bad_labels() -> None:
    model = KAN([2, 1], seed=0)
    with pytest.raises(ValueError, match="in_vars needs 2 labels"):
        plot_kan(model, in_vars=["x"])
    with pytest.raises(ValueError, match="out_vars needs 1 labels"):
        plot_kan(model, out_vars=["a", "b"])
    with pytest.raises(ValueError, match="beta must be > 0"):
        plot_kan(model, beta=0)
