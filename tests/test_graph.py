"""Tests for kanlab.graph: DOT source of computation graphs and KAN diagrams, no files, and
a clear error when Graphviz's `dot` is missing."""

from __future__ import annotations

import os
import re
import shutil
from types import SimpleNamespace

import graphviz
import pytest
import torch

from kanlab.graph import GraphvizNotFoundError, draw_dot, draw_kan, trace
from kanlab.scalar import KAN, Tensor, compute_loss


def record_nodes(source: str) -> list[str]:
    return re.findall(r"^\s*(\S+) \[label=.*shape=record", source, flags=re.M)


def op_nodes(source: str) -> list[str]:
    return re.findall(r"^\s*(\S+) \[label=.*shape=ellipse", source, flags=re.M)


def one_prediction() -> Tensor:
    kan = KAN(2, [2, 2, 2, 1])
    return kan([Tensor(0.25), Tensor(0.75)])


def test_dot_has_one_record_per_tensor_and_one_op_node_per_operation() -> None:
    y_hat = one_prediction()
    loss = compute_loss(y_hat, 0.75)
    loss.backward()
    dot = draw_dot(y_hat)
    assert isinstance(dot, graphviz.Digraph)
    tensors = y_hat.topological_order()
    assert len(record_nodes(dot.source)) == len(tensors) == len(trace(y_hat)[0])
    assert len(op_nodes(dot.source)) == sum(1 for t in tensors if t.op)
    n_edges = sum(len(t.parents) for t in tensors) + sum(1 for t in tensors if t.op)
    assert dot.source.count("->") == n_edges
    assert "rankdir=LR" in dot.source
    assert draw_dot(y_hat).source == dot.source  # stable node names: reruns give the same DOT


def test_small_graph_shows_labels_data_and_grad() -> None:
    a, b = Tensor(2.0, label="a"), Tensor(-3.0, label="b")
    c = a * b
    c.label = "c"
    c.backward()
    src = draw_dot(c, rankdir="TB").source
    assert "{ a | data 2.0000 | grad -3.0000 }" in src
    assert "{ c | data -6.0000 | grad 1.0000 }" in src
    assert len(record_nodes(src)) == 3 and len(op_nodes(src)) == 1
    assert "rankdir=TB" in src


def test_draw_dot_accepts_micrograd_style_values() -> None:
    class Value:  # micrograd's attribute names: _prev (a set) and _op
        def __init__(self, data: float, children: tuple = (), op: str = "") -> None:
            self.data, self.grad, self._prev, self._op = data, 0.0, set(children), op

    a, b = Value(1.0), Value(2.0)
    src = draw_dot(Value(3.0, (a, b), "+")).source
    assert len(record_nodes(src)) == 3 and len(op_nodes(src)) == 1
    assert "data 3.0000" in src


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rankdir must be one of"):
        draw_dot(Tensor(1.0), rankdir="sideways")
    with pytest.raises(TypeError, match="root must be a Tensor-like"):
        draw_dot(3.0)
    with pytest.raises(TypeError, match="draw_kan needs a KAN"):
        draw_kan(object())


def test_missing_dot_binary_gives_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere
    monkeypatch.chdir(tmp_path)
    dot = draw_dot(one_prediction())
    assert dot.source.startswith("digraph")  # the DOT text needs no binary
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        dot.pipe(format="svg")
    with pytest.raises(GraphvizNotFoundError, match="Install Graphviz"):
        dot._repr_mimebundle_()
    with pytest.raises(GraphvizNotFoundError):
        draw_kan(KAN(2, [1]))._repr_mimebundle_()
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_svg_rendering_writes_no_files(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    a = Tensor(0.5, label="x")
    svg = draw_dot(a.silu() * 2.0).pipe(format="svg", encoding="utf-8")
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg
    bundle = draw_kan(KAN(2, [3, 1]))._repr_mimebundle_()
    assert "</svg>" in bundle["image/svg+xml"]
    assert os.listdir(tmp_path) == []


def test_draw_kan_scalar_nodes_and_edges() -> None:
    kan = KAN(2, [3, 1], grid=3, k=1)
    kan.layers[0].edges[2][1].active = False
    src = draw_kan(kan).source
    assert len(re.findall(r"^\s*n\d+_\d+ \[", src, flags=re.M)) == 2 + 3 + 1
    assert src.count("->") == 2 * 3 + 3 * 1
    assert src.count("φ") == 2 * 3 + 3 * 1 - 1
    assert "n0_1 -> n1_2 [color=grey60 style=dotted]" in src
    assert "rankdir=BT" in src


def fake_torch_layer(out_dim: int, in_dim: int) -> SimpleNamespace:
    return SimpleNamespace(
        mask=torch.ones(out_dim, in_dim),
        sym_mask=torch.zeros(out_dim, in_dim),
        sym_names=[["0"] * in_dim for _ in range(out_dim)],
    )


def test_draw_kan_torch_layout_masks_and_symbolic_names() -> None:
    layers = [fake_torch_layer(2, 2), fake_torch_layer(1, 2)]
    layers[0].mask[0, 1] = 0.0  # pruned
    layers[1].mask[0, 0] = 0.0  # symbolic: numeric part masked, symbolic part on
    layers[1].sym_mask[0, 0] = 1.0
    layers[1].sym_names[0][0] = "sin"
    src = draw_kan(SimpleNamespace(width=[2, 2, 1], layers=layers)).source
    assert "n0_1 -> n1_0 [color=grey60 style=dotted]" in src
    assert re.search(r"n1_0 -> n2_0 \[label=sin", src)
    assert src.count("φ") == 4 + 2 - 2


def test_draw_kan_on_the_torch_kan() -> None:
    model_mod = pytest.importorskip("kanlab.model", reason="torch KAN not written yet")
    model = model_mod.KAN([2, 3, 1], grid=3, k=2)
    src = draw_kan(model).source
    assert src.count("->") == 2 * 3 + 3 * 1 and src.count("φ") == 9
