"""10_discovering_laws' self-checks: the reference solutions pass, the usual mistakes get their hints."""

from __future__ import annotations

import torch

from kanlab.exercises.discovering_laws import check_group, check_mixed_derivative, check_shapes


def mixed(f, x, i, j):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(grad[:, i].sum(), x)
    return h[:, j].abs().mean()


def first_derivative(f, x, i, j):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    return grad[:, j].abs().mean()


def test_stubs_are_not_answered() -> None:
    for check in (check_mixed_derivative, check_group, check_shapes):
        assert check.judge(...).status == "unanswered"
    assert check_mixed_derivative.judge(lambda f, x, i, j: None).status == "unanswered"


def test_mixed_derivative() -> None:
    assert check_mixed_derivative.judge(mixed).ok
    fb = check_mixed_derivative.judge(first_derivative)
    assert not fb.ok and "first or a pure second" in fb.message
    fb = check_mixed_derivative.judge(lambda f, x, i, j: 1 / 0)
    assert not fb.ok and "ZeroDivisionError" in fb.message


def test_group() -> None:
    assert check_group.judge(lambda x: x[:, 0] / x[:, 1]).ok
    assert check_group.judge(lambda x: torch.log(x[:, 1]) - torch.log(x[:, 0])).ok
    fb = check_group.judge(lambda x: x[:, 0] * x[:, 1])
    assert not fb.ok and "product" in fb.message
    fb = check_group.judge(lambda x: x[:, 0] - x[:, 1])
    assert not fb.ok and "not a function of your h" in fb.message
    fb = check_group.judge(lambda x: x[:, :2])
    assert not fb.ok and "(batch,)" in fb.message


def test_shapes() -> None:
    assert check_shapes.judge({"a": "product", "b": "sum", "c": "outer"}).ok
    fb = check_shapes.judge({"a": "sum", "b": "sum", "c": "outer"})
    assert not fb.ok and "x·exp(y)" in fb.message
    fb = check_shapes.judge({"a": "product", "b": "sum", "c": "product"})
    assert not fb.ok and "neither" in fb.message
    fb = check_shapes.judge({"a": "outer", "b": "sum", "c": "outer"})  # only a is wrong: a's hint
    assert not fb.ok and "x·exp(y)" in fb.message
    fb = check_shapes.judge({"a": "product", "b": "outer", "c": "outer"})
    assert not fb.ok and "sin x + y²" in fb.message
    fb = check_shapes.judge({"a": "product", "b": "sum", "c": "mult"})
    assert not fb.ok and "the shapes are" in fb.message
    assert not check_shapes.judge(["product"]).ok
