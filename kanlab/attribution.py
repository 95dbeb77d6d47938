# ruff: noqa: E741  -- `l` is the layer index in the paper's (l, i, j) edge notation
"""Attribution scores (KAN 2.0, Liu et al. 2024, Sec. 4.1): how much each node, edge and input matters.

The paper-1.0 edge score ``|phi|_1`` (``KAN.edge_scores``) looks forward: a large edge feeding a
node that nothing downstream uses still scores high. Attribution looks backward from the outputs.
On inputs x, with ``E[l][j, i] = std(phi_{l,j,i})`` (edge activation spread over the batch) and
``N[l][j] = std(subnode j of layer l's output)``:

    ``A_L = 1`` (every output),
    ``B[l][j, i] = A_sub[l+1][j] · E[l][j, i] / (N[l][j] + ε)``  (edge scores),
    ``A[l][i] = Σ_j B[l][j, i]``  (node scores),

where ``A_sub`` copies each node's score to its subnodes (a multiplication node's score goes to
every factor). With several outputs the scores are averaged over the outputs (or weighted by
``out_score``). ``A[0]`` is the *feature score* of each input. For a one-layer model,
``A[0][i] = std(phi_i(x_i)) / std(y)``: exactly the spread that ablating input i (replacing it by
a constant) removes from the output, relative to the output's spread. Introduced in
10_discovering_laws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

EPS = 1e-4  # added to a subnode's spread (as pykan does), so a constant subnode does not divide by 0


@dataclass(frozen=True)
class Attribution:
    """Backward importance scores of a model on some inputs.

    ``node_scores[l]``: (width[l],) for every entry l = 0..L (``node_scores[0]`` = ``feature_score``);
    ``edge_scores[l]``: (out_dim, in_dim) of layer l (rows are subnodes); ``subnode_scores[l]``:
    (out_dim,) of layer l's outputs.
    """

    node_scores: list[torch.Tensor]
    edge_scores: list[torch.Tensor]
    subnode_scores: list[torch.Tensor]

    @property
    def feature_score(self) -> torch.Tensor:
        """(width[0],): the importance of each input."""
        return self.node_scores[0]

    def __repr__(self) -> str:
        feats = [round(float(v), 4) for v in self.feature_score]
        return f"Attribution(feature_score={feats}, layers={len(self.edge_scores)})"


def _subnode_scores(layout: Any, node_score: torch.Tensor) -> torch.Tensor:
    """(n_nodes,) -> (n_subnodes,): each node's score on each of its subnodes."""
    index = [n for n, group in enumerate(layout.groups()) for _ in group]
    return node_score[torch.tensor(index, device=node_score.device)]


@torch.no_grad()
def spreads(model: Any, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Per layer: the edges' spread ``std(phi)`` (out, in) and the subnodes' spread (out,), on x."""
    edge_std, sub_std = [], []
    for _, acts in model.activations(x):
        edge_std.append(acts.std(dim=0, unbiased=False))
        sub_std.append(acts.sum(dim=2).std(dim=0, unbiased=False))
    return edge_std, sub_std


@torch.no_grad()
def attribute(model: Any, x: torch.Tensor, out_score: torch.Tensor | None = None) -> Attribution:
    """Attribution scores of ``model`` on inputs x (batch, width[0]); see the module docstring.

    ``out_score``: (width[-1],) weights of the outputs (default: 1/width[-1] each, the mean of the
    per-output scores). Introduced in 10_discovering_laws.
    """
    model._check_input(x)
    if x.shape[0] < 2:
        raise ValueError(f"attribution needs at least 2 samples to measure spreads, got {x.shape[0]}")
    edge_std, sub_std = spreads(model, x)
    ref = edge_std[0]
    n_out = model.width[-1]
    if out_score is None:
        node = torch.full((n_out,), 1.0 / n_out, dtype=ref.dtype, device=ref.device)
    else:
        node = torch.as_tensor(out_score, dtype=ref.dtype, device=ref.device).reshape(-1)
        if node.numel() != n_out:
            raise ValueError(f"out_score needs one weight per output ({n_out}), got {node.numel()}")
    nodes, edges, subs = [node], [], []
    for l in range(len(model.layers) - 1, -1, -1):
        sub = _subnode_scores(model.node_layouts[l + 1], node)
        edge = sub[:, None] * edge_std[l] / (sub_std[l][:, None] + EPS)
        node = edge.sum(dim=0)
        subs.append(sub)
        edges.append(edge)
        nodes.append(node)
    return Attribution(nodes[::-1], edges[::-1], subs[::-1])


@torch.no_grad()
def ablation_importance(model: Any, x: torch.Tensor) -> torch.Tensor:
    """(width[0],): ``std(f(x) - f(x with input i set to its mean)) / std(f(x))``, outputs averaged.

    A model-free reference for ``feature_score`` (tests, 10_discovering_laws).
    """
    y = model(x)
    out = []
    for i in range(x.shape[1]):
        xa = x.clone()
        xa[:, i] = x[:, i].mean()
        out.append(((y - model(xa)).std(dim=0, unbiased=False) / (y.std(dim=0, unbiased=False) + EPS)).mean())
    return torch.stack(out)
