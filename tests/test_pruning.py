"""Tests for pruning (kanlab.pruning) and the sparsity penalty it relies on.

Pruning must return a genuinely smaller KAN whose output on the data is the original's minus
exactly the removed nodes' and edges' contributions; the penalty must be the paper's.
"""

from __future__ import annotations

import math

import pytest
import torch

from kanlab import KAN, create_dataset
from kanlab.pruning import hidden_nodes_to_keep, masked_copy, prune, prune_inputs, subnetwork

F64 = torch.float64


def silence_nodes(model: KAN, layer: int, nodes: list[int]) -> None:
    """Zero every edge into and out of the given hidden nodes (output nodes of ``layer``)."""
    with torch.no_grad():
        for n in nodes:
            model.layers[layer].scale_base[n].zero_()
            model.layers[layer].scale_sp[n].zero_()
            model.layers[layer + 1].scale_base[:, n].zero_()
            model.layers[layer + 1].scale_sp[:, n].zero_()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(256, 2, dtype=F64) * 2 - 1


def test_node_rule_needs_strong_incoming_and_outgoing_edges() -> None:
    scores = [torch.tensor([[0.5, 0.0], [0.5, 0.5], [0.0, 0.001], [0.2, 0.0]]),  # (4 hidden, 2 in)
              torch.tensor([[0.3, 0.0, 0.4, 0.02]])]  # (1 out, 4 hidden)
    # node 0: in 0.5, out 0.3 -> kept; node 1: out 0 -> removed; node 2: in 0.001 -> removed;
    # node 3: in 0.2, out 0.02 -> kept at node_th 0.01, removed at 0.05
    assert hidden_nodes_to_keep(scores, 0.01) == [[0, 3]]
    assert hidden_nodes_to_keep(scores, 0.05) == [[0]]
    with pytest.warns(UserWarning, match="removes every node of hidden layer 1; keeping node 0"):
        assert hidden_nodes_to_keep(scores, 10.0) == [[0]]


def test_prune_removes_silent_nodes_and_keeps_the_function(x) -> None:
    model = KAN([2, 5, 1], seed=0, dtype=F64)
    silence_nodes(model, 0, [1, 2, 4])
    small = prune(model, x, node_th=1e-9, edge_th=0.0)
    assert small.width == [2, 2, 1] and model.width == [2, 5, 1]  # the original is untouched
    assert small.num_parameters() < model.num_parameters()
    torch.testing.assert_close(small(x), model(x), atol=1e-12, rtol=0)
    torch.testing.assert_close(small.layers[1].coef, model.layers[1].coef[:, [0, 3]])
    assert small.get_config()["grid"] == model.get_config()["grid"]


def test_pruned_model_equals_original_minus_removed_contributions(x) -> None:
    dataset = create_dataset(lambda v: torch.exp(torch.sin(math.pi * v[:, :1]) + v[:, 1:] ** 2),
                             n_var=2, n_train=200, n_test=50, seed=0, dtype=F64)
    model = KAN([2, 5, 1], seed=1, dtype=F64)
    model.fit(dataset, steps=4, lamb=0.01, lamb_entropy=10.0, progress=False)
    model.layers[0].set_symbolic(2, 1, "x^2", (1.0, 0.0, 1.0, 0.0))
    scores = model.edge_scores(x)
    node_th = float(torch.sort(scores[0].amax(1)).values[1]) + 1e-9  # drops two nodes or more
    keep = [[0, 1], *hidden_nodes_to_keep(scores, node_th), [0]]
    small = prune(model, x, node_th=node_th, edge_th=0.0)
    assert small.width == [2, len(keep[1]), 1] and len(keep[1]) <= 3
    torch.testing.assert_close(small(x), masked_copy(model, keep)(x), atol=1e-12, rtol=0)
    # knots moved by grid updates during fit are carried over input by input
    torch.testing.assert_close(small.layers[1].knots, model.layers[1].knots[keep[1]])
    if 2 in keep[1]:  # the symbolic edge survives with its name and parameters
        row = keep[1].index(2)
        assert small.layers[0].sym_names[row][1] == "x^2" and small.layers[0].sym_mask[row, 1] == 1
    assert small.train_input is model.train_input


