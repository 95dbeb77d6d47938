"""Checkpoints that lose nothing: save/load after training, pruning and symbolic snapping.

tests/test_model.py covers the plain, grid-updated, refined and one-edge-symbolic float64 model
and the foreign/truncated/newer-version errors. Here: a model that actually trained, pruned
models, models with several snapped edges (and trainable affine parameters), float32 as well as
float64, a reload that trains on exactly like the original, ``weights_only`` loading, damaged
files, and that nothing is written unless asked.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
import torch

from kanlab import KAN, create_dataset
from kanlab.checkpoint import CheckpointError
from kanlab.datasets import exp_sin_xy

DTYPES = [torch.float32, torch.float64]


def _dataset(dtype: torch.dtype) -> dict[str, torch.Tensor]:
    return create_dataset(exp_sin_xy, 2, n_train=64, n_test=32, seed=0, dtype=dtype)


def _trained(dtype: torch.dtype) -> tuple[KAN, dict[str, torch.Tensor]]:
    ds = _dataset(dtype)
    model = KAN([2, 4, 1], grid=4, k=3, seed=0, dtype=dtype)
    # Adam keeps it quick; grid updates at steps 0, 2 and 4 happen inside fit.
    model.fit(ds, opt="Adam", lr=0.02, steps=6, grid_update_every=2, progress=False)
    return model, ds


def _silence_hidden_node(model: KAN, node: int) -> None:
    """Make hidden node ``node`` useless (no outgoing signal), so pruning must remove it."""
    with torch.no_grad():
        model.layers[1].coef[:, node] = 0.0
        model.layers[1].scale_base[:, node] = 0.0


def _prepare(kind: str, dtype: torch.dtype) -> tuple[KAN, torch.Tensor]:
    model, ds = _trained(dtype)
    x = ds["train_input"]
    if kind == "refined":
        model.refine(8)
    elif kind == "pruned":
        _silence_hidden_node(model, 2)
        model = model.prune(x)
    elif kind == "symbolic":
        model.fix_symbolic(0, 0, 0, "sin", x=x)
        model.fix_symbolic(0, 1, 2, "x^2", x=x)
        model.fix_symbolic(1, 3, 0, "exp", fit_params=False)
    elif kind == "pruned+symbolic":
        _silence_hidden_node(model, 2)
        model = model.prune(x)
        model.fix_symbolic(0, 0, 0, "sin", x=x)
    return model, ds["test_input"]


def _assert_identical(a: KAN, b: KAN) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert sa[key].dtype == sb[key].dtype and torch.equal(sa[key], sb[key]), key
    assert [p.requires_grad for p in a.parameters()] == [p.requires_grad for p in b.parameters()]
    assert a.get_config() == b.get_config()
    assert [layer.sym_names for layer in a.layers] == [layer.sym_names for layer in b.layers]
    assert [layer.has_symbolic for layer in a.layers] == [layer.has_symbolic for layer in b.layers]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("kind", ["trained", "refined", "pruned", "symbolic", "pruned+symbolic"])
def test_round_trip_is_bit_identical(tmp_path: Path, kind: str, dtype: torch.dtype) -> None:
    model, x = _prepare(kind, dtype)
    path = model.save(tmp_path / "model.pt")
    loaded = KAN.load(path)
    _assert_identical(model, loaded)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        assert torch.equal(loaded(x * 3), model(x * 3))  # outside the grid too (base branch only)
    assert loaded.num_parameters() == model.num_parameters()
    if kind == "pruned":
        assert loaded.width == model.width == [2, 3, 1]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_a_reloaded_model_trains_on_exactly_like_the_original(tmp_path: Path, dtype: torch.dtype) -> None:
    model, x = _prepare("symbolic", dtype)
    ds = _dataset(dtype)
    loaded = KAN.load(model.save(tmp_path / "m.pt"))
    h1 = model.fit(ds, opt="Adam", lr=0.01, steps=4, grid_update_every=3, progress=False)
    h2 = loaded.fit(ds, opt="Adam", lr=0.01, steps=4, grid_update_every=3, progress=False)
    assert h1 == h2
    _assert_identical(model, loaded)


def test_formula_survives_the_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("sympy")
    model = KAN([2, 1, 1], grid=3, seed=0, dtype=torch.float64)
    model.layers[0].set_symbolic(0, 0, "sin", (3.14159, 0.0, 1.0, 0.0))
    model.layers[0].set_symbolic(0, 1, "x^2", (1.0, 0.0, 1.0, 0.0))
    model.layers[1].set_symbolic(0, 0, "exp", (1.0, 0.0, 1.0, 0.0))
    loaded = KAN.load(model.save(tmp_path / "f.pt"))
    assert str(loaded.formula()) == str(model.formula())


def test_the_file_loads_with_plain_torch_weights_only(tmp_path: Path) -> None:
    """No pickled classes: ``torch.load(weights_only=True)`` reads it without kanlab."""
    model, _ = _prepare("pruned+symbolic", torch.float32)
    payload = torch.load(model.save(tmp_path / "m.pt"), weights_only=True)
    assert payload["format"] == "kanlab-checkpoint" and isinstance(payload["version"], int)
    assert isinstance(payload["config"], str)  # JSON text
    assert all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values())


def test_load_never_runs_pickled_code(tmp_path: Path) -> None:
    """A file with a pickled callable is refused (weights_only), and the callable never runs."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    path = tmp_path / "evil.pt"
    with path.open("wb") as fh:
        pickle.dump({"format": "kanlab-checkpoint", "version": 1, "x": Evil()}, fh, protocol=2)
    with pytest.raises(CheckpointError, match="not a readable kanlab checkpoint"):
        KAN.load(path)
    assert not marker.exists()


def _good_bytes(tmp_path: Path) -> bytes:
    return KAN([2, 2, 1]).save(tmp_path / "good.pt").read_bytes()


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda tmp: b"", "not a readable kanlab checkpoint"),
        (lambda tmp: b"\x89PNG\r\n\x1a\n" + bytes(64), "not a readable kanlab checkpoint"),
        (lambda tmp: _good_bytes(tmp)[: len(_good_bytes(tmp)) // 2], "truncated"),
        (lambda tmp: _good_bytes(tmp)[:-40], "not a readable kanlab checkpoint"),
        (lambda tmp: _saved({"state_dict": {}}), "not a kanlab checkpoint"),
        (lambda tmp: _saved([1, 2, 3]), "not a kanlab checkpoint"),
        (lambda tmp: _saved({"format": "kanlab-checkpoint", "version": "1"}), "version '1'"),
        (lambda tmp: _saved({"format": "kanlab-checkpoint", "version": 2}), "reads versions up to 1"),
        (lambda tmp: _saved({"format": "kanlab-checkpoint", "version": 1, "config": "{oops"}), "damaged"),
    ],
    ids=["empty", "png", "half", "tail-cut", "foreign-dict", "list", "version-str", "newer", "bad-json"],
)
def test_damaged_or_foreign_files_get_a_clear_error(tmp_path: Path, make, match: str) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(make(tmp_path))
    with pytest.raises(CheckpointError, match=match) as info:
        KAN.load(path)
    assert "bad.pt" in str(info.value)  # the message names the file


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_nothing_is_written_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Building, training, pruning, snapping and loading write no file; save writes exactly one."""
    monkeypatch.chdir(tmp_path)
    model, x = _prepare("pruned+symbolic", torch.float32)
    model.edge_scores(x)
    assert list(tmp_path.iterdir()) == []
    path = model.save("only.pt")
    KAN.load(path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["only.pt"]
