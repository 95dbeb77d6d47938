"""Self-checks for 05_vectorized_kan: the layer as one matmul, the memory of the flattened basis."""

from __future__ import annotations

import torch

from kanlab.exercises._core import (
    Feedback,
    Wrong,
    array,
    call,
    close,
    correct,
    exercise,
    first_match,
    number,
    wrong,
)

NOTEBOOK = "05_vectorized_kan"


def _layer():
    from kanlab.layer import KANLayer

    with torch.random.fork_rng():
        torch.manual_seed(0)
        layer = KANLayer(3, 4, grid=5, k=3, dtype=torch.float64)
        with torch.no_grad():
            layer.coef.normal_(0, 0.5)
            layer.scale_sp.uniform_(0.5, 1.5)
        x = torch.rand(7, 3, dtype=torch.float64) * 2 - 1
    return layer, x


@exercise(NOTEBOOK)
def check_layer_matmul(layer_by_matmul) -> Feedback:
    """``layer_by_matmul(layer, x) -> (batch, out)``: silu(x)·W_bᵀ + B_flat·Wᵀ, with W = scale_sp·coef."""
    from kanlab.splines import bspline_basis

    layer, x = _layer()
    with torch.no_grad():
        got = array(call(layer_by_matmul, layer, x.clone()), "the output")
        want = layer(x)
        B = bspline_basis(x, layer.knots, layer.k).reshape(7, -1)
        base = torch.nn.functional.silu(x) @ layer.scale_base.T
        spline_no_scale = B @ layer.coef.reshape(4, -1).T
        W = layer.scale_sp.unsqueeze(-1) * layer.coef
        swapped = B @ W.transpose(1, 2).reshape(4, -1).T
    if got.shape != tuple(want.shape):
        raise Wrong(f"the output has shape {got.shape}, expected {tuple(want.shape)} = (batch, out)",
                    "B_flat is (batch, in·(G+k)); W.reshape(out, -1).T is (in·(G+k), out)")
    if close(got, want.numpy(), atol=1e-10):
        return correct("the matmul form reproduces layer(x): the basis once per input, every edge at once.")
    return first_match(got, [
        ((base + spline_no_scale).numpy(), "scale_sp is missing", "fold it into the coefficients: W = scale_sp.unsqueeze(-1) * coef"),
        ((want - base).numpy(), "the base term w_b·silu(x) is missing", "add silu(x) @ layer.scale_base.T"),
        ((base + swapped).numpy(), "the flattened coefficients are in the wrong order",
         "flatten (in, G+k) in the same order as the basis: W.reshape(out, -1), no transpose"),
    ], rtol=1e-9) or wrong(f"the output differs from layer(x) by up to {abs(got - want.numpy()).max():.3g}",
                           "compare with layer_by_loops on one sample first")


@exercise(NOTEBOOK)
def check_basis_memory(basis_mib) -> Feedback:
    """``basis_mib(batch, n_in, G, k) -> float``: MiB of the flattened float32 basis (batch, in·(G+k))."""
    for args in ((1024, 256, 5, 3), (1024, 256, 20, 3), (64, 2, 5, 1)):
        batch, n_in, G, k = args
        want = batch * n_in * (G + k) * 4 / 2**20
        got = number(call(basis_mib, *args), f"basis_mib{args}")
        if abs(got - want) <= 1e-9 * max(1.0, want):
            continue
        return first_match(got, [
            (want / 4, "that counts numbers, not bytes", "a float32 takes 4 bytes"),
            (want * 2**20 / 1e6, "that is megabytes (10⁶ bytes), not mebibytes", "1 MiB = 2**20 bytes"),
            (batch * n_in * (G + k + 1) * 4 / 2**20, "one basis too many per input", "G + k bases (k is the degree)"),
            (want * 2, "that is float64", "the layer is float32 here: 4 bytes per number"),
        ], rtol=1e-9) or wrong(f"basis_mib{args} = {got:g}, expected {want:g}", "batch · in · (G + k) · 4 bytes / 2**20")
    return correct("batch·in·(G+k)·4 / 2²⁰: 8 MiB for 1024 × 256 at G = 5, growing with in, never with out.")


