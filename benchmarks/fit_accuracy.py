"""Fit accuracy at equal step budgets: kanlab vs pykan on the paper's toy functions.

Each task trains with LBFGS for ``STEPS`` steps per grid and extends the grid between rounds
(grid extension, 06_function_fitting). Both libraries see the same data and the same schedule,
each with its own documented defaults otherwise (grid updates from samples during the first 50
steps of every round). Rows: test RMSE after each grid, median over seeds (min–max), and the
wall time of the whole schedule. Targets (issue 3): exp(sin πx + y²) on [2, 5, 1] reaches test
RMSE ≤ 1e-4 at G = 20 and runs ≥ 5× faster than pykan; on [2, 1, 1] ≤ 1e-5 at G = 50 with a
staircase that falls at every extension.

Run: ``python benchmarks/fit_accuracy.py [--quick] [--float32] [--threads N] [--tables-only]
[--kanlab-only] [--seeds N] [--kanlab-options JSON] [--vary-data] [--only TEXT] [--additive-start]``
(``--tables-only``: rebuild the tables from the last run's results without training; ``--seeds N``:
seeds 0..N-1 instead of 0..4; ``--vary-data``: seed s also draws its own dataset (default: every
seed fits the same data); ``--only TEXT``: the tasks whose name contains TEXT, including
``EXTRA_TASKS``, which only run when named, e.g. ``--only "− y²"``; ``--additive-start``: the
``KAN.additive_start`` row for every task, not only the [2,1,1] ones;
``--kanlab-options '{"grid_eps": 0.5}'``: an experiment, kanlab's ``KAN(...)`` with these options
instead of its defaults; such runs overwrite ``benchmarks/results/fit_accuracy.json``). float64 by
default, as in pykan's own function-fitting examples; 1 thread by default. pykan runs in a
temporary working directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import torch  # noqa: E402

STEPS = 50
# Five seeds: a fit's final error moves by 10x between seeds (LBFGS on a chaotic landscape: even
# round-off-level changes move it), so a median over three seeds can flip a comparison.
SEEDS = (0, 1, 2, 3, 4)
# Extra KAN(...) options for kanlab's runs (empty: the library's defaults); see --kanlab-options.
KANLAB_OPTIONS: dict = {}


@dataclass(frozen=True)
class Task:
    """One fitting problem: target, width, grid schedule; ``target_rmse`` at the last grid."""

    name: str
    fn_name: str
    width: tuple[int, ...]
    grids: tuple[int, ...]
    target_rmse: float | None = None
    # Also run kanlab from ``KAN.additive_start`` (a one-node bottleneck, where a random start
    # lands in the wrong basin about half the time).
    additive_start: bool = False


TASKS = [
    Task("exp(sin πx + y²), [2,5,1]", "exp_sin_xy", (2, 5, 1), (3, 5, 10, 20), 1e-4),
    Task("exp(sin πx + y²), [2,1,1]", "exp_sin_xy", (2, 1, 1), (5, 10, 20, 50), 1e-5, additive_start=True),
    Task("xy, [2,2,1]", "xy", (2, 2, 1), (3, 5, 10, 20)),
    Task("J0(20x), [1,1]", "j0_20x", (1, 1), (5, 10, 20, 50)),
]
# Tasks outside the standard table: run them with --only.
EXTRA_TASKS = [
    # The same structure with the inner terms of opposite sign: no start that favours one sign helps.
    Task("exp(sin πx − y²), [2,1,1]", "exp_sin_minus_y2", (2, 1, 1), (5, 10, 20, 50), 1e-5, additive_start=True),
]


def target_fn(name: str):
    """The toy function ``name``: (batch, n_var) -> (batch, 1). kanlab's if present, else local."""
    try:
        from kanlab import datasets

        return getattr(datasets, name)
    except (ImportError, AttributeError):
        pass
    if name == "exp_sin_xy":
        return lambda x: torch.exp(torch.sin(math.pi * x[:, [0]]) + x[:, [1]] ** 2)
    if name == "exp_sin_minus_y2":
        return lambda x: torch.exp(torch.sin(math.pi * x[:, [0]]) - x[:, [1]] ** 2)
    if name == "xy":
        return lambda x: x[:, [0]] * x[:, [1]]
    if name == "j0_20x":
        return lambda x: torch.special.bessel_j0(20 * x[:, [0]])
    raise ValueError(f"unknown toy function {name!r}")


