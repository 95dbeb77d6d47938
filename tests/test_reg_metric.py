"""fit(reg_metric="edge_forward_spline_n"): pykan 0.2's sparsity penalty, checked against a hand computation."""

from __future__ import annotations

import pytest
import torch

from kanlab import KAN, create_dataset
from kanlab.penalty import spread_penalty
from kanlab.train import predict_and_penalty


def _pykan_by_hand(acts: torch.Tensor, x: torch.Tensor, mu1: float, mu2: float) -> float:
    """pykan 0.2 MultKAN.reg('edge_forward_spline_n') for one layer, written out with loops."""
    out_dim, in_dim = acts.shape[1], acts.shape[2]
    v = [[float(acts[:, j, i].std() / (x[:, i].std() + 0.1)) for i in range(in_dim)] for j in range(out_dim)]
    import math

    ent_row = sum(-sum((v[j][i] / (sum(v[j]) + 1)) * math.log2(v[j][i] / (sum(v[j]) + 1) + 1e-4)
                       for i in range(in_dim)) for j in range(out_dim)) / out_dim
    col = [sum(v[j][i] for j in range(out_dim)) for i in range(in_dim)]
    ent_col = sum(-sum((v[j][i] / (col[i] + 1)) * math.log2(v[j][i] / (col[i] + 1) + 1e-4)
                       for j in range(out_dim)) for i in range(in_dim)) / in_dim
    return mu1 * sum(map(sum, v)) + mu2 * (ent_row + ent_col)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_spread_penalty_matches_pykans_formula(seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(50, 3, generator=g, dtype=torch.float64)
    acts = torch.randn(50, 4, 3, generator=g, dtype=torch.float64) * torch.rand(1, 4, 3, generator=g, dtype=torch.float64)
    got = float(spread_penalty(acts, x, 1.0, 2.0))
    assert got == pytest.approx(_pykan_by_hand(acts, x, 1.0, 2.0), rel=1e-10)


def test_predict_and_penalty_sums_layers_and_keeps_the_prediction() -> None:
    model = KAN([2, 3, 1], grid=5, seed=0, dtype=torch.float64)
    x = torch.rand(64, 2, dtype=torch.float64) * 2 - 1
    y, reg = predict_and_penalty(model, x, 1.0, 2.0, "edge_forward_spline_n")
    torch.testing.assert_close(y, model(x))
    h = x
    want = 0.0
    for layer in model.layers:
        acts = layer.edge_activations(h)
        want += _pykan_by_hand(acts.detach(), h.detach(), 1.0, 2.0)
        h = acts.sum(2)
    assert float(reg.detach()) == pytest.approx(want, rel=1e-10)


def test_fit_with_pykans_metric_sparsifies_and_rejects_unknown_metrics() -> None:
    f = lambda x: torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)  # noqa: E731
    data = create_dataset(f, n_var=2, n_train=300, n_test=300, seed=0, dtype=torch.float64)
    dense = KAN([2, 5, 1], grid=3, seed=0, dtype=torch.float64)
    sparse = KAN([2, 5, 1], grid=3, seed=0, dtype=torch.float64)
    dense.fit(data, steps=20, progress=False)
    history = sparse.fit(data, steps=20, lamb=0.01, reg_metric="edge_forward_spline_n", progress=False)
    assert history["reg"][-1] < history["reg"][0]
    x = data["train_input"]
    strong = lambda m: int((m.layers[1].edge_activations(m.layers[0](x)).std(0) > 0.05).sum())  # noqa: E731
    assert strong(sparse) < strong(dense)
    with pytest.raises(ValueError, match="reg_metric must be one of"):
        sparse.fit(data, steps=1, lamb=0.01, reg_metric="edge_backward", progress=False)
