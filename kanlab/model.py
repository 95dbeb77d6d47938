"""``KAN``: a stack of KAN layers with grid update, grid extension, fitting and checkpoints.

Introduced in 05_vectorized_kan and used from 06_function_fitting on. Interpretability
(pruning, symbolic snapping, formulas) lives in ``kanlab.pruning`` and ``kanlab.symbolic``;
the methods here delegate to them so a model reads like the paper's API.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kanlab import splines
from kanlab.layer import KANLayer, checked_forward
from kanlab.mult import NodeLayout, arity_spec, parse_width
from kanlab.penalty import penalty_from_l1 as penalty_from_l1
from kanlab.penalty import sparsity_penalty as sparsity_penalty

CHECKPOINT_FORMAT = "kanlab-checkpoint"
CHECKPOINT_VERSION = 1


class KAN(nn.Module):
    """A Kolmogorov–Arnold Network ``width[0] -> width[1] -> ... -> width[-1]``.

    >>> model = KAN(width=[2, 5, 1], grid=5, k=3, seed=0)
    >>> model(torch.rand(8, 2)).shape
    torch.Size([8, 1])

    A width entry ``[n_sum, n_mult]`` adds multiplication nodes, each the product of
    ``mult_arity`` subnodes (KAN 2.0; ``kanlab.mult``, 10_discovering_laws): ``KAN([2, [0, 1], 1])``
    can be exactly x·y. ``width`` then counts nodes per entry, e.g. ``[2, 1, 1]``.

    ``seed`` fixes the initialisation (the global RNG is left untouched). ``dtype``/``device``
    choose where parameters live; ``.to()``/``.double()`` work as for any module.
    """

    def __init__(
        self,
        width: Sequence[int | Sequence[int]],
        grid: int = 5,
        k: int = 3,
        seed: int = 0,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        base_fn: str = "silu",
        grid_eps: float = 0.02,
        noise_scale: float = 0.1,
        scale_base_mu: float = 0.0,
        scale_base_sigma: float = 1.0,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        mult_arity: int | Sequence[Sequence[int]] = 2,
    ) -> None:
        super().__init__()
        layouts = parse_width(width, mult_arity)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an int, got {seed!r}")
        # width: nodes per entry (ints); node_layouts: which subnodes each node multiplies
        # (kanlab.mult). Without multiplication nodes a layer's out_dim is width[l + 1].
        self.width = [lay.n_nodes for lay in layouts]
        self.node_layouts: list[NodeLayout] = layouts
        self._mult = [bool(lay.arity) for lay in layouts[1:]]  # per layer: a node step after it?
        self.config: dict[str, Any] = {
            "width": [lay.spec() for lay in layouts], "mult_arity": arity_spec(layouts),
            "grid": grid, "k": k, "seed": seed,
            "grid_range": [float(v) for v in grid_range], "base_fn": base_fn,
            "grid_eps": grid_eps, "noise_scale": noise_scale,
            "scale_base_mu": scale_base_mu, "scale_base_sigma": scale_base_sigma,
        }
        devices = [] if device is None or torch.device(device).type == "cpu" else [device]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            self.layers = nn.ModuleList(
                KANLayer(
                    self.width[l], layouts[l + 1].n_subnodes, grid=grid, k=k, grid_range=tuple(grid_range),
                    base_fn=base_fn, noise_scale=noise_scale, scale_base_mu=scale_base_mu,
                    scale_base_sigma=scale_base_sigma, grid_eps=grid_eps, dtype=dtype, device=device,
                )
                for l in range(len(self.width) - 1)
            )
        self.train_input: torch.Tensor | None = None  # inputs of the last fit (not saved)

    # ----------------------------------------------------------------- basics
    @property
    def grid(self) -> int:
        """G of the first layer (all layers share G unless changed by hand)."""
        return self.layers[0].grid

    @property
    def k(self) -> int:
        return self.layers[0].k

    def extra_repr(self) -> str:
        width = self.config["width"] if self.has_mult else self.width
        return f"width={width}, grid={self.grid}, k={self.k}"

    @property
    def has_mult(self) -> bool:
        """True when some width entry has multiplication nodes (see ``kanlab.mult``)."""
        return any(self._mult)

    def nodes(self, l: int, z: torch.Tensor) -> torch.Tensor:  # noqa: E741
        """Layer l's outputs (its subnodes, batch x out_dim) -> the nodes of entry l + 1.

        Identity for sum-only entries; multiplication nodes multiply their subnodes.
        """
        return self.node_layouts[l + 1].combine(z) if self._mult[l] else z

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., width[0]) -> (..., width[-1]); leading dimensions as in ``nn.Linear``.

        Under ``torch.autocast`` it computes in the parameters' dtype (see ``KANLayer.forward``).
        """
        return checked_forward(self._forward_rows, self.layers[0], x, self.width[-1])

    def _forward_rows(self, x: torch.Tensor) -> torch.Tensor:
        for l, layer in enumerate(self.layers):  # noqa: E741
            x = layer.forward_unchecked(x)
            if self._mult[l]:
                x = self.node_layouts[l + 1].combine(x)
        return x

    def activations(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer: (its input (batch, in), its edge activations (batch, out, in)).

        ``out`` counts the layer's subnodes (= width[l + 1] without multiplication nodes).
        """
        out = []
        for l, layer in enumerate(self.layers):  # noqa: E741
            acts = layer.edge_activations(x)
            out.append((x, acts))
            x = self.nodes(l, acts.sum(dim=2))
        return out

    def layer_inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's input for the model input x, computed without building edge tensors."""
        inputs = []
        with torch.no_grad():
            for l, layer in enumerate(self.layers):  # noqa: E741
                inputs.append(x)
                x = self.nodes(l, layer(x))
        return inputs

    def num_parameters(self) -> int:
        """Number of trainable scalars (coefficients, scales, symbolic affine parameters)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    # ----------------------------------------------------------------- grids
    @torch.no_grad()
    def update_grid(self, x: torch.Tensor) -> KAN:
        """Adapt every layer's grid to the activations that ``x`` produces, layer by layer.

        Pass the training inputs explicitly (not the test set). Returns self.
        """
        self._check_input(x)
        for l, layer in enumerate(self.layers):  # noqa: E741
            layer.update_grid(x)
            x = self.nodes(l, layer.forward_unchecked(x))
        return self

    @torch.no_grad()
    def refine(self, new_grid: int, x: torch.Tensor | None = None, update: bool = True) -> KAN:
        """Grid extension in place: every layer to ``new_grid`` intervals, function kept. Returns self.

        Each layer's grid gets ``new_grid`` intervals placed along its current grid, so G -> m·G
        nests the spline spaces and the old splines are reproduced exactly (``KANLayer.refine``).
        Training can move a hidden layer's values outside its grid, where a finer grid on the old
        range would change the function; so with ``update=True`` the samples ``x`` (default: the
        inputs of the last ``fit``; pass the training inputs) are run through the layers, and only
        an input with samples beyond its grid range gets a new grid at its samples (the function
        then kept on them by least squares). The grids are *not* re-placed at the samples'
        quantiles first: that projection onto a different spline space changed the model (it
        raised the train RMSE at every refine, e.g. 7.6e-2 -> 9.2e-2 on G 5 -> 10), while the
        nested refinement keeps its output on the samples to round-off (tests/test_refine.py).
        ``update=False`` refines the current grids as they are (nothing read from x or the last fit).

        Each layer's ``coef`` grows and becomes a new parameter: build a new optimizer after
        ``refine`` (``fit`` does; ``KANLayer.refine`` warns when an optimizer may be affected).
        ``update_grid`` keeps every parameter object and shape.
        """
        splines.check_grid_and_order(new_grid, self.k)
        use_data = update and (x is not None or self.train_input is not None)
        xl = self._data_or_train_input(x) if use_data else None
        for l, layer in enumerate(self.layers):  # noqa: E741
            layer.refine(new_grid, xl)
            if xl is not None:
                xl = self.nodes(l, layer.forward_unchecked(xl))
        self.config["grid"] = new_grid
        return self

    # ----------------------------------------------------------------- training
    def additive_start(self, x: torch.Tensor, y: torch.Tensor, spread: float = 0.5) -> KAN:
        """Start from the best additive model of y instead of random splines; see ``kanlab.warm_start``.

        x: (batch, width[0]) and y: (batch, width[-1]), the training data. Returns self.
        """
        from kanlab.warm_start import additive_start

        return additive_start(self, x, y, spread=spread)

    def fit(self, dataset: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, list[float]]:
        """Train on ``dataset`` (keys train_input/train_label/test_input/test_label); see ``kanlab.train.fit``."""
        from kanlab.train import fit

        return fit(self, dataset, **kwargs)

    @torch.no_grad()
    def evaluate(self, dataset: dict[str, torch.Tensor]) -> dict[str, float]:
        """RMSE on the train and test split: ``{"train_rmse": ..., "test_rmse": ...}``."""
        result = {}
        for split in ("train", "test"):
            y_hat = self(dataset[f"{split}_input"])
            result[f"{split}_rmse"] = float(torch.sqrt(torch.mean((y_hat - dataset[f"{split}_label"]) ** 2)))
        return result

    def regularization(self, x: torch.Tensor, lamb_l1: float = 1.0, lamb_entropy: float = 2.0) -> torch.Tensor:
        """The paper's sparsity penalty (Eqs. 2.17–2.20) summed over layers, for input x."""
        from kanlab.train import predict_and_penalty

        return predict_and_penalty(self, x, lamb_l1, lamb_entropy)[1]

    @torch.no_grad()
    def edge_scores(self, x: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Per layer (out, in): ``|phi|_1 = mean over the batch of |phi(x)|`` (edge importance)."""
        x = self._data_or_train_input(x)
        return [acts.abs().mean(0) for _, acts in self.activations(x)]

    def _data_or_train_input(self, x: torch.Tensor | None) -> torch.Tensor:
        if x is not None:
            self._check_input(x)
            return x
        if self.train_input is None:
            raise ValueError("pass x (e.g. dataset['train_input']): this model has not been fitted yet")
        return self.train_input

    def _check_input(self, x: torch.Tensor) -> None:
        self.layers[0].check_input(x)

    # ----------------------------------------------------------------- interpretability
    def prune(
        self, x: torch.Tensor | None = None, node_th: float = 1e-2, edge_th: float = 3e-2, method: str = "l1"
    ) -> KAN:
        """A smaller KAN without unimportant hidden nodes and edges (see ``kanlab.pruning``).

        ``method``: "l1" (paper 1.0) or "attribution" (KAN 2.0, as pykan's ``prune``).
        It is a new model with new parameters: build a new optimizer from its ``parameters()``
        (this model, and an optimizer over it, are left unchanged).
        """
        from kanlab.pruning import prune

        return prune(self, self._data_or_train_input(x), node_th=node_th, edge_th=edge_th, method=method)

    def prune_inputs(
        self, x: torch.Tensor | None = None, input_th: float = 1e-2, method: str = "attribution"
    ) -> tuple[KAN, list[int]]:
        """A KAN without the inputs that matter little, and the kept input indices (``kanlab.pruning``)."""
        from kanlab.pruning import prune_inputs

        return prune_inputs(self, self._data_or_train_input(x), input_th=input_th, method=method)

    def attribute(self, x: torch.Tensor | None = None, out_score: torch.Tensor | None = None):
        """KAN 2.0 attribution scores on x (default: the training inputs); see ``kanlab.attribution``."""
        from kanlab.attribution import attribute

        return attribute(self, self._data_or_train_input(x), out_score=out_score)

    @property
    def feature_score(self) -> torch.Tensor:
        """(width[0],): each input's attribution score on the training inputs (``attribute``)."""
        return self.attribute().feature_score

    def suggest_symbolic(self, l: int, i: int, j: int, x: torch.Tensor | None = None, lib=None, top_k: int = 5):
        """Rank symbolic candidates for edge (l, i, j) (see ``kanlab.symbolic``)."""
        from kanlab.symbolic import suggest_symbolic

        return suggest_symbolic(self, l, i, j, x=self._data_or_train_input(x), lib=lib, top_k=top_k)

    def fix_symbolic(self, l: int, i: int, j: int, name: str, x: torch.Tensor | None = None, fit_params: bool = True):
        """Snap edge (l, i, j) to the named function (see ``kanlab.symbolic``)."""
        from kanlab.symbolic import fix_symbolic

        return fix_symbolic(self, l, i, j, name, x=self._data_or_train_input(x), fit_params=fit_params)

    def auto_symbolic(
        self, x: torch.Tensor | None = None, lib=None, r2_threshold: float = 0.99, weak: str = "snap"
    ):
        """Snap every edge to its best candidate; below ``r2_threshold`` ``weak`` decides (see ``kanlab.symbolic``)."""
        from kanlab.symbolic import auto_symbolic

        return auto_symbolic(self, x=self._data_or_train_input(x), lib=lib, r2_threshold=r2_threshold, weak=weak)

    def unfix_symbolic(self, l: int | None = None, i: int | None = None, j: int | None = None) -> int:  # noqa: E741
        """Return edge (l, i, j), or every symbolic edge, to its spline; returns how many (``kanlab.symbolic``)."""
        from kanlab.symbolic import unfix_symbolic

        return unfix_symbolic(self, l, i, j)

    def formula(self, var_names: Sequence[str] | None = None, precision: int = 4):
        """The network as a sympy expression of its inputs (all edges must be symbolic)."""
        from kanlab.symbolic import formula

        return formula(self, var_names=var_names, precision=precision)

    # ----------------------------------------------------------------- checkpoints
    def get_config(self) -> dict[str, Any]:
        """JSON-safe description from which ``KAN.load`` rebuilds this architecture."""
        config = dict(self.config, width=[lay.spec() for lay in self.node_layouts])
        config["layer_grids"] = [layer.grid for layer in self.layers]
        config["sym_names"] = [layer.sym_names for layer in self.layers]
        config["dtype"] = str(self.layers[0].coef.dtype).removeprefix("torch.")
        return config

    def save(self, path: str | Path) -> Path:
        """Write config (JSON) and weights to ``path`` (one file, loadable with weights_only=True)."""
        path = Path(path)
        if not path.parent.is_dir():
            raise FileNotFoundError(f"cannot save to {str(path)!r}: directory {str(path.parent)!r} does not exist")
        state = {k: v.detach().cpu() for k, v in self.state_dict().items()}
        payload = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "config": json.dumps(self.get_config()),
            "state_dict": state,
        }
        torch.save(payload, path)
        return path

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device | None = "cpu") -> KAN:
        """Rebuild a model saved by ``save``. Loads with ``weights_only=True`` (no code runs)."""
        from kanlab.checkpoint import read_checkpoint

        config, state = read_checkpoint(path, map_location, CHECKPOINT_FORMAT, CHECKPOINT_VERSION)
        dtype = getattr(torch, config.pop("dtype", "float32"))
        layer_grids = config.pop("layer_grids")
        sym_names = config.pop("sym_names")
        config["grid_range"] = tuple(config["grid_range"])
        model = cls(**config, dtype=dtype)
        for l, (layer, g, names) in enumerate(zip(model.layers, layer_grids, sym_names)):  # noqa: E741
            if g != layer.grid:
                layer.refine(g)
            layer.sym_names = [list(row) for row in names]
            # Checkpoints from before the names were in the state dict: take them from the config.
            state.setdefault(f"layers.{l}._extra_state", {"sym_names": layer.sym_names})
        model.load_state_dict(state)
        for layer in model.layers:
            layer.sync_symbolic_edges()
        return model.to(map_location) if map_location is not None else model
