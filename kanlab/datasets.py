"""Synthetic datasets generated in code (nothing is downloaded), and the KAN paper's toy functions.

Every toy function maps x of shape (batch, n_var) to y of shape (batch, 1). The paper's
special-function and Feynman tables are in ``kanlab.paper_tasks``; ``create_dataset`` and
``create_dataset_from_data`` take pykan's ``normalize_input`` / ``normalize_label`` options.
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
    normalize_input: bool = False,
    normalize_label: bool = False,
) -> dict[str, torch.Tensor]:
    """Sample inputs uniformly in ``ranges`` and label them with ``f``.

    ranges: (lo, hi) for every variable or one (lo, hi) per variable. Returns a dict with
    train_input (n_train, n_var), train_label (n_train, n_out), test_input, test_label.
    Uses its own generator, so the same seed gives the same data whatever else ran before.
    ``normalize_input`` / ``normalize_label`` (as in pykan): standardise each column with the
    *training* split's mean and standard deviation (the test split uses the same numbers); the
    dict then also holds input_mean, input_std (1, n_var) and/or label_mean, label_std
    (1, n_out), so that ``x_raw = x * input_std + input_mean`` (see ``denormalize``).
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
    r = torch.as_tensor(ranges, dtype=dtype, device="cpu")  # sampled on the CPU (seeded), then moved
    if r.shape == (2,):
        r = r.expand(n_var, 2)
    if r.shape != (n_var, 2) or not (r[:, 0] < r[:, 1]).all():
        raise ValueError(f"ranges must be (lo, hi) or {n_var} pairs with lo < hi, got {ranges!r}")
    generator = torch.Generator().manual_seed(seed)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = r[:, 0] + (r[:, 1] - r[:, 0]) * torch.rand(n, n_var, generator=generator, dtype=dtype, device="cpu")
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
    dataset = {"train_input": train_input, "train_label": train_label,
               "test_input": test_input, "test_label": test_label}
    return normalize(dataset, normalize_input, normalize_label)


def create_dataset_from_data(
    inputs: torch.Tensor,
    labels: torch.Tensor,
    test_fraction: float = 0.2,
    seed: int = 0,
    device: str | torch.device | None = None,
    normalize_input: bool = False,
    normalize_label: bool = False,
) -> dict[str, torch.Tensor]:
    """Split given samples at random into a train and a test set, in ``create_dataset``'s format.

    inputs: (n, n_var); labels: (n,) or (n, n_out). ``test_fraction`` of the rows (rounded,
    at least one row in each split) go to the test set, chosen by a generator seeded with
    ``seed`` (the global RNG is untouched). ``device``: where the tensors go (default: where
    they are). Normalisation as in ``create_dataset``. pykan's ``create_dataset_from_data``
    takes ``train_ratio`` instead; ``test_fraction = 1 - train_ratio``.
    """
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 2:
        raise ValueError(f"inputs must be a 2-D tensor (n, n_var), got {getattr(inputs, 'shape', type(inputs))}")
    if not isinstance(labels, torch.Tensor) or labels.dim() not in (1, 2):
        raise ValueError(f"labels must be a tensor (n,) or (n, n_out), got {getattr(labels, 'shape', type(labels))}")
    if labels.dim() == 1:
        labels = labels[:, None]
    n = inputs.shape[0]
    if labels.shape[0] != n:
        raise ValueError(f"inputs and labels must have the same number of rows, got {n} and {labels.shape[0]}")
    if n < 2:
        raise ValueError(f"need at least 2 samples to make a train and a test split, got {n}")
    if not (isinstance(test_fraction, (int, float)) and 0 < test_fraction < 1):
        raise ValueError(f"test_fraction must be a number strictly between 0 and 1, got {test_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    n_test = min(max(round(n * test_fraction), 1), n - 1)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed), device="cpu").to(inputs.device)
    test_idx, train_idx = order[:n_test], order[n_test:]
    device = inputs.device if device is None else device
    dataset = {"train_input": inputs[train_idx].to(device), "train_label": labels[train_idx].to(device),
               "test_input": inputs[test_idx].to(device), "test_label": labels[test_idx].to(device)}
    return normalize(dataset, normalize_input, normalize_label)


def normalize(dataset: dict[str, torch.Tensor], inputs: bool = True, labels: bool = True) -> dict[str, torch.Tensor]:
    """A copy of ``dataset`` with inputs and/or labels standardised by the training split's statistics.

    Adds input_mean/input_std (1, n_var) and/or label_mean/label_std (1, n_out). A column
    with zero spread keeps std 1 (it is only centred). Used by ``create_dataset``.
    """
    out = dict(dataset)
    for flag, part in ((inputs, "input"), (labels, "label")):
        if not flag:
            continue
        if f"{part}_mean" in dataset:
            raise ValueError(f"dataset is already normalised ({part}_mean is present)")
        train = dataset[f"train_{part}"]
        mean = train.mean(0, keepdim=True)
        std = train.std(0, keepdim=True) if train.shape[0] > 1 else torch.ones_like(mean)
        std = torch.where(std > 0, std, torch.ones_like(std))
        for split in ("train", "test"):
            out[f"{split}_{part}"] = (dataset[f"{split}_{part}"] - mean) / std
        out[f"{part}_mean"], out[f"{part}_std"] = mean, std
    return out


def denormalize(dataset: dict[str, torch.Tensor], key: str, values: torch.Tensor | None = None) -> torch.Tensor:
    """Undo ``normalize`` for ``dataset[key]`` (or for ``values``, e.g. a model's predictions).

    key: one of train_input, test_input, train_label, test_label; the statistics of its part
    (input or label) are used, or nothing is changed when that part was not normalised.
    """
    if key not in ("train_input", "test_input", "train_label", "test_label"):
        raise ValueError(f"key must be train_input, test_input, train_label or test_label, got {key!r}")
    part = key.split("_")[1]
    values = dataset[key] if values is None else values
    if f"{part}_mean" not in dataset:
        return values
    return values * dataset[f"{part}_std"] + dataset[f"{part}_mean"]
