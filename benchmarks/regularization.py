"""Regularisation cost: one training step with the sparsity penalty (λ > 0) vs a plain step.

The paper's penalty (Eqs. 2.17–2.20) needs every edge's activation |phi[j, i](x_i)|, i.e. the
(batch, out, in) tensor that the plain forward pass avoids (it does one matmul over the basis).
``KAN.fit`` therefore builds that tensor only when λ > 0 and then uses it for both the
prediction and the penalty. Target (issue 5): a λ > 0 step costs ≤ 2× a plain step at
(batch 1024, 64 → 64). Both steps are forward + MSE (+ penalty) + backward, float32, G = 5, k = 3,
timed twice: as ``fit`` runs them on full-batch data (the basis of the repeated input reused)
and with the basis recomputed every step (``kanlab.fused.reuse_features(False)``). The penalty
needs every edge's value at every sample (for its sign) and the signed sums of the basis; with
kanlab's C kernels one pass over (sample, input) does both and also yields the output, in place
of the forward matmul (with torch ops: two batched contractions as large as that matmul).

Run: ``python benchmarks/regularization.py [--quick]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import torch  # noqa: E402

SHAPES = [(1024, 64, 64), (1024, 2, 5), (256, 16, 16)]
TARGET_SHAPE, TARGET_RATIO = (1024, 64, 64), 2.0


def make_steps(batch: int, in_dim: int, out_dim: int):
    """(plain step, regularised step) closures on a one-layer KAN, as ``kanlab.train.fit`` runs them."""
    from kanlab import KAN
    from kanlab.train import predict_and_penalty

    model = KAN([in_dim, out_dim], grid=5, k=3, seed=0)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(batch, in_dim, generator=gen) * 2 - 1
    y = torch.randn(batch, out_dim, generator=gen)

    def plain() -> None:
        model.zero_grad(set_to_none=True)
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()

    def regularised(lamb: float = 0.01) -> None:
        model.zero_grad(set_to_none=True)
        h, reg = predict_and_penalty(model, x, 1.0, 2.0)  # the same single pass as fit()
        loss = torch.mean((h - y) ** 2) + lamb * reg
        loss.backward()

    return plain, regularised


def main() -> None:
    quick = C.quick_flag()
    repeats = 3 if quick else 30
    shapes = SHAPES[:1] if quick else SHAPES
    rows, summary = [], []
    from kanlab.fused import reuse_features

    for batch, in_dim, out_dim in shapes:
        plain, regularised = make_steps(batch, in_dim, out_dim)
        t_plain = C.time_repeats(plain, repeats=repeats, warmup=2)
        t_reg = C.time_repeats(regularised, repeats=repeats, warmup=2)
        with reuse_features(False):  # every step computes its basis (a minibatch, a hidden layer)
            t_plain_fresh = C.time_repeats(plain, repeats=repeats, warmup=2)
            t_reg_fresh = C.time_repeats(regularised, repeats=repeats, warmup=2)
        ratio = t_reg["median"] / t_plain["median"]
        ratio_fresh = t_reg_fresh["median"] / t_plain_fresh["median"]
        shape = f"({batch}, {in_dim}→{out_dim})"
        target = f"≤ {TARGET_RATIO:g}×" if (batch, in_dim, out_dim) == TARGET_SHAPE else "—"
        rows.append([shape, C.fmt_stat(t_plain), C.fmt_stat(t_reg), f"{ratio:.2f}×",
                     C.fmt_stat(t_plain_fresh), C.fmt_stat(t_reg_fresh), f"{ratio_fresh:.2f}×", target])
        if (batch, in_dim, out_dim) == TARGET_SHAPE:
            ok = "meets" if ratio <= TARGET_RATIO else "MISSES"
            ok_fresh = "meets" if ratio_fresh <= TARGET_RATIO else "MISSES"
            summary.append({"benchmark": "regularization", "metric": f"λ>0 step / plain step {shape}",
                            "kanlab": f"{ratio:.2f}× (basis computed every step: {ratio_fresh:.2f}×)",
                            "reference": f"target ≤ {TARGET_RATIO:g}×",
                            "note": f"{ok} the target ({ok_fresh} it when the basis is recomputed)"})
    headers = ["shape (batch, in→out)", "plain step", "λ > 0 step", "ratio",
               "plain, basis every step", "λ > 0, basis every step", "ratio", "target"]
    print("## Sparsity regularisation: cost of a λ > 0 training step\n")
    print(C.markdown_table(headers, rows))
    print("\n" + C.machine_line())
    C.write_results("regularization", "Cost of a λ > 0 training step",
                    {"headers": headers, "rows": rows}, summary)


if __name__ == "__main__":
    main()
