"""Self-checks for 04_kan_from_scratch: extending the miniature Value engine, one scalar training step."""

from __future__ import annotations

import math

from kanlab.exercises._core import Feedback, Wrong, call, correct, exercise, wrong

NOTEBOOK = "04_kan_from_scratch"


def _backward(root) -> None:
    """Reverse-mode sweep over .parents / .local_grads (the notebook's miniature Value protocol)."""
    order, seen = [], set()

    def visit(v) -> None:
        if id(v) not in seen:
            seen.add(id(v))
            for p in v.parents:
                visit(p)
            order.append(v)

    visit(root)
    for v in order:
        v.grad = 0.0
    root.grad = 1.0
    for v in reversed(order):
        for p, local in zip(v.parents, v.local_grads):
            p.grad += local * v.grad


@exercise(NOTEBOOK)
def check_value_ops(Value) -> Feedback:  # noqa: N803 (the student's class)
    """Exercise 2: the notebook's ``Value`` with ``tanh`` and ``__sub__`` attached, checked on tanh(x·w − b)."""
    if not isinstance(Value, type):
        raise Wrong(f"pass the class itself, got {type(Value).__name__}", "check_value_ops(Value)")
    for name in ("tanh", "__sub__"):
        if name not in vars(Value) and not callable(getattr(Value, name, None)):
            raise Wrong(f"Value has no {name}", f"define {name} and attach it: Value.{name} = ...")
    xv, wv, bv = Value(0.5), Value(2.0), Value(0.3)
    diff = call(lambda: xv * wv - bv)  # a stub __sub__ returns None: not answered yet
    if not isinstance(diff, Value):
        raise Wrong(f"x * w - b returned {type(diff).__name__}, not a Value",
                    "__sub__ must return Value(self.data - other.data, (self, other), (1.0, -1.0), '-')")
    out = call(diff.tanh)
    if not isinstance(out, Value):
        raise Wrong(f"(x * w - b).tanh() returned {type(out).__name__}, not a Value",
                    "tanh must return Value(t, (self,), (1 - t * t,), 'tanh') with t = math.tanh(self.data)")
    if abs(diff.data - 0.7) > 1e-12:
        return wrong(f"x * w - b = {diff.data:.6f}, expected 0.5 · 2 − 0.3 = 0.7",
                     "the forward value of a − b is a.data − b.data")
    t = math.tanh(0.5 * 2.0 - 0.3)
    if abs(out.data - t) > 1e-12:
        return wrong(f"value {out.data:.6f}, expected tanh(0.7) = {t:.6f}", "the forward value is math.tanh(self.data)")
    _backward(out)
    d = 1 - t * t
    want = {"x": d * 2.0, "w": d * 0.5, "b": -d}
    got = {"x": xv.grad, "w": wv.grad, "b": bv.grad}
    if all(abs(got[n] - want[n]) < 1e-9 for n in want):
        return correct(f"dtanh/dx = (1 − tanh²)·w = {want['x']:.6f}, and db gets the minus sign.")
    if all(g == 0.0 for g in got.values()):
        return wrong("no gradient reached x, w or b", "the Value that tanh (or __sub__) returns must record its "
                     "parents and local gradients: Value(t, (self,), (1 - t * t,), 'tanh')")
    if abs(got["b"] + want["b"]) < 1e-9:
        return wrong(f"d/db = {got['b']:.4f} has the wrong sign", "the local gradients of a − b are (1, −1)")
    if abs(got["x"] - (1 - t) * 2.0) < 1e-9:
        return wrong("the local derivative of tanh is 1 − tanh², not 1 − tanh", "d tanh(u)/du = 1 − tanh(u)²")
    return wrong(f"gradients {got}, expected {want}", "check each op's local_grads: one per parent, in order")


def _task():
    return [[0.25, 0.25], [0.25, 0.75], [0.75, 0.25], [0.75, 0.75]], [0.25, 0.75, 0.75, 0.25]


def _run(step, n: int, *, zero: bool = True, mean: bool = False) -> list[float]:
    from kanlab.scalar import KAN, Optimizer, Tensor, compute_loss

    model, optim = KAN(2, [2, 1], seed=0), Optimizer(lr=0.05)
    xs, ys = _task()
    xs = [[Tensor(v) for v in row] for row in xs]
    for _ in range(n):
        if step is not None:
            call(step, model, optim, xs, ys)  # returns the epoch's summed loss
            continue
        total = Tensor(0)
        for x, y in zip(xs, ys):
            total = total + compute_loss(model(x), y)
        if mean:
            total = total * (1 / len(ys))
        if zero:
            optim.zero_grad(model.parameters())
        total.backward()
        optim.step(model.parameters())
    return [p.data for p in model.parameters()]


@exercise(NOTEBOOK)
def check_scalar_step(train_step) -> Feedback:
    """``train_step(model, optim, xs, ys) -> float``: one epoch of the 4-point task (summed loss), returning that loss."""
    start = _run(None, 0)
    if not callable(train_step):
        raise Wrong(f"expected a function, got {type(train_step).__name__}")
    got = _run(train_step, 3)
    if got == start:
        return wrong("the parameters did not change", "losses.backward(), then optim.step(model.parameters())")
    if all(abs(a - b) < 1e-12 for a, b in zip(got, _run(None, 3))):
        return correct("three epochs match the reference loop: zero_grad, backward, step.")
    if all(abs(a - b) < 1e-12 for a, b in zip(got, _run(None, 3, zero=False))):
        return wrong("each epoch added its gradients to the previous ones",
                     "call optim.zero_grad(model.parameters()) before losses.backward()")
    if all(abs(a - b) < 1e-12 for a, b in zip(got, _run(None, 3, mean=True))):
        return wrong("that trains on the mean of the four losses: each step is 4× smaller than the reference's",
                     "the course loop sums: total = total + compute_loss(model(x), y), with no division by 4")
    return wrong("after three epochs the parameters differ from the reference loop",
                 "sum compute_loss(model(x), y) over the four samples, then zero_grad, backward, step")
