"""Self-checks for 10_discovering_laws: the mixed-derivative test, a dimensionless group, the shape."""

from __future__ import annotations

import torch

from kanlab.exercises._core import Feedback, Wrong, call, correct, exercise, number, wrong

NOTEBOOK = "10_discovering_laws"


def _law(x: torch.Tensor) -> torch.Tensor:
    """The test function of check_mixed_derivative: x₀²·x₁ + sin(x₂)."""
    return x[:, 0] ** 2 * x[:, 1] + torch.sin(x[:, 2])


@exercise(NOTEBOOK)
def check_mixed_derivative(mixed) -> Feedback:
    """``mixed(f, x, i, j) -> float``: the mean of |∂²f/∂x_i∂x_j| over the points x (batch, n).

    Checked on f = x₀²·x₁ + sin(x₂) at fixed points: ∂²f/∂x₀∂x₁ = 2x₀, ∂²f/∂x₀∂x₂ = 0.
    """
    g = torch.Generator().manual_seed(0)
    x = torch.rand(50, 3, generator=g, dtype=torch.float64) + 0.5
    want01 = float((2 * x[:, 0]).abs().mean())
    got01 = number(call(mixed, _law, x.clone(), 0, 1), "mixed(f, x, 0, 1)")
    got02 = number(call(mixed, _law, x.clone(), 0, 2), "mixed(f, x, 0, 2)")
    if abs(got01 - want01) < 1e-6 and abs(got02) < 1e-9:
        return correct(f"∂²f/∂x₀∂x₁ averages {want01:.4f} (x₀ and x₁ interact), ∂²f/∂x₀∂x₂ is 0: "
                       "x₂ separates additively.")
    if abs(got01 - float(x[:, 1].mul(2).abs().mean())) < 1e-6 or abs(got01 - float(x[:, 0].pow(2).abs().mean())) < 1e-6:
        return wrong("that is a first or a pure second derivative, not the mixed one",
                     "differentiate ∂f/∂x_i once more, then take its component j")
    if abs(got02) >= 1e-9:
        return wrong(f"mixed(f, x, 0, 2) = {got02:.3g}, but x₂ enters only through sin(x₂) added on",
                     "take the gradient of grad[:, i].sum() (create_graph=True in the first grad) and read column j")
    return wrong(f"mixed(f, x, 0, 1) = {got01:.4g}, expected {want01:.4g}",
                 "grad = autograd.grad(f(x).sum(), x, create_graph=True)[0]; "
                 "h = autograd.grad(grad[:, i].sum(), x)[0]; return h[:, j].abs().mean()")


def _group_law(x: torch.Tensor) -> torch.Tensor:
    """f(x, y, z) = z·exp(−x/y): x and y enter only through x/y."""
    return x[:, 2] * torch.exp(-x[:, 0] / x[:, 1])


@exercise(NOTEBOOK)
def check_group(h) -> Feedback:
    """``h(x) -> (batch,)``: the one combination of x[:, 0] and x[:, 1] through which
    f = x₂·exp(−x₀/x₁) depends on them (judged by ``kanlab.science.symmetry``)."""
    from kanlab.science import symmetry

    g = torch.Generator().manual_seed(1)
    x = torch.rand(200, 3, generator=g, dtype=torch.float64) + 0.5
    out = call(h, x.clone())
    if not isinstance(out, torch.Tensor) or out.shape != (200,):
        raise Wrong(f"h(x) returned {type(out).__name__} of shape {tuple(getattr(out, 'shape', ()))}, expected (batch,)",
                    "return a tensor with one value per row, e.g. x[:, 0] - x[:, 1]")
    if not out.requires_grad and torch.allclose(out, out[:1].expand_as(out)):
        raise Wrong("h(x) is a constant", "h must depend on x[:, 0] and x[:, 1]")
    test = symmetry(_group_law, x, [0, 1], h=h)
    if test.holds:
        return correct(f"f depends on x₀, x₁ only through your h (violation {test.score:.1e}); "
                       "x₀/x₁ — or any function of it, like x₁/x₀ or log x₀ − log x₁ — is the group.")
    if symmetry(h, x, [0, 1], h=lambda z: z[:, 0] * z[:, 1]).holds:  # h is a function of x₀·x₁
        return wrong("that is the product x₀·x₁", "look at how x₀ and x₁ appear in exp(−x₀/x₁)")
    return wrong(f"f is not a function of your h alone (violation {test.score:.2f}, 0 would be exact)",
                 "the gradient of f in (x₀, x₁) must be parallel to the gradient of h everywhere")


SHAPES = ("product", "sum", "outer")


@exercise(NOTEBOOK)
def check_shapes(answer) -> Feedback:
    """``answer``: a dict from the three laws to the shape ``choose_shape`` picks,
    one of "product", "sum", "outer" for ``{"a": x·exp(y), "b": sin x + y², "c": (x + y)/(1 + xy)}``."""
    want = {"a": "product", "b": "sum", "c": "outer"}
    if not isinstance(answer, dict) or set(answer) != set(want):
        raise Wrong(f"expected a dict with keys 'a', 'b', 'c', got {answer!r}",
                    'e.g. {"a": "product", "b": "sum", "c": "outer"}')
    bad = [k for k in want if answer[k] not in SHAPES]
    if bad:
        raise Wrong(f"{', '.join(f'{k}={answer[k]!r}' for k in bad)}: the shapes are {SHAPES}")
    if answer == want:
        return correct("x·exp(y) splits as a product, sin x + y² as a sum, and (x + y)/(1 + xy) as "
                       "neither — it needs F(g(x) + h(y)) (tanh of the rapidities).")
    if answer["a"] != "product":  # the first wrong entry gets the hint
        return wrong("x·exp(y) is a product of a function of x and one of y",
                     "∂²/∂x∂y of x·exp(y) is exp(y) ≠ 0; of log(x·exp(y)) = log x + y it is 0")
    if answer["b"] != "sum":
        return wrong("sin x + y² is a sum", "its mixed derivative ∂²f/∂x∂y is 0")
    return wrong("(x + y)/(1 + xy) is neither a sum nor a product of one-variable functions",
                 "check ∂²f/∂x∂y and ∂²(log|f|)/∂x∂y: neither vanishes")
