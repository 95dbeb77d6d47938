"""Numerics that do not break: grid updates and least squares on awkward data, in float32 too.

Awkward means constant inputs, duplicated samples, a single sample, and very large or very
tiny magnitudes. The contract (docs/architecture.md, 02_bsplines and 03_learnable_activation):
no exception, no NaN, knots strictly increasing, the function kept on the samples, and a
``RuntimeWarning`` when the least-squares problem is ill-posed (fewer distinct samples than basis
functions). Labels with NaN or inf are rejected before the first training step.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from kanlab import KAN, KANLayer, create_dataset
from kanlab.datasets import xy
from kanlab.splines import adaptive_knots, bspline_basis, curve_to_coef, spline_eval, uniform_knots

DTYPES = [torch.float32, torch.float64]
# Relative error allowed when a grid update keeps the function on the samples.
KEEP_TOL = {torch.float32: 1e-5, torch.float64: 1e-12}


def _layer(dtype: torch.dtype, grid: int = 5) -> KANLayer:
    layer = KANLayer(2, 3, grid=grid, k=3, dtype=dtype)
    with torch.no_grad():  # visible splines, so "the function is kept" means something
        layer.coef.copy_(torch.randn(layer.coef.shape, generator=torch.Generator().manual_seed(1)))
    return layer


def _assert_sane(layer: KANLayer) -> None:
    assert torch.isfinite(layer.knots).all() and torch.isfinite(layer.coef).all()
    assert (layer.knots.diff(dim=1) > 0).all(), "knots must stay strictly increasing"


def _update(layer: KANLayer, x: torch.Tensor) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer.update_grid(x)
    return [w for w in caught if issubclass(w.category, RuntimeWarning)]


# ----------------------------------------------------------------------------- ill-posed data
AWKWARD = {
    "constant": lambda dtype: torch.full((50, 2), 0.3, dtype=dtype),
    "single-sample": lambda dtype: torch.tensor([[0.2, -0.7]], dtype=dtype),
    "three-points-duplicated": lambda dtype: (torch.rand(3, 2, dtype=dtype) * 2 - 1).repeat(40, 1),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("kind", list(AWKWARD))
def test_update_grid_on_ill_posed_samples_warns_and_keeps_the_values(kind: str, dtype: torch.dtype) -> None:
    layer = _layer(dtype)
    x = AWKWARD[kind](dtype)
    before = layer(x)
    ill_posed = _update(layer, x)
    _assert_sane(layer)
    after = layer(x)
    assert torch.isfinite(after).all()
    # Few distinct samples: the minimum-norm fit still interpolates them.
    assert (after - before).abs().max() <= 1e3 * KEEP_TOL[dtype] * before.abs().max().clamp_min(1.0)
    assert ill_posed and "too few distinct samples" in str(ill_posed[0].message)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_well_posed_update_grid_does_not_warn(dtype: torch.dtype) -> None:
    layer = _layer(dtype)
    x = torch.rand(400, 2, dtype=dtype, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert _update(layer, x) == []
    _assert_sane(layer)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_curve_to_coef_on_a_constant_input_reproduces_the_value(dtype: torch.dtype) -> None:
    knots = uniform_knots(1, 5, 3, dtype=dtype)
    x = torch.full((10, 1), 0.2, dtype=dtype)
    y = torch.full((10, 1, 1), 2.0, dtype=dtype)
    with pytest.warns(RuntimeWarning, match="minimum-norm"):
        coef = curve_to_coef(x, y, knots, 3)
    assert torch.isfinite(coef).all()
    assert spline_eval(x, knots, coef, 3)[0, 0, 0].item() == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_ridge_removes_the_warning_and_stays_close(dtype: torch.dtype) -> None:
    knots = uniform_knots(1, 5, 3, dtype=dtype)
    x = torch.full((4, 1), -0.4, dtype=dtype)
    y = torch.full((4, 1, 1), -1.5, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        coef = curve_to_coef(x, y, knots, 3, ridge=1e-8)
    assert spline_eval(x, knots, coef, 3)[0, 0, 0].item() == pytest.approx(-1.5, rel=1e-4)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_adaptive_knots_on_duplicates_and_constants_are_increasing(dtype: torch.dtype) -> None:
    x = torch.cat([torch.zeros(30, 1), torch.ones(30, 1)], dim=0).to(dtype)  # two values only
    x = torch.cat([x, torch.full_like(x, 5.0)], dim=1)  # and a constant column
    knots = adaptive_knots(x, grid=6, k=3, grid_eps=0.0)
    assert knots.shape == (2, 6 + 7) and torch.isfinite(knots).all()
    assert (knots.diff(dim=1) > 0).all()
    assert knots[1, 3] < 5.0 < knots[1, 3 + 6]  # the constant sits inside its own grid


# ----------------------------------------------------------------------------- magnitudes
SCALES = [
    pytest.param(torch.float32, 1e6, id="float32-1e6"),
    pytest.param(torch.float64, 1e6, id="float64-1e6"),
    pytest.param(torch.float64, 1e20, id="float64-1e20"),
    pytest.param(torch.float32, 1e-3, id="float32-1e-3"),
    pytest.param(torch.float64, 1e-6, id="float64-1e-6"),
    pytest.param(torch.float32, 1e20, id="float32-1e20"),
    pytest.param(torch.float32, 1e-5, id="float32-1e-5"),
]


@pytest.mark.parametrize("dtype,scale", SCALES)
def test_update_grid_at_extreme_magnitudes(dtype: torch.dtype, scale: float) -> None:
    layer = _layer(dtype)
    x = (torch.rand(300, 2, dtype=dtype, generator=torch.Generator().manual_seed(0)) * 2 - 1) * scale
    _update(layer, x)  # first move: from [-1, 1] to the data
    _assert_sane(layer)
    before = layer(x)
    assert torch.isfinite(before).all()
    assert _update(layer, x) == []  # the same data again: well posed, nothing to warn about
    _assert_sane(layer)
    after = layer(x)
    assert torch.isfinite(after).all()
    assert (after - before).abs().max() <= 100 * KEEP_TOL[dtype] * before.abs().max()


@pytest.mark.parametrize(
    "dtype,value",
    [
        pytest.param(torch.float64, 1e30, id="float64-1e30"),
        pytest.param(torch.float32, 1e6, id="float32-1e6"),
        pytest.param(torch.float32, 1e30, id="float32-1e30"),
    ],
)
def test_far_outside_the_grid_the_spline_is_zero_not_nan(dtype: torch.dtype, value: float) -> None:
    knots = uniform_knots(2, 5, 3, dtype=dtype)
    x = torch.tensor([[value, -value]], dtype=dtype)
    assert torch.equal(bspline_basis(x, knots, 3), torch.zeros(1, 2, 8, dtype=dtype))
    model = KAN([2, 3, 1], dtype=dtype)
    assert torch.isfinite(model(x / value * min(value, 1e6))).all()
    assert not torch.isnan(model(x)).any()


# ----------------------------------------------------------------------------- training guards
@pytest.mark.parametrize("key", ["train_label", "test_label", "train_input", "test_input"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_data_is_rejected_before_the_first_step(key: str, bad: float) -> None:
    ds = create_dataset(xy, 2, n_train=16, n_test=8, seed=0)
    ds[key] = ds[key].clone()
    ds[key][2, 0] = bad
    model = KAN([2, 2, 1], grid=3, seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    steps = []
    with pytest.raises(ValueError, match=rf"dataset\['{key}'\] contains NaN or inf"):
        model.fit(ds, steps=2, progress=False, callback=lambda m, s, h: steps.append(s))
    assert steps == [] and model.train_input is None
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_fit_on_constant_labels_and_one_sample_stays_finite(dtype: torch.dtype) -> None:
    x = torch.full((1, 2), 0.25, dtype=dtype)
    ds = {"train_input": x, "train_label": torch.ones(1, 1, dtype=dtype),
          "test_input": x.clone(), "test_label": torch.ones(1, 1, dtype=dtype)}
    model = KAN([2, 2, 1], grid=3, seed=0, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # grid update on one sample is ill-posed
        history = model.fit(ds, steps=3, progress=False)
    assert all(math.isfinite(v) for v in history["train_loss"])
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert history["train_loss"][-1] < 1e-2


def test_empty_batch_gives_an_empty_output() -> None:
    assert KAN([2, 3, 1])(torch.zeros(0, 2)).shape == (0, 1)
