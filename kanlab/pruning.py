"""Pruning a trained KAN to its skeleton: drop weak hidden nodes, edges and inputs.

Importance is the paper's edge score ``|phi|_1 = mean over the batch of |phi(x)|`` (Eq. 2.17,
``KAN.edge_scores``). A hidden node is kept when its strongest incoming *and* its strongest
outgoing edge both exceed ``node_th``; an edge is kept when its own score exceeds ``edge_th``.
``prune`` returns a genuinely smaller ``KAN`` (new width, the surviving weights copied over), not a
model full of masks. Introduced in 07_interpretability.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from kanlab.model import KAN


def _check_threshold(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def hidden_nodes_to_keep(scores: Sequence[torch.Tensor], node_th: float) -> list[list[int]]:
    """Kept node indices per hidden layer from per-layer edge scores (out, in).

    Hidden layer h (the output of layer h, input of layer h + 1) keeps node n when
    ``max_i scores[h][n, i] > node_th`` and ``max_j scores[h + 1][j, n] > node_th``. If no node
    passes, the single strongest one is kept so the network stays connected (with a warning).
    """
    keep = []
    for h in range(len(scores) - 1):
        incoming = scores[h].amax(dim=1)  # (nodes,)
        outgoing = scores[h + 1].amax(dim=0)  # (nodes,)
        kept = ((incoming > node_th) & (outgoing > node_th)).nonzero().flatten().tolist()
        if not kept:
            best = int(torch.minimum(incoming, outgoing).argmax())
            warnings.warn(
                f"node_th={node_th} removes every node of hidden layer {h + 1}; keeping node {best}",
                stacklevel=3,
            )
            kept = [best]
        keep.append(kept)
    return keep


@torch.no_grad()
def subnetwork(model: KAN, keep: Sequence[Sequence[int]]) -> KAN:
    """A new ``KAN`` made of the nodes ``keep[l]`` of each layer l = 0..L (inputs to outputs).

    The new model has width ``[len(k) for k in keep]`` and the same configuration; knots,
    ``coef``, scales, masks and symbolic edges of the surviving edges are copied over.
    """
    if len(keep) != len(model.width):
        raise ValueError(
            f"keep needs one index list per layer of nodes ({len(model.width)}), got {len(keep)}"
        )
    for l, (idx, w) in enumerate(zip(keep, model.width, strict=True)):  # noqa: E741
        if not idx or any(not 0 <= n < w for n in idx) or len(set(idx)) != len(idx):
            raise ValueError(f"keep[{l}] must be distinct node indices in [0, {w}), got {list(idx)}")
    ref = model.layers[0].coef
    config = {k: v for k, v in model.config.items() if k != "width"}
    config["grid_range"] = tuple(config["grid_range"])
    new = KAN([len(k) for k in keep], **config, dtype=ref.dtype, device=ref.device)
    for l, (old, layer) in enumerate(zip(model.layers, new.layers, strict=True)):  # noqa: E741
        i_idx = torch.tensor(keep[l], device=ref.device)
        j_idx = torch.tensor(keep[l + 1], device=ref.device)
        layer.knots = old.knots[i_idx].clone()
        layer.coef = nn.Parameter(old.coef[j_idx][:, i_idx].clone())
        for name in ("scale_base", "scale_sp", "sym_affine"):
            getattr(layer, name).data = getattr(old, name)[j_idx][:, i_idx].clone()
        layer.mask = old.mask[j_idx][:, i_idx].clone()
        layer.sym_mask = old.sym_mask[j_idx][:, i_idx].clone()
        layer.sym_names = [[old.sym_names[j][i] for i in keep[l]] for j in keep[l + 1]]
        layer.sync_symbolic_edges()
    new.train_input = model.train_input
    return new


@torch.no_grad()
def prune(model: KAN, x: torch.Tensor, node_th: float = 1e-2, edge_th: float = 3e-2) -> KAN:
    """Return a smaller copy of ``model``: weak hidden nodes removed, weak edges masked.

    x: (batch, width[0]), the inputs the scores are measured on (use the training inputs).
    Inputs and outputs are kept (see :func:`prune_inputs` for inputs). On x, the pruned model
    computes what the original computes minus the removed nodes' and edges' contributions.
    """
    _check_threshold("node_th", node_th)
    _check_threshold("edge_th", edge_th)
    scores = model.edge_scores(x)
    keep = [list(range(model.width[0])), *hidden_nodes_to_keep(scores, node_th)]
    keep.append(list(range(model.width[-1])))
    new = subnetwork(model, keep)
    for l, layer in enumerate(new.layers):  # noqa: E741
        s = scores[l][keep[l + 1]][:, keep[l]]
        layer.mask = layer.mask * (s > edge_th).to(layer.mask.dtype)
    return new


@torch.no_grad()
def prune_inputs(model: KAN, x: torch.Tensor, input_th: float = 1e-2) -> tuple[KAN, list[int]]:
    """Drop inputs whose strongest outgoing edge scores ``<= input_th``.

    Returns ``(smaller model, kept input indices)``; feed the smaller model ``x[:, kept]``.
    At least one input is always kept.
    """
    _check_threshold("input_th", input_th)
    strength = model.edge_scores(x)[0].amax(dim=0)  # (width[0],)
    kept = (strength > input_th).nonzero().flatten().tolist() or [int(strength.argmax())]
    keep = [kept, *[list(range(w)) for w in model.width[1:]]]
    new = subnetwork(model, keep)
    if model.train_input is not None:
        new.train_input = model.train_input[:, kept]
    return new, kept


@torch.no_grad()
def masked_copy(model: KAN, keep: Sequence[Sequence[int]]) -> KAN:
    """A same-size copy of ``model`` with every edge touching a node outside ``keep`` masked.

    It computes exactly what ``subnetwork(model, keep)`` computes: handy for checks and plots.
    """
    masked = copy.deepcopy(model)
    for l, layer in enumerate(masked.layers):  # noqa: E741
        keep_in = torch.zeros(layer.in_dim, dtype=torch.bool)
        keep_out = torch.zeros(layer.out_dim, dtype=torch.bool)
        keep_in[list(keep[l])] = True
        keep_out[list(keep[l + 1])] = True
        edge = (keep_out[:, None] & keep_in[None, :]).to(layer.mask)
        layer.mask = layer.mask * edge
    return masked
