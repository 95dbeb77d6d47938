"""kanlab.datasets and kanlab.paper_tasks: each task's value pinned against an independent
computation (mpmath for special functions, the formula written out with ``math`` for the
others), ranges and widths as the paper lists, normalisation round-trips, data splits."""

from __future__ import annotations

import math

import mpmath as mp
import pytest
import torch

from kanlab import datasets
from kanlab.paper_tasks import COMPOSITIONS, FEYNMAN, PAPER_TASKS, SPECIAL_FUNCTIONS, get_task

# One point inside every task's ranges is drawn per test from these fractions of the range.
FRACTIONS = (0.3, 0.7, 0.45, 0.6, 0.2, 0.8)


def _ref_special(name: str, x: float, y: float) -> float:
    if name == "ellipj":
        return mp.ellipfun("sn", x, m=y)
    if name == "ellipkinc":
        return mp.ellipf(x, y)
    if name == "ellipeinc":
        return mp.ellipe(x, y)
    bessel = {"jv": mp.besselj, "yv": mp.bessely, "iv": mp.besseli, "kv": mp.besselk}
    if name in bessel:
        return bessel[name](x, y)
    if name.startswith("lpmv_m"):  # Ferrers function with the Condon–Shortley phase, as scipy
        return mp.legenp(x, int(name[-1]), y, type=2)
    m, n = int(name.split("_")[2][1:]), int(name.split("_")[3][1:])
    return mp.re(mp.spherharm(n, m, y, x))  # mpmath: (degree, order, polar, azimuth)


FEYNMAN_REF = {
    "I.6.2": lambda t, s: math.exp(-t * t / (2 * s * s)) / math.sqrt(2 * math.pi * s * s),
    "I.6.2b": lambda t, t1, s: math.exp(-(t - t1) ** 2 / (2 * s * s)) / math.sqrt(2 * math.pi * s * s),
    "I.9.18": lambda a, b, c, d, e, f: a / ((b - 1) ** 2 + (c - d) ** 2 + (e - f) ** 2),
    "I.12.11": lambda a, t: 1 + a * math.sin(t),
    "I.13.12": lambda a, b: a * (1 / b - 1),
    "I.15.3x": lambda a, b: (1 - a) / math.sqrt(1 - b * b),
    "I.16.6": lambda a, b: math.tanh(math.atanh(a) + math.atanh(b)),  # the rapidity form (Section 3.3)
    "I.18.4": lambda a, b: (1 + a * b) / (1 + a),
    "I.26.2": lambda n, t: math.asin(n * math.sin(t)),
    "I.27.6": lambda a, b: 1 / (1 + a * b),
    "I.29.16": lambda a, t1, t2: math.sqrt(1 + a * a - 2 * a * math.cos(t1 - t2)),
    "I.30.3": lambda n, t: math.sin(n * t / 2) ** 2 / math.sin(t / 2) ** 2,
    "I.30.5": lambda a, n: math.asin(a / n),
    "I.37.4": lambda a, d: 1 + a + 2 * math.sqrt(a) * math.cos(d),
    "I.40.1": lambda n0, a: n0 * math.exp(-a),
    "I.44.4": lambda n, a: n * math.log(a),
    "I.50.26": lambda a, al: math.cos(a) + al * math.cos(a) ** 2,
    "II.2.42": lambda a, b: (a - 1) * b,
    "II.6.15a": lambda a, b, c: c * math.hypot(a, b) / (4 * math.pi),
    "II.11.7": lambda n0, a, t: n0 * (1 + a * math.cos(t)),
    "II.11.27": lambda n, al: n * al / (1 - n * al / 3),
    "II.35.18": lambda n0, a: n0 / (2 * math.cosh(a)),
    "II.36.38": lambda a, al, b: a + al * b,
    "II.38.3": lambda a, b: a / b,
    "III.9.52": lambda a, b, c: a * (math.sin((b - c) / 2) / ((b - c) / 2)) ** 2,
    "III.10.19": lambda a, b: math.sqrt(1 + a * a + b * b),
    "III.17.37": lambda al, be, t: be * (1 + al * math.cos(t)),
}

COMPOSITION_REF = {
    "exp_sin_xy": lambda x, y: math.exp(math.sin(math.pi * x) + y * y),
    "exp_sin_x_minus_y2": lambda x, y: math.exp(math.sin(math.pi * x) - y * y),
    "tanh_sum3": lambda x, y, z: math.tanh(math.sin(math.pi * x) + y * y + z ** 3),
    "exp_sum4": lambda a, b, c, d: math.exp((math.sin(math.pi * a) + b * b + c ** 3 + math.cos(math.pi * d)) / 2),
    "deep_formula_4d": lambda a, b, c, d: math.exp(
        (math.sin(math.pi * (a * a + b * b)) + math.sin(math.pi * (c * c + d * d))) / 2),
}


def _point(task) -> list[float]:
    return [lo + f * (hi - lo) for (lo, hi), f in zip(task.ranges, FRACTIONS)]


def _value(task, point) -> float:
    return float(task.fn(torch.tensor([point], dtype=torch.float64))[0, 0])


