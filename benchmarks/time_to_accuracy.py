"""Time to accuracy: wall time until test RMSE first reaches 1e-3 and 1e-4 on exp(sin πx + y²).

Both libraries train a [2, 1, 1] KAN (the function's true structure) with LBFGS, 50 steps per
grid, grids 5 → 10 → 20 → 50 by grid extension, on the same 1000/1000 points, float64. The clock
starts before the model is built and includes grid updates, refinements and the per-step test
evaluation both libraries do. Median over seeds (min–max); '—' when a threshold is never reached.

The runs are those of ``fit_accuracy.py`` (its [2, 1, 1] task records a per-step timeline), reused
when ``results/fit_accuracy.json`` is a full run less than an hour old — as inside ``run_all.py``,
which runs fit_accuracy first — so the suite does not train the same models twice; otherwise (or
with ``--fresh``) they are run here.

Run: ``python benchmarks/time_to_accuracy.py [--quick] [--fresh] [--threads N]``.
"""

from __future__ import annotations

import json
import sys
import time
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


def reusable_runs(task: F.Task, max_age_s: float = 3600.0) -> dict | None:
    """fit_accuracy's runs of ``task`` if its JSON is a fresh, full (not --quick) run, else None."""
    path = C.RESULTS_DIR / "fit_accuracy.json"
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    extra = payload.get("extra") or {}
    fresh = time.time() - path.stat().st_mtime < max_age_s
    raw = (extra.get("raw") or {}).get(task.name)
    if not fresh or extra.get("quick") or extra.get("dtype") != "float64" or not raw:
        return None
    return raw


def main() -> int:
    quick = C.quick_flag()
    torch.set_num_threads(F.threads_arg())
    libs = ("kanlab", "pykan") if C.pykan_version() else ("kanlab",)
    task = F.Task(TASK.name, TASK.fn_name, TASK.width, TASK.grids[:2]) if quick else TASK
    seeds = (0,) if quick else F.SEEDS
    steps = 10 if quick else F.STEPS
    raw = None if quick or "--fresh" in sys.argv else reusable_runs(task)
    source = "reused from fit_accuracy.json (same runs)"
    if raw is not None:
        libs = tuple(lib for lib in libs if raw.get(lib))
        seeds = tuple(range(len(raw[libs[0]])))
    else:
        raw = F.run_tasks([task], seeds, torch.float64, steps, libs)[task.name]
        source = "run here"

    headers = (["library"] + [f"time to RMSE ≤ {t:.0e} (runs that reached it)" for t in THRESHOLDS]
               + ["runs that reached 1e-3, 1e-4"])
    rows, stats = [], {}
    for lib in libs:
        row = [lib]
        reached = []
        for thr in THRESHOLDS:
            times = [first_time_below(r["timeline"], thr) for r in raw[lib]]
            ok = [t for t in times if t is not None]
            reached.append(f"{len(ok)}/{len(times)}")
            stats[(lib, thr)] = C.summarize(ok) if ok else None  # over the runs that got there
            row.append(C.fmt_stat(stats[(lib, thr)]) if ok else "never")
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
            "kanlab": f"{C.fmt_time(k['median'])} ({k['n']} runs)" if k else "not reached",
            "reference": ("pykan " + (f"{C.fmt_time(p['median'])} ({p['n']} runs)" if p
                                      else "not reached"))
            if "pykan" in libs else "pykan —",
            "note": note,
        })
    print(f"## Time to accuracy: {task.name}, LBFGS {steps} steps/grid, grids "
          f"{'→'.join(map(str, task.grids))}, float64, seeds {list(seeds)}, "
          f"{torch.get_num_threads()} thread(s)\n")
    print(C.markdown_table(headers, rows))
    print(f"\nRuns: {source}.")
    print(C.machine_line())
    path = C.write_results(
        "time_to_accuracy", "Time to accuracy on exp(sin πx + y²)",
        {"headers": headers, "rows": rows}, summary,
        extra={"raw": raw, "quick": quick, "source": source},
    )
    print(f"wrote {path.relative_to(C.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
