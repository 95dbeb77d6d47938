"""The Playground's data: presets, a safe formula parser (x, y -> sympy), datasets on [-1, 1]².

A formula typed by a student is never evaluated as Python. It is parsed with :mod:`ast` into a
syntax tree, every node is checked against a whitelist (numbers, ``x``, ``y``, ``pi``, ``e``,
``+ - * / **`` (``^`` means power) and the one-argument functions in :data:`FUNCTIONS`), and the
tree is then rebuilt as a sympy expression (:func:`parse_formula`) or evaluated on numpy arrays
(:func:`numpy_function`, the app's target values: no sympy import needed to build the app).
Anything else raises :class:`FormulaError` with a message the app shows as it is. Introduced
with the Playground (notebooks/playground.ipynb).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_LENGTH = 200  # characters in a formula
MAX_NODES = 120  # syntax-tree nodes
MAX_NUMBER = 1e6  # |constant|
MAX_EXPONENT = 10  # |constant exponent|
N_TEST = 500
HEATMAP_N = 48  # heat maps are HEATMAP_N x HEATMAP_N
N_TRAIN_RANGE = (10, 2000)
NOISE_RANGE = (0.0, 1.0)


class FormulaError(ValueError):
    """A formula the Playground cannot use; ``str(err)`` is the message shown to the student."""


def _sympy_functions() -> dict[str, Callable[[Any], Any]]:
    import sympy

    return {
        "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "exp": sympy.exp,
        "log": sympy.log, "sqrt": sympy.sqrt, "abs": sympy.Abs, "tanh": sympy.tanh,
        "sinh": sympy.sinh, "cosh": sympy.cosh, "arcsin": sympy.asin, "asin": sympy.asin,
        "arccos": sympy.acos, "acos": sympy.acos, "arctan": sympy.atan, "atan": sympy.atan,
        "sign": sympy.sign, "step": sympy.Heaviside, "erf": sympy.erf,
        "j0": lambda u: sympy.besselj(0, u),
    }


def _scipy_special(name: str) -> Callable[[Any], Any]:
    def f(u: Any) -> Any:
        import scipy.special  # only formulas with erf or j0 pay for scipy

        return getattr(scipy.special, name)(u)

    return f


#: The same functions on numpy arrays (what ``sympy.lambdify`` would print for them).
NUMPY_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
    "abs": np.abs, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "arcsin": np.arcsin,
    "asin": np.arcsin, "arccos": np.arccos, "acos": np.arccos, "arctan": np.arctan,
    "atan": np.arctan, "sign": np.sign, "step": lambda u: np.heaviside(u, 0.5),
    "erf": _scipy_special("erf"), "j0": _scipy_special("j0"),
}


#: The function names a formula may use (each takes one argument).
FUNCTIONS = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh",
             "arcsin", "asin", "arccos", "acos", "arctan", "atan", "sign", "step", "erf", "j0")
NAMES = ("x", "y", "pi", "e")
ALLOWED_HELP = (f"use x, y, numbers, pi, e, + - * / ** (or ^) and the functions "
                f"{', '.join(FUNCTIONS)}; for example  exp(sin(pi*x) + y**2)")


@dataclass(frozen=True)
class Preset:
    """A ready-made target: its formula in x and y, the noise on the training labels, a hint."""

    formula: str
    noise: float
    hint: str


PRESETS: dict[str, Preset] = {
    "exp(sin(πx) + y²)": Preset("exp(sin(pi*x) + y**2)", 0.0,
                                "the paper's running example: exactly a [2, 1, 1] KAN"),
    "x·y": Preset("x*y", 0.0, "multiplication: a [2, 2, 1] KAN writes it as ((x+y)² − (x−y)²)/4; "
                              "or type 0+1 in hidden layers for one multiplication node"),
    "J0(20x)": Preset("j0(20*x)", 0.0, "a wiggly Bessel function of x alone: needs a fine grid"),
    "noisy sin(πx) + y²": Preset("sin(pi*x) + y**2", 0.3,
                                 "noisy labels: watch the train and test losses part"),
    "classes: inside a circle": Preset("step(0.5 - x**2 - y**2)", 0.0,
                                       "labels 1 inside the circle r² = 0.5, 0 outside"),
}


def _tree(text: Any) -> ast.expr:
    """The syntax tree of ``text`` (not yet checked node by node); raises :class:`FormulaError`."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError(f"type a formula in x and y: {ALLOWED_HELP}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text)} characters long; keep it under {MAX_LENGTH}")
    try:
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError:
        raise FormulaError(f"could not read {text.strip()!r} as a formula: {ALLOWED_HELP}") from None
    n_nodes = sum(1 for _ in ast.walk(tree))
    if n_nodes > MAX_NODES:
        raise FormulaError(f"the formula is too long ({n_nodes} parts, at most {MAX_NODES})")
    return tree.body