def make_dataset(fn_name: str, n_var: int, dtype: torch.dtype, seed: int = 0) -> dict:
    """1000 train / 1000 test points uniform on [-1, 1]^n_var (the same tensors for both)."""
    g = torch.Generator().manual_seed(seed)
    f = target_fn(fn_name)
    data = {}
    for split in ("train", "test"):
        x = (torch.rand(1000, n_var, generator=g, dtype=torch.float64) * 2 - 1).to(dtype)
        data[f"{split}_input"] = x
        data[f"{split}_label"] = f(x).to(dtype)
    return data


def test_rmse(model, data: dict) -> float:
    with torch.no_grad():
        y_hat = model(data["test_input"])
        return float(torch.sqrt(torch.mean((y_hat - data["test_label"]) ** 2)))


ADDITIVE = "kanlab, additive_start"  # the library row of kanlab started by KAN.additive_start


def run_kanlab(
    task: Task, data: dict, seed: int, dtype: torch.dtype, steps: int = STEPS, additive_start: bool = False
) -> dict:
    """Grid-extension schedule with kanlab; returns per-grid RMSE, wall time and a timeline.

    ``additive_start``: start from ``KAN.additive_start`` on the training data (timed with the fit).
    """
    from kanlab.model import KAN

    timeline: list[tuple[float, float]] = []
    t0 = time.perf_counter()

    def record(model, step, history):
        timeline.append((time.perf_counter() - t0, float(history["test_loss"][-1])))
        return False

    rmse = []
    model = None
    for g in task.grids:
        if model is None:
            model = KAN(width=list(task.width), grid=g, k=3, seed=seed, dtype=dtype, **KANLAB_OPTIONS)
            if additive_start:
                model.additive_start(data["train_input"], data["train_label"])
        else:
            model.refine(g)
        model.fit(data, opt="LBFGS", steps=steps, progress=False, callback=record)
        rmse.append(test_rmse(model, data))
    return {"rmse": rmse, "time": time.perf_counter() - t0, "timeline": timeline}


