"""Time to accuracy: wall time until test RMSE first reaches 1e-3 and 1e-4 on exp(sin πx + y²).

Both libraries train a [2, 1, 1] KAN (the function's true structure) with LBFGS, 50 steps per
grid, grids 5 → 10 → 20 → 50 by grid extension, on the same 1000/1000 points, float64. The clock
starts before the model is built and includes grid updates, refinements and the per-step test
evaluation both libraries do. Median over seeds (min–max); '—' when a threshold is never reached.

Run: ``python benchmarks/time_to_accuracy.py [--quick]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import fit_accuracy as F  # noqa: E402
import torch  # noqa: E402

THRESHOLDS = (1e-3, 1e-4)
TASK = F.Task("exp(sin πx + y²), [2,1,1]", "exp_sin_xy", (2, 1, 1), (5, 10, 20, 50))


def first_time_below(timeline: list[tuple[float, float]], threshold: float) -> float | None:
    """Elapsed seconds at the first step whose test RMSE is <= threshold, else None."""
    for elapsed, rmse in timeline:
        if rmse <= threshold:
            return elapsed
    return None


def main() -> int:
    quick = C.quick_flag()
    torch.set_num_threads(F.threads_arg())
    libs = ("kanlab", "pykan") if C.pykan_version() else ("kanlab",)
    task = F.Task(TASK.name, TASK.fn_name, TASK.width, TASK.grids[:2]) if quick else TASK
    seeds = (0,) if quick else (0, 1, 2)
    steps = 10 if quick else F.STEPS
    raw = F.run_tasks([task], seeds, torch.float64, steps, libs)[task.name]

    headers = ["library"] + [f"time to RMSE ≤ {t:.0e}" for t in THRESHOLDS] + ["reached (runs)"]
    rows, stats = [], {}
    for lib in libs:
        row = [lib]
        reached = []
        for thr in THRESHOLDS:
            times = [first_time_below(r["timeline"], thr) for r in raw[lib]]
            ok = [t for t in times if t is not None]
            reached.append(f"{len(ok)}/{len(times)}")
            stats[(lib, thr)] = C.summarize(ok) if len(ok) == len(times) else None
            row.append(C.fmt_stat(stats[(lib, thr)]))
        rows.append(row + [", ".join(reached)])
    summary = []
    for thr in THRESHOLDS:
        k, p = stats.get(("kanlab", thr)), stats.get(("pykan", thr))
        note = ""
        if k and p:
            note = f"kanlab {p['median'] / k['median']:.1f}× sooner"
        elif p and not k:
            note = "kanlab never reached it"
        summary.append({
            "benchmark": "time_to_accuracy",
            "metric": f"{task.name}: wall time to test RMSE ≤ {thr:.0e}",
            "kanlab": C.fmt_time(k["median"]) if k else "not reached",
            "reference": ("pykan " + (C.fmt_time(p["median"]) if p else "not reached"))
            if "pykan" in libs else "pykan —",
            "note": note,
        })
    print(f"## Time to accuracy: {task.name}, LBFGS {steps} steps/grid, grids "
          f"{'→'.join(map(str, task.grids))}, float64, seeds {list(seeds)}, "
          f"{torch.get_num_threads()} thread(s)\n")
    print(C.markdown_table(headers, rows))
    print("\n" + C.machine_line())
    path = C.write_results(
        "time_to_accuracy", "Time to accuracy on exp(sin πx + y²)",
        {"headers": headers, "rows": rows}, summary, extra={"raw": raw, "quick": quick},
    )
    print(f"wrote {path.relative_to(C.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
