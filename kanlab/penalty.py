"""The paper's sparsity penalty (Eqs. 2.17–2.20) from edge norms: ``μ1·Σ|phi|_1 + μ2·entropy``.

Introduced in 07_interpretability; ``kanlab.train.predict_and_penalty`` adds it up over layers.
"""

from __future__ import annotations

import torch


def sparsity_penalty(acts: torch.Tensor, lamb_l1: float = 1.0, lamb_entropy: float = 2.0) -> torch.Tensor:
    """Paper Eqs. 2.17–2.19 for one layer: ``μ1·Σ|phi|_1 + μ2·S`` from edge activations (batch, out, in).

    ``|phi|_1`` is the mean over the batch of ``|phi(x)|``; S is the entropy of the normalised
    magnitudes ``p = |phi|_1 / Σ|phi|_1``. Introduced in 07_interpretability.
    """
    return penalty_from_l1(acts.abs().mean(0), lamb_l1, lamb_entropy)


def penalty_from_l1(l1: torch.Tensor, lamb_l1: float = 1.0, lamb_entropy: float = 2.0) -> torch.Tensor:
    """``μ1·Σ|phi|_1 + μ2·entropy(p)`` from one layer's edge norms ``l1`` (out, in)."""
    total = l1.sum()
    p = l1 / (total + 1e-12)
    entropy = -(p * torch.log(p + 1e-12)).sum()
    return lamb_l1 * total + lamb_entropy * entropy
