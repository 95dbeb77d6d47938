"""Sparsity penalties: the paper's (Eqs. 2.17–2.20) from edge norms, ``μ1·Σ|phi|_1 + μ2·entropy``,
and pykan 0.2's default ``reg_metric="edge_forward_spline_n"`` (``spread_penalty``).

Introduced in 07_interpretability; ``kanlab.train.predict_and_penalty`` adds them up over layers.
"""

from __future__ import annotations

import torch

# The sparsity penalties ``fit(reg_metric=...)`` offers: the paper's, and pykan 0.2's default.
REG_METRICS = ("paper", "edge_forward_spline_n")


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


def spread_penalty(acts: torch.Tensor, x: torch.Tensor, lamb_l1: float = 1.0, lamb_entropy: float = 2.0) -> torch.Tensor:
    """pykan 0.2's default penalty for one layer (``reg_metric="edge_forward_spline_n"``).

    acts: the layer's numeric edge outputs (batch, out, in); x: its input (batch, in). Each edge's
    size is its *spread*, ``v[j, i] = std_b(phi[j, i]) / (std_b(x_i) + 0.1)`` (a constant offset
    costs nothing, unlike the paper's ``|phi|_1``); the penalty is ``μ1·Σv + μ2·(S_row + S_col)``
    with ``S_row`` the mean over outputs of ``-Σ_i p log2 p``, ``p = v / (Σ_i v + 1)``, and
    ``S_col`` the same over inputs. pykan's λ values transfer with this metric
    (``benchmarks/hello_kan.py``; docs/pykan_mapping.md).
    """
    v = acts.std(0) / (x.std(0) + 0.1).unsqueeze(0)  # (out, in)
    p_row = v / (v.sum(1, keepdim=True) + 1)
    p_col = v / (v.sum(0, keepdim=True) + 1)
    entropy_row = -(p_row * torch.log2(p_row + 1e-4)).sum(1).mean()
    entropy_col = -(p_col * torch.log2(p_col + 1e-4)).sum(0).mean()
    return lamb_l1 * v.sum() + lamb_entropy * (entropy_row + entropy_col)