@exercise(NOTEBOOK)
def check_edge_activations(edge_acts) -> Feedback:
    """``edge_acts(layer, x) -> (batch, out, in)``: every edge's φ_{j,i}(x_i), no loops (§4)."""
    from kanlab.splines import bspline_basis

    layer, x = _layer()
    batch, n_out, n_in = x.shape[0], layer.out_dim, layer.in_dim
    with torch.no_grad():
        got = array(call(edge_acts, layer, x.clone()), "the edge activations")
        want = layer.edge_activations(x)
        B = bspline_basis(x, layer.knots, layer.k)                          # (batch, in, G + k)
        base = layer.scale_base * torch.nn.functional.silu(x)[:, None, :]   # (batch, out, in)
        spline = torch.einsum("bic,jic->bji", B, layer.coef)
        y = layer(x)
    if got.shape == (batch, n_out):
        raise Wrong(f"the result has shape {got.shape} = (batch, out): that is the layer output, summed over i",
                    "keep the input axis: one value per sample, output and input, (batch, out, in)")
    if got.shape == (batch, n_in, n_out) and close(got.transpose(0, 2, 1), want.numpy(), atol=1e-10):
        raise Wrong(f"the values are right but the axes are (batch, in, out) = {got.shape}",
                    "put out before in, as in coef (out, in, G+k): einsum('bic,jic->bji', ...)")
    if got.shape != (batch, n_out, n_in):
        raise Wrong(f"the result has shape {got.shape}, expected (batch, out, in) = {(batch, n_out, n_in)}",
                    "B is (batch, in, G+k) and coef is (out, in, G+k): contract over G+k only")
    if close(got, want.numpy(), atol=1e-10):
        if not close(got.sum(axis=2), y.numpy(), atol=1e-10):  # pragma: no cover (a layer bug)
            return wrong("these match edge_activations but do not sum to layer(x)")
        return correct("summed over the last axis they give layer(x); this is the (batch, out, in) tensor "
                       "that forward never builds.")
    return first_match(got, [
        ((base + spline).numpy(), "scale_sp is missing", "multiply the spline sum by layer.scale_sp (out, in)"),
        ((want - base).numpy(), "the base term w_b·silu(x_i) is missing",
         "add layer.scale_base * silu(x)[:, None, :]  (broadcast (out, in) against (batch, 1, in))"),
    ], rtol=1e-9) or wrong(f"the values differ from layer.edge_activations(x) by up to {abs(got - want.numpy()).max():.3g}",
                           "check one entry by hand: φ_{j,i}(x_i) = w_b[j,i]·silu(x[b,i]) + w_s[j,i]·Σ_c coef[j,i,c]·B[b,i,c]")


@exercise(NOTEBOOK)
def check_param_count(counts) -> Feedback:
    """``(kan, mlp)``: parameters of a KAN [4, 3, 2, 1] with G = 10, k = 3 and of an MLP of the same widths."""
    if not isinstance(counts, (tuple, list)) or len(counts) != 2:
        raise Wrong(f"expected two numbers (kan, mlp), got {counts!r}", "counts = (kan_params, mlp_params)")
    kan, mlp = (number(c, name) for c, name in zip(counts, ("the KAN count", "the MLP count")))
    edges, G, k = 4 * 3 + 3 * 2 + 2 * 1, 10, 3
    if kan != edges * (G + k + 2):
        feedback = first_match(kan, [
            (edges * (G + k), "the KAN count leaves out the two scales w_b and w_s",
             "each edge has G + k coefficients plus scale_base and scale_sp: G + k + 2"),
            (edges * (G + 2 * k + 1), "that counts knots per edge, not coefficients",
             "there are G + 2k + 1 knots but only G + k bases (and coefficients) per edge"),
            (edges * (G + k + 6), "that includes sym_affine (4 numbers per edge), which only matters once an edge is snapped",
             "count coef, scale_base and scale_sp: G + k + 2 per edge"),
            (edges * (G + k + 3), "one coefficient too many per edge", "G + k bases: k is the degree, not the order"),
            ((4 + 3 + 2 + 1) * (G + k + 2), "that counts nodes, not edges",
             "parameters live on edges: 4·3 + 3·2 + 2·1 = 20 of them"),
        ])
        return feedback or wrong(f"the KAN count {kan:g} is not right",
                                 "(number of edges) × (G + k + 2); count the edges layer by layer")
    if mlp != edges + (3 + 2 + 1):
        feedback = first_match(mlp, [
            (edges, "the MLP count leaves out the biases", "one bias per neuron of layers 2, 3 and 4: 3 + 2 + 1"),
            (edges + (4 + 3 + 2), "those are biases on the input side", "a bias belongs to each *output* neuron of a layer"),
            (edges + (4 + 3 + 2 + 1), "the input layer has no biases", "biases: 3 + 2 + 1 = 6"),
        ])
        return feedback or wrong(f"the MLP count {mlp:g} is not right", "Σ (n_in·n_out + n_out) over the three layers")
    return correct(f"KAN {kan:g} = 20 edges × 15, MLP {mlp:g} = 20 weights + 6 biases: "
                   "edge for edge the KAN is G + k + 2 = 15 times bigger.")
