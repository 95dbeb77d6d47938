"""The notebooks' self-checks: each reference solution passes, each usual mistake gets its hint.

``RIGHT`` lists, per check, answers that must be judged correct (the notebook's hidden
solution); ``MISTAKES`` lists typical wrong answers with a phrase their feedback must contain.
Every check in the modules named in ``MODULES`` must appear in both, and every check must say
"not answered yet" for the untouched stub (``...``).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

from kanlab.exercises import Exercise, Feedback
from kanlab.exercises._core import close, exercise, first_match, is_stub, number, wrong

MODULES = [
    "start_here", "kolmogorov_arnold_theorem", "bsplines", "learnable_activation", "kan_from_scratch",
    "vectorized_kan", "function_fitting", "interpretability", "solving_pdes", "kan_vs_mlp",
]


def _silu(x: float) -> float:
    return x / (1 + math.exp(-x))


def _edges(w):
    return sum(a * b for a, b in zip(w[:-1], w[1:]))


# --- reference solutions (the notebooks' hidden solutions) and typical mistakes ------------------
def _hat(x, t, m):
    return BSpline.basis_element(t[m:m + 3], extrapolate=False)(x).__array__().copy()


def _hat_ref(x, t, m):
    out = np.nan_to_num(BSpline.basis_element(t[m:m + 3], extrapolate=False)(x))
    out[x == t[m + 2]] = 0.0
    return out


def _step(zero=True, reduce="mean", backward=True, step=True):
    def train_step(edge, optimizer, x, y):
        if zero:
            optimizer.zero_grad()
        err = (edge(x) - y) ** 2
        loss = err.mean() if reduce == "mean" else err.sum()
        if backward:
            loss.backward()
        if step:
            optimizer.step()
        return loss.item()
    return train_step


class _V:
    """The notebook's miniature Value, with tanh and __sub__ (sign/derivative switchable)."""

    def __init__(self, data, parents=(), local_grads=(), op=""):
        self.data, self.grad, self.parents, self.local_grads, self.op = data, 0.0, parents, local_grads, op

    def __add__(self, other):
        return type(self)(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        return type(self)(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __sub__(self, other):
        return type(self)(self.data - other.data, (self, other), (1.0, -1.0), "-")

    def tanh(self):
        t = math.tanh(self.data)
        return type(self)(t, (self,), (1 - t * t,), "tanh")


class _VBadSub(_V):
    def __sub__(self, other):
        return type(self)(self.data - other.data, (self, other), (1.0, 1.0), "-")


class _VBadTanh(_V):
    def tanh(self):
        t = math.tanh(self.data)
        return type(self)(t, (self,), (1 - t,), "tanh")


class _VStub(_V):
    """The notebook's stub: tanh and __sub__ still `...` (they return None)."""

    def __sub__(self, other):
        ...

    def tanh(self):
        ...


class _VNoParents(_V):
    def tanh(self):
        return type(self)(math.tanh(self.data))


def _scalar_step(zero=True, mean=False):
    from kanlab.scalar import Tensor, compute_loss

    def train_step(model, optim, xs, ys):
        total = Tensor(0)
        for x, y in zip(xs, ys):
            total = total + compute_loss(model(x), y)
        if mean:
            total = total / len(ys)
        if zero:
            optim.zero_grad(model.parameters())
        total.backward()
        optim.step(model.parameters())
        return total.data
    return train_step


def _one_matmul(layer, x):
    """The layer as literally one matmul: [B, silu(x)] per input against [scale_sp·coef, scale_base]."""
    from kanlab.splines import bspline_basis

    feats = torch.cat([bspline_basis(x, layer.knots, layer.k), torch.nn.functional.silu(x)[..., None]], dim=2)
    W = torch.cat([layer.scale_sp.unsqueeze(-1) * layer.coef, layer.scale_base.unsqueeze(-1)], dim=2)
    return feats.reshape(x.shape[0], -1) @ W.reshape(layer.out_dim, -1).T


def _edge_acts(scale_sp=True, base=True, order="bji"):
    from kanlab.splines import bspline_basis

    def f(layer, x):
        B = bspline_basis(x, layer.knots, layer.k)
        spline = torch.einsum("bic,jic->bji", B, layer.coef)
        phi = (layer.scale_sp * spline if scale_sp else spline)
        if base:
            phi = phi + layer.scale_base * torch.nn.functional.silu(x)[:, None, :]
        return phi.transpose(1, 2) if order == "bij" else phi
    return f


def _matmul(scale_sp=True, base=True, transpose=False):
    from kanlab.splines import bspline_basis

    def f(layer, x):
        B = bspline_basis(x, layer.knots, layer.k).reshape(x.shape[0], -1)
        W = layer.scale_sp.unsqueeze(-1) * layer.coef if scale_sp else layer.coef
        if transpose:
            W = W.transpose(1, 2)
        y = B @ W.reshape(layer.out_dim, -1).T
        return y + torch.nn.functional.silu(x) @ layer.scale_base.T if base else y
    return f


def _cheb(x, n):
    T = [torch.ones_like(x), x]
    for _ in range(2, n):
        T.append(2 * x * T[-1] - T[-2])
    return torch.stack(T[:n], dim=1)


def _laplacian(u, x, both=True):
    x = x.clone().requires_grad_(True)
    g = torch.autograd.grad(u(x).sum(), x, create_graph=True)[0]
    lap = torch.autograd.grad(g[:, 0].sum(), x, create_graph=True)[0][:, 0]
    if both:
        lap = lap + torch.autograd.grad(g[:, 1].sum(), x, create_graph=True)[0][:, 1]
    return lap


def _kept(in_s, out_s, th, rule="and", reduce="max"):
    red = (lambda t, d: t.max(dim=d).values) if reduce == "max" else (lambda t, d: t.mean(dim=d))
    a, b = red(in_s, 1) > th, red(out_s, 0) > th
    keep = (a & b) if rule == "and" else (a | b)
    return [i for i in range(len(keep)) if keep[i]]


def _entropy(l1):
    p = l1 / l1.sum()
    return float(-(p * p.log()).sum())


def _r2(y, y_hat):
    return float(1 - ((y - y_hat) ** 2).sum() / ((y - y.mean()) ** 2).sum())


# check name -> answers (each a tuple of arguments) that must be judged correct
RIGHT: dict[str, list[tuple]] = {
    "start_here.check_n_edges": [(_edges,), (lambda w: sum(w[i] * w[i + 1] for i in range(len(w) - 1)),)],
    "start_here.check_n_bases": [(lambda G, k: G + k,)],
    "start_here.check_phi_outside": [(2 * _silu(3.0),), (torch.tensor(2 * _silu(3.0)),), (5.7154,)],
    "kolmogorov_arnold_theorem.check_ka_counts": [(lambda n: (2 * n + 1, n * (2 * n + 1)),)],
    "kolmogorov_arnold_theorem.check_velocity_addition": [([[np.arctanh, np.arctanh]], [np.tanh])],
    "kolmogorov_arnold_theorem.check_negative_division": [
        ([[np.log, lambda y: -np.log(-y)]], [lambda s: -np.exp(s)])],
    "bsplines.check_spline_counts": [((9, 6, 3),)],
    "bsplines.check_hat": [(_hat_ref,)],
    "bsplines.check_least_squares": [(lambda A, y: np.linalg.solve(A.T @ A, A.T @ y),),
                                     (lambda A, y: torch.linalg.lstsq(torch.tensor(A), torch.tensor(y)[:, None]).solution[:, 0],)],
    "learnable_activation.check_training_step": [(_step(),)],
    "learnable_activation.check_edge_numbers": [(lambda i, o, G, k: i * o * (G + k + 2),)],
    "learnable_activation.check_last_knot": [(lambda G, k, lo, hi: hi + k * (hi - lo) / G,)],
    "kan_from_scratch.check_value_ops": [(_V,)],
    "kan_from_scratch.check_scalar_step": [(_scalar_step(),)],
    "vectorized_kan.check_layer_matmul": [(_matmul(),), (_one_matmul,)],
    "vectorized_kan.check_edge_activations": [(_edge_acts(),)],
    "vectorized_kan.check_param_count": [((300, 26),), ([300, torch.tensor(26)],)],
    "vectorized_kan.check_basis_memory": [(lambda b, i, G, k: b * i * (G + k) * 4 / 2**20,)],
    "function_fitting.check_theory_exponent": [(lambda k: -(k + 1),)],
    "function_fitting.check_loglog_slope": [(lambda G, r: np.polyfit(np.log(G), np.log(r), 1)[0],),
                                            (lambda G, r: np.polyfit(np.log10(G), np.log10(r), 1)[0],)],
    "function_fitting.check_seed_summary": [(lambda r: (np.median(r), max(r)),),
                                            (lambda r: [float(np.median(r)), np.max(r)],)],
    "interpretability.check_entropy": [(_entropy,)],
    "interpretability.check_kept_nodes": [(_kept,)],
    "interpretability.check_r2": [(_r2,)],
    "solving_pdes.check_pinn_loss": [(lambda r, b, a: a * (r**2).mean() + (b**2).mean(),)],
    "solving_pdes.check_laplacian": [(_laplacian,)],
    "kan_vs_mlp.check_chebyshev": [(_cheb,)],
    "kan_vs_mlp.check_support_width": [(lambda G, k, lo, hi: (k + 1) * (hi - lo) / G,)],
}

# check name -> (answer arguments, phrase the feedback must contain)
MISTAKES: dict[str, list[tuple[tuple, str]]] = {
    "start_here.check_n_edges": [
        ((lambda w: sum(w),), "number of nodes"),
        ((lambda w: math.prod(w),), "multiplies all"),
        ((lambda w: w[0] * w[1],), "first layer only"),
        ((lambda w: _edges(w) + sum(w[1:]),), "biases"),
        ((lambda w: 7,), "expected"),
        ((lambda w: None,), "returned None"),
    ],
    "start_here.check_n_bases": [
        ((lambda G, k: G + k + 1,), "polynomial degree"),
        ((lambda G, k: G + 2 * k + 1,), "number of knots"),
        ((lambda G, k: G + 1,), "grid points"),
        ((lambda G, k: G,), "intervals"),
        ((lambda G, k: G * k,), "expected"),
        ((lambda G, k: 1 / 0,), "ZeroDivisionError"),
        ((8,), "expected a function"),
    ],
    "start_here.check_phi_outside": [
        ((0.0,), "base term"),
        ((6.0,), "silu(3) as 3"),
        ((2 / (1 + math.exp(-3)),), "sigmoid"),
        ((_silu(3.0),), "w_b = 2"),
        ((4.0,), "past the knot"),
        ((True,), "boolean"),
        ((torch.ones(3),), "shape (3,)"),
    ],
    "kolmogorov_arnold_theorem.check_ka_counts": [
        ((lambda n: (n * (2 * n + 1), 2 * n + 1),), "swapped"),
        ((lambda n: (2 * n, 2 * n * n),), "not 2n"),
        ((lambda n: (2 * n + 1, 2 * n + 1),), "n inner functions"),
        ((lambda n: 3,), "return a pair"),
    ],
    "kolmogorov_arnold_theorem.check_velocity_addition": [
        (([[np.tanh, np.tanh]], [np.arctanh]), "swapped"),
        (([[lambda x: x, lambda y: y]], [np.tanh]), "is not"),
        (([np.arctanh, np.arctanh], [np.tanh]), "list of rows"),
        (([[np.arctanh, np.arctanh]], [np.tanh, np.tanh]), "one function per row"),
        (([[np.arctanh, np.arctanh]], [np.exp]), "max |composition"),
    ],
    "kolmogorov_arnold_theorem.check_negative_division": [
        (([[np.log, np.log]], [np.exp]), "NaN"),
        (([[np.log, lambda y: -np.log(-y)]], [np.exp]), "sign is lost"),
    ],
    "bsplines.check_spline_counts": [
        (((5, 6, 3),), "grid points"), (((9, 7, 3),), "degree"), (((9, 6, 2),), "k + 1"),
        (((9, 6, ...),), "Not answered yet"), ((7,), "three numbers"),
    ],
    "bsplines.check_hat": [
        ((lambda x, t, m: _hat_ref(x, t, m + 1),), "off-by-one"),
        ((lambda x, t, m: np.where((x >= t[m]) & (x < t[m + 2]),
                                   1 - np.abs(x - t[m + 1]) / ((t[m + 2] - t[m]) / 2), 0),), "evenly spaced"),
        ((lambda x, t, m: 2 * _hat_ref(x, t, m),), "peak"),
        ((lambda x, t, m: x[:3],), "shape"),
    ],
    "bsplines.check_least_squares": [
        ((lambda A, y: A.T @ y,), "right-hand side"),
        ((lambda A, y: np.linalg.solve(A, y),), "LinAlgError"),
        ((lambda A, y: np.zeros(6),), "not the least-squares"),
    ],
    "learnable_activation.check_training_step": [
        ((_step(zero=False),), "zero_grad"),
        ((_step(reduce="sum"),), "sum of squared errors"),
        ((_step(backward=False, step=False),), "backward"),
        ((_step(step=False),), "optimizer.step()"),
        ((lambda e, o, x, y: None,), "returned None"),
    ],
    "learnable_activation.check_edge_numbers": [
        ((lambda i, o, G, k: i * o * (G + k),), "coef.numel()"),
        ((lambda i, o, G, k: i * o + o,), "nn.Linear"),
        ((lambda i, o, G, k: i * o * (G + k + 3),), "k is the degree"),
        ((lambda i, o, G, k: i * o * (G + k + 6),), "sym_affine"),
    ],
    "learnable_activation.check_last_knot": [
        ((lambda G, k, lo, hi: hi,), "end of the grid range"),
        ((lambda G, k, lo, hi: hi + (k + 1) * (hi - lo) / G,), "one interval too far"),
        ((lambda G, k, lo, hi: hi + k * (hi - lo) / (G + 1),), "G intervals"),
    ],
    "kan_from_scratch.check_value_ops": [
        ((_VBadSub,), "wrong sign"), ((_VBadTanh,), "1 − tanh²"), ((_V(1.0),), "class itself"),
        ((_VStub,), "Not answered yet"), ((_VNoParents,), "record its parents"),
    ],
    "kan_from_scratch.check_scalar_step": [
        ((_scalar_step(zero=False),), "zero_grad"), ((_scalar_step(mean=True),), "mean of the four"),
        ((lambda m, o, xs, ys: 0.0,), "did not change"),
        ((lambda m, o, xs, ys: None,), "returned None"),
    ],
    "vectorized_kan.check_layer_matmul": [
        ((_matmul(scale_sp=False),), "scale_sp"), ((_matmul(base=False),), "base term"),
        ((_matmul(transpose=True),), "wrong order"),
        ((lambda layer, x: torch.zeros(7, 3),), "shape"),
    ],
    "vectorized_kan.check_edge_activations": [
        ((_edge_acts(order="bij"),), "(batch, in, out)"), ((_edge_acts(scale_sp=False),), "scale_sp"),
        ((_edge_acts(base=False),), "base term"), ((lambda layer, x: layer(x),), "summed over i"),
        ((lambda layer, x: torch.zeros(7, 4, 3),), "differ"),
    ],
    "vectorized_kan.check_param_count": [
        (((260, 26),), "two scales"), (((340, 26),), "knots"), (((380, 26),), "sym_affine"),
        (((320, 26),), "degree"), (((150, 26),), "nodes"), (((300, 20),), "biases"),
        (((300, 29),), "input side"), (((300, 30),), "input layer"), (((300,),), "two numbers"),
        (((True, 26),), "boolean"),
    ],
    "vectorized_kan.check_basis_memory": [
        ((lambda b, i, G, k: b * i * (G + k) / 2**20,), "bytes"),
        ((lambda b, i, G, k: b * i * (G + k) * 4 / 1e6,), "megabytes"),
        ((lambda b, i, G, k: b * i * (G + k + 1) * 4 / 2**20,), "one basis too many"),
        ((lambda b, i, G, k: b * i * (G + k) * 8 / 2**20,), "float64"),
    ],
    "function_fitting.check_theory_exponent": [
        ((lambda k: -4,), "cubics only"), ((lambda k: -k,), "one short"), ((lambda k: k + 1,), "sign"),
    ],
    "function_fitting.check_loglog_slope": [
        ((lambda G, r: 1 / np.polyfit(np.log(G), np.log(r), 1)[0],), "swapped"),
        ((lambda G, r: np.polyfit(G, r, 1)[0],), "linear axes"),
        ((lambda G, r: np.polyfit(np.log(G), r, 1)[0],), "log of rmse"),
        ((lambda G, r: np.polyfit(np.log(G), np.log(r), 1)[1],), "intercept"),
    ],
    "function_fitting.check_seed_summary": [
        ((lambda r: (max(r), np.median(r)),), "swapped"),
        ((lambda r: (np.mean(r), max(r)),), "is the mean"),
        ((lambda r: (sorted(r)[len(r) // 2], max(r)),), "two middle values"),
        ((lambda r: (np.median(r), min(r)),), "largest"),
        ((lambda r: (min(r), max(r)),), "best seed"),
        ((lambda r: np.median(r),), "two numbers"),
    ],
    "interpretability.check_entropy": [
        ((lambda l1: float(-(l1 * l1.log()).sum()),), "normalised"),
        ((lambda l1: -_entropy(l1),), "sign"),
        ((lambda l1: float(-((l1 / l1.sum()) * (l1 / l1.sum()).log2()).sum()),), "bits"),
        ((lambda l1: float(l1.sum()),), "L1 term"),
    ],
    "interpretability.check_kept_nodes": [
        ((lambda a, b, t: _kept(a, b, t, rule="or"),), "AND"),
        ((lambda a, b, t: _kept(a, b, t, reduce="mean"),), "maximum"),
        ((lambda a, b, t: 3,), "list of node indices"),
    ],
    "interpretability.check_r2": [
        ((lambda y, h: float(1 - ((y - h) ** 2).sum() / (y**2).sum()),), "mean"),
        ((lambda y, h: 1 - _r2(y, h),), "1 − R²"),
        ((lambda y, h: float(torch.corrcoef(torch.stack([y, h]))[0, 1]),), "correlation"),
    ],
    "solving_pdes.check_pinn_loss": [
        ((lambda r, b, a: (r**2).mean() + a * (b**2).mean(),), "boundary term"),
        ((lambda r, b, a: a * (r**2).sum() + (b**2).sum(),), "sums instead of means"),
        ((lambda r, b, a: a * r.abs().mean() + b.abs().mean(),), "squares"),
    ],
    "solving_pdes.check_laplacian": [
        ((lambda u, x: _laplacian(u, x, both=False),), "u_xx only"),
        ((lambda u, x: torch.autograd.grad(u(x).sum(), x)[0],), "requires_grad"),
        ((lambda u, x: torch.zeros(30, 2),), "shape"),
    ],
    "kan_vs_mlp.check_chebyshev": [
        ((lambda x, n: _cheb(x, n + 1)[:, 1:],), "start at T_1"),
        ((lambda x, n: torch.stack([x**c for c in range(n)], 1),), "monomials"),
        ((lambda x, n: _cheb(x, n + 1),), "shape"),
    ],
    "kan_vs_mlp.check_support_width": [
        ((lambda G, k, lo, hi: k * (hi - lo) / G,), "one interval short"),
        ((lambda G, k, lo, hi: (hi - lo) / G,), "one interval"),
        ((lambda G, k, lo, hi: (k + 1) / G,), "length 1"),
    ],
}


def _check(name: str) -> Exercise:
    module, attribute = name.split(".")
    return getattr(importlib.import_module(f"kanlab.exercises.{module}"), attribute)


def _all_checks() -> list[str]:
    names = []
    for module in MODULES:
        mod = importlib.import_module(f"kanlab.exercises.{module}")
        names += [f"{module}.{n}" for n, v in vars(mod).items() if isinstance(v, Exercise)]
    return sorted(names)


@pytest.mark.parametrize("name", _all_checks())
def test_every_check_is_tested_and_says_not_answered_for_a_stub(name) -> None:
    assert name in RIGHT and name in MISTAKES, f"{name}: add its reference and typical mistakes"
    check = _check(name)
    assert check.notebook and check.__doc__
    n_args = len(RIGHT[name][0])
    verdict = check.judge(*([...] * n_args))
    assert verdict.status == "unanswered" and "Not answered yet" in str(verdict)


@pytest.mark.parametrize("name,answer", [(n, a) for n, answers in RIGHT.items() for a in answers])
def test_reference_solution_passes(name, answer) -> None:
    verdict = _check(name).judge(*answer)
    assert verdict.ok, f"{name}: {verdict}"
    assert str(verdict).startswith("✅ Correct.")


@pytest.mark.parametrize(
    "name,answer,phrase", [(n, a, p) for n, cases in MISTAKES.items() for a, p in cases]
)
def test_typical_mistake_gets_its_hint(name, answer, phrase) -> None:
    verdict = _check(name).judge(*answer)
    assert verdict.status in ("wrong", "unanswered"), f"{name} accepted a wrong answer: {verdict}"
    assert phrase in str(verdict), f"{name}: {phrase!r} not in {str(verdict)!r}"
    if verdict.status == "wrong":
        assert "Not yet" in str(verdict)


# --- the machinery ------------------------------------------------------------------------------
def test_check_prints_once_and_returns_none(capsys) -> None:
    check = _check("start_here.check_n_bases")
    assert check(lambda G, k: G + k) is None
    assert capsys.readouterr().out.startswith("✅ Correct.")
    check(...)
    assert "Not answered yet" in capsys.readouterr().out
    assert repr(check) == "Exercise('check_n_bases', notebook='00_start_here')"


def test_stubs_and_helpers() -> None:
    assert is_stub(...) and is_stub([1, ...]) and is_stub({"a": ...}) and not is_stub([1, 2])
    assert number(torch.tensor([2.5])) == 2.5 and close([1, 2], [1, 2 + 1e-9])
    assert not close([1, 2], [1, 2, 3])
    assert first_match(3.0, [(2.0, "two", ""), (3.0, "three", "h")]).message == "three"
    assert first_match(4.0, [(2.0, "two", "")]) is None


def test_a_judge_that_returns_no_feedback_is_a_bug_of_the_check() -> None:
    @exercise("nowhere")
    def check_broken(answer):
        return True

    with pytest.raises(TypeError, match="not a Feedback"):
        check_broken.judge(1)
    assert isinstance(wrong("x"), Feedback) and str(wrong("x", "y")).endswith("Hint: y")
