"""Pruning a trained KAN to its skeleton: drop weak hidden nodes, edges and inputs.

Two importance rules (``method``):

- ``"l1"`` (the KAN paper, 07_interpretability): the forward edge score ``|phi|_1 = mean over
  the batch of |phi(x)|`` (Eq. 2.17, ``KAN.edge_scores``). A hidden node is kept when its
  strongest incoming *and* its strongest outgoing edge both exceed ``node_th``; an edge is kept
  when its own score exceeds ``edge_th``.
- ``"attribution"`` (KAN 2.0, pykan's ``prune``; 10_discovering_laws): the backward scores of
  ``kanlab.attribution``. A hidden node is kept when its node score exceeds ``node_th``, an edge
  when its edge score exceeds ``edge_th``, an input when its feature score exceeds ``input_th``.

A multiplication node (``kanlab.mult``) is kept or removed together with all its subnodes (the
factors it multiplies) and their incoming edges. ``prune`` returns a genuinely smaller ``KAN``
(new width, the surviving weights copied over), not a model full of masks.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from kanlab.mult import NodeLayout, arity_spec

if TYPE_CHECKING:  # for annotations only: kanlab.model imports this module, not the reverse
    from kanlab.model import KAN

METHODS = ("l1", "attribution")


def _check_threshold(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _keep_or_best(strength: torch.Tensor, th: float, what: str) -> list[int]:
    """Indices with ``strength > th``; the strongest one (with a warning) if none passes."""
    kept = (strength > th).nonzero().flatten().tolist()
    if not kept:
        best = int(strength.argmax())
        warnings.warn(f"the threshold {th} removes every node of {what}; keeping node {best}", stacklevel=4)
        kept = [best]
    return kept


def hidden_nodes_to_keep(
    scores: Sequence[torch.Tensor], node_th: float, layouts: Sequence[NodeLayout] | None = None
) -> list[list[int]]:
    """Kept node indices per hidden layer from per-layer edge scores (out, in) (the "l1" rule).

    Hidden layer h (the output of layer h, input of layer h + 1) keeps node n when
    ``max_i scores[h][n, i] > node_th`` and ``max_j scores[h + 1][j, n] > node_th``; for a
    multiplication node (``layouts``, default sum nodes only) the incoming maximum runs over all
    its subnodes. If no node passes, the single strongest one is kept so the network stays
    connected (with a warning).
    """
    keep = []
    for h in range(len(scores) - 1):
        incoming = scores[h].amax(dim=1)  # (subnodes,)
        if layouts is not None:
            incoming = torch.stack([incoming[g].amax() for g in layouts[h + 1].groups()])
        outgoing = scores[h + 1].amax(dim=0)  # (nodes,)
        keep.append(_keep_or_best(torch.minimum(incoming, outgoing), node_th, f"hidden layer {h + 1}"))
    return keep


@torch.no_grad()
def subnetwork(model: KAN, keep: Sequence[Sequence[int]]) -> KAN:
    """A new ``KAN`` made of the nodes ``keep[l]`` of each layer l = 0..L (inputs to outputs).

    The new model has width ``[len(k) for k in keep]`` (a kept multiplication node keeps its
    subnodes) and the same configuration; knots, ``coef``, scales, masks and symbolic edges of the
    surviving edges are copied over.
    """
    if len(keep) != len(model.width):
        raise ValueError(
            f"keep needs one index list per layer of nodes ({len(model.width)}), got {len(keep)}"
        )
    for l, (idx, w) in enumerate(zip(keep, model.width, strict=True)):  # noqa: E741
        if not idx or any(not 0 <= n < w for n in idx) or len(set(idx)) != len(idx):
            raise ValueError(f"keep[{l}] must be distinct node indices in [0, {w}), got {list(idx)}")
    ref = model.layers[0].coef
    layouts = [lay.select(k) for lay, k in zip(model.node_layouts, keep, strict=True)]
    config = {k: v for k, v in model.config.items() if k not in ("width", "mult_arity")}
    config["grid_range"] = tuple(config["grid_range"])
    new = type(model)([lay.spec() for lay in layouts], **config, mult_arity=arity_spec(layouts),
                      dtype=ref.dtype, device=ref.device)
    keep = [sorted(k) for k in keep]
    rows = [model.node_layouts[l + 1].subnodes_of(keep[l + 1]) for l in range(len(model.layers))]  # noqa: E741
    for l, (old, layer) in enumerate(zip(model.layers, new.layers, strict=True)):  # noqa: E741
        i_idx = torch.tensor(keep[l], device=ref.device)
        j_idx = torch.tensor(rows[l], device=ref.device)
        layer.knots = old.knots[i_idx].clone()
        layer.coef = nn.Parameter(old.coef[j_idx][:, i_idx].clone())
        for name in ("scale_base", "scale_sp", "sym_affine"):
            getattr(layer, name).data = getattr(old, name)[j_idx][:, i_idx].clone()
        layer.mask = old.mask[j_idx][:, i_idx].clone()
        layer.sym_mask = old.sym_mask[j_idx][:, i_idx].clone()
        layer.sym_names = [[old.sym_names[j][i] for i in keep[l]] for j in rows[l]]
        layer.sync_symbolic_edges()
    new.train_input = model.train_input
    return new


@torch.no_grad()
def prune(
    model: KAN, x: torch.Tensor, node_th: float = 1e-2, edge_th: float = 3e-2, method: str = "l1"
) -> KAN:
    """Return a smaller copy of ``model``: weak hidden nodes removed, weak edges masked.

    x: (batch, width[0]), the inputs the scores are measured on (use the training inputs).
    ``method``: ``"l1"`` (paper 1.0, forward ``|phi|_1``) or ``"attribution"`` (KAN 2.0,
    backward scores; what pykan's ``prune`` does). Inputs and outputs are kept (see
    :func:`prune_inputs` for inputs). On x, the pruned model computes what the original computes
    minus the removed nodes' and edges' contributions. The copy has its own parameters: train it
    with a new optimizer over its ``parameters()``.
    """
    _check_threshold("node_th", node_th)
    _check_threshold("edge_th", edge_th)
    _check_method(method)
    if method == "l1":
        scores = model.edge_scores(x)
        hidden = hidden_nodes_to_keep(scores, node_th, model.node_layouts)
    else:
        from kanlab.attribution import attribute

        att = attribute(model, x)
        scores = att.edge_scores
        hidden = [_keep_or_best(att.node_scores[h], node_th, f"hidden layer {h}")
                  for h in range(1, len(model.width) - 1)]
    keep = [list(range(model.width[0])), *hidden, list(range(model.width[-1]))]
    new = subnetwork(model, keep)
    for l, layer in enumerate(new.layers):  # noqa: E741
        rows = model.node_layouts[l + 1].subnodes_of(keep[l + 1])
        s = scores[l][rows][:, keep[l]]
        layer.mask = layer.mask * (s > edge_th).to(layer.mask.dtype)
    if method == "attribution":
        _fold_means(model, new, x, keep)
    return new


def _fold_means(model: KAN, new: KAN, x: torch.Tensor, keep: Sequence[Sequence[int]]) -> None:
    """Move the batch mean of every removed edge onto a kept edge of its subnode (largest |mean|).

    Attribution removes edges whose output barely *varies*; such an edge can still add a large
    constant (e.g. a factor's offset inside a multiplication node). Adding that constant to a kept
    edge keeps the function on x: a spline edge gets it through its coefficients (the B-splines
    sum to 1 on the grid), a symbolic edge through its offset d.
    """
    means = [acts.mean(dim=0) for _, acts in model.activations(x)]  # (out, in) per layer
    for l, (old, layer) in enumerate(zip(model.layers, new.layers, strict=True)):  # noqa: E741
        rows = model.node_layouts[l + 1].subnodes_of(keep[l + 1])
        kept_in = torch.zeros(old.in_dim, dtype=torch.bool, device=old.mask.device)
        kept_in[list(keep[l])] = True
        for jn, jo in enumerate(rows):
            new_mask = torch.zeros_like(kept_in, dtype=old.mask.dtype)
            new_mask[kept_in] = layer.mask[jn]
            removed = (old.mask[jo] - new_mask).clamp(min=0)
            shift = float((removed * means[l][jo]).sum())
            if shift == 0.0 or not bool(layer.mask[jn].any()):
                continue
            target = int((layer.mask[jn] * means[l][jo][kept_in].abs().add(1e-12)).argmax())
            if float(layer.sym_mask[jn, target]) == 1.0:
                layer.sym_affine.data[jn, target, 3] += shift
            elif float(layer.scale_sp[jn, target]) != 0.0:
                layer.coef.data[jn, target] += shift / layer.scale_sp[jn, target]


@torch.no_grad()
def prune_inputs(
    model: KAN, x: torch.Tensor, input_th: float = 1e-2, method: str = "l1"
) -> tuple[KAN, list[int]]:
    """Drop inputs that matter little: returns ``(smaller model, kept input indices)``.

    ``method="l1"``: an input goes when its strongest outgoing edge scores ``<= input_th``;
    ``"attribution"``: when its feature score (``kanlab.attribution``) is ``<= input_th`` (pykan's
    ``prune_input``). Feed the smaller model ``x[:, kept]``. At least one input is always kept.
    """
    _check_threshold("input_th", input_th)
    _check_method(method)
    if method == "l1":
        strength = model.edge_scores(x)[0].amax(dim=0)  # (width[0],)
    else:
        from kanlab.attribution import attribute

        strength = attribute(model, x).feature_score
    kept = _keep_or_best(strength, input_th, "the inputs")
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
        keep_in = torch.zeros(layer.in_dim, dtype=torch.bool, device=layer.mask.device)
        keep_out = torch.zeros(layer.out_dim, dtype=torch.bool, device=layer.mask.device)
        keep_in[list(keep[l])] = True
        keep_out[model.node_layouts[l + 1].subnodes_of(keep[l + 1])] = True
        edge = (keep_out[:, None] & keep_in[None, :]).to(layer.mask)
        layer.mask = layer.mask * edge
    return masked
