"""Every bad input gets a clear error, and a failed call leaves the model exactly as it was.

One table covers the public API: ``KAN(...)``, the forward pass, ``fit``, ``update_grid``,
``refine``, ``prune``, symbolic fitting, ``save``/``load``, ``create_dataset``, the PDE module,
the widgets and the scalar engine. Each row names the call, the exception type, a fragment that
must name the offending argument and a pattern that must say what is allowed. After the call,
the shared model's parameters, buffers (knots, masks), symbolic names and config are compared
bit for bit with a snapshot taken before it.

Rows marked ``xfail(strict=True)`` are known gaps (see the reason): they flip to a failure the
moment the library is fixed, so the marker gets removed.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
import torch

from kanlab import KAN, create_dataset
from kanlab.datasets import xy

Call = Callable[[dict[str, Any]], Any]


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def _fitted() -> dict[str, Any]:
    ds = create_dataset(xy, 2, n_train=20, n_test=10, seed=0)
    model = KAN([2, 3, 1], grid=4, k=3, seed=0)
    model.fit(ds, steps=2, progress=False)
    return {"model": model, "ds": ds}


@pytest.fixture
def ctx(_fitted: dict[str, Any], tmp_path) -> dict[str, Any]:
    """A fresh copy of a fitted [2, 3, 1] KAN (train_input set), its dataset and a temp dir."""
    model = copy.deepcopy(_fitted["model"])
    return {"model": model, "ds": _fitted["ds"], "x": _fitted["ds"]["train_input"], "tmp": tmp_path}


def _bits(t: torch.Tensor) -> bytes:
    return t.detach().cpu().contiguous().numpy().tobytes()


def snapshot(model: KAN) -> dict[str, Any]:
    """Everything that defines the model, as bytes and plain data (bit-for-bit comparable)."""
    return {
        "state": {k: (v.dtype, tuple(v.shape), _bits(v)) for k, v in model.state_dict().items()},
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "sym_names": copy.deepcopy([layer.sym_names for layer in model.layers]),
        "config": copy.deepcopy(model.get_config()),
        "width": list(model.width),
        "train_input": None if model.train_input is None else _bits(model.train_input),
    }


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


# ----------------------------------------------------------------------------- helpers for rows
def _ds_with(ctx: dict[str, Any], key: str, value: torch.Tensor) -> dict[str, torch.Tensor]:
    return {**ctx["ds"], key: value}


def _spoiled(t: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t[3, 0] = value
    return t


def _problem_without_exact():
    from kanlab.pde import PoissonProblem

    return PoissonProblem("no_exact", source=lambda x: x[:, 0], boundary=lambda x: x[:, 1])


def _text_file(ctx: dict[str, Any]):
    path = ctx["tmp"] / "notes.pt"
    path.write_text("these are not weights\n")
    return path


def _spline_explorer():
    from kanlab.widgets import SplineExplorer

    return SplineExplorer(grid=4, k=2, canvas="image")


def _pde(name: str):
    import kanlab.pde

    return getattr(kanlab.pde, name)


def _pde_train(name: str):
    import kanlab.pde_train

    return getattr(kanlab.pde_train, name)


def _widget(name: str):
    import kanlab.widgets

    return getattr(kanlab.widgets, name)


def _scalar(name: str):
    import kanlab.scalar
    import kanlab.scalar_kan

    return getattr(kanlab.scalar, name, None) or getattr(kanlab.scalar_kan, name)


def _tiny_pinn(ctx, alpha=0.01, interior=None):
    x_int, x_bnd = _pde("collocation_points")(3)
    model = KAN([2, 1], grid=3, dtype=torch.float64)
    return _pde("pinn_loss")(model, _pde("sin_sin_problem")(), x_int if interior is None else interior,
                             x_bnd, alpha=alpha)


# ----------------------------------------------------------------------------- the table
# (id, call(ctx), exception type, fragment naming the argument, regex for what is allowed)
ROWS: list[Any] = [
    # KAN(...)
    ("KAN-width-str", lambda c: KAN("2,3,1"), ValueError, "width", r"list of layer sizes"),
    ("KAN-width-short", lambda c: KAN([2]), ValueError, "width", r"at least two entries"),
    ("KAN-width-float", lambda c: KAN([2, 2.5, 1]), ValueError, "width", r"positive int"),
    ("KAN-grid-0", lambda c: KAN([2, 1], grid=0), ValueError, "grid", r"int >= 1"),
    ("KAN-grid-float", lambda c: KAN([2, 1], grid=5.0), ValueError, "grid", r"int >= 1"),
    ("KAN-k-negative", lambda c: KAN([2, 1], k=-1), ValueError, "k (spline order)", r"int >= 0"),
    ("KAN-k-bool", lambda c: KAN([2, 1], k=True), ValueError, "k (spline order)", r"int >= 0"),
    ("KAN-grid_range-reversed", lambda c: KAN([2, 1], grid_range=(1, -1)), ValueError, "grid_range", r"lo < hi"),
    ("KAN-grid_range-nan", lambda c: KAN([2, 1], grid_range=(0, math.nan)), ValueError, "grid_range", r"finite"),
    ("KAN-grid_range-3", lambda c: KAN([2, 1], grid_range=(0, 1, 2)), ValueError, "grid_range", r"\(lo, hi\)"),
    ("KAN-base_fn", lambda c: KAN([2, 1], base_fn="relu"), ValueError, "base_fn", r"one of \[.*'silu'"),
    ("KAN-grid_eps", lambda c: KAN([2, 1], grid_eps=2.0), ValueError, "grid_eps", r"\[0, 1\]"),
    ("KAN-seed-str", lambda c: KAN([2, 1], seed="a"), ValueError, "seed", r"int"),
    pytest.param(
        "KAN-dtype-int", lambda c: KAN([2, 1], dtype=torch.int64), ValueError, "dtype", r"float",
    ),
    # forward
    ("forward-list", lambda c: c["model"]([[0.1, 0.2]]), TypeError, "x", r"torch\.Tensor"),
    ("forward-1d", lambda c: c["model"](torch.rand(3)), ValueError, "x", r"\(\.\.\., 2\)"),
    ("forward-width", lambda c: c["model"](torch.rand(4, 3)), ValueError, "x", r"\(\.\.\., 2\)"),
    ("forward-nan", lambda c: c["model"](torch.tensor([[0.0, math.nan]])), ValueError, "x", r"NaN"),
    pytest.param(
        "forward-inf", lambda c: c["model"](torch.tensor([[0.0, math.inf]])), ValueError, "x", r"inf",
    ),
    pytest.param(
        "forward-float64-into-float32", lambda c: c["model"](torch.rand(3, 2, dtype=torch.float64)),
        TypeError, "x", r"float32",
    ),
    pytest.param(
        "forward-int", lambda c: c["model"](torch.tensor([[0, 1]])), TypeError, "x", r"float",
    ),
    # fit
    ("fit-opt", lambda c: c["model"].fit(c["ds"], opt="SGD", progress=False), ValueError, "opt", r"'LBFGS' or 'Adam'"),
    ("fit-steps-negative", lambda c: c["model"].fit(c["ds"], steps=-1, progress=False), ValueError, "steps", r"int >= 0"),
    ("fit-steps-float", lambda c: c["model"].fit(c["ds"], steps=2.5, progress=False), ValueError, "steps", r"int >= 0"),
    ("fit-lr-zero", lambda c: c["model"].fit(c["ds"], lr=0, progress=False), ValueError, "lr", r"positive"),
    ("fit-lr-nan", lambda c: c["model"].fit(c["ds"], lr=math.nan, progress=False), ValueError, "lr", r"positive"),
    ("fit-batch-0", lambda c: c["model"].fit(c["ds"], batch=0, progress=False), ValueError, "batch", r"-1 .*\[1, 20\]"),
    ("fit-batch-big", lambda c: c["model"].fit(c["ds"], batch=21, progress=False), ValueError, "batch", r"\[1, 20\]"),
    ("fit-lamb", lambda c: c["model"].fit(c["ds"], lamb=-1, progress=False), ValueError, "lamb", r">= 0"),
    ("fit-grid_update_every", lambda c: c["model"].fit(c["ds"], grid_update_every=0, progress=False),
     ValueError, "grid_update_every", r"int >= 1"),
    ("fit-dataset-keys", lambda c: c["model"].fit({"train_input": c["x"]}, progress=False),
     ValueError, "dataset", r"keys \['train_input', 'train_label', 'test_input', 'test_label'\]"),
    ("fit-dataset-shape", lambda c: c["model"].fit(_ds_with(c, "train_input", torch.rand(20, 3)), progress=False),
     ValueError, "dataset['train_input']", r"\(n, 2\)"),
    ("fit-label-inf", lambda c: c["model"].fit(_ds_with(c, "test_label", _spoiled(c["ds"]["test_label"], math.inf)),
                                               progress=False),
     ValueError, "dataset['test_label']", r"NaN or inf"),
    ("fit-input-nan", lambda c: c["model"].fit(_ds_with(c, "train_input", _spoiled(c["x"], math.nan)), progress=False),
     ValueError, "dataset['train_input']", r"NaN or inf"),
    ("fit-dtype", lambda c: c["model"].fit({k: v.double() for k, v in c["ds"].items()}, progress=False),
     TypeError, "dataset['train_input']", r"torch\.float32"),
    ("fit-callback", lambda c: c["model"].fit(c["ds"], steps=1, callback=3, progress=False),
     TypeError, "callback", r"callable"),
    ("fit-loss_fn", lambda c: c["model"].fit(c["ds"], steps=1, loss_fn="mse", progress=False),
     TypeError, "loss_fn", r"callable"),
    # update_grid and refine
    ("update_grid-shape", lambda c: c["model"].update_grid(torch.rand(5, 3)), ValueError, "x", r"\(batch, 2\)"),
    ("update_grid-nan", lambda c: c["model"].update_grid(_spoiled(c["x"], math.nan)), ValueError, "x", r"NaN"),
    ("update_grid-inf", lambda c: c["model"].update_grid(_spoiled(c["x"], math.inf)), ValueError, "x", r"finite"),
    ("update_grid-empty", lambda c: c["model"].update_grid(torch.rand(0, 2)), ValueError, "x", r"batch >= 1"),
    ("refine-0", lambda c: c["model"].refine(0), ValueError, "grid", r"int >= 1"),
    ("refine-float", lambda c: c["model"].refine(5.5), ValueError, "grid", r"int >= 1"),
    # prune
    ("prune-node_th", lambda c: c["model"].prune(c["x"], node_th=-1), ValueError, "node_th", r">= 0"),
    ("prune-edge_th-nan", lambda c: c["model"].prune(c["x"], edge_th=math.nan), ValueError, "edge_th", r">= 0"),
    ("prune-x-shape", lambda c: c["model"].prune(torch.rand(4, 3)), ValueError, "x", r"\(batch, 2\)"),
    ("prune-unfitted", lambda c: KAN([2, 3, 1]).prune(), ValueError, "pass x", r"not been fitted"),
    # symbolic
    ("suggest-layer", lambda c: c["model"].suggest_symbolic(5, 0, 0), IndexError, "l=5", r"\[0, 2\)"),
    ("suggest-edge", lambda c: c["model"].suggest_symbolic(0, 7, 0), IndexError, "i=7", r"i in \[0, 2\)"),
    ("suggest-top_k", lambda c: c["model"].suggest_symbolic(0, 0, 0, top_k=0), ValueError, "top_k", r"positive int"),
    ("fix-unknown-name", lambda c: c["model"].fix_symbolic(0, 0, 0, "foo"), ValueError, "'foo'", r"known: .*sin"),
    ("fix-edge", lambda c: c["model"].fix_symbolic(1, 0, 3, "sin"), IndexError, "j=3", r"j in \[0, 1\)"),
    pytest.param(
        "auto-r2_threshold", lambda c: c["model"].auto_symbolic(lib=["x"], r2_threshold=2.0),
        ValueError, "r2_threshold", r"\[0, 1\]",
    ),
    ("formula-not-snapped", lambda c: c["model"].formula(), ValueError, "still splines", r"fix_symbolic or auto_symbolic"),
    ("formula-var_names", lambda c: c["model"].formula(var_names=["a"]), ValueError, "var_names", r"2 names"),
    ("add_symbolic-complexity",
     lambda c: __import__("kanlab.symbolic", fromlist=["add_symbolic"]).add_symbolic("cube", torch.sin, abs, -1),
     ValueError, "complexity", r"non-negative"),
    ("fit_affine-sizes",
     lambda c: __import__("kanlab.symbolic", fromlist=["fit_affine"]).fit_affine(torch.rand(5), torch.rand(4), "sin"),
     ValueError, "x and y", r"same size"),
    # save / load
    pytest.param(
        "save-missing-dir", lambda c: c["model"].save(c["tmp"] / "missing" / "m.pt"), FileNotFoundError,
        "missing", r"director",
    ),
    ("load-missing", lambda c: KAN.load(c["tmp"] / "nothing.pt"), FileNotFoundError, "nothing.pt", r"no checkpoint"),
    ("load-directory", lambda c: KAN.load(c["tmp"]), FileNotFoundError, str, r"no checkpoint"),
    ("load-text-file", lambda c: KAN.load(_text_file(c)), ValueError, "notes.pt", r"not a readable kanlab checkpoint"),
    # create_dataset
    ("dataset-n_var", lambda c: create_dataset(xy, 0), ValueError, "n_var", r"positive int"),
    ("dataset-ranges", lambda c: create_dataset(xy, 2, ranges=(1, 0)), ValueError, "ranges", r"lo < hi"),
    ("dataset-ranges-count", lambda c: create_dataset(xy, 2, ranges=[(0, 1)] * 3), ValueError, "ranges", r"2 pairs"),
    ("dataset-n_train", lambda c: create_dataset(xy, 2, n_train=0), ValueError, "n_train", r"positive int"),
    ("dataset-f-not-callable", lambda c: create_dataset(3, 2), TypeError, "f", r"callable"),
    ("dataset-f-shape", lambda c: create_dataset(lambda x: x.sum(), 2), ValueError, "f", r"\(n,\) or \(n, n_out\)"),
    ("dataset-f-nan", lambda c: create_dataset(lambda x: torch.log(x[:, :1]), 2), ValueError, "f", r"finite"),
    ("dataset-seed", lambda c: create_dataset(xy, 2, seed="a"), ValueError, "seed", r"non-negative int"),
    # PDE module
    ("pde-problem-name", lambda c: _pde("poisson_problem")("heat"), ValueError, "name", r"one of \['sin_sin'"),
    ("pde-n_side", lambda c: _pde("collocation_points")(0), ValueError, "n_side", r"positive int"),
    ("pde-sampling", lambda c: _pde("collocation_points")(5, sampling="grid"), ValueError, "sampling", r"'mesh' or 'random'"),
    ("pde-domain", lambda c: _pde("collocation_points")(5, domain=(1, -1)), ValueError, "domain", r"lo < hi"),
    ("pde-alpha", lambda c: _tiny_pinn(c, alpha=0), ValueError, "alpha", r"> 0"),
    ("pde-points-shape", lambda c: _tiny_pinn(c, interior=torch.rand(4, 3, dtype=torch.float64)),
     ValueError, "x_interior", r"\(n, 2\)"),
    ("pde-source-shape", lambda c: _pde("PoissonProblem")("bad", source=lambda x: x, boundary=lambda x: x[:, 0]),
     ValueError, "PoissonProblem.source", r"\(3,\) or \(3, 1\)"),
    ("pde-train-grids", lambda c: _pde_train("train_pde")(KAN([2, 1], dtype=torch.float64),
                                                        _pde("sin_sin_problem")(), grids=[0]),
     ValueError, "grids", r"positive ints"),
    ("pde-mlp-activation", lambda c: _pde_train("mlp")(activation="relu"), ValueError, "activation", r"one of"),
    ("pde-no-exact", lambda c: _pde("error_norms")(KAN([2, 1], dtype=torch.float64), _problem_without_exact(),
                                                   _pde("mesh_points")(3)),
     ValueError, "no_exact", r"no exact solution"),
    # widgets
    ("widget-grid", lambda c: _widget("SplineExplorer")(grid=0), ValueError, "grid", r"1\.\.20"),
    ("widget-k", lambda c: _widget("SplineExplorer")(k=7), ValueError, "k", r"0\.\.5"),
    ("widget-target", lambda c: _widget("SplineExplorer")(target="tan"), ValueError, "target", r"one of \['sin'"),
    ("widget-canvas", lambda c: _widget("SplineExplorer")(canvas="svg"), ValueError, "canvas", r"'auto', 'image', 'ipympl'"),
    ("widget-level", lambda c: _widget("CoxDeBoorExplorer")(k=2, level=3), ValueError, "level", r"0\.\.2"),
    ("widget-min_interval", lambda c: _widget("TrainingDashboard")(min_interval=-1), ValueError, "min_interval", r">= 0"),
    ("widget-lr", lambda c: _widget("EdgeTrainer")(lr=0), ValueError, "lr", r"\(0, 10\]"),
    ("widget-preset", lambda c: _widget("KAComposer")(preset="nope"), ValueError, "preset", r"one of"),
    ("widget-set_grid", lambda c: _spline_explorer().set_grid(21), ValueError, "grid", r"1\.\.20"),
    ("widget-set_coef-index", lambda c: _spline_explorer().set_coef(99, 0.5), ValueError, "c", r"0\.\.5"),
    ("widget-set_coef-nan", lambda c: _spline_explorer().set_coef(0, math.nan), ValueError, "value", r"finite"),
    # scalar engine
    ("scalar-Tensor-str", lambda c: _scalar("Tensor")("a"), TypeError, "Tensor(data)", r"real number"),
    ("scalar-pow-Tensor", lambda c: _scalar("Tensor")(2.0) ** _scalar("Tensor")(2.0), TypeError, "exponent", r"a number"),
    ("scalar-log", lambda c: _scalar("Tensor")(-1.0).log(), ValueError, "log", r"positive input"),
    ("scalar-div0", lambda c: _scalar("Tensor")(1.0) / 0, ZeroDivisionError, "division", r"by zero"),
    ("scalar-KAN-input_size", lambda c: _scalar("KAN")(0, [1]), ValueError, "input_size", r"int >= 1"),
    ("scalar-KAN-layer_sizes", lambda c: _scalar("KAN")(2, []), ValueError, "layer_sizes", r"at least one"),
    ("scalar-KAN-grid_range", lambda c: _scalar("KAN")(2, [1], grid_range=(1, 0)), ValueError, "grid_range", r"lo < hi"),
    ("scalar-KAN-call", lambda c: _scalar("KAN")(2, [1])([0.5]), ValueError, "inputs", r"list of 2 inputs"),
    ("scalar-Optimizer-lr", lambda c: _scalar("Optimizer")(lr=0), ValueError, "lr", r"positive"),
    ("scalar-Optimizer-momentum", lambda c: _scalar("Optimizer")(lr=0.1, momentum=1.0), ValueError, "momentum", r"\[0, 1\)"),
    ("scalar-loss-targets", lambda c: _scalar("compute_loss")([_scalar("Tensor")(1.0)], [1.0, 2.0]),
     ValueError, "y", r"one target per output"),
]


def _values(row: Any) -> tuple:
    return row.values if hasattr(row, "marks") else row


def _param(row: Any) -> Any:
    if hasattr(row, "marks"):  # already a pytest.param (an xfail row)
        return pytest.param(*row.values, id=row.values[0], marks=row.marks)
    return pytest.param(*row, id=row[0])


@pytest.mark.parametrize("name,call,error,argument,allowed", [_param(r) for r in ROWS])
def test_bad_input_is_a_clear_error_and_changes_nothing(
    ctx: dict[str, Any], name: str, call: Call, error: type[Exception], argument: Any, allowed: str
) -> None:
    before = snapshot(ctx["model"])
    with pytest.raises(error) as info:
        call(ctx)
    message = str(info.value)
    fragment = str(ctx["tmp"]) if argument is str else argument
    assert fragment in message, f"{name}: message does not name {fragment!r}: {message!r}"
    assert re.search(allowed, message), f"{name}: message does not say what is allowed ({allowed!r}): {message!r}"
    assert snapshot(ctx["model"]) == before, f"{name}: the failed call changed the model"


def test_table_is_broad() -> None:
    """At least 25 rows, spread over every part of the public API the issue lists."""
    ids = [_values(r)[0] for r in ROWS]
    assert len(ids) == len(set(ids)) >= 25
    for area in ("KAN-", "forward-", "fit-", "update_grid-", "refine-", "prune-", "suggest-", "fix-",
                 "load-", "dataset-", "pde-", "widget-", "scalar-"):
        assert any(i.startswith(area) for i in ids), area


def test_failed_fit_after_a_valid_start_changes_nothing(ctx: dict[str, Any]) -> None:
    """A callback that is not callable is caught before the first step, not after it."""
    before = snapshot(ctx["model"])
    with pytest.raises(TypeError, match="callback"):
        ctx["model"].fit(ctx["ds"], steps=3, callback=object(), progress=False)
    assert snapshot(ctx["model"]) == before


def test_failed_widget_setter_keeps_the_widget_state() -> None:
    explorer = _spline_explorer()
    grid, k, coef = explorer.grid, explorer.k, explorer.coef.copy()
    curve = explorer.spline_line.get_ydata().copy()
    with pytest.raises(ValueError, match=r"grid must be an integer in 1\.\.20"):
        explorer.set_grid(0)
    assert (explorer.grid, explorer.k) == (grid, k)
    assert (explorer.coef == coef).all() and (explorer.spline_line.get_ydata() == curve).all()