def test_edge_threshold_masks_weak_edges(x) -> None:
    model = KAN([2, 3, 1], seed=0, dtype=F64)
    with torch.no_grad():
        model.layers[0].scale_base[1, 0] = 1e-4
        model.layers[0].scale_sp[1, 0] = 1e-4
    small = prune(model, x, node_th=0.0, edge_th=1e-3)
    assert small.width == [2, 3, 1]
    assert small.layers[0].mask[1, 0] == 0 and small.layers[0].mask.sum() == 5
    weak = model.layers[0].edge_activations(x)[:, 1, 0]
    assert weak.abs().max() < 1e-3  # what was removed is tiny, so outputs barely move
    assert (small(x) - model(x)).abs().max() < 1e-2


def test_prune_inputs_drops_unused_inputs() -> None:
    model = KAN([3, 4, 1], seed=0, dtype=F64)
    with torch.no_grad():
        model.layers[0].scale_base[:, 1].zero_()
        model.layers[0].scale_sp[:, 1].zero_()
    x3 = torch.rand(100, 3, dtype=F64)
    small, kept = prune_inputs(model, x3)
    assert kept == [0, 2] and small.width == [2, 4, 1]
    torch.testing.assert_close(small(x3[:, kept]), model(x3), atol=1e-12, rtol=0)


def test_pruned_model_saves_and_loads(tmp_path, x) -> None:
    model = KAN([2, 5, 1], seed=0, dtype=F64)
    silence_nodes(model, 0, [0, 3])
    small = model.prune(x, node_th=1e-9)
    path = small.save(tmp_path / "small.pt")
    loaded = KAN.load(path)
    assert loaded.width == [2, 3, 1]
    torch.testing.assert_close(loaded(x), small(x))


def test_prune_rejects_bad_arguments(x) -> None:
    model = KAN([2, 3, 1], seed=0, dtype=F64)
    with pytest.raises(ValueError, match="node_th must be a number >= 0"):
        prune(model, x, node_th=-1)
    with pytest.raises(ValueError, match="edge_th"):
        prune(model, x, edge_th="big")
    with pytest.raises(ValueError, match="keep needs one index list per layer"):
        subnetwork(model, [[0, 1], [0]])
    with pytest.raises(ValueError, match=r"keep\[1\] must be distinct node indices in \[0, 3\)"):
        subnetwork(model, [[0, 1], [0, 0], [0]])
    with pytest.raises(ValueError, match="has not been fitted"):
        model.prune()


# --------------------------------------------------------------------------- the penalty
def test_regularization_is_the_papers_penalty(x) -> None:
    """Σ_layers μ1·Σ_edges |phi|_1 + μ2·S(p), with |phi|_1 the batch mean of |phi(x)| (Eqs. 2.17–2.20)."""
    model = KAN([2, 3, 2], seed=0, dtype=F64)
    expected, h = 0.0, x
    for layer in model.layers:
        acts = layer.edge_activations(h)  # (batch, out, in)
        l1 = acts.abs().mean(0)
        p = l1 / l1.sum()
        expected += 0.7 * float(l1.sum()) + 1.3 * float(-(p * torch.log(p)).sum())
        h = acts.sum(2)
    assert float(model.regularization(x, lamb_l1=0.7, lamb_entropy=1.3)) == pytest.approx(expected, rel=1e-9)


def test_sparsity_regularization_makes_the_network_sparser() -> None:
    dataset = create_dataset(lambda v: torch.sin(math.pi * v[:, :1]), n_var=2, n_train=200,
                             n_test=50, seed=0, dtype=F64)
    plain, sparse = KAN([2, 3, 1], seed=0, dtype=F64), KAN([2, 3, 1], seed=0, dtype=F64)
    plain.fit(dataset, steps=8, lamb=0.0, progress=False)
    sparse.fit(dataset, steps=8, lamb=0.02, lamb_entropy=2.0, progress=False)
    x = dataset["train_input"]
    assert float(sparse.regularization(x)) < float(plain.regularization(x))
    # the unused input y: its edges carry less in the regularised model
    assert float(sparse.edge_scores(x)[0][:, 1].sum()) < float(plain.edge_scores(x)[0][:, 1].sum())
