# ruff: noqa: E741  -- `l` is the layer index in the paper's (l, i, j) edge notation
"""From data to law (KAN 2.0, Liu et al. 2024, Sec. 4): a pipeline that reads a formula off samples.

``discover(f, ranges, names)`` runs five steps, each a kanlab tool from earlier notebooks:

1. **relevant inputs** — a small [n, 5, 1] KAN is fitted to the samples and its attribution
   scores (``kanlab.attribution``) drop the inputs that do not matter;
2. **shape** — the separability tests of ``kanlab.science`` (on f at sample points) choose the
   architecture: a *product* of one-variable factors (a multiplication node, ``kanlab.mult``),
   a *sum* of them, or, when neither holds, the smallest MultKAN with one sum and one product
   node, ``[n, [1, 1], [0, 1]]``. A group of inputs that enters only through a ratio or a
   product (the symmetry test with ``h = x_i/x_j`` or ``x_i·x_j``) becomes one new input: a
   *dimensionless group* such as v/c;
3. **fit** — the shaped KAN (edges outside the shape masked) is trained with L-BFGS;
4. **snap** — edge by edge, the top 3 symbolic candidates are each tried with a short refit
   (a lookahead) and the one with the lowest loss is kept (``kanlab.symbolic``);
5. **formula** — the snapped model's formula, with the dimensionless groups put back, is
   rounded (``round_constants``) and compared with the true law (``equivalent``).

A one-variable factor is first tried as one edge; if that does not snap to an exact formula
the factor becomes a chain of two edges (e.g. ``1/sqrt(1 - q²)`` = ``1/sqrt(u)`` of ``u = 1 - q²``).
The test laws and the checks of a formula live in ``kanlab.laws`` (re-exported here).
Introduced in 10_discovering_laws.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from kanlab.datasets import create_dataset
from kanlab.laws import FEYNMAN_LAWS, Law, equivalent, round_constants, sample_points
from kanlab.model import KAN

__all__ = [
    "FEYNMAN_LAWS", "LIB", "Discovery", "Feature", "Law", "Shape", "choose_shape", "discover", "equivalent",
    "fit_shape", "relevant_inputs", "round_constants", "sample_points", "snap",
]

LIB = ("x", "x^2", "x^3", "1/x", "1/x^2", "sqrt", "1/sqrt(x)", "exp", "log", "sin", "tanh", "arctanh")
"""The symbolic library the pipeline snaps to (a subset of ``SYMBOLIC_LIB``)."""

Fn = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Feature:
    """One model input: an original variable or a group of two (``x_i/x_j``, ``x_i·x_j``)."""

    label: str
    inputs: tuple[int, ...]
    op: str = "var"  # "var", "ratio" or "product"

    def torch(self, x: torch.Tensor) -> torch.Tensor:
        """x (batch, n) -> (batch,)."""
        a = x[:, self.inputs[0]]
        if self.op == "var":
            return a
        b = x[:, self.inputs[1]]
        return a / b if self.op == "ratio" else a * b

    def sympy(self, symbols: Sequence[Any]) -> Any:
        a = symbols[self.inputs[0]]
        if self.op == "var":
            return a
        b = symbols[self.inputs[1]]
        return a / b if self.op == "ratio" else a * b


@dataclass(frozen=True)
class Shape:
    """An architecture chosen by the tests: ``kind`` "product", "sum" or "mixed", and its inputs.

    ``depth`` edges per factor (product and sum). ``width``, ``mult_arity`` and ``masks`` (one
    (out, in) 0/1 tensor per layer, None = all edges) build the model.
    """

    kind: str
    features: tuple[Feature, ...]
    depth: int = 1

    @property
    def n(self) -> int:
        return len(self.features)

    @property
    def width(self) -> list[Any]:
        n = self.n
        if self.kind == "mixed":
            return [n, [1, 1], [0, 1]]
        if self.kind == "outer":
            return [n, 1, 1]
        last = [0, 1] if self.kind == "product" and n > 1 else 1
        return [n] * self.depth + [last]

    @property
    def mult_arity(self) -> int | list[list[int]]:
        if self.kind == "mixed":
            return [[], [self.n], [2]]
        return self.n if self.kind == "product" and self.n > 1 else 2

    def masks(self, device: torch.device | str = "cpu") -> list[torch.Tensor | None]:
        """Each layer's 0/1 edge mask (out, in) for this shape, on ``device`` (None: all edges)."""
        if self.kind == "mixed":  # s = Σ g_i(x_i) (row 0), p = Π h_i(x_i); then F(s)·G(p)
            first = torch.cat([torch.ones(1, self.n, device=device), torch.eye(self.n, device=device)])
            return [first, torch.eye(2, device=device)]
        if self.kind == "outer":  # F(Σ g_i(x_i))
            return [None, None]
        eye = torch.eye(self.n, device=device)
        last = eye if self.kind == "product" and self.n > 1 else torch.ones(1, self.n, device=device)
        return [eye] * (self.depth - 1) + [last]

    def build(self, seed: int = 0, dtype: torch.dtype = torch.float64, grid: int = 5) -> KAN:
        """The untrained KAN of this shape, edges outside the shape masked."""
        model = KAN(self.width, grid=grid, seed=seed, dtype=dtype, mult_arity=self.mult_arity)
        with torch.no_grad():
            for layer, mask in zip(model.layers, self.masks(model.layers[0].coef.device), strict=True):
                if mask is not None:
                    layer.mask.mul_(mask.to(layer.mask))
        return model

    def transform(self, x: torch.Tensor) -> torch.Tensor:
        """Original inputs (batch, n_in) -> the model's inputs (batch, n)."""
        return torch.stack([f.torch(x) for f in self.features], dim=1)

    def __repr__(self) -> str:
        return f"Shape({self.kind!r}, features={[f.label for f in self.features]}, width={self.width})"


