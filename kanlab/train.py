"""The fit loop behind ``KAN.fit``: LBFGS or Adam, grid updates, sparsity, history, callbacks.

Introduced in 06_function_fitting (regularisation in 07_interpretability).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import torch

from kanlab.penalty import REG_METRICS, penalty_from_l1, spread_penalty
from kanlab.utils import all_finite

Callback = Callable[[Any, int, dict[str, list[float]]], Any]
DATASET_KEYS = ("train_input", "train_label", "test_input", "test_label")


def check_dataset(dataset: dict[str, torch.Tensor], in_dim: int, out_dim: int) -> None:
    """Raise a clear error unless ``dataset`` holds finite tensors of matching shapes."""
    if not isinstance(dataset, dict) or any(key not in dataset for key in DATASET_KEYS):
        raise ValueError(f"dataset must be a dict with keys {list(DATASET_KEYS)} (see create_dataset)")
    for split in ("train", "test"):
        x, y = dataset[f"{split}_input"], dataset[f"{split}_label"]
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != in_dim:
            raise ValueError(f"dataset['{split}_input'] must have shape (n, {in_dim}), got {getattr(x, 'shape', x)}")
        if not isinstance(y, torch.Tensor) or y.dim() != 2 or y.shape != (x.shape[0], out_dim):
            raise ValueError(
                f"dataset['{split}_label'] must have shape ({x.shape[0]}, {out_dim}), got {getattr(y, 'shape', y)}"
            )
        if x.shape[0] == 0:
            raise ValueError(f"dataset['{split}_input'] is empty; give at least one sample")
        for key, t in ((f"{split}_input", x), (f"{split}_label", y)):
            if not all_finite(t):
                raise ValueError(f"dataset['{key}'] contains NaN or inf; clean the data before training")


def _mse(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.mean((y_hat - y) ** 2)


def fit(
    model: Any,
    dataset: dict[str, torch.Tensor],
    opt: str = "LBFGS",
    steps: int = 100,
    lr: float = 1.0,
    update_grid: bool = True,
    grid_update_every: int = 5,
    stop_grid_update_step: int = 50,
    batch: int = -1,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    lamb: float = 0.0,
    lamb_l1: float = 1.0,
    lamb_entropy: float = 2.0,
    callback: Callback | None = None,
    progress: bool = True,
    seed: int = 0,
    history_size: int = 100,
    keep_best: bool = True,
    reset_lbfgs_on_grid_update: bool | float = 1.1,
    reg_metric: str = "paper",
) -> dict[str, list[float]]:
    """Train ``model`` on ``dataset``; return the history, one entry per step.

    history["train_loss"], history["test_loss"]: RMSE after each step; history["reg"]: the
    sparsity penalty (0 when ``lamb == 0``). ``batch=-1`` trains on the full training set.
    Grids are updated from the *training* inputs every ``grid_update_every`` steps before
    ``stop_grid_update_step`` (by default 10 updates in the first 50 steps, pykan's schedule: on
    the paper's [2, 1, 1] example it reaches ~2x lower error than every 10 steps). ``callback(model, step, history)`` returning a truthy value stops
    training early. ``seed`` fixes minibatch sampling. ``history_size`` is L-BFGS's memory
    (pairs of parameter-sized vectors): 100 reaches ~2x lower error than 10 on the paper's
    examples at the same step budget (benchmarks/fit_accuracy.py).

    ``keep_best`` (default True): when training ends, the model is put back to the state with the
    lowest train RMSE seen after any step — parameters *and* grids (every buffer, e.g. ``knots``)
    — so a late grid update or a step onto a worse plateau never leaves the model worse than it
    was (fits at G = 3 and 20 of the fit suite ended above their best loss). The history still
    records every step (the model ends at ``min(history["train_loss"])``).
    It applies when ``lamb == 0``; with the sparsity penalty the last state is kept (training
    there trades loss for sparsity). ``keep_best=False``: the state after the last step.
    ``reset_lbfgs_on_grid_update``: after a grid update that raised the train RMSE by more than
    this factor (default 1.1; ``True``: after every update, ``False``: never) LBFGS forgets its
    curvature pairs: they were measured on the old grid's coefficients, and an update that
    changes the function that much has changed the landscape they describe (on the deep fit-suite
    task iv, updates doubled the loss and the stale pairs stalled the fit at 1e-1; on
    exp(sin πx + y²) at G = 20 updates change it by ~1 % and the pairs are worth keeping).
    ``reg_metric``: the sparsity penalty. ``"paper"`` (default): the KAN paper's Eqs. 2.17–2.20 on
    ``|phi|_1`` (07_interpretability). ``"edge_forward_spline_n"``: pykan 0.2's default, on each
    edge's spread (``kanlab.penalty.spread_penalty``), so pykan's λ values transfer: pykan's
    hello-KAN recipe with it and ``prune(method="attribution")`` recovers its formula on 9 of 10
    seeds, as with the paper's penalty and L1 pruning, and as pykan does (``benchmarks/hello_kan.py``).
    """
    check_dataset(dataset, model.width[0], model.width[-1])
    dtype = next(model.parameters()).dtype
    for key in ("train_input", "test_input"):
        if dataset[key].dtype != dtype:
            raise TypeError(
                f"dataset['{key}'] has dtype {dataset[key].dtype} but the model's parameters are {dtype}; "
                f"convert the data with .to({dtype}) or build the model with dtype={dtype}"
            )
    for name, fn in (("callback", callback), ("loss_fn", loss_fn)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be None or a callable, got {fn!r}")
    if opt not in ("LBFGS", "Adam"):
        raise ValueError(f"opt must be 'LBFGS' or 'Adam', got {opt!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if lamb < 0 or lamb_l1 < 0 or lamb_entropy < 0:
        raise ValueError(f"lamb, lamb_l1 and lamb_entropy must be >= 0, got {lamb}, {lamb_l1}, {lamb_entropy}")
    if reg_metric not in REG_METRICS:
        raise ValueError(f"reg_metric must be one of {REG_METRICS}, got {reg_metric!r}")
    if isinstance(grid_update_every, bool) or not isinstance(grid_update_every, int) or grid_update_every < 1:
        raise ValueError(f"grid_update_every must be an int >= 1, got {grid_update_every!r}")
    n_train = dataset["train_input"].shape[0]
    if batch != -1 and not (isinstance(batch, int) and 1 <= batch <= n_train):
        raise ValueError(f"batch must be -1 (full batch) or an int in [1, {n_train}], got {batch!r}")
    loss_fn = loss_fn or _mse
    x_train, y_train = dataset["train_input"], dataset["train_label"]
    model.train_input = x_train
    params = [p for p in model.parameters() if p.requires_grad]
    if isinstance(history_size, bool) or not isinstance(history_size, int) or history_size < 1:
        raise ValueError(f"history_size must be an int >= 1, got {history_size!r}")
    optimizer = _make_optimizer(opt, params, lr, history_size)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    history: dict[str, list[float]] = {"train_loss": [], "test_loss": [], "reg": []}
    reset_ratio = _reset_ratio(reset_lbfgs_on_grid_update)
    track_best = keep_best and lamb == 0
    best: dict[str, Any] = {"loss": math.inf, "step": None, "state": None}

    def objective(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if lamb == 0:  # no penalty: not even its bookkeeping
            return loss_fn(model(x), y), x.new_zeros(())
        y_hat, reg = predict_and_penalty(model, x, lamb_l1, lamb_entropy, reg_metric)
        return loss_fn(y_hat, y), reg

    bar = _progress_bar(steps, progress)
    last_finite = [p.detach().clone() for p in params]  # the parameters after the last finite step
    try:
        with _threads_for(model, n_train):
            for step in range(steps):
                if update_grid and step % grid_update_every == 0 and step < stop_grid_update_step:
                    model.update_grid(x_train)
                    if step > 0 and reset_ratio is not None and hasattr(optimizer, "reset"):
                        if reset_ratio == 0 or _split_rmse(model, dataset, "train") > reset_ratio * history["train_loss"][-1]:
                            optimizer.reset()
                if batch == -1:
                    xb, yb = x_train, y_train
                else:
                    idx = torch.randperm(n_train, generator=generator, device="cpu")[:batch].to(x_train.device)
                    xb, yb = x_train[idx], y_train[idx]
                last_reg = [0.0]
                optimizer.step(_closure(optimizer, objective, xb, yb, lamb, last_reg))
                losses = _rmse(model, dataset)
                finite = math.isfinite(losses[0]) and all_finite(torch.cat([p.detach().reshape(-1) for p in params]))
                if finite:
                    torch._foreach_copy_(last_finite, [p.detach() for p in params])
                else:  # never leave a NaN model: back to the last finite parameters, and stop
                    with torch.no_grad():
                        torch._foreach_copy_(params, last_finite)
                    losses = _rmse(model, dataset)
                    warnings.warn(
                        f"fit: step {step} gave a non-finite loss or parameters; kept the parameters of the "
                        f"last finite step and stopped (a smaller lr or float64 may help)",
                        RuntimeWarning, stacklevel=2,
                    )
                if track_best and losses[0] < best["loss"]:
                    best.update(loss=losses[0], step=step, state=_snapshot(model))
                history["train_loss"].append(losses[0])
                history["test_loss"].append(losses[1])
                history["reg"].append(last_reg[0])
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(train=f"{losses[0]:.2e}", test=f"{losses[1]:.2e}")
                if not finite or (callback is not None and callback(model, step, history)):
                    break
        if best["state"] is not None and best["step"] != step:
            model.load_state_dict(best["state"], strict=False)  # (symbolic names do not change in fit)
    finally:
        for p in params:  # fit owns its optimiser: no gradients are left for anyone else's
            p.grad = None
        if bar is not None:
            bar.close()
    return history


def _reset_ratio(value: bool | float) -> float | None:
    """``reset_lbfgs_on_grid_update`` as a loss ratio: 0 (always), None (never) or the factor."""
    if isinstance(value, bool):
        return 0.0 if value else None
    if not (isinstance(value, (int, float)) and value >= 1 and math.isfinite(value)):
        raise ValueError(f"reset_lbfgs_on_grid_update must be a bool or a factor >= 1, got {value!r}")
    return float(value)


def _snapshot(model: Any) -> dict[str, Any]:
    """A copy of the model's state (parameters, knots and the other buffers) to restore later."""
    named = [*model.named_parameters(), *model.named_buffers()]
    return {name: tensor.detach().clone() for name, tensor in named}


# Below this much work per pass (samples × Σ in·out·(G + k + 1) multiply-adds), fit runs on one
# thread: torch's intra-op threads cost more in wake-ups and spinning than they save on such small
# ops, several times more when another process keeps a core busy (benchmarks/fit_accuracy.py
# --threads measures it).
SMALL_FIT_WORK = 4_000_000


@contextlib.contextmanager
def _threads_for(model: Any, n_train: int) -> Iterator[None]:
    """One torch thread for a small fit, the caller's setting restored afterwards."""
    work = n_train * sum(layer.in_dim * layer.out_dim * (layer.grid + layer.k + 1) for layer in model.layers)
    previous = torch.get_num_threads()
    if work >= SMALL_FIT_WORK or previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@torch.no_grad()
def _split_rmse(model: Any, dataset: dict[str, torch.Tensor], split: str) -> float:
    """The model's RMSE now on ``split`` ("train" or "test")."""
    return math.sqrt(float(_mse(model(dataset[f"{split}_input"]), dataset[f"{split}_label"])))


def _rmse(model: Any, dataset: dict[str, torch.Tensor]) -> tuple[float, float]:
    """(train RMSE, test RMSE) of the model now."""
    return _split_rmse(model, dataset, "train"), _split_rmse(model, dataset, "test")


def _closure(optimizer, objective, x, y, lamb: float, last_reg: list[float]):
    """The function optimisers call: loss + lamb·penalty, backward, remember the penalty."""

    params = [p for group in optimizer.param_groups for p in group["params"]]

    def closure() -> torch.Tensor:
        for p in params:  # what optimizer.zero_grad() does, without its ~30 µs of wrappers
            p.grad = None
        loss, reg = objective(x, y)
        total = loss + lamb * reg
        total.backward()
        last_reg[0] = float(reg.detach())
        return total

    return closure


def predict_and_penalty(
    model: Any, x: torch.Tensor, lamb_l1: float = 1.0, lamb_entropy: float = 2.0, metric: str = "paper"
) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass through ``model``: its prediction and the sparsity penalty ``metric`` (see ``fit``).

    ``"paper"`` (Eqs. 2.17–2.20): each layer's edge norms come from ``KANLayer.forward_and_l1`` (no
    differentiable per-edge tensor). ``"edge_forward_spline_n"`` (pykan's): from the per-edge
    outputs (batch, out, in) of the numeric edges, ``kanlab.penalty.spread_penalty``.
    """
    model._check_input(x)
    reg = x.new_zeros(())
    for l, layer in enumerate(model.layers):  # noqa: E741
        if metric == "paper":
            y, l1 = layer.forward_and_l1(x)
            reg = reg + penalty_from_l1(l1, lamb_l1, lamb_entropy)
        else:
            numeric = layer.numeric_activations(x)  # (batch, out, in)
            reg = reg + spread_penalty(numeric, x, lamb_l1, lamb_entropy)
            y = numeric.sum(dim=2)
            if layer.has_symbolic:
                y = y + layer.symbolic_activations(x).sum(dim=2)
        x = model.nodes(l, y)  # multiplication nodes, if any (kanlab.mult)
    return x, reg


def _make_optimizer(
    opt: str, params: list[torch.nn.Parameter], lr: float, history_size: int
) -> torch.optim.Optimizer:
    if opt == "Adam":
        return torch.optim.Adam(params, lr=lr)
    from kanlab.lbfgs import LBFGS

    return LBFGS(params, lr=lr, history_size=history_size, line_search_fn="strong_wolfe",
                 tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32)


def _progress_bar(steps: int, progress: bool):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, desc="fit", leave=False)
