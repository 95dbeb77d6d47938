"""Notebook cost: wall time and peak memory of every course notebook, each in a fresh kernel.

Each notebook is copied to a temporary folder and executed there top to bottom (nbclient, a new
kernel, working directory = the temp folder, so nothing lands in the repo; the stored
notebooks are never modified). A small wrapper process owns the kernel, so the kernel's peak
resident memory is the wrapper's ``RUSAGE_CHILDREN`` high-water mark once the kernel exits, and
its CPU seconds (user + system) come from the same record. Wall time is what the targets are
about; on a shared machine (load average printed with the table) CPU time says how much of the
wall time was the notebook's own work. Targets (issues 9, 22): each notebook ≤ 60 s, the whole
course ≤ 6 min, peak ≤ 1.5 GB per notebook. Every numbered notebook (``NN_*.ipynb``) is timed;
the playground app is not part of the course run.

Run: ``python benchmarks/notebooks.py [--quick] [NAME_SUBSTRING ...]``; ``--quick`` runs 00 only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

NB_DIR = C.REPO_ROOT / "notebooks"
PER_NOTEBOOK_S = 60.0
COURSE_S = 360.0
PEAK_MB = 1536.0

_WRAPPER = r"""
import json, resource, shutil, sys, tempfile, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
src = Path(sys.argv[1])
tmp = Path(tempfile.mkdtemp(prefix="kanlab_nb_"))
try:
    path = tmp / src.name
    shutil.copy(src, path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp)}})
    t0 = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as exc:
        lines = [ln for ln in str(exc).splitlines() if ln.strip()]
        error = f"{type(exc).__name__}: {lines[-1] if lines else ''}"[:300]  # the exception line
    wall = time.perf_counter() - t0
finally:
    shutil.rmtree(tmp, ignore_errors=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "kernel_peak_mb": usage.ru_maxrss / 1024,
                  "kernel_cpu": usage.ru_utime + usage.ru_stime, "error": error}))
"""


def run_notebook(path: Path) -> dict:
    """Execute one notebook in a fresh kernel in a temp dir; wall seconds, kernel CPU seconds, peak MB, error."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(C.REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(path)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"wall": None, "kernel_peak_mb": None, "kernel_cpu": None,
                "error": (proc.stderr or "no output")[-300:]}


def main() -> int:
    quick = C.quick_flag()
    wanted = [a for a in sys.argv[1:] if not a.startswith("--")]
    paths = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
    if wanted:
        paths = [p for p in paths if any(w in p.name for w in wanted)]
    elif quick:
        paths = paths[:1]
    results = {}
    load_before = os.getloadavg()[0]
    for p in paths:
        results[p.name] = run_notebook(p)
        r = results[p.name]
        err = f", ERROR {r['error']}" if r["error"] else ""
        print(f"  {p.name}: {C.fmt_time(r['wall'])} (kernel CPU {C.fmt_time(r.get('kernel_cpu'))}), "
              f"peak {r['kernel_peak_mb'] or 0:.0f} MB{err}", flush=True)
    load_after = os.getloadavg()[0]

    headers = ["notebook", "wall time", "kernel CPU", "kernel peak memory", "status"]
    rows = []
    for name, r in results.items():
        status = []
        if r["error"]:
            status.append(f"error: {r['error'][:80]}")
        if r["wall"] and r["wall"] > PER_NOTEBOOK_S:
            status.append(f"over {PER_NOTEBOOK_S:.0f} s")
        if r["kernel_peak_mb"] and r["kernel_peak_mb"] > PEAK_MB:
            status.append(f"over {PEAK_MB:.0f} MB")
        rows.append([name, C.fmt_time(r["wall"]), C.fmt_time(r.get("kernel_cpu")),
                     f"{r['kernel_peak_mb']:.0f} MB" if r["kernel_peak_mb"] else "—",
                     "; ".join(status) or "ok"])
    total = sum(r["wall"] or 0 for r in results.values())
    peak = max((r["kernel_peak_mb"] or 0 for r in results.values()), default=0)
    slowest = max(results, key=lambda n: results[n]["wall"] or 0) if results else "—"
    cpu = sum(r.get("kernel_cpu") or 0 for r in results.values())
    n_err = sum(1 for r in results.values() if r["error"])
    n_slow = sum(1 for r in results.values() if (r["wall"] or 0) > PER_NOTEBOOK_S)
    total_status = [f"{n_err} error(s)"] + ([f"over {COURSE_S / 60:.0f} min"] if total > COURSE_S else [])
    rows.append(["**total**", C.fmt_time(total), C.fmt_time(cpu), f"max {peak:.0f} MB", "; ".join(total_status)])
    print(f"## Notebooks: wall time and peak memory, a fresh kernel each ({len(results)})\n")
    print(C.markdown_table(headers, rows))
    print(f"\nCourse: {total / 60:.1f} min of {COURSE_S / 60:.0f} ({'within' if total <= COURSE_S else 'OVER'}); "
          f"{n_slow} notebook(s) over {PER_NOTEBOOK_S:.0f} s; {n_err} error(s). "
          f"Load average (1 min) {load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} cores.")
    print(C.machine_line())
    summary = [{
        "benchmark": "notebooks",
        "metric": f"course run time ({len(results)} notebooks), slowest, peak memory",
        "kanlab": f"{C.fmt_time(total)}; slowest {slowest} "
                  f"{C.fmt_time(results[slowest]['wall']) if results else '—'}; peak {peak:.0f} MB",
        "reference": f"target ≤ {COURSE_S / 60:.0f} min, ≤ {PER_NOTEBOOK_S:.0f} s each, "
                     f"≤ {PEAK_MB / 1024:.1f} GB",
        "note": (f"{n_err} notebook error(s)" if n_err else "all ran")
                + (f", {n_slow} over {PER_NOTEBOOK_S:.0f} s" if n_slow else ""),
    }]
    path = C.write_results("notebooks", "Notebook wall time and peak memory",
                           {"headers": headers, "rows": rows}, summary,
                           extra={"raw": results, "quick": quick, "load_average": [load_before, load_after]})
    print(f"wrote {path.relative_to(C.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