def relevant_inputs(dataset: dict[str, torch.Tensor], threshold: float = 0.05, seed: int = 0,
                    steps: int = 30) -> tuple[list[int], torch.Tensor]:
    """Fit a small [n, 5, 1] KAN and keep the inputs whose feature score exceeds ``threshold``.

    Returns (kept input indices, feature scores (n,)); the scores are relative to the largest.
    """
    n = dataset["train_input"].shape[1]
    model = KAN([n, 5, 1], grid=5, seed=seed, dtype=dataset["train_input"].dtype)
    model.fit(dataset, steps=steps, lamb=1e-3, progress=False)
    score = model.attribute(dataset["train_input"]).feature_score
    score = score / score.max()
    kept = [i for i in range(n) if float(score[i]) > threshold]
    return kept, score


def _sub_groups(test: Any, kept: Sequence[int]) -> list[list[int]]:
    """The separable groups among the ``kept`` inputs only (others held fixed)."""
    inter = test.interaction[kept][:, kept]
    groups: list[list[int]] = []
    for a, i in enumerate(kept):
        linked = [g for g in groups if any(float(inter[a, kept.index(j)]) >= test.tol for j in g)]
        merged = [i] + [j for g in linked for j in g]
        groups = [g for g in groups if g not in linked] + [sorted(merged)]
    return sorted(groups)


def _group_feature(f: Fn, x: torch.Tensor, group: Sequence[int], names: Sequence[str], tol: float) -> Feature | None:
    """A ratio or product of the two inputs in ``group`` through which alone f depends on them."""
    if len(group) != 2:
        return None
    i, j = group
    for op, h, label in (("ratio", lambda z: z[:, i] / z[:, j], f"{names[i]}/{names[j]}"),
                         ("product", lambda z: z[:, i] * z[:, j], f"{names[i]}*{names[j]}")):
        from kanlab.science import symmetry

        if symmetry(f, x, [i, j], h=h, tol=tol).holds:
            return Feature(label, (i, j), op)
    return None


