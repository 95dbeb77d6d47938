"""KANLayer and KAN: the edge formula, grids, fitting, checkpoints and clear errors."""

import pytest
import torch
from torch import nn

from kanlab import KAN, KANLayer, create_dataset
from kanlab.checkpoint import CheckpointError
from kanlab.datasets import TOY_FUNCTIONS, exp_sin_xy, xy


def _wiggle(layer: KANLayer, seed: int = 0) -> None:
    with torch.no_grad():
        layer.coef.copy_(torch.randn(layer.coef.shape, generator=torch.Generator().manual_seed(seed)))


def test_layer_computes_the_edge_formula() -> None:
    layer = KANLayer(3, 2, grid=4, k=2, dtype=torch.float64)
    _wiggle(layer)
    x = torch.rand(50, 3, dtype=torch.float64) * 2 - 1
    expected = torch.zeros(50, 2, dtype=torch.float64)
    for j in range(2):
        for i in range(3):
            spline = layer.basis(x)[:, i, :] @ layer.coef[j, i]
            expected[:, j] += layer.scale_base[j, i] * nn.functional.silu(x[:, i]) + layer.scale_sp[j, i] * spline
    torch.testing.assert_close(layer(x), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(layer.edge_activations(x).sum(2), expected, atol=1e-12, rtol=0)


def test_mask_switches_edges_off() -> None:
    layer = KANLayer(2, 2, dtype=torch.float64)
    x = torch.rand(10, 2, dtype=torch.float64)
    full = layer.edge_activations(x)
    layer.mask[0, 1] = 0
    torch.testing.assert_close(layer(x)[:, 0], full[:, 0, 0])


def test_layer_gradcheck() -> None:
    layer = KANLayer(2, 3, dtype=torch.float64)
    x = (torch.rand(8, 2, dtype=torch.float64) * 1.8 - 0.9).requires_grad_()
    assert torch.autograd.gradcheck(layer, (x,))


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-6)])
def test_refine_doubling_reproduces_the_function(dtype: torch.dtype, tol: float) -> None:
    layer = KANLayer(2, 3, grid=5, dtype=dtype)
    _wiggle(layer)
    x = torch.rand(300, 2, dtype=dtype) * 2 - 1
    before = layer(x)
    layer.refine(10)
    assert layer.grid == 10 and layer.coef.shape == (3, 2, 13)
    assert (layer(x) - before).abs().max() < tol


def test_update_grid_keeps_the_function_on_the_samples() -> None:
    layer = KANLayer(2, 2, grid=8, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 2, dtype=torch.float64, generator=gen) * 0.3  # concentrated samples
    before = layer(x)
    layer.update_grid(x)
    error = (layer(x) - before).abs()
    assert error.max() < 0.03 * before.abs().max() and error.mean() < 1e-3 * before.abs().max()
    assert layer.knots[0, 3] == pytest.approx(x[:, 0].min().item(), rel=0.05)


def test_model_shapes_repr_and_parameter_count() -> None:
    model = KAN([2, 5, 1], grid=5, k=3)
    assert model(torch.rand(7, 2)).shape == (7, 1)
    assert "width=[2, 5, 1]" in repr(model) and "KANLayer" in repr(model)
    per_edge = (5 + 3) + 2  # coef and two scales (symbolic affine parameters count once snapped)
    assert model.num_parameters() == (2 * 5 + 5 * 1) * per_edge


def test_seed_fixes_initialisation_and_leaves_global_rng() -> None:
    state = torch.random.get_rng_state()
    a, b, c = KAN([2, 3, 1], seed=1), KAN([2, 3, 1], seed=1), KAN([2, 3, 1], seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.layers[0].scale_base, c.layers[0].scale_base)


def test_width_is_not_mutated() -> None:
    width = [2, 3, 1]
    model = KAN(width)
    model.width.append(9)
    assert width == [2, 3, 1]


def test_fit_lowers_the_error_and_is_deterministic() -> None:
    ds = create_dataset(xy, 2, n_train=300, n_test=300, seed=0)
    histories = []
    for _ in range(2):
        model = KAN([2, 2, 1], grid=5, seed=0)
        before = model.evaluate(ds)["test_rmse"]
        histories.append(model.fit(ds, steps=20, progress=False))
    assert histories[0] == histories[1]
    assert histories[0]["test_loss"][-1] < 0.05 * before
    assert set(histories[0]) == {"train_loss", "test_loss", "reg"} and len(histories[0]["train_loss"]) == 20