def parse_formula(text: Any) -> Any:
    """The formula ``text`` in x and y as a sympy expression; raises :class:`FormulaError`."""
    return _build(_tree(text), _SympyBackend())


def numpy_function(text: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A numpy function ``f(x, y) -> values`` (same shape) of the formula ``text``.

    The same checked tree as :func:`parse_formula`, evaluated on float64 arrays with numpy's
    functions (scipy's only for erf and j0), without sympy: the app builds its first target
    without importing sympy. Constants are float64, so nothing grows without bound; values
    that overflow become ±inf, which :func:`check_target` reports.
    """
    tree = _tree(text)
    _build(tree, _NumpyBackend(np.zeros(1), np.zeros(1)))  # check every node now

    def f(xv: np.ndarray, yv: np.ndarray) -> np.ndarray:
        xv, yv = np.asarray(xv, dtype=np.float64), np.asarray(yv, dtype=np.float64)
        with np.errstate(all="ignore"):
            values = np.asarray(_build(tree, _NumpyBackend(xv, yv)), dtype=np.float64)
        return np.broadcast_to(values, np.shape(xv)).copy()

    return f


class _SympyBackend:
    """Builds the checked tree as a sympy expression (exact; constants checked as they grow)."""

    def __init__(self) -> None:
        import sympy

        self.names = {"x": sympy.Symbol("x", real=True), "y": sympy.Symbol("y", real=True),
                      "pi": sympy.pi, "e": sympy.E}
        self.functions = _sympy_functions()

    @staticmethod
    def number(value: int | float) -> Any:
        import sympy

        return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)

    @staticmethod
    def binop(op: type, left: Any, right: Any) -> Any:
        if op is ast.Pow:
            if right.is_number and not abs(float(right)) <= MAX_EXPONENT:
                raise FormulaError(f"the exponent {right} is too large: use powers within ±{MAX_EXPONENT}")
            return _checked(left**right)
        if op is ast.Div and right.is_number and right == 0:
            raise FormulaError("the formula divides by zero")
        return _checked(_OPS[op](left, right))


class _NumpyBackend:
    """Evaluates the checked tree on float64 arrays ``x`` and ``y``."""

    functions = NUMPY_FUNCTIONS

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.names = {"x": x, "y": y, "pi": np.float64(np.pi), "e": np.float64(np.e)}

    @staticmethod
    def number(value: int | float) -> Any:
        return np.float64(value)

    @staticmethod
    def binop(op: type, left: Any, right: Any) -> Any:
        return _OPS[op](left, right)


_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a**b}


def _number(node: ast.Constant) -> int | float:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormulaError(f"{value!r} is not a number; {ALLOWED_HELP}")
    if not abs(value) <= MAX_NUMBER:
        raise FormulaError(f"the number {value!r} is too large: numbers must lie within ±{MAX_NUMBER:g}")
    return value


def _checked(value: Any) -> Any:
    """Refuse constants beyond float range (``(10**10)**10**...`` would never finish)."""
    if value.is_number:
        try:
            big = not abs(complex(value)) <= 1e12
        except (OverflowError, TypeError, ValueError):
            big = True
        if big:
            raise FormulaError("a constant in the formula is too large (beyond ±1e12)")
    return value


def _build(node: ast.AST, backend: Any) -> Any:
    """Rebuild a syntax tree with ``backend``, node by node (the whitelist lives here: only
    numbers, the names x, y, pi, e, + - * / ** and one-argument calls of known functions)."""
    if isinstance(node, ast.Constant):
        return backend.number(_number(node))
    if isinstance(node, ast.Name):
        if node.id in backend.names:
            return backend.names[node.id]
        if node.id in backend.functions:
            raise FormulaError(f"{node.id} is a function: write {node.id}(...)")
        raise FormulaError(f"unknown name {node.id!r}: {ALLOWED_HELP}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        inner = _build(node.operand, backend)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return backend.binop(type(node.op), _build(node.left, backend), _build(node.right, backend))
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in backend.functions:
            shown = name if name is not None else ast.unparse(node.func)
            raise FormulaError(f"unknown function {shown!r}: {ALLOWED_HELP}")
        if node.keywords or len(node.args) != 1:
            raise FormulaError(f"{name}(...) takes exactly one argument, like {name}(x)")
        return backend.functions[name](_build(node.args[0], backend))
    if isinstance(node, ast.BinOp):
        raise FormulaError(f"the operator in {ast.unparse(node)!r} is not allowed: {ALLOWED_HELP}")
    raise FormulaError(f"{ast.unparse(node)!r} is not allowed in a formula: {ALLOWED_HELP}")


def target_function(expr: Any) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A numpy function ``f(x, y) -> values`` of a checked sympy expression (``sympy.lambdify``;
    the app itself uses :func:`numpy_function`, which needs no sympy)."""
    import sympy

    x, y = sympy.Symbol("x", real=True), sympy.Symbol("y", real=True)
    free = expr.free_symbols - {x, y}
    if free:  # cannot happen for parse_formula's output; guards hand-made expressions
        raise FormulaError(f"the formula may only use x and y, not {sorted(map(str, free))}")
    fn = sympy.lambdify((x, y), expr, modules=["scipy", "numpy"])

    def f(xv: np.ndarray, yv: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            values = np.asarray(fn(xv, yv), dtype=np.float64)
        return np.broadcast_to(values, np.shape(xv)).copy()

    return f


def check_target(values: np.ndarray, text: str) -> None:
    """Raise :class:`FormulaError` if the target has NaN/inf values on the square."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise FormulaError(
            f"{text!r} gives NaN or ±inf at {int(bad.sum())} of {bad.size} points of [-1, 1]² "
            "(log or sqrt of a negative number, division by zero?): choose a formula defined "
            "on the whole square")


def make_dataset(f: Callable[[np.ndarray, np.ndarray], np.ndarray], n_train: int, noise: float,
                 seed: int = 0, text: str = "the formula") -> dict[str, Any]:
    """Train/test sets on [-1, 1]² for ``f``: a ``KAN.fit`` dataset (float32 tensors) plus
    ``train_clean`` (labels without noise) and the heat-map grid values ``grid_values``.

    Gaussian noise of standard deviation ``noise`` is added to the training labels only: the
    test labels keep the true target, so the test RMSE says how close the model is to it.
    """
    import torch

    from kanlab.widgets._base import check_finite, check_int

    n_train = check_int("training-set size", n_train, *N_TRAIN_RANGE)
    noise = check_finite("noise", noise)
    if not NOISE_RANGE[0] <= noise <= NOISE_RANGE[1]:
        raise ValueError(f"noise must lie in {NOISE_RANGE[0]}..{NOISE_RANGE[1]}, got {noise!r}")
    rng = np.random.default_rng(seed)
    x_train = rng.uniform(-1, 1, size=(n_train, 2))
    x_test = rng.uniform(-1, 1, size=(N_TEST, 2))
    g = np.linspace(-1, 1, HEATMAP_N)
    gx, gy = np.meshgrid(g, g)
    y_train, y_test, grid_values = (f(p[..., 0], p[..., 1]) for p in
                                    (x_train, x_test, np.stack([gx, gy], axis=-1)))
    for values in (y_train, y_test, grid_values):
        check_target(values, text)
    y_noisy = y_train + noise * rng.standard_normal(n_train)

    def tensor(a: np.ndarray) -> Any:
        return torch.as_tensor(np.asarray(a, dtype=np.float32))

    return {"train_input": tensor(x_train), "train_label": tensor(y_noisy[:, None]),
            "test_input": tensor(x_test), "test_label": tensor(y_test[:, None]),
            "train_clean": tensor(y_train[:, None]), "grid_values": grid_values,
            "grid_input": tensor(np.stack([gx.ravel(), gy.ravel()], axis=1))}


def is_two_class(dataset: dict[str, Any]) -> bool:
    """True when the clean labels take exactly two values (a classification-style target)."""
    return np.unique(dataset["grid_values"]).size == 2
