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
        return correct("two matmuls reproduce the layer: the basis once per input, every edge at once.")
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