def choose_shape(f: Fn, x: torch.Tensor, kept: Sequence[int], names: Sequence[str],
                 tol: float = 1e-2) -> tuple[Shape, dict[str, Any]]:
    """The architecture the separability and symmetry tests suggest for f on the ``kept`` inputs.

    x: (batch, n_in) sample points. Returns (shape, what the tests said).
    """
    from kanlab.science import additive_separability, multiplicative_separability

    kept = list(kept)
    info: dict[str, Any] = {}
    groups, kind = [kept], "sum"
    if len(kept) > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mul = _sub_groups(multiplicative_separability(f, x, tol), kept)
            add = _sub_groups(additive_separability(f, x, tol), kept)
        info.update(multiplicative=mul, additive=add)
        if len(mul) > 1:
            groups, kind = mul, "product"
        elif len(add) > 1:
            groups, kind = add, "sum"
    features = []
    for g in groups:
        if len(g) == 1:
            features.append(Feature(names[g[0]], (g[0],)))
            continue
        feat = _group_feature(f, x, g, names, tol)
        if feat is None:  # not one combination: F(Σ g_i(x_i)) first, then the MultKAN F(s)·G(p)
            info["groups"] = groups
            return Shape("outer", tuple(Feature(names[i], (i,)) for i in kept)), info
        features.append(feat)
    info["groups"] = groups
    return Shape(kind, tuple(features)), info


def _spline_edges(model: KAN) -> list[tuple[int, int, int]]:
    """(l, i, j) of every active edge that is still a spline, layer by layer."""
    return [(l, i, j) for l, layer in enumerate(model.layers) for j in range(layer.out_dim)
            for i in range(layer.in_dim) if float(layer.mask[j, i]) == 1.0 and float(layer.sym_mask[j, i]) == 0.0]


