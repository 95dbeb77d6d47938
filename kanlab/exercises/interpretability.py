"""Self-checks for 07_interpretability: the entropy of edge magnitudes, the node-pruning rule, R²."""

from __future__ import annotations

import torch

from kanlab.exercises._core import (
    Feedback,
    Wrong,
    call,
    correct,
    exercise,
    first_match,
    number,
    wrong,
)

NOTEBOOK = "07_interpretability"


@exercise(NOTEBOOK)
def check_entropy(entropy) -> Feedback:
    """``entropy(l1) -> float``: S(Φ) = −Σ p log p with p = |φ|₁ / Σ|φ|₁, for magnitudes l1 of shape (out, in)."""
    l1 = torch.tensor([[0.5, 0.1, 0.02], [0.3, 0.05, 0.13]], dtype=torch.float64)
    p = l1 / l1.sum()
    want = float(-(p * p.log()).sum())
    got = number(call(entropy, l1.clone()), "entropy(l1)")
    if abs(got - want) < 1e-9:
        return correct(f"S = {want:.4f} nats; a single strong edge would give 0, six equal edges log 6 = 1.7918.")
    return first_match(got, [
        (float(-(l1 * l1.log()).sum()), "the magnitudes were not normalised", "divide by their sum first: p = l1 / l1.sum()"),
        (-want, "the sign is wrong", "S = −Σ p log p is ≥ 0"),
        (float(-(p * p.log2()).sum()), "that is in bits (log2)", "the paper and kanlab use the natural log"),
        (float(l1.sum()), "that is |Φ|₁, the L1 term", "the entropy uses the normalised p"),
    ], rtol=1e-9) or wrong(f"entropy = {got:.4g}, expected {want:.4g}", "p = l1 / l1.sum(); −(p * log p).sum()")


@exercise(NOTEBOOK)
def check_kept_nodes(kept_nodes) -> Feedback:
    """``kept_nodes(in_scores, out_scores, theta)``: hidden nodes kept by the paper's rule.

    ``in_scores`` (hidden, in) holds the |φ|₁ of the edges into each hidden node, ``out_scores``
    (out, hidden) of the edges leaving it; return the sorted list of kept node indices.
    """
    in_scores = torch.tensor([[0.5, 0.001], [0.002, 0.004], [0.3, 0.2], [0.008, 0.009], [0.015, 0.0]])
    out_scores = torch.tensor([[0.9, 0.5, 0.004, 0.5, 0.2]])
    got = call(kept_nodes, in_scores.clone(), out_scores.clone(), 0.01)
    try:
        got = sorted(int(i) for i in got)
    except TypeError:
        raise Wrong(f"expected a list of node indices, got {got!r}") from None
    if got == [0, 4]:
        return correct("nodes 0 and 4: each has an in-edge and an out-edge above θ (node 2's out-edge is too weak).")
    if got == [0, 1, 2, 3, 4]:
        return wrong("every node kept", "a node needs max in-score > θ AND max out-score > θ")
    if got == [0, 1, 2, 4]:
        return wrong(f"kept {got}: node 1 has no in-edge above θ", "a node needs an in-edge AND an out-edge above θ")
    if got == [0, 2, 4]:
        return wrong(f"kept {got}: node 2's strongest out-edge is 0.004 < θ", "both the in- and the out-side must pass: use `and`")
    if got == [0]:
        return wrong(f"kept {got}: node 4 passes with its strongest in-edge 0.015", "compare the maximum, not the mean or the sum")
    return wrong(f"kept {got}, expected [0, 4]", "in_scores.max(dim=1) > θ and out_scores.max(dim=0) > θ")


@exercise(NOTEBOOK)
def check_r2(r2) -> Feedback:
    """``r2(y, y_hat) -> float``: the coefficient of determination 1 − Σ(y − ŷ)² / Σ(y − ȳ)²."""
    y = torch.tensor([1.0, 2.0, 4.0, 3.0, 6.0], dtype=torch.float64)
    y_hat = torch.tensor([1.2, 1.8, 3.5, 3.4, 5.6], dtype=torch.float64)
    want = float(1 - ((y - y_hat) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    got = number(call(r2, y.clone(), y_hat.clone()), "r2(y, y_hat)")
    if abs(got - want) < 1e-9:
        return correct(f"R² = {want:.4f}; 1 means a perfect fit, 0 no better than the mean.")
    return first_match(got, [
        (float(1 - ((y - y_hat) ** 2).sum() / (y**2).sum()), "the denominator forgot to subtract the mean",
         "Σ(y − ȳ)²: the variance around the mean, not around 0"),
        (float(((y - y_hat) ** 2).sum() / ((y - y.mean()) ** 2).sum()), "that is 1 − R²", "R² = 1 − SS_res / SS_tot"),
        (float(torch.corrcoef(torch.stack([y, y_hat]))[0, 1]), "that is the correlation r, not R²",
         "R² = 1 − SS_res / SS_tot (equal to r² only for a least-squares line)"),
    ], rtol=1e-9) or wrong(f"R² = {got:.4g}, expected {want:.4g}", "1 − Σ(y − ŷ)² / Σ(y − ȳ)²")