def test_fit_adam_minibatch_and_callback_stop() -> None:
    ds = create_dataset(exp_sin_xy, 2, n_train=128, n_test=64, seed=1)
    model = KAN([2, 3, 1], seed=0)
    seen = []
    history = model.fit(ds, opt="Adam", lr=0.01, steps=30, batch=32, progress=False,
                        callback=lambda m, step, h: seen.append(step) or step == 4)
    assert seen == [0, 1, 2, 3, 4] and len(history["test_loss"]) == 5


def test_grid_extension_staircase_on_exp_sin() -> None:
    ds = create_dataset(exp_sin_xy, 2, n_train=500, n_test=500, seed=0)
    model = KAN([2, 1, 1], grid=5, seed=0)
    losses = []
    for g in (5, 10, 20):
        if g != 5:
            model.refine(g)
        losses.append(model.fit(ds, steps=20, progress=False)["test_loss"][-1])
    assert losses[2] < losses[1] < losses[0] and losses[2] < 1e-3


def test_double_and_to_work() -> None:
    model = KAN([2, 2, 1]).double()
    assert model(torch.rand(3, 2, dtype=torch.float64)).dtype == torch.float64
    model.to("cpu")


@pytest.mark.parametrize("prepare", ["plain", "update_grid", "refine", "symbolic"])
def test_checkpoint_round_trip_is_exact(tmp_path, prepare: str) -> None:
    model = KAN([2, 3, 1], grid=4, seed=3, dtype=torch.float64)
    x = torch.rand(64, 2, dtype=torch.float64) * 2 - 1
    if prepare == "update_grid":
        model.update_grid(x)
    if prepare == "refine":
        model.refine(9)
    if prepare == "symbolic":
        pytest.importorskip("kanlab.symbolic")
        model.layers[1].set_symbolic(0, 2, "sin", (2.0, 0.5, -1.5, 0.25))
    path = model.save(tmp_path / "model.pt")
    loaded = KAN.load(path)
    assert torch.equal(loaded(x), model(x))
    assert loaded.get_config() == model.get_config()


def test_load_rejects_foreign_and_truncated_files(tmp_path) -> None:
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a kanlab checkpoint"):
        KAN.load(foreign)
    good = KAN([2, 2, 1]).save(tmp_path / "good.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated"):
        KAN.load(truncated)
    newer = tmp_path / "newer.pt"
    payload = torch.load(good, weights_only=True)
    payload["version"] = 99
    torch.save(payload, newer)
    with pytest.raises(CheckpointError, match="version 99"):
        KAN.load(newer)


def test_create_dataset_is_seeded_and_shaped() -> None:
    a = create_dataset(xy, 2, n_train=10, n_test=5, seed=4)
    b = create_dataset(xy, 2, n_train=10, n_test=5, seed=4)
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert a["train_input"].shape == (10, 2) and a["test_label"].shape == (5, 1)
    for f, n_var in TOY_FUNCTIONS.values():
        assert f(torch.rand(3, n_var)).shape == (3, 1)


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: KAN([2]), ValueError, "at least two entries"),
        (lambda: KAN([2, 0, 1]), ValueError, "positive int"),
        (lambda: KAN([2, 1], grid=0), ValueError, "grid"),
        (lambda: KAN([2, 1], k=-1), ValueError, "spline order"),
        (lambda: KAN([2, 1])(torch.rand(4, 3)), ValueError, r"shape \(\.\.\., 2\)"),
        (lambda: KAN([2, 1])(torch.tensor([[0.0, float("nan")]])), ValueError, "NaN"),
    ],
)
def test_bad_input_messages(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


def test_fit_rejects_nan_labels_before_training() -> None:
    ds = create_dataset(xy, 2, n_train=10, n_test=10)
    ds["train_label"][3] = float("nan")
    model = KAN([2, 1])
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="train_label.*NaN"):
        model.fit(ds, steps=2, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))