def _refit(model: KAN, dataset: dict[str, torch.Tensor], steps: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(dataset, steps=steps, update_grid=False, progress=False)
    with torch.no_grad():
        return model.evaluate(dataset)["train_rmse"]


def snap(model: KAN, dataset: dict[str, torch.Tensor], lib: Sequence[str] = LIB, top_k: int = 3,
         lookahead_steps: int = 10) -> list[dict[str, Any]]:
    """Snap every active spline edge, in place, trying the top ``top_k`` candidates with a lookahead.

    For each edge (layer by layer) each candidate is fixed on a copy of the model and the copy is
    trained ``lookahead_steps`` L-BFGS steps; then the *rest* of the copy is snapped greedily
    (each remaining edge to its best-ranked candidate) and trained as long again. The candidate
    whose fully snapped copy has the lowest training RMSE wins (ties within 1% go to the better
    ranked one), and the model continues from its copy before the greedy rest. The rollout is
    what lets the inner edge of a chain be chosen right: after any inner candidate the outer
    spline can still fit the data, but only the right one leaves an outer edge that snaps.
    Returns one record per edge.
    """
    from kanlab.symbolic import suggest_symbolic

    x = dataset["train_input"]
    lib = list(lib)
    report = []
    for l, i, j in _spline_edges(model):
        cands = suggest_symbolic(model, l, i, j, x, lib=lib, top_k=top_k)
        best = None
        for rank, cand in enumerate(cands):
            trial = copy.deepcopy(model)
            trial.layers[l].set_symbolic(j, i, cand.name, cand.affine)
            err = _refit(trial, dataset, lookahead_steps)
            rest = _spline_edges(trial)
            if rest:
                rollout = copy.deepcopy(trial)
                for lr, ir, jr in rest:
                    top = suggest_symbolic(rollout, lr, ir, jr, x, lib=lib, top_k=1)[0]
                    rollout.layers[lr].set_symbolic(jr, ir, top.name, top.affine)
                err = _refit(rollout, dataset, lookahead_steps)
            if math.isfinite(err) and (best is None or err < 0.99 * best[0]):
                best = (err, rank, cand, trial)
        if best is None:  # every candidate diverged: keep the top one without refit
            model.layers[l].set_symbolic(j, i, cands[0].name, cands[0].affine)
            report.append({"l": l, "i": i, "j": j, "name": cands[0].name, "rmse": math.inf, "rank": 0})
            continue
        err, rank, cand, trial = best
        model.load_state_dict(trial.state_dict())
        for layer in model.layers:
            layer.sync_symbolic_edges()
        report.append({"l": l, "i": i, "j": j, "name": cand.name, "rmse": err, "rank": rank})
    return report


@dataclass
class Discovery:
    """What ``discover`` found: the formula (rounded, original variables), its RMSE on the test
    split, the shape and the kept inputs, and the pipeline's log of decisions."""

    formula: Any
    rmse: float
    shape: Shape
    kept: list[int]
    feature_score: torch.Tensor
    model: KAN
    log: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Discovery(formula={self.formula}, rmse={self.rmse:.2e}, shape={self.shape})"


def fit_shape(shape: Shape, dataset: dict[str, torch.Tensor], seed: int = 0, steps: int = 100,
              lib: Sequence[str] = LIB) -> tuple[KAN, float]:
    """Train a KAN of ``shape`` on the (transformed) dataset, snap it and refit: (model, test RMSE)."""
    # the mixed shape multiplies splines: a coarser start grid trains more reliably there
    model = shape.build(seed=seed, dtype=dataset["train_input"].dtype, grid=3 if shape.kind == "mixed" else 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(dataset, steps=steps, progress=False)
        model.refine(10, dataset["train_input"])
        model.fit(dataset, steps=steps // 2, progress=False)
        snap(model, dataset, lib)
        model.fit(dataset, steps=50, update_grid=False, progress=False)
    with torch.no_grad():
        return model, model.evaluate(dataset)["test_rmse"]


def discover(f: Fn, ranges: Sequence[Sequence[float]], names: Sequence[str], seed: int = 0,
             n_train: int = 1000, tol: float = 1e-2, exact_rmse: float = 1e-6,
             lib: Sequence[str] = LIB, digits: int = 4, kind: str | None = None) -> Discovery:
    """Run the pipeline (module docstring) on ``f: (batch, n) -> (batch, 1)`` sampled in ``ranges``.

    ``names``: the inputs' names (sympy symbols in the formula). ``exact_rmse``: below this
    test RMSE a snapped one-edge-per-factor model is accepted; otherwise the factors get two edges.
    ``kind`` forces a shape for the tested inputs ("mixed": the MultKAN F(s)·G(p) even where
    F(Σ g_i) would do), to compare shapes on one law.
    """
    import sympy

    symbols = [sympy.Symbol(s) for s in names]
    dataset = create_dataset(f, len(ranges), ranges=ranges, n_train=n_train, n_test=n_train, seed=seed,
                             dtype=torch.float64)
    log = []
    kept, score = relevant_inputs(dataset, seed=seed)
    log.append(f"attribution keeps {[names[i] for i in kept]} (scores {[round(float(s), 3) for s in score]})")
    shape, info = choose_shape(f, sample_points(ranges, seed=seed), kept, names, tol)
    log.append(f"tests: {info} -> {shape}")
    tries = [(shape.kind, 1), (shape.kind, 2)] if shape.kind != "outer" else [("outer", 1), ("mixed", 1)]
    if kind is not None:
        tries = [(kind, 1)]
    best = None
    for kind, depth in tries:
        shape_d = Shape(kind, shape.features, depth)
        data = {k: (shape_d.transform(v) if k.endswith("input") else v) for k, v in dataset.items()}
        model, rmse = fit_shape(shape_d, data, seed=seed, lib=lib)
        log.append(f"{shape_d}, depth {depth}: test RMSE {rmse:.2e}")
        if best is None or rmse < best[1]:
            best = (shape_d, rmse, model)
        if rmse < exact_rmse:
            break
    shape, rmse, model = best
    feats = [sympy.Symbol(f"_q{n}") for n in range(shape.n)]
    expr = model.formula(var_names=feats, precision=None)
    expr = expr.xreplace({q: feat.sympy(symbols) for q, feat in zip(feats, shape.features)})
    return Discovery(round_constants(expr, digits), rmse, shape, kept, score, model, log)
