"""Self-checks for 03_learnable_activation: one training step of an edge, its parameter budget, its last knot."""

from __future__ import annotations

import copy

import torch

from kanlab.exercises._core import (
    Feedback,
    call,
    close,
    correct,
    exercise,
    first_match,
    number,
    wrong,
)

NOTEBOOK = "03_learnable_activation"


def _setup():
    from kanlab.layer import KANLayer

    with torch.random.fork_rng():
        torch.manual_seed(0)
        edge = KANLayer(1, 1, grid=5, k=3, dtype=torch.float64)
    x = torch.linspace(-1, 1, 50, dtype=torch.float64)[:, None]
    y = torch.sin(torch.pi * x)
    return edge, x, y


def _params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _reference(edge, x, y, steps: int, zero_grad: bool = True, reduce: str = "mean"):
    model = copy.deepcopy(edge)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        if zero_grad:
            opt.zero_grad()
        err = (model(x) - y) ** 2
        (err.mean() if reduce == "mean" else err.sum()).backward()
        opt.step()
    return _params(model)


@exercise(NOTEBOOK)
def check_training_step(train_step) -> Feedback:
    """``train_step(edge, optimizer, x, y) -> float``: one step on the mean squared error (zero, backward, step)."""
    edge, x, y = _setup()
    model = copy.deepcopy(edge)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = _params(model)
    for _ in range(2):
        loss = number(call(train_step, model, opt, x, y), "the returned loss")
    after = _params(model)
    if all(torch.equal(a, b) for a, b in zip(before, after)):
        if all(p.grad is None for p in model.parameters()):
            return wrong("nothing was learned and no gradient exists", "call loss.backward() before optimizer.step()")
        return wrong("the gradients exist but the parameters did not move", "call optimizer.step() after backward()")
    def same(ref):
        return all(close(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-12) for a, b in zip(after, ref))
    if same(_reference(edge, x, y, 2)):
        return correct(f"two steps moved the edge exactly as SGD should (last loss {loss:.4f}).")
    if same(_reference(edge, x, y, 2, zero_grad=False)):
        return wrong("the second step used the sum of both steps' gradients",
                     "gradients accumulate in .grad: call optimizer.zero_grad() before each backward()")
    if same(_reference(edge, x, y, 2, reduce="sum")):
        return wrong("your loss is the sum of squared errors, 50× the mean", "use ((edge(x) - y) ** 2).mean()")
    return wrong("after two steps the parameters differ from SGD on the mean squared error",
                 "forward, loss = mean((edge(x) - y)²), zero_grad, backward, step: in that order")


@exercise(NOTEBOOK)
def check_edge_numbers(edge_numbers) -> Feedback:
    """Exercise 4: ``edge_numbers(in_dim, out_dim, G, k)``: the numbers that shape a KAN layer's edges."""
    for args in ((10, 10, 5, 3), (3, 2, 10, 3), (1, 1, 20, 1)):
        n_in, n_out, G, k = args
        got, want = number(call(edge_numbers, *args), f"edge_numbers{args}"), n_in * n_out * (G + k + 2)
        if got == want:
            continue
        return first_match(got, [
            (n_in * n_out * (G + k), f"edge_numbers{args} = {got:g} counts only coef (what coef.numel() gives)",
             "each edge also has its two scales w_b and w_s: G + k + 2 numbers per edge"),
            (n_in * n_out + n_out, f"edge_numbers{args} = {got:g} is a torch.nn.Linear layer", "count per edge: G + k + 2"),
            (n_in * n_out * (G + k + 3), f"edge_numbers{args} = {got:g}: one too many per edge",
             "G + k coefficients (k is the degree), not G + k + 1"),
            (n_in * n_out * (G + k + 6), f"edge_numbers{args} = {got:g} includes sym_affine",
             "sym_affine is frozen until an edge is snapped to a formula (07): leave it out"),
        ]) or wrong(f"edge_numbers{args} = {got:g}, expected {want}", "edges × (G + k + 2)")
    return correct("in·out·(G + k + 2): for 10 → 10, G = 5, k = 3 that is 1000 (coef.numel() alone is 800).")


@exercise(NOTEBOOK)
def check_last_knot(last_knot) -> Feedback:
    """``last_knot(G, k, lo, hi)``: where the rightmost knot sits (beyond it the spline part is exactly 0)."""
    for G, k, lo, hi in ((20, 3, -1.0, 1.0), (10, 3, -1.0, 1.0), (5, 2, 0.0, 4.0)):
        h = (hi - lo) / G
        got = number(call(last_knot, G, k, lo, hi), f"last_knot({G}, {k}, {lo}, {hi})")
        if abs(got - (hi + k * h)) < 1e-9:
            continue
        return first_match(got, [
            (hi, "that is the end of the grid range", "k extension knots follow it, spaced h = (hi − lo)/G"),
            (hi + (k + 1) * h, "one interval too far", "k extension knots on each side, not k + 1"),
            (hi + k * (hi - lo) / (G + 1), "the spacing is (hi − lo)/G: G intervals, G + 1 points", "h = (hi − lo)/G"),
        ]) or wrong(f"last_knot({G}, {k}, {lo}, {hi}) = {got:g}, expected {hi + k * h:g}", "hi + k·h with h = (hi − lo)/G")
    return correct("hi + k·(hi − lo)/G: 1.3 for G = 20, k = 3 on [-1, 1].")
