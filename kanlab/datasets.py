"""Synthetic datasets generated in code (nothing is downloaded), and the KAN paper's toy functions.

Every toy function maps x of shape (batch, n_var) to y of shape (batch, 1).
Introduced in 06_function_fitting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

Function = Callable[[torch.Tensor], torch.Tensor]


def j0_20x(x: torch.Tensor) -> torch.Tensor:
    """Bessel function J0(20x) of one variable: a wiggly 1-D target (paper Fig. 3.1)."""
    return torch.special.bessel_j0(20 * x[:, [0]])


def exp_sin_xy(x: torch.Tensor) -> torch.Tensor:
    """exp(sin(πx) + y²): the paper's running example, exactly a [2, 1, 1] KAN."""
    return torch.exp(torch.sin(math.pi * x[:, [0]]) + x[:, [1]] ** 2)


def xy(x: torch.Tensor) -> torch.Tensor:
    """x·y: multiplication, which a [2, 2, 1] KAN writes as ((x+y)² − (x−y)²)/4."""
    return x[:, [0]] * x[:, [1]]


def exp_mean_sin_sq(x: torch.Tensor) -> torch.Tensor:
    """exp(mean_i sin²(πx_i/2)) over 100 variables: high-dimensional yet compositional."""
    return torch.exp(torch.mean(torch.sin(math.pi * x / 2) ** 2, dim=1, keepdim=True))


def deep_formula_4d(x: torch.Tensor) -> torch.Tensor:
    """exp((sin(π(x1² + x2²)) + sin(π(x3² + x4²)))/2): a 4-variable formula of depth 3."""
    a = torch.sin(math.pi * (x[:, [0]] ** 2 + x[:, [1]] ** 2))
    b = torch.sin(math.pi * (x[:, [2]] ** 2 + x[:, [3]] ** 2))
    return torch.exp((a + b) / 2)


TOY_FUNCTIONS: dict[str, tuple[Function, int]] = {
    "j0_20x": (j0_20x, 1),
    "exp_sin_xy": (exp_sin_xy, 2),
    "xy": (xy, 2),
    "exp_mean_sin_sq": (exp_mean_sin_sq, 100),
    "deep_formula_4d": (deep_formula_4d, 4),
}


def create_dataset(
    f: Function,
    n_var: int = 2,
    ranges: Sequence[float] | Sequence[Sequence[float]] = (-1.0, 1.0),
    n_train: int = 1000,
    n_test: int = 1000,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """Sample inputs uniformly in ``ranges`` and label them with ``f``.

    ranges: (lo, hi) for every variable or one (lo, hi) per variable. Returns a dict with
    train_input (n_train, n_var), train_label (n_train, n_out), test_input, test_label.
    Uses its own generator, so the same seed gives the same data whatever else ran before.
    """
    if not callable(f):
        raise TypeError(f"f must be a callable mapping x (n, n_var) to y (n, n_out), got {f!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(n_var, bool) or not isinstance(n_var, int) or n_var < 1:
        raise ValueError(f"n_var must be a positive int, got {n_var!r}")
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")
    dtype = dtype or torch.get_default_dtype()
    r = torch.as_tensor(ranges, dtype=dtype)
    if r.shape == (2,):
        r = r.expand(n_var, 2)
    if r.shape != (n_var, 2) or not (r[:, 0] < r[:, 1]).all():
        raise ValueError(f"ranges must be (lo, hi) or {n_var} pairs with lo < hi, got {ranges!r}")
    generator = torch.Generator().manual_seed(seed)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = r[:, 0] + (r[:, 1] - r[:, 0]) * torch.rand(n, n_var, generator=generator, dtype=dtype)
        y = f(x)
        if y.dim() == 1:
            y = y[:, None]
        if y.dim() != 2 or y.shape[0] != n:
            raise ValueError(f"f must map (n, {n_var}) to (n,) or (n, n_out), got {tuple(y.shape)}")
        if not torch.isfinite(y).all():
            raise ValueError(f"f returned NaN or inf for some inputs in ranges={ranges!r}; labels must be finite")
        return x.to(device), y.to(device=device, dtype=dtype)

    train_input, train_label = sample(n_train)
    test_input, test_label = sample(n_test)
    return {"train_input": train_input, "train_label": train_label,
            "test_input": test_input, "test_label": test_label}
