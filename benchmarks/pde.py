"""Physics-informed Poisson solve: a [2, 10, 1] KAN against a ~10⁴-parameter MLP, same loop, same time.

Problem: u_xx + u_yy = f on [-1, 1]² with u* = sin(πx)·sin(πy) (pykan's PDE tutorial problem; the KAN paper's §3.4 uses u* = sin(πx)·sin(πy²), notebook 08).
Both models train with ``kanlab.pde_train.train_pde``: LBFGS (strong Wolfe), float64, loss
α·mean(residual²) + mean(boundary error²) with α = 0.01 on a 31×31 interior mesh plus 128
boundary points. The KAN extends its grid 5 → 10 → 20 with 10 + 20 + 50 LBFGS steps (10 inner
iterations each); the MLP [2, 100, 100, 1] (tanh) runs the same loop until it has used the KAN's
training time. For scale, the issue's reference run of pykan ([2, 10, 1], 25 steps per grid,
G = 5 → 10 → 20) reached u MSE 3.2e-6 in 267 s on this machine. Errors are measured on a 41×41 test mesh:
u MSE, relative L2 and the H1 seminorm error (gradients by autograd). "train time" excludes the
per-step error evaluation; "wall" is the whole call.

torch runs on one thread: these tensors are small and, on a 2-core machine, a second thread
made every LBFGS step slower (3–10× in our measurements, worse on a busy machine).

Run: ``python benchmarks/pde.py [--quick]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import torch  # noqa: E402

from kanlab import KAN  # noqa: E402
from kanlab.pde import sin_sin_problem  # noqa: E402
from kanlab.pde_train import mlp, num_parameters, train_pde  # noqa: E402

FULL = {"grids": [5, 10, 20], "steps": [10, 20, 50], "n_side": 31, "mlp_width": [2, 100, 100, 1]}
QUICK = {"grids": [3, 6], "steps": [2, 2], "n_side": 8, "mlp_width": [2, 20, 20, 1]}
TARGET_MSE, TARGET_S = 1e-6, 120.0


def main() -> int:
    quick = C.quick_flag()
    cfg = QUICK if quick else FULL
    torch.set_num_threads(1)
    problem = sin_sin_problem()
    common = {"alpha": 0.01, "n_side": cfg["n_side"], "n_test": 41, "lbfgs_iters": 10}
    C.warm_up_torch()

    t0 = time.perf_counter()
    kan = KAN([2, 10, 1], grid=cfg["grids"][0], k=3, seed=0, dtype=torch.float64)
    h_kan = train_pde(kan, problem, steps=cfg["steps"], grids=cfg["grids"], **common)
    wall_kan = time.perf_counter() - t0
    budget = h_kan.time[-1]

    t0 = time.perf_counter()
    net = mlp(cfg["mlp_width"], activation="tanh", seed=0)
    h_mlp = train_pde(net, problem, steps=100_000, time_budget=budget, **common)
    wall_mlp = time.perf_counter() - t0

    headers = ["model", "params", "steps", "train time", "wall", "u MSE", "relative L2", "H1 seminorm"]
    rows = []
    for name, model, h, wall in (
        (f"KAN [2,10,1], G {'→'.join(map(str, cfg['grids']))}", kan, h_kan, wall_kan),
        (f"MLP {cfg['mlp_width']}, tanh", net, h_mlp, wall_mlp),
    ):
        f = h.final()
        rows.append([name, num_parameters(model), h.step[-1], C.fmt_time(f["time"]), C.fmt_time(wall),
                     C.fmt_sci(f["u_mse"]), C.fmt_sci(f["rel_l2"]), C.fmt_sci(f["h1"])])
    k_f, m_f = h_kan.final(), h_mlp.final()
    ok = k_f["u_mse"] <= TARGET_MSE and k_f["time"] <= TARGET_S
    print(f"## Poisson, u* = sin(πx)sin(πy): KAN vs MLP with the same loop and training time"
          f"{' (quick)' if quick else ''}\n")
    print(C.markdown_table(headers, rows))
    print(f"\nKAN u MSE / MLP u MSE = {k_f['u_mse'] / m_f['u_mse']:.2g}; "
          f"target u MSE ≤ {TARGET_MSE:.0e} in ≤ {TARGET_S:.0f} s: {'met' if ok else 'NOT met'}")
    print("\n" + C.machine_line())
    summary = [{
        "benchmark": "pde",
        "metric": "Poisson sin·sin: u MSE, [2,10,1] KAN vs MLP, same training time",
        "kanlab": f"{C.fmt_sci(k_f['u_mse'])} in {C.fmt_time(k_f['time'])}",
        "reference": f"MLP ({num_parameters(net)} params) {C.fmt_sci(m_f['u_mse'])}",
        "note": f"target ≤ {TARGET_MSE:.0e} in ≤ {TARGET_S:.0f} s {'met' if ok else 'not met'}",
    }]
    raw = {name: {"step": h.step, "time": h.time, "u_mse": h.u_mse, "h1": h.h1}
           for name, h in (("kan", h_kan), ("mlp", h_mlp))}
    path = C.write_results("pde", "Physics-informed Poisson: KAN vs MLP", {"headers": headers, "rows": rows},
                           summary, extra={"config": cfg, "quick": quick, "raw": raw})
    print(f"wrote {path.relative_to(C.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
