"""Multiplication nodes (kanlab.mult): pykan's MultKAN semantics through every part of a KAN.

The reference for the node step is the explicit product of the layer's subnodes; the
acceptance test trains KAN([2, [0, 1], 1]) on x·y over [-2, 2]² and snaps it to exactly x_1*x_2.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sympy
import torch
import torch.distributed as dist

from kanlab import KAN, create_dataset, plot_kan
from kanlab.mult import parse_width
from kanlab.pruning import masked_copy, prune, subnetwork
from kanlab.train import predict_and_penalty

X1, X2 = sympy.symbols("x_1 x_2")


def _xy(x: torch.Tensor) -> torch.Tensor:
    return x[:, [0]] * x[:, [1]]


def _xy_data(seed: int) -> dict[str, torch.Tensor]:
    return create_dataset(_xy, 2, ranges=(-2, 2), n_train=500, n_test=200, seed=seed, dtype=torch.float64)


def test_node_step_is_the_product_of_consecutive_subnodes() -> None:
    model = KAN([2, [2, 2], [1, 1]], seed=0, mult_arity=[[], [2, 3], [2]], dtype=torch.float64)
    assert model.width == [2, 4, 2]
    assert [(lay.in_dim, lay.out_dim) for lay in model.layers] == [(2, 7), (4, 3)]
    x = torch.rand(16, 2, dtype=torch.float64) * 2 - 1
    z = model.layers[0](x)  # 7 subnodes: 2 sums, a pair, a triple
    h = torch.stack([z[:, 0], z[:, 1], z[:, 2] * z[:, 3], z[:, 4] * z[:, 5] * z[:, 6]], dim=1)
    u = model.layers[1](h)
    torch.testing.assert_close(model(x), torch.stack([u[:, 0], u[:, 1] * u[:, 2]], dim=1))
    assert model.config["width"] == [2, [2, 2], [1, 1]]


@pytest.mark.parametrize("width, arity, match", [
    ([2, [1], 1], 2, "pair"),
    ([[1, 1], 3, 1], 2, "input entry"),
    ([2, [0, 0], 1], 2, "at least one node"),
    ([2, [1, 1], 1], 1, "mult_arity must be >= 2"),
    ([2, [1, 2], 1], [[], [2], []], "one list per width entry"),
])
def test_bad_widths_and_arities_say_what_is_allowed(width, arity, match) -> None:
    with pytest.raises(ValueError, match=match):
        parse_width(width, arity)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_xy_snaps_exactly_to_x1_times_x2(seed: int) -> None:
    data = _xy_data(seed)
    model = KAN([2, [0, 1], 1], seed=seed, dtype=torch.float64)
    model.fit(data, steps=50, progress=False)
    model = model.prune(method="attribution")  # the near-constant cross edges go
    model.fit(data, steps=50, progress=False)
    model.auto_symbolic(lib=["x", "x^2", "sin", "exp"])
    model.fit(data, steps=50, progress=False)
    assert model.formula() == X1 * X2
    exact = model.formula(precision=None)  # formula == forward, to round-off
    fn = sympy.lambdify((X1, X2), exact, "math")
    x = data["test_input"]
    ref = torch.tensor([fn(float(a), float(b)) for a, b in x], dtype=torch.float64)
    torch.testing.assert_close(model(x)[:, 0], ref, atol=1e-10, rtol=1e-10)


def test_refine_and_update_grid_keep_the_function() -> None:
    data = create_dataset(lambda x: x[:, [0]] * x[:, [1]] + x[:, [0]], 2, n_train=300, seed=0,
                          dtype=torch.float64)
    model = KAN([2, [1, 1], 1], grid=5, seed=0, dtype=torch.float64)
    model.fit(data, steps=20, progress=False)
    x = data["train_input"]
    before = model(x)
    model.update_grid(x)  # a least-squares projection per layer: close, not exact
    assert float((model(x) - before).pow(2).mean().sqrt() / before.std()) < 0.02
    before = model(x)
    model.refine(10, x)
    assert model.grid == 10
    torch.testing.assert_close(model(x), before, atol=1e-6, rtol=0)
    history = model.fit(data, steps=10, progress=False)
    assert history["train_loss"][-1] < 1e-2


def test_regularisation_sees_the_multiplied_forward() -> None:
    model = KAN([3, [1, 2], 1], seed=1, dtype=torch.float64)
    x = torch.rand(40, 3, dtype=torch.float64)
    y, reg = predict_and_penalty(model, x, 1.0, 2.0)
    torch.testing.assert_close(y, model(x))
    acts = [a for _, a in model.activations(x)]
    from kanlab.model import sparsity_penalty

    torch.testing.assert_close(reg, sum(sparsity_penalty(a) for a in acts))
    data = create_dataset(lambda x: x[:, [0]] * x[:, [1]], 3, n_train=200, seed=0, dtype=torch.float64)
    history = model.fit(data, steps=10, lamb=1e-3, progress=False)
    assert history["reg"][-1] > 0 and history["train_loss"][-1] < history["train_loss"][0]


@pytest.mark.parametrize("method", ["l1", "attribution"])
def test_a_mult_node_and_its_subnodes_prune_together(method: str) -> None:
    # y = x1·x2: of [2, [2, 2], 1] only multiplication nodes are useful after masking the rest.
    model = KAN([2, [2, 2], 1], seed=0, dtype=torch.float64)
    x = torch.rand(64, 2, dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        model.layers[1].mask[0, [0, 1, 3]] = 0  # only the first multiplication node reaches y
    small = prune(model, x, edge_th=0.0, method=method)  # node pruning only
    assert small.config["width"] == [2, [0, 1], 1]
    assert small.layers[0].out_dim == 2  # both factors of the kept node
    torch.testing.assert_close(small(x), model(x))
    keep = [[0, 1], [2, 3], [0]]
    torch.testing.assert_close(subnetwork(model, keep)(x), masked_copy(model, keep)(x))


def test_save_load_round_trip_with_mult_nodes_and_symbolic_edges(tmp_path: Path) -> None:
    model = KAN([2, [1, 1], 1], seed=3, mult_arity=3, dtype=torch.float64)
    model.layers[0].set_symbolic(1, 0, "sin", (1.0, 0.5, 2.0, 0.1))
    path = model.save(tmp_path / "m.pt")
    loaded = KAN.load(path)
    x = torch.rand(10, 2, dtype=torch.float64)
    assert loaded.config["width"] == [2, [1, 1], 1] and loaded.config["mult_arity"] == 3
    torch.testing.assert_close(loaded(x), model(x), atol=0, rtol=0)
    mixed = KAN([2, [1, 2], 1], mult_arity=[[], [2, 3], []], seed=0)
    back = KAN.load(mixed.save(tmp_path / "mixed.pt"))
    assert back.config["mult_arity"] == [[], [2, 3], []]
    torch.testing.assert_close(back(x.float()), mixed(x.float()), atol=0, rtol=0)


def test_plot_kan_draws_mult_nodes() -> None:
    model = KAN([2, [1, 1], 1], seed=0)
    for score in ("l1", "attribution"):
        fig = plot_kan(model, score=score)
        texts = [t.get_text() for t in fig.axes[0].texts]
        assert texts.count("×") == 1
    with pytest.raises(ValueError, match="score must be"):
        plot_kan(model, score="abs")


# ----------------------------------------------------------------- DDP (gloo, 2 CPU processes)
def _ddp_setup() -> tuple[KAN, torch.Tensor, torch.Tensor]:
    data = _xy_data(0)
    return KAN([2, [1, 1], 1], grid=4, seed=0, dtype=torch.float64), data["train_input"][:64], data["train_label"][:64]


def _ddp_train(model, x, y) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(4):
        opt.zero_grad()
        torch.mean((model(x) - y) ** 2).backward()
        opt.step()


def _ddp_worker(rank: int, port: int, out_dir: str) -> None:
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        model, x, y = _ddp_setup()
        ddp = DistributedDataParallel(model)
        rows = slice(rank * 32, (rank + 1) * 32)
        _ddp_train(ddp, x[rows], y[rows])
        torch.save(model.state_dict(), Path(out_dir) / f"rank{rank}.pt")
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="needs gloo")
def test_ddp_with_mult_nodes_equals_full_batch(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(port, str(tmp_path)), nprocs=2, join=True)
    states = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    model, x, y = _ddp_setup()
    _ddp_train(model, x, y)
    for key, value in model.state_dict().items():
        assert torch.equal(states[0][key], states[1][key]), key
        torch.testing.assert_close(states[0][key], value, atol=1e-9, rtol=0)
