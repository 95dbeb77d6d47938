"""KAN 2.0 attribution scores against ablation importance, and attribution-based pruning."""

from __future__ import annotations

import pytest
import torch

from kanlab import KAN, create_dataset
from kanlab.attribution import ablation_importance, attribute

F64 = torch.float64


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_layer_scores_equal_ablation_exactly(seed: int) -> None:
    # y = Σ_i phi_i(x_i): ablating x_i removes exactly std(phi_i) of the output's spread.
    model = KAN([4, 1], seed=seed, noise_scale=1.0, dtype=F64)
    x = torch.rand(500, 4, dtype=F64) * 2 - 1
    # both divide by std(y) + 1e-4
    torch.testing.assert_close(attribute(model, x).feature_score, ablation_importance(model, x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deep_scores_rank_inputs_like_ablation(seed: int) -> None:
    # y = 3 sin(x1) + x2² + 0.1 x3 + 0·x4, learned by a [4, 5, 1] KAN.
    data = create_dataset(lambda x: 3 * torch.sin(x[:, [0]]) + x[:, [1]] ** 2 + 0.1 * x[:, [2]], 4,
                          n_train=400, n_test=50, seed=seed, dtype=F64)
    model = KAN([4, 5, 1], seed=seed, dtype=F64)
    model.fit(data, steps=30, progress=False)
    x = data["train_input"]
    score, ablation = model.attribute(x).feature_score, ablation_importance(model, x)
    assert torch.argsort(score).tolist() == torch.argsort(ablation).tolist() == [3, 2, 1, 0]
    # through nonlinear outer edges the spreads are only first-order the ablated spread
    torch.testing.assert_close(score[:3] / score[0], ablation[:3] / ablation[0], rtol=0.5, atol=0.05)
    assert torch.equal(model.feature_score, score)


def test_mult_node_score_reaches_both_factors() -> None:
    model = KAN([3, [0, 1], 1], seed=0, dtype=F64)
    with torch.no_grad():
        model.layers[0].mask[:, 2] = 0  # x3 unused
    x = torch.rand(300, 3, dtype=F64) * 2 - 1
    att = attribute(model, x)
    assert att.subnode_scores[0].shape == (2,)
    torch.testing.assert_close(att.subnode_scores[0], att.node_scores[1].expand(2))
    assert float(att.feature_score[2]) == 0.0 and bool((att.feature_score[:2] > 0).all())
    with pytest.raises(ValueError, match="out_score needs one weight per output"):
        attribute(model, x, out_score=torch.ones(2))


def test_prune_attribution_and_prune_inputs() -> None:
    data = create_dataset(lambda x: torch.sin(2 * x[:, [0]]) + x[:, [1]] ** 2, 3, n_train=400, n_test=50,
                          seed=0, dtype=F64)
    model = KAN([3, 4, 1], seed=0, dtype=F64)
    model.fit(data, steps=40, lamb=1e-3, progress=False)
    small = model.prune(method="attribution")
    x = data["train_input"]
    rel = float((small(x) - model(x)).pow(2).mean().sqrt() / model(x).std())
    assert small.width[1] < 4 and rel < 0.05, (small.width, rel)
    fewer, kept = small.prune_inputs(method="attribution")
    assert kept == [0, 1] and fewer.width[0] == 2
    torch.testing.assert_close(fewer(x[:, kept]), small(x), atol=0.05 * float(model(x).std()), rtol=0)
    with pytest.raises(ValueError, match="method must be one of"):
        model.prune(method="std")
