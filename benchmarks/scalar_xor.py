"""The from-scratch scalar KAN on the classic 4-point XOR-like task: epochs, lr, final MSE, time.

``KAN(2, [2, 2, 2, 1])`` (grid 5, k 3, seed 0) on the four corners (0.25|0.75)² with targets
0.25/0.75, trained with the classic loop (sum of squared errors, ``Optimizer``). Target
(issue 4): the course's setting (row "course", used in 04_kan_from_scratch) reaches mean
squared error <= 1e-3 in <= 10 s on a 2-core CPU. The first row is the classic README snippet
(lr 0.001, 100 epochs), which only starts to learn.

Run: ``python benchmarks/scalar_xor.py [--quick]``. Pure Python, so torch threads play no role.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

from kanlab.scalar import KAN, Optimizer, Tensor, compute_loss  # noqa: E402

X = [[0.25, 0.25], [0.25, 0.75], [0.75, 0.25], [0.75, 0.75]]
Y = [0.25, 0.75, 0.75, 0.25]
# (name, lr, momentum, epochs)
SETTINGS = [
    ("classic snippet", 0.001, 0.0, 100),
    ("course", 0.05, 0.0, 200),
    ("momentum", 0.02, 0.9, 150),
    ("course, longer", 0.05, 0.0, 400),
]
TARGET_MSE, TARGET_S = 1e-3, 10.0


def train(lr: float, momentum: float, epochs: int) -> tuple[float, float, int, int]:
    """Train from seed 0: (final MSE, wall seconds, graph nodes per epoch, per prediction)."""
    kan = KAN(2, [2, 2, 2, 1])
    x = [[Tensor(a), Tensor(b)] for a, b in X]
    optim = Optimizer(lr=lr, momentum=momentum)
    t0 = time.perf_counter()
    for _ in range(epochs):
        losses = Tensor(0)
        for _x, _y in zip(x, Y, strict=True):
            losses = compute_loss(kan(_x), _y) + losses
        optim.zero_grad(kan.parameters())
        losses.backward()
        optim.step(kan.parameters())
    seconds = time.perf_counter() - t0
    mse = sum(compute_loss(kan(_x), _y).data for _x, _y in zip(x, Y, strict=True)) / len(Y)
    nodes_epoch = len(losses.topological_order())
    nodes_pred = len(kan(x[0]).topological_order())
    return mse, seconds, nodes_epoch, nodes_pred


def main() -> None:
    quick = C.quick_flag()
    settings = SETTINGS[:2] if quick else SETTINGS
    headers = ["setting", "lr", "momentum", "epochs", "final MSE", "wall time", "ms/epoch", "ok"]
    rows, summary = [], []
    nodes = (0, 0)
    for name, lr, momentum, epochs in settings:
        mse, seconds, *nodes = train(lr, momentum, epochs)
        ok = "yes" if mse <= TARGET_MSE and seconds <= TARGET_S else "no"
        rows.append(
            [name, lr, momentum, epochs, C.fmt_sci(mse), C.fmt_time(seconds),
             f"{1e3 * seconds / epochs:.2f}", ok if name != "classic snippet" else "—"]
        )  # fmt: skip
        if name == "course":
            summary.append(
                {
                    "benchmark": "scalar KAN, 4-point task",
                    "metric": f"MSE after {epochs} epochs / time",
                    "kanlab": f"{C.fmt_sci(mse)} / {C.fmt_time(seconds)}",
                    "reference": f"target <= {TARGET_MSE:g} in <= {TARGET_S:g} s",
                    "note": f"lr {lr}, momentum {momentum}, {nodes[0]} graph nodes per epoch",
                }
            )
    params = KAN(2, [2, 2, 2, 1]).num_parameters()
    print("## Scalar KAN(2, [2, 2, 2, 1]) on the 4-point XOR-like task\n")
    print(C.markdown_table(headers, rows))
    print(
        f"\n{params} parameters; one prediction builds {nodes[1]} graph nodes, "
        f"one epoch (4 samples + loss) {nodes[0]}."
    )
    print(C.machine_line())
    C.write_results(
        "scalar_xor",
        "Scalar KAN on the 4-point task",
        {"headers": headers, "rows": rows},
        summary,
        extra={"parameters": params, "nodes_per_epoch": nodes[0], "nodes_per_prediction": nodes[1]},
    )


if __name__ == "__main__":
    main()