def test_the_tables_are_complete():
    assert len(SPECIAL_FUNCTIONS) == 15 and len(FEYNMAN) == 27
    assert set(FEYNMAN_REF) == set(FEYNMAN) and set(COMPOSITION_REF) == set(COMPOSITIONS)
    for task in PAPER_TASKS.values():
        assert task.width[0] == task.n_var and task.width[-1] == 1, task.name
        assert len(task.variables) == task.n_var and all(lo < hi for lo, hi in task.ranges), task.name
    # a few table entries, as printed in the paper
    assert get_task("iv").width == (2, 4, 3, 2, 1, 1) and get_task("lpmv_m1").width == (2, 4, 1)
    assert get_task("I.30.3").width == (2, 4, 3, 1) and get_task("I.9.18").width == (6, 4, 1, 1)
    assert get_task("deep_formula_4d").width == (4, 2, 1, 1)


@pytest.mark.parametrize("name", sorted(SPECIAL_FUNCTIONS))
def test_special_function_matches_mpmath(name):
    task = SPECIAL_FUNCTIONS[name]
    x, y = _point(task)
    assert _value(task, [x, y]) == pytest.approx(float(_ref_special(name, x, y)), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", sorted(FEYNMAN))
def test_feynman_matches_formula(name):
    task = FEYNMAN[name]
    point = _point(task)
    assert _value(task, point) == pytest.approx(FEYNMAN_REF[name](*point), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_composition_matches_formula(name):
    task = COMPOSITIONS[name]
    point = _point(task)
    assert _value(task, point) == pytest.approx(COMPOSITION_REF[name](*point), rel=1e-12)


@pytest.mark.parametrize("name", sorted(PAPER_TASKS))
def test_every_task_samples_finite_data_inside_its_ranges(name):
    task = PAPER_TASKS[name]
    data = task.dataset(n_train=200, n_test=50, seed=3)
    x = data["train_input"]
    assert x.shape == (200, task.n_var) and data["test_label"].shape == (50, 1)
    lo, hi = torch.tensor(task.ranges, dtype=x.dtype).T
    assert bool(((x >= lo) & (x <= hi)).all()) and bool(torch.isfinite(data["train_label"]).all())
    assert x.dtype == torch.get_default_dtype()


def test_get_task_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="known tasks: ellipj"):
        get_task("no such task")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_normalisation_round_trips(seed):
    task = get_task("I.12.11")
    raw = task.dataset(n_train=300, n_test=100, seed=seed, dtype=torch.float64)
    norm = task.dataset(n_train=300, n_test=100, seed=seed, dtype=torch.float64,
                        normalize_input=True, normalize_label=True)
    assert torch.allclose(norm["train_input"].mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(norm["train_input"].std(0), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(norm["train_label"].std(0), torch.ones(1, dtype=torch.float64))
    for key in ("train_input", "test_input", "train_label", "test_label"):
        assert torch.allclose(datasets.denormalize(norm, key), raw[key], atol=1e-12), key
    # the test split is normalised with the *training* statistics
    assert torch.allclose((raw["test_input"] - norm["input_mean"]) / norm["input_std"], norm["test_input"])


def test_normalising_only_labels_leaves_inputs_alone():
    raw = datasets.create_dataset(datasets.xy, seed=4)
    norm = datasets.create_dataset(datasets.xy, seed=4, normalize_label=True)
    assert torch.equal(raw["train_input"], norm["train_input"]) and "input_mean" not in norm
    assert torch.allclose(datasets.denormalize(norm, "test_label"), raw["test_label"], atol=1e-6)
    with pytest.raises(ValueError, match="already normalised"):
        datasets.normalize(norm, inputs=False, labels=True)


@pytest.mark.parametrize("seed", [0, 5])
def test_create_dataset_from_data_splits_every_row_once(seed):
    x = torch.arange(50, dtype=torch.float64).reshape(25, 2)
    y = x.sum(1)
    data = datasets.create_dataset_from_data(x, y, test_fraction=0.2, seed=seed)
    assert data["test_input"].shape == (5, 2) and data["train_label"].shape == (20, 1)
    rows = torch.cat([data["train_input"], data["test_input"]])
    assert sorted(rows[:, 0].tolist()) == x[:, 0].tolist()
    assert torch.equal(data["train_input"].sum(1, keepdim=True), data["train_label"])
    again = datasets.create_dataset_from_data(x, y, test_fraction=0.2, seed=seed)
    assert torch.equal(again["test_input"], data["test_input"])
    other = datasets.create_dataset_from_data(x, y, test_fraction=0.2, seed=seed + 1)
    assert not torch.equal(other["test_input"], data["test_input"])


def test_create_dataset_from_data_rejects_bad_input():
    x = torch.zeros(10, 2)
    with pytest.raises(ValueError, match="same number of rows"):
        datasets.create_dataset_from_data(x, torch.zeros(9))
    with pytest.raises(ValueError, match="test_fraction"):
        datasets.create_dataset_from_data(x, torch.zeros(10), test_fraction=1.0)
    with pytest.raises(ValueError, match="2-D tensor"):
        datasets.create_dataset_from_data(torch.zeros(10), torch.zeros(10))