def run_pykan(task: Task, data: dict, seed: int, dtype: torch.dtype, steps: int = STEPS) -> dict:
    """The same schedule with pykan's public API (``KAN``, ``fit``, ``refine``), in a sandbox."""
    timeline: list[tuple[float, float]] = []
    old_dtype = torch.get_default_dtype()
    with C.pykan_sandbox(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        from kan import KAN as PyKAN

        torch.set_default_dtype(dtype)  # pykan builds its grids in the default dtype
        try:
            t0 = time.perf_counter()

            def clock():  # pykan calls metrics after each step's test loss
                return torch.tensor(time.perf_counter() - t0)

            rmse = []
            model = None
            for g in task.grids:
                if model is None:
                    model = PyKAN(width=list(task.width), grid=g, k=3, seed=seed, auto_save=False)
                else:
                    model = model.refine(g)
                    model.auto_save = False  # refine() forces auto_save=True
                res = model.fit(data, opt="LBFGS", steps=steps, metrics=[clock])
                pairs = zip(res["clock"], res["test_loss"], strict=True)
                timeline += [(float(t), float(r)) for t, r in pairs]
                rmse.append(test_rmse(model, data))
            elapsed = time.perf_counter() - t0
        finally:
            torch.set_default_dtype(old_dtype)
    return {"rmse": rmse, "time": elapsed, "timeline": timeline}


def run_tasks(tasks, seeds, dtype, steps=STEPS, libs=("kanlab", "pykan"), vary_data: bool = False) -> dict:
    """Run every task × seed × library, libraries interleaved so machine noise hits both.

    ``vary_data``: seed s fits the dataset drawn with seed s (default: one dataset, seed 0).
    """
    runners = {"kanlab": run_kanlab, "pykan": run_pykan,
               ADDITIVE: lambda *args: run_kanlab(*args, additive_start=True)}
    C.warm_up_torch()
    out: dict = {}
    for task in tasks:
        task_libs = task_libraries(task, libs)
        out[task.name] = {lib: [] for lib in task_libs}
        for seed in seeds:
            data = make_dataset(task.fn_name, task.width[0], dtype, seed=seed if vary_data else 0)
            for lib in task_libs:
                res = runners[lib](task, data, seed, dtype, steps)
                out[task.name][lib].append(res)
                print(f"  {task.name}, seed {seed}, {lib}: test RMSE {C.fmt_sci(res['rmse'][-1])} "
                      f"in {C.fmt_time(res['time'])}", flush=True)
    return out


def task_libraries(task: Task, libs: tuple[str, ...]) -> tuple[str, ...]:
    """The rows of ``task``: ``libs``, plus kanlab from the additive start where the task asks."""
    return libs[:1] + (ADDITIVE,) + libs[1:] if task.additive_start and "kanlab" in libs else libs


def threads_arg(default: int = 1) -> int:
    """``--threads N`` (default 1: these small models are latency-bound, and with 2 threads on a
    busy 2-core machine every tiny op can wait ~20 ms at an OpenMP barrier, for both libraries)."""
    if "--threads" in sys.argv:
        return int(sys.argv[sys.argv.index("--threads") + 1])
    return default


def main() -> int:
    quick = C.quick_flag()
    torch.set_num_threads(threads_arg())
    dtype = torch.float32 if "--float32" in sys.argv else torch.float64
    libs = ("kanlab", "pykan") if C.pykan_version() and "--kanlab-only" not in sys.argv else ("kanlab",)
    if "--kanlab-options" in sys.argv:  # an experiment: kanlab with other KAN(...) options (pykan keeps its own)
        KANLAB_OPTIONS.update(json.loads(sys.argv[sys.argv.index("--kanlab-options") + 1]))
    tasks = [t for t in TASKS if "[2,1,1]" in t.name or "J0" in t.name] if quick else TASKS
    if "--only" in sys.argv:
        text = sys.argv[sys.argv.index("--only") + 1]
        tasks = [t for t in TASKS + EXTRA_TASKS if text in t.name]
    if quick:
        tasks = [dataclasses.replace(t, grids=t.grids[:2], target_rmse=None) for t in tasks]
    if "--additive-start" in sys.argv:
        tasks = [dataclasses.replace(t, additive_start=True) for t in tasks]
    vary_data = "--vary-data" in sys.argv
    seeds = (0,) if quick else SEEDS
    if "--seeds" in sys.argv:
        seeds = tuple(range(int(sys.argv[sys.argv.index("--seeds") + 1])))
    steps = 10 if quick else STEPS
    if "--tables-only" in sys.argv:  # rebuild the tables from the last run's raw results
        payload = json.loads((C.RESULTS_DIR / "fit_accuracy.json").read_text())
        raw, seeds, steps = payload["extra"]["raw"], tuple(payload["extra"]["seeds"]), payload["extra"]["steps"]
        libs = tuple(lib for lib in libs if all(raw[t.name].get(lib) for t in tasks))
    else:
        raw = run_tasks(tasks, seeds, dtype, steps, libs, vary_data=vary_data)

    headers = ["task", "library", "grids", "test RMSE per grid (median over seeds)",
               "final RMSE (min–max)", "wall time, median (min–max)", "target"]
    rows, summary = [], []
    for task in tasks:
        res = raw[task.name]
        med_time = {}
        final = {}
        for lib in (lib for lib in task_libraries(task, libs) if lib in res):
            runs = res[lib]
            per_grid = [C.summarize([r["rmse"][i] for r in runs]) for i in range(len(task.grids))]
            t = C.summarize([r["time"] for r in runs])
            med_time[lib], final[lib] = t["median"], per_grid[-1]
            meds = [s["median"] for s in per_grid]
            staircase = all(b < a for a, b in zip(meds[:-1], meds[1:], strict=True))
            target = ""
            if task.target_rmse and lib.startswith("kanlab"):
                met = per_grid[-1]["median"] <= task.target_rmse
                target = f"≤ {task.target_rmse:.0e}: {'met' if met else 'MISSED'}"
                target += "; staircase " + ("falls" if staircase else "NOT monotone")
            rows.append([
                task.name, lib, "→".join(map(str, task.grids)),
                " → ".join(C.fmt_sci(s["median"]) for s in per_grid),
                C.fmt_stat(per_grid[-1], C.fmt_sci), C.fmt_stat(t), target,
            ])
        speed = med_time["pykan"] / med_time["kanlab"] if "pykan" in med_time else None
        paired = ""
        if speed:  # run by run: final errors are bimodal (a run converges or sticks), medians flip
            pairs = list(zip(res["kanlab"], res["pykan"], strict=True))
            wins = sum(k["rmse"][-1] <= p["rmse"][-1] for k, p in pairs)
            reached = {lib: sum(r["rmse"][-1] <= 1e-3 for r in res[lib]) for lib in ("kanlab", "pykan")}
            paired = (f"; lower error in {wins} of {len(pairs)} seeds; runs reaching 1e-3: "
                      f"kanlab {reached['kanlab']}, pykan {reached['pykan']}")
        summary.append({
            "benchmark": "fit_accuracy",
            "metric": f"{task.name}, test RMSE at G={task.grids[-1]} ({steps} LBFGS steps/grid)",
            "kanlab": f"{C.fmt_sci(final['kanlab']['median'])} in {C.fmt_time(med_time['kanlab'])}",
            "reference": (f"pykan {C.fmt_sci(final['pykan']['median'])} in "
                          f"{C.fmt_time(med_time['pykan'])}") if speed else "pykan —",
            "note": (f"kanlab {speed:.1f}× faster, " + (
                "as accurate or better" if final["kanlab"]["median"] <= final["pykan"]["median"]
                else "LESS accurate") + paired) if speed else "",
        })
        if ADDITIVE in final:
            reached = sum(r["rmse"][-1] <= 1e-3 for r in res[ADDITIVE])
            summary.append({
                "benchmark": "fit_accuracy",
                "metric": f"{task.name}, started by KAN.additive_start, test RMSE at G={task.grids[-1]}",
                "kanlab": f"{C.fmt_sci(final[ADDITIVE]['median'])} in {C.fmt_time(med_time[ADDITIVE])}",
                "reference": (f"random start {C.fmt_sci(final['kanlab']['median'])}; pykan "
                              + (C.fmt_sci(final["pykan"]["median"]) if "pykan" in final else "—")),
                "note": f"runs reaching 1e-3: {reached} of {len(res[ADDITIVE])}" + (
                    f"; target ≤ {task.target_rmse:.0e}: "
                    + ("met" if final[ADDITIVE]["median"] <= task.target_rmse else "MISSED")
                    if task.target_rmse else ""),
            })
    dname = str(dtype).replace("torch.", "")
    print(f"## Fit accuracy: LBFGS {steps} steps per grid, grid extension, {dname}, "
          f"1000/1000 points, seeds {list(seeds)} ("
          f"{'each with its own dataset' if vary_data else 'one dataset'}), "
          f"{torch.get_num_threads()} thread(s)\n")
    print(C.markdown_table(headers, rows))
    print("\n" + C.machine_line())
    path = C.write_results(
        "fit_accuracy", f"Fit accuracy at equal step budgets ({dname})",
        {"headers": headers, "rows": rows}, summary,
        extra={"raw": raw, "dtype": dname, "steps": steps, "seeds": list(seeds), "quick": quick},
    )
    print(f"wrote {path.relative_to(C.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
