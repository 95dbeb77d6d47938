"""The KAN paper's fitting tasks, five seeds each: kanlab vs pykan vs an MLP of equal wall time.

Every task of ``kanlab.paper_tasks`` (the special-function table, the Feynman table, the
[n, 1, 1] compositions and the [4, 2, 1, 1] formula) on its minimal width, with pykan's
schedule for both KAN libraries: G = 3 → 5 → 10 → 20, 50 LBFGS steps per grid (grid updates
from samples in the first 50 steps of each round, both libraries' defaults), float32,
1000/1000 points. Seed s draws the data *and* initialises the models. Reported per task:
median and worst test RMSE at G = 20 for kanlab and pykan, median wall time, the winner
(medians within 1.25× count as tied), and an MLP given kanlab's median wall time.

The MLP ([n, 64, 64, 1], full-batch Adam) is tuned a little on seed 0: activation ∈ {tanh,
SiLU} × lr ∈ {1e-2, 3e-3}, each for a quarter of kanlab's median wall time T (so the tuning
costs one KAN fit), scored on a validation fifth of the training set (never the test set);
the best is then trained on every seed for T, the KAN's wall time.

Run: ``python benchmarks/fit_suite.py [--quick | --full] [--seeds N] [--only a,b] [--no-pykan]
[--no-mlp] [--threads N] [--json-out PATH] [--from JSONL] [--additive-start] [--no-cache]``
(pykan's results are cached in ``benchmarks/results/pykan_cache/``, keyed by task, seed, schedule,
pykan version and dataset; its wall time is the one measured when the entry was written;
``--no-cache`` runs pykan again; ``--fit-options JSON``: keyword arguments for kanlab's ``fit``)
(``--additive-start``: kanlab starts from ``KAN.additive_start``, the recipe for [n, 1, 1];
``--log PATH``: another file for the per-task log); every finished task is appended
to ``benchmarks/results/fit_suite_runs.jsonl`` as it ends, and ``--from`` rebuilds the table
from such a file without training (a long run cut short still yields its finished tasks). ``--quick`` (``make bench``): a representative
third of the tasks (``QUICK``), two seeds; ``--full``: every task, five seeds (the table in
docs/fit_suite.md); neither: the quick tasks with five seeds. ``--json-out``: also write the
compact per-seed results (notebook 06 reads ``notebooks/data/fit_suite_nb06.json``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import torch  # noqa: E402

GRIDS = (3, 5, 10, 20)
STEPS = 50
DTYPE = torch.float32
N_POINTS = 1000
TIE = 1.25  # medians within this factor of each other: tied
# --additive-start: kanlab's runs start from KAN.additive_start (the documented recipe for
# one-node bottlenecks), timed with the fit.
ADDITIVE_START = False
# --fit-options JSON: extra keyword arguments for kanlab's fit (an experiment, e.g.
# '{"reset_lbfgs_on_grid_update": false}' or '{"history_size": 10}'; empty: the defaults).
FIT_OPTIONS: dict = {}
# One task of each kind (special function, Feynman, [n,1,1] composition, and a [2,1,1] Feynman
# composition): with pykan at ~30-60 s a run on a shared 2-core machine, this is what fits in
# `make bench` (~8 min); a third of the suite (16 tasks) would take ~35 min there.
QUICK = ("jv", "I.12.11", "I.27.6", "exp_sin_xy")
MLP_CONFIGS = (("tanh", 1e-2), ("tanh", 3e-3), ("silu", 1e-2), ("silu", 3e-3))


def rmse(model, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        value = float(torch.sqrt(torch.mean((model(x) - y) ** 2)))
    return value if math.isfinite(value) else float("inf")


def run_kanlab(task, data: dict, seed: int) -> dict:
    """kanlab's defaults on pykan's schedule; returns test RMSE per grid and wall time."""
    from kanlab.model import KAN

    t0 = time.perf_counter()
    errors, model = [], None
    for g in GRIDS:
        if model is None:
            model = KAN(width=list(task.width), grid=g, k=3, seed=seed, dtype=DTYPE)
            if ADDITIVE_START:
                with warnings_silenced():
                    model.additive_start(data["train_input"], data["train_label"])
        else:
            model.refine(g)
        with warnings_silenced():
            model.fit(data, opt="LBFGS", steps=STEPS, progress=False, **FIT_OPTIONS)
        errors.append(rmse(model, data["test_input"], data["test_label"]))
    return {"rmse": errors, "time": time.perf_counter() - t0}


# pykan takes 50-290 s per task and seed here: its results are cached on disk (in the ignored
# benchmarks/results/), one file per task, seed, schedule, pykan version and dataset; --no-cache
# runs pykan again (and overwrites the entry).
PYKAN_CACHE = C.RESULTS_DIR / "pykan_cache"
USE_CACHE = True


def pykan_cache_path(task, data: dict, seed: int) -> Path:
    """Where pykan's result for this task, seed, schedule, pykan version and dataset is cached."""
    digest = hashlib.sha256()
    for key in ("train_input", "train_label", "test_input", "test_label"):
        digest.update(data[key].detach().cpu().numpy().tobytes())
    ident = {"task": task.name, "width": list(task.width), "seed": seed, "grids": list(GRIDS), "steps": STEPS,
             "dtype": str(DTYPE), "n_points": N_POINTS, "pykan": C.pykan_version(), "data": digest.hexdigest()}
    key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    return PYKAN_CACHE / f"{task.name}_seed{seed}_{key}.json"


