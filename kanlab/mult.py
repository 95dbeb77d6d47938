"""Multiplication nodes (KAN 2.0's MultKAN): widths such as ``[2, [5, 2], 1]``.

A width entry ``[n_sum, n_mult]`` is a layer of ``n_sum`` ordinary (sum) nodes followed by
``n_mult`` multiplication nodes. The KAN layer feeding it has ``n_sum + Σ arity`` outputs, its
*subnodes*: each is the usual sum of edge functions. Sum nodes pass their subnode through;
multiplication node m multiplies its ``arity_m`` consecutive subnodes,

    ``z_{n_sum + m} = Π_{r < arity_m} y_{n_sum + offset_m + r}``,

with the same layout as pykan (sum subnodes first, then each multiplication node's group).
``mult_arity`` is an int (every multiplication node) or, as in pykan, one list per width entry
giving each multiplication node's arity. The node step has no parameters, so the layers keep
their fused fast path. Introduced in 10_discovering_laws.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class NodeLayout:
    """How one width entry's nodes map to the subnodes (outputs) of the layer before it.

    ``n_sum`` sum nodes, then one multiplication node per entry of ``arity``.
    """

    n_sum: int
    arity: tuple[int, ...]

    @property
    def n_mult(self) -> int:
        return len(self.arity)

    @property
    def n_nodes(self) -> int:
        """Nodes of this entry: n_sum + n_mult."""
        return self.n_sum + len(self.arity)

    @property
    def n_subnodes(self) -> int:
        """Outputs of the layer feeding this entry: n_sum + Σ arity."""
        return self.n_sum + sum(self.arity)

    def groups(self) -> list[list[int]]:
        """For every node, the indices of its subnodes (a sum node has one)."""
        out = [[n] for n in range(self.n_sum)]
        start = self.n_sum
        for a in self.arity:
            out.append(list(range(start, start + a)))
            start += a
        return out

    def spec(self) -> int | list[int]:
        """The width entry as the user writes it: an int without multiplication nodes."""
        return self.n_sum if not self.arity else [self.n_sum, self.n_mult]

    def combine(self, z: torch.Tensor) -> torch.Tensor:
        """Subnodes (batch, n_subnodes) -> nodes (batch, n_nodes); identity without mult nodes."""
        if not self.arity:
            return z
        first = self.arity[0]
        if all(a == first for a in self.arity):  # one reshape for the usual uniform arity
            prods = z[:, self.n_sum:].reshape(z.shape[0], self.n_mult, first).prod(dim=2)
        else:
            prods = torch.stack([z[:, g].prod(dim=1) for g in self.groups()[self.n_sum:]], dim=1)
        return torch.cat([z[:, : self.n_sum], prods], dim=1)

    def combine_sympy(self, exprs: Sequence[Any]) -> list[Any]:
        """The same as ``combine`` for a list of sympy expressions (one per subnode)."""
        out = []
        for g in self.groups():
            term = exprs[g[0]]
            for s in g[1:]:
                term = term * exprs[s]
            out.append(term)
        return out

    def select(self, nodes: Sequence[int]) -> NodeLayout:
        """The layout of the kept ``nodes`` (sorted; sum nodes stay before multiplication nodes)."""
        nodes = sorted(nodes)
        return NodeLayout(
            sum(1 for n in nodes if n < self.n_sum),
            tuple(self.arity[n - self.n_sum] for n in nodes if n >= self.n_sum),
        )

    def subnodes_of(self, nodes: Sequence[int]) -> list[int]:
        """The subnode indices of ``nodes`` (sorted), in layout order."""
        groups = self.groups()
        return [s for n in sorted(nodes) for s in groups[n]]


def _is_count(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, int) and v >= 0


def parse_width(width: Any, mult_arity: Any = 2) -> list[NodeLayout]:
    """Check ``width`` (entries ``n`` or ``[n_sum, n_mult]``) and ``mult_arity``; one layout per entry.

    ``mult_arity``: an int >= 2 for every multiplication node, or one list per width entry with
    each of that entry's multiplication nodes' arity (pykan's format, e.g. ``[[], [2, 3], []]``).
    Raises a clear ``ValueError`` otherwise. The input entry cannot have multiplication nodes.
    """
    if isinstance(width, (str, bytes)) or not isinstance(width, Sequence):
        raise ValueError(f"width must be a list of layer sizes like [2, 5, 1] or [2, [3, 2], 1], got {width!r}")
    if len(width) < 2:
        raise ValueError(f"width needs at least two entries (inputs and outputs), got {list(width)!r}")
    pairs = []
    for w in width:
        if _is_count(w) and w >= 1:
            pairs.append((w, 0))
        elif (isinstance(w, Sequence) and not isinstance(w, (str, bytes)) and len(w) == 2
              and all(_is_count(v) for v in w) and w[0] + w[1] >= 1):
            pairs.append((int(w[0]), int(w[1])))
        else:
            raise ValueError(
                "every width entry must be a positive int or a pair [n_sum, n_mult] of ints >= 0 "
                f"with at least one node, got {list(width)!r}"
            )
    if pairs[0][1]:
        raise ValueError(f"the input entry width[0] cannot have multiplication nodes, got {width[0]!r}")
    if _is_count(mult_arity):
        if mult_arity < 2:
            raise ValueError(f"mult_arity must be >= 2 (a product of at least two subnodes), got {mult_arity!r}")
        arities = [[mult_arity] * m for _, m in pairs]
    else:
        ok = (isinstance(mult_arity, Sequence) and len(mult_arity) == len(pairs)
              and all(isinstance(a, Sequence) and len(a) == m for a, (_, m) in zip(mult_arity, pairs)))
        if not ok or any(not _is_count(v) or v < 2 for a in mult_arity for v in a):
            raise ValueError(
                "mult_arity must be an int >= 2 or one list per width entry holding each "
                f"multiplication node's arity (>= 2), e.g. [[], [2, 3], []]; got {mult_arity!r} for width {list(width)!r}"
            )
        arities = [list(a) for a in mult_arity]
    return [NodeLayout(s, tuple(int(v) for v in a)) for (s, _), a in zip(pairs, arities)]


def arity_spec(layouts: Sequence[NodeLayout]) -> int | list[list[int]]:
    """``mult_arity`` for ``KAN(...)`` that rebuilds ``layouts``: an int when all arities agree."""
    values = {a for lay in layouts for a in lay.arity}
    if len(values) <= 1:
        return values.pop() if values else 2
    return [list(lay.arity) for lay in layouts]
