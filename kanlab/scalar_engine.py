"""A scalar autograd engine, micrograd-style: the ``Tensor`` of the from-scratch KAN.

Every number is a :class:`Tensor` that remembers which Tensors it was computed from
(``parents``) and the local derivative of itself with respect to each of them
(``local_grads``). ``backward()`` walks the graph once in reverse topological order and
applies the chain rule: ``parent.grad += local_grad * child.grad``.

The classic API is imported from :mod:`kanlab.scalar`. Introduced in 04_kan_from_scratch.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TypeAlias

Number: TypeAlias = "int | float"


def _check_number(value: object, name: str) -> float:
    """Return ``value`` as a float, or raise a TypeError naming ``name``."""
    if type(value) is float or type(value) is int:  # the fast path (isinstance(Real) is slow)
        return float(value)
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(
            f"{name} must be a real number (int or float), got {type(value).__name__}: {value!r}"
        )
    return float(value)


class Tensor:
    """A scalar value in a computation graph, with its gradient.

    Attributes:
        data: the value (a Python float, i.e. float64).
        grad: d(root)/d(self), filled in by ``root.backward()``; starts at 0.0.
        parents: the Tensors this one was computed from (empty for leaves).
        local_grads: d(self)/d(parent) for each parent, recorded at forward time.
        op: the name of the operation that made this Tensor ("" for leaves).
        label: an optional name shown by :func:`kanlab.graph.draw_dot`.

    Introduced in 04_kan_from_scratch.
    """

    __slots__ = ("data", "grad", "parents", "local_grads", "op", "label")

    def __init__(
        self,
        data: Number,
        parents: tuple[Tensor, ...] = (),
        local_grads: tuple[float, ...] = (),
        op: str = "",
        label: str = "",
    ) -> None:
        self.data = _check_number(data, "Tensor(data)")
        self.grad = 0.0
        self.parents = tuple(parents)
        self.local_grads = tuple(local_grads)
        if len(self.parents) != len(self.local_grads):
            raise ValueError(
                f"parents and local_grads must have the same length, "
                f"got {len(self.parents)} and {len(self.local_grads)}"
            )
        self.op = op
        self.label = label

    def __repr__(self) -> str:
        name = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Tensor(data={self.data:.6g}, grad={self.grad:.6g}{op}{name})"

    # ----------------------------------------------------------------- arithmetic
    # With two Tensors an op has two parents. With a plain number c the number is folded
    # into the op ("*2.5", "+0.3"): one parent, no constant leaf, a smaller graph.
    def __add__(self, other: Tensor | Number) -> Tensor:
        if isinstance(other, Tensor):
            return _node(self.data + other.data, (self, other), (1.0, 1.0), "+")
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(self.data + c, (self,), (1.0,), f"+{c:.4g}")

    def __mul__(self, other: Tensor | Number) -> Tensor:
        if isinstance(other, Tensor):
            return _node(self.data * other.data, (self, other), (other.data, self.data), "*")
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(self.data * c, (self,), (c,), f"*{c:.4g}")

    def __sub__(self, other: Tensor | Number) -> Tensor:
        if isinstance(other, Tensor):
            return _node(self.data - other.data, (self, other), (1.0, -1.0), "-")
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(self.data - c, (self,), (1.0,), f"-{c:.4g}")

    def __truediv__(self, other: Tensor | Number) -> Tensor:
        if isinstance(other, Tensor):
            if other.data == 0.0:
                raise ZeroDivisionError("Tensor division by zero")
            inv = 1.0 / other.data
            local = (inv, -self.data * inv * inv)
            return _node(self.data * inv, (self, other), local, "/")
        c = _const(other)
        if c is None:
            return NotImplemented
        if c == 0.0:
            raise ZeroDivisionError("Tensor division by zero")
        return _node(self.data / c, (self,), (1.0 / c,), f"/{c:.4g}")

    def __radd__(self, other: Number) -> Tensor:
        return self + other

    def __rmul__(self, other: Number) -> Tensor:
        return self * other

    def __rsub__(self, other: Number) -> Tensor:  # c - self
        c = _const(other)
        if c is None:
            return NotImplemented
        return _node(c - self.data, (self,), (-1.0,), f"{c:.4g}-")

    def __rtruediv__(self, other: Number) -> Tensor:  # c / self
        c = _const(other)
        if c is None:
            return NotImplemented
        if self.data == 0.0:
            raise ZeroDivisionError("Tensor division by zero")
        inv = 1.0 / self.data
        return _node(c * inv, (self,), (-c * inv * inv,), f"{c:.4g}/")

    def __neg__(self) -> Tensor:
        return _node(-self.data, (self,), (-1.0,), "neg")

    def __pow__(self, exponent: Number) -> Tensor:
        if isinstance(exponent, Tensor):
            raise TypeError("Tensor ** Tensor is not supported: the exponent must be a number")
        n = _check_number(exponent, "exponent")
        if self.data == 0.0 and n < 1.0:
            raise ZeroDivisionError(f"0.0 ** {n} has no finite derivative")
        if self.data < 0.0 and not n.is_integer():
            raise ValueError(f"a negative Tensor ** {n} is not a real number")
        return _node(self.data**n, (self,), (n * self.data ** (n - 1.0),), f"**{n:g}")

    def __rpow__(self, base: Number) -> Tensor:  # base ** self
        b = _check_number(base, "base")
        if b <= 0.0:
            raise ValueError(f"number ** Tensor needs a positive base, got {b}")
        out = b**self.data
        return _node(out, (self,), (out * math.log(b),), f"{b:g}**")

    # --------------------------------------------------------- elementary functions
    def exp(self) -> Tensor:
        out = math.exp(self.data)
        return _node(out, (self,), (out,), "exp")

    def log(self) -> Tensor:
        if self.data <= 0.0:
            raise ValueError(f"log needs a positive input, got {self.data}")
        return _node(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self) -> Tensor:
        t = math.tanh(self.data)
        return _node(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self) -> Tensor:
        s = _sigmoid(self.data)
        return _node(s, (self,), (s * (1.0 - s),), "sigmoid")

    def silu(self) -> Tensor:
        """silu(x) = x·sigmoid(x), the residual 'base' function of every KAN edge."""
        s = _sigmoid(self.data)
        return _node(self.data * s, (self,), (s * (1.0 + self.data * (1.0 - s)),), "silu")

    def relu(self) -> Tensor:
        pos = self.data > 0.0
        return _node(self.data if pos else 0.0, (self,), (1.0 if pos else 0.0,), "relu")

    # ------------------------------------------------------------------- backward
    def topological_order(self) -> list[Tensor]:
        """Every Tensor this one depends on (itself included), parents before children.

        Iterative depth-first search, so graphs deeper than Python's recursion limit work.
        """
        order: list[Tensor] = []
        visited: set[Tensor] = set()
        stack: list[tuple[Tensor, bool]] = [(self, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:  # every parent is already in `order`
                order.append(node)
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents if p not in visited)
        return order

    def backward(self) -> None:
        """Fill in ``.grad`` of every Tensor in the graph with d(self)/d(that Tensor).

        Seeds ``self.grad = 1`` (d self / d self), then applies the chain rule from the
        root towards the leaves. Gradients *accumulate* (``+=``): call
        ``Optimizer.zero_grad(params)`` between steps, as in PyTorch.
        """
        order = self.topological_order()
        self.grad = 1.0
        for node in reversed(order):
            g = node.grad
            if g == 0.0:
                continue
            for parent, local in zip(node.parents, node.local_grads, strict=True):
                parent.grad += local * g


def _const(value: object) -> float | None:
    """A plain real number as a float; None for anything else (the op returns NotImplemented)."""
    if type(value) is float or type(value) is int:
        return float(value)
    if isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    return None


def _node(data: float, parents: tuple, local_grads: tuple, op: str) -> Tensor:
    """A Tensor made by an operation: no argument checks (the engine's inner loop)."""
    t = object.__new__(Tensor)
    t.data, t.grad, t.label = data, 0.0, ""
    t.parents, t.local_grads, t.op = parents, local_grads, op
    return t


def _sigmoid(x: float) -> float:
    """Numerically stable logistic function."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