def run_pykan(task, data: dict, seed: int) -> dict:
    """pykan's result from the cache, else ``run_pykan_now`` (and the result cached)."""
    path = pykan_cache_path(task, data, seed)
    if USE_CACHE and path.is_file():
        return dict(json.loads(path.read_text()), cached=True)
    result = run_pykan_now(task, data, seed)
    PYKAN_CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result) + "\n")
    return result


def run_pykan_now(task, data: dict, seed: int) -> dict:
    """The same schedule with pykan's public API in a sandbox; a crash counts as RMSE = inf."""
    old = torch.get_default_dtype()
    errors: list[float] = []
    t0 = time.perf_counter()
    with C.pykan_sandbox(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from kan import KAN as PyKAN

        torch.set_default_dtype(DTYPE)
        try:
            model = None
            for g in GRIDS:
                if model is None:
                    model = PyKAN(width=list(task.width), grid=g, k=3, seed=seed, auto_save=False)
                else:
                    model = model.refine(g)
                    model.auto_save = False
                model.fit(data, opt="LBFGS", steps=STEPS)
                errors.append(rmse(model, data["test_input"], data["test_label"]))
        except Exception as exc:  # pykan's float32 least squares can fail (e.g. torch.linalg.lstsq)
            errors += [float("inf")] * (len(GRIDS) - len(errors))
            return {"rmse": errors, "time": time.perf_counter() - t0, "error": type(exc).__name__}
        finally:
            torch.set_default_dtype(old)
    return {"rmse": errors, "time": time.perf_counter() - t0}


@contextlib.contextmanager
def warnings_silenced():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def train_mlp(n_in: int, x: torch.Tensor, y: torch.Tensor, act: str, lr: float, seconds: float, seed: int):
    """A [n_in, 64, 64, 1] MLP trained full-batch with Adam for ``seconds`` of wall time."""
    torch.manual_seed(seed)
    layer = {"tanh": torch.nn.Tanh, "silu": torch.nn.SiLU}[act]
    model = torch.nn.Sequential(torch.nn.Linear(n_in, 64), layer(), torch.nn.Linear(64, 64), layer(),
                                torch.nn.Linear(64, 1)).to(DTYPE)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(20):
            opt.zero_grad(set_to_none=True)
            torch.mean((model(x) - y) ** 2).backward()
            opt.step()
    return model


def tune_mlp(task, data: dict, seconds: float) -> tuple[str, float]:
    """The MLP configuration with the lowest RMSE on the last fifth of the training set."""
    x, y = data["train_input"], data["train_label"]
    n_fit = int(0.8 * x.shape[0])
    scores = {}
    for act, lr in MLP_CONFIGS:
        model = train_mlp(task.n_var, x[:n_fit], y[:n_fit], act, lr, seconds / len(MLP_CONFIGS), seed=0)
        scores[(act, lr)] = rmse(model, x[n_fit:], y[n_fit:])
    return min(scores, key=scores.get)


def run_mlp(task, data: dict, seed: int, config: tuple[str, float], seconds: float) -> dict:
    t0 = time.perf_counter()
    model = train_mlp(task.n_var, data["train_input"], data["train_label"], *config, seconds, seed)
    return {"rmse": [rmse(model, data["test_input"], data["test_label"])], "time": time.perf_counter() - t0}


def run_suite(tasks, seeds, libs, log: Path | None = None) -> dict:
    """Every task × seed × library, libraries interleaved per seed so machine noise hits all.

    ``log``: a JSON-lines file to which each finished task's raw results are appended.
    """
    C.warm_up_torch()
    out: dict = {}
    for task in tasks:
        res = {lib: [] for lib in libs}
        datas = {s: task.dataset(n_train=N_POINTS, n_test=N_POINTS, seed=s, dtype=DTYPE) for s in seeds}
        for seed in seeds:
            for lib in (lib for lib in libs if lib != "mlp"):
                r = (run_kanlab if lib == "kanlab" else run_pykan)(task, datas[seed], seed)
                res[lib].append(r)
                print(f"  {task.name}, seed {seed}, {lib}: test RMSE {C.fmt_sci(r['rmse'][-1])} "
                      f"in {C.fmt_time(r['time'])}{' (cached)' if r.get('cached') else ''}", flush=True)
        if "mlp" in libs:
            budget = statistics.median(r["time"] for r in res["kanlab"])
            config = tune_mlp(task, datas[seeds[0]], budget)
            res["mlp_config"] = list(config)
            for seed in seeds:
                res["mlp"].append(run_mlp(task, datas[seed], seed, config, budget))
            print(f"  {task.name}, mlp {config}: median test RMSE "
                  f"{C.fmt_sci(statistics.median(r['rmse'][-1] for r in res['mlp']))}", flush=True)
        out[task.name] = res
        if log is not None:
            with log.open("a") as fh:
                fh.write(json.dumps({"task": task.name, "seeds": list(seeds), "res": res}) + "\n")
    return out


def verdict(k: float, p: float) -> str:
    if not math.isfinite(p) and math.isfinite(k):
        return "won"
    if k * TIE < p:
        return "won"
    if p * TIE < k:
        return "lost"
    return "tied"


def summarize_task(task, res: dict) -> dict:
    """Medians, worst seeds, wall times and verdicts of one task's runs."""
    final = {lib: [r["rmse"][-1] for r in res[lib]] for lib in ("kanlab", "pykan", "mlp") if res.get(lib)}
    row = {"task": task.name, "width": list(task.width), "source": task.source.split(",")[0]}
    for lib, values in final.items():
        row[f"{lib}_median"] = statistics.median(values)
        row[f"{lib}_worst"] = max(values)
        row[f"{lib}_time"] = statistics.median(r["time"] for r in res[lib])
        row[f"{lib}_seeds"] = values
    if "pykan" in final:
        row["verdict"] = verdict(row["kanlab_median"], row["pykan_median"])
        row["ratio"] = row["kanlab_median"] / row["pykan_median"] if row["pykan_median"] > 0 else float("nan")
        row["speedup"] = row["pykan_time"] / row["kanlab_time"]
        row["pykan_crashes"] = sum("error" in r for r in res["pykan"])
    row["kanlab_spread"] = row["kanlab_worst"] / row["kanlab_median"] if row["kanlab_median"] > 0 else float("inf")
    if "mlp" in final:
        row["mlp_config"] = res.get("mlp_config")
        best_kan = min(row["kanlab_median"], row.get("pykan_median", float("inf")))
        row["mlp_beats_kans"] = row["mlp_median"] * TIE < best_kan
    return row


def table(rows: list[dict], libs) -> tuple[list[str], list[list[str]]]:
    headers = ["task", "width", "kanlab median (worst)"]
    if "pykan" in libs:
        headers += ["pykan median (worst)", "kanlab / pykan", "winner", "time kanlab / pykan"]
    else:
        headers += ["time kanlab"]
    if "mlp" in libs:
        headers += ["MLP, equal time (config)"]
    out = []
    for r in rows:
        line = [r["task"], str(r["width"]).replace(" ", ""),
                f"{C.fmt_sci(r['kanlab_median'])} ({C.fmt_sci(r['kanlab_worst'])})"]
        if "pykan" in libs:
            crash = f", {r['pykan_crashes']} crashed" if r["pykan_crashes"] else ""
            line += [f"{C.fmt_sci(r['pykan_median'])} ({C.fmt_sci(r['pykan_worst'])}{crash})", f"{r['ratio']:.2f}",
                     {"won": "kanlab", "lost": "pykan", "tied": "tie"}[r["verdict"]],
                     f"{C.fmt_time(r['kanlab_time'])} / {C.fmt_time(r['pykan_time'])} ({r['speedup']:.1f}×)"]
        else:
            line += [C.fmt_time(r["kanlab_time"])]
        if "mlp" in libs:
            act, lr = r["mlp_config"]
            mark = " **beats both KANs**" if r["mlp_beats_kans"] else ""
            line += [f"{C.fmt_sci(r['mlp_median'])} ({act}, lr {lr:g}){mark}"]
        out.append(line)
    return headers, out


def summary_lines(rows: list[dict], libs) -> list[str]:
    n = len(rows)
    lines = []
    if "pykan" in libs:
        count = {v: sum(r["verdict"] == v for r in rows) for v in ("won", "tied", "lost")}
        at_most = sum(r["kanlab_median"] <= r["pykan_median"] for r in rows)
        over2 = [r["task"] for r in rows if r["kanlab_median"] > 2 * r["pykan_median"]]
        slow = [r["task"] for r in rows if r["speedup"] < 3]
        lines.append(f"kanlab vs pykan over {n} tasks: won {count['won']}, tied {count['tied']}, lost {count['lost']} "
                     f"(medians within {TIE}× tie); kanlab median ≤ pykan's on {at_most}/{n} "
                     f"({100 * at_most / n:.0f}%); > 2× worse on: {', '.join(over2) or 'none'}")
        lines.append(f"wall time: median speed-up {statistics.median(r['speedup'] for r in rows):.1f}×, "
                     f"lowest {min(r['speedup'] for r in rows):.1f}×; under 3× on: {', '.join(slow) or 'none'}")
    stalls = [r["task"] for r in rows if r["kanlab_spread"] > 10]
    lines.append(f"kanlab worst seed > 10× its median on: {', '.join(stalls) or 'none'}")
    comps = [r for r in rows if r["task"] in COMPOSITION_NAMES()]
    if comps:
        parts = [f"{r['task']} {sum(v <= 1e-3 for v in r['kanlab_seeds'])}/{len(r['kanlab_seeds'])}" for r in comps]
        lines.append("[n,1,1] seeds reaching test RMSE ≤ 1e-3 (kanlab): " + ", ".join(parts))
    if "mlp" in libs:
        beat = [r["task"] for r in rows if r["mlp_beats_kans"]]
        lines.append(f"MLP of equal wall time beats both KANs (by > {TIE}×) on: {', '.join(beat) or 'none'}")
    return lines


def COMPOSITION_NAMES() -> set[str]:  # noqa: N802 - a constant computed late
    from kanlab.paper_tasks import PAPER_TASKS

    return {name for name, t in PAPER_TASKS.items() if t.is_composition}


def full_order(tasks: dict) -> list[str]:
    """Every task, kinds interleaved (compositions, special, Feynman, ...) so that a run cut short
    has covered each kind."""
    kinds: dict[str, list[str]] = {}
    for name, task in tasks.items():
        kind = "composition" if task.source.startswith("kanlab") or "3.1" in task.source else task.source
        kinds.setdefault(kind, []).append(name)
    queues = sorted(kinds.values(), key=len)
    order: list[str] = []
    while any(queues):
        for q in queues:
            if q:
                order.append(q.pop(0))
    return order


def main() -> int:
    from kanlab.paper_tasks import PAPER_TASKS

    global ADDITIVE_START, USE_CACHE, FIT_OPTIONS
    argv = sys.argv
    FIT_OPTIONS = json.loads(argv[argv.index("--fit-options") + 1]) if "--fit-options" in argv else {}
    ADDITIVE_START = "--additive-start" in argv
    USE_CACHE = "--no-cache" not in argv
    torch.set_num_threads(int(argv[argv.index("--threads") + 1]) if "--threads" in argv else 1)
    quick, full = C.quick_flag(), "--full" in argv
    names = full_order(PAPER_TASKS) if full else list(QUICK)
    if "--only" in argv:
        names = [n for n in argv[argv.index("--only") + 1].split(",") if n]
    tasks = [PAPER_TASKS[n] for n in names]
    seeds = tuple(range(int(argv[argv.index("--seeds") + 1]) if "--seeds" in argv else (2 if quick else 5)))
    libs = ["kanlab"]
    if C.pykan_version() and "--no-pykan" not in argv:
        libs.append("pykan")
    if "--no-mlp" not in argv:
        libs.append("mlp")
    t0 = time.perf_counter()
    if "--from" in argv:  # rebuild from a log: the tasks it holds, in its order
        entries = [json.loads(line) for line in Path(argv[argv.index("--from") + 1]).read_text().splitlines() if line]
        raw = {e["task"]: e["res"] for e in entries}
        tasks = [PAPER_TASKS[n] for n in raw if "--only" not in argv or n in names]
        seeds = tuple(entries[0]["seeds"])
        libs = [lib for lib in libs if all(raw[t.name].get(lib) for t in tasks)]
    else:
        C.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        log = Path(argv[argv.index("--log") + 1]) if "--log" in argv else C.RESULTS_DIR / "fit_suite_runs.jsonl"
        log.write_text("")  # this run's tasks only
        raw = run_suite(tasks, seeds, libs, log=log)
    rows = [summarize_task(t, raw[t.name]) for t in tasks]
    headers, body = table(rows, libs)
    print(f"\n## Fit suite: {len(tasks)} tasks, seeds {list(seeds)}, G = {'→'.join(map(str, GRIDS))}, "
          f"{STEPS} LBFGS steps per grid, float32, {N_POINTS}/{N_POINTS} points, "
          f"{'kanlab started by KAN.additive_start, ' if ADDITIVE_START else ''}"
          f"{'kanlab fit options ' + json.dumps(FIT_OPTIONS) + ', ' if FIT_OPTIONS else ''}"
          f"{torch.get_num_threads()} thread(s)\n")
    print(C.markdown_table(headers, body))
    lines = summary_lines(rows, libs)
    print("\n" + "\n".join(f"- {line}" for line in lines))
    print(f"\nsuite wall time {(time.perf_counter() - t0) / 60:.1f} min\n" + C.machine_line())
    summary = [{"benchmark": "fit_suite", "metric": f"paper tasks ({len(tasks)}, {len(seeds)} seeds), test RMSE at G=20",
                "kanlab": lines[0].split(": ", 1)[1].split(" (")[0] if "pykan" in libs else "",
                "reference": "pykan, same data and schedule", "note": "; ".join(lines[1:])}]
    path = C.write_results("fit_suite", "The paper's fitting tasks: kanlab vs pykan vs MLP",
                           {"headers": headers, "rows": body}, summary,
                           extra={"rows": rows, "seeds": list(seeds), "libs": libs, "quick": quick, "full": full})
    print(f"wrote {path.relative_to(C.REPO_ROOT)}")
    if "--json-out" in argv:
        out = Path(argv[argv.index("--json-out") + 1])
        keep = ("task", "width", "kanlab_seeds", "pykan_seeds", "mlp_seeds", "kanlab_time", "pykan_time",
                "mlp_time", "mlp_config")
        compact = {"command": "python " + " ".join(argv), "machine": C.machine_line(),
                   "rows": [{k: r[k] for k in keep if k in r} for r in rows]}
        out.write_text(json.dumps(compact, indent=1) + "\n")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
