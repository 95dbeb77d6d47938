"""Grid extension keeps the trained model: ``KAN.refine`` on nested grids is exact on the data.

Issue 18: ``KAN.refine`` used to re-place every grid at the samples' quantiles before refining,
a least-squares projection onto another spline space that raised the train RMSE at every refine
(7.6e-2 -> 9.2e-2 on G 5 -> 10 of the fit suite's task "iv").
"""

from __future__ import annotations

import torch

from kanlab import KAN, create_dataset
from kanlab.datasets import exp_sin_xy
from kanlab.layer import KANLayer


def _trained(width, grid: int, seed: int = 0, steps: int = 20):
    ds = create_dataset(exp_sin_xy, 2, n_train=400, n_test=100, seed=seed, dtype=torch.float64)
    model = KAN(width, grid=grid, seed=seed, dtype=torch.float64)
    model.fit(ds, steps=steps, progress=False)
    return model, ds


def _relative_change(model, x, before):
    with torch.no_grad():
        return float((model(x) - before).norm() / before.norm())


def test_refine_on_nested_grids_keeps_the_output_on_the_training_data() -> None:
    model, ds = _trained([2, 5, 1], grid=5)
    x = ds["train_input"]
    for new_grid in (10, 20, 40):
        with torch.no_grad():
            before = model(x)
        model.refine(new_grid)  # grids from the last fit's inputs, as fit_suite does
        assert model.grid == new_grid
        assert _relative_change(model, x, before) < 1e-6


def test_refine_with_explicit_samples_and_a_deeper_model() -> None:
    model, ds = _trained([2, 3, 2, 1], grid=4)
    x = ds["train_input"]
    with torch.no_grad():
        before = model(x)
    model.refine(8, x=x)
    assert _relative_change(model, x, before) < 1e-6


def test_refine_is_exact_on_samples_beyond_the_grid_range() -> None:
    layer = KANLayer(2, 3, grid=5, dtype=torch.float64)
    with torch.no_grad():
        layer.coef.normal_(generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(500, 2, dtype=torch.float64, generator=gen) * 1.6 - 0.8
    x[:, 1] = x[:, 1] * 1.5  # input 1 reaches ±1.2, beyond its grid [-1, 1] (into the end knots)
    old_knots = layer.knots.clone()
    before = layer(x)
    layer.refine(10, x=x)
    assert (layer(x) - before).abs().max() < 1e-12 * before.abs().max()
    # input 0 (samples inside): the usual refinement, uniform knots stay uniform
    assert torch.allclose(layer.knots[0].diff(), torch.full((16,), 0.2, dtype=torch.float64))
    # input 1: its outer knots kept, every old knot still a knot
    assert torch.equal(layer.knots[1, :3], old_knots[1, :3]) and torch.equal(layer.knots[1, -3:], old_knots[1, -3:])


def test_refine_on_data_keeps_a_non_nested_refinement_close_where_the_data_are() -> None:
    model, ds = _trained([2, 5, 1], grid=3)
    x = ds["train_input"]
    with torch.no_grad():
        before = model(x)
    on_grid = KAN([2, 5, 1], grid=3, seed=0, dtype=torch.float64)
    on_grid.load_state_dict(model.state_dict())
    model.refine(5)  # G 3 -> 5: not nested
    on_grid.refine(5, update=False)  # least squares on grid samples only
    assert _relative_change(model, x, before) <= _relative_change(on_grid, x, before)


STEPS = 11  # the last step follows a grid update (at step 10), which raised the loss here


def test_fit_keeps_its_best_state() -> None:
    ds = create_dataset(exp_sin_xy, 2, n_train=200, n_test=50, seed=0)
    model = KAN([2, 5, 1], grid=3, seed=0)
    history = model.fit(ds, steps=STEPS, progress=False)
    train = model.evaluate(ds)["train_rmse"]
    assert abs(train - min(history["train_loss"])) <= 1e-6 * train
    last = KAN([2, 5, 1], grid=3, seed=0)
    history_last = last.fit(ds, steps=STEPS, progress=False, keep_best=False)
    assert history_last["train_loss"] == history["train_loss"]  # same run, only the end differs
    assert abs(last.evaluate(ds)["train_rmse"] - history_last["train_loss"][-1]) <= 1e-6
    assert min(history["train_loss"]) < history["train_loss"][-1]  # this run ends above its best


def test_lbfgs_reset_forgets_the_curvature_pairs() -> None:
    from kanlab.lbfgs import LBFGS

    w = torch.nn.Parameter(torch.tensor([3.0, -2.0], dtype=torch.float64))
    opt = LBFGS([w], history_size=5)

    def closure():
        w.grad = None
        loss = (w[0] ** 2 + 10 * w[1] ** 2) + (w[0] * w[1]) ** 2
        loss.backward()
        return loss

    opt.step(closure)
    assert opt.state[w]["memory"].S is not None
    before = float(closure().detach())
    opt.reset()
    assert len(opt.state) == 0
    opt.step(closure)  # starts afresh (a new memory) and keeps descending
    assert opt.state[w]["n_iter"] >= 1 and float(closure().detach()) < before


def test_fit_resets_lbfgs_after_grid_updates_as_asked() -> None:
    import pytest

    ds = create_dataset(exp_sin_xy, 2, n_train=200, n_test=50, seed=0)
    runs = {}
    for option in (True, False, 1.1):
        model = KAN([2, 5, 1], grid=3, seed=0)
        runs[option] = model.fit(ds, steps=12, progress=False, reset_lbfgs_on_grid_update=option)["train_loss"]
    assert runs[True][:5] == runs[False][:5]  # identical until the first update after step 0
    assert runs[True] != runs[False]
    with pytest.raises(ValueError, match="reset_lbfgs_on_grid_update"):
        KAN([2, 5, 1], grid=3).fit(ds, steps=1, progress=False, reset_lbfgs_on_grid_update=0.5)
