"""Run the whole benchmark suite (``make bench``) and print one summary table.

Runs every ``benchmarks/*.py`` script except the helpers (``_common``, ``run_all``, ``summary``),
each in its own process with a time limit, in a fixed order (unknown scripts after, by name).
Each prints its table and writes ``benchmarks/results/<name>.json``; at the end
``summary.py`` turns the JSON files into one markdown table, also written to
``benchmarks/results/SUMMARY.md``. Budget: ≤ 20 min on a 2-core CPU.

Run: ``python benchmarks/run_all.py [--quick] [--only a,b] [--skip a,b]``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import summary as S  # noqa: E402

HELPERS = {"_common", "run_all", "summary"}
# fit_suite --quick: 4 tasks x 2 seeds with pykan (~30-60 s a run on a shared 2-core machine).
TIME_LIMIT_S = {"notebooks": 720, "fit_accuracy": 600, "layer_speed": 480, "fit_suite": 720}
DEFAULT_LIMIT_S = 300
# Extra runs of a script with other arguments, each writing its own JSON. layer_speed also runs
# single-threaded: on a small, shared 2-core machine two OpenMP threads can stall for
# milliseconds at every barrier, which swamps the microsecond-scale steps being measured.
EXTRA_ARGS = {"layer_speed": [["--threads", "1"]]}


def scripts() -> list[Path]:
    """The benchmark scripts in suite order."""
    found = [p for p in C.BENCH_DIR.glob("*.py") if p.stem not in HELPERS]
    rank = {n: i for i, n in enumerate(S.ORDER)}
    return sorted(found, key=lambda p: (rank.get(p.stem, len(S.ORDER)), p.stem))


def _arg_list(flag: str) -> list[str]:
    if flag in sys.argv:
        return [s for s in sys.argv[sys.argv.index(flag) + 1].split(",") if s]
    return []


def main() -> int:
    quick = C.quick_flag()
    only, skip = _arg_list("--only"), _arg_list("--skip")
    todo = [p for p in scripts() if (not only or p.stem in only) and p.stem not in skip]
    print(C.machine_line(), flush=True)
    status = {}
    t_all = time.perf_counter()
    for path in todo:
        limit = TIME_LIMIT_S.get(path.stem, DEFAULT_LIMIT_S)
        for f in C.RESULTS_DIR.glob(f"{path.stem}*.json"):
            f.unlink()  # no stale numbers from an earlier run
        for args in [[]] + EXTRA_ARGS.get(path.stem, []):
            label = " ".join([path.stem, *args])
            print(f"\n### {label} (limit {limit} s)\n", flush=True)
            cmd = [sys.executable, str(path), *args] + (["--quick"] if quick else [])
            t0 = time.perf_counter()
            try:
                rc = subprocess.run(cmd, cwd=C.REPO_ROOT, timeout=limit).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
            status[label] = (rc, time.perf_counter() - t0)
            print(f"\n[{label}: exit {rc} after {time.perf_counter() - t0:.0f} s]", flush=True)
    total = time.perf_counter() - t_all
    print("\n" + "=" * 72)
    print("\n".join(f"{name}: exit {rc}, {secs:.0f} s" for name, (rc, secs) in status.items()))
    print(f"suite wall time: {total / 60:.1f} min\n")
    payloads = S.load_results()
    text = "## kanlab benchmark summary\n\n" + S.summary_markdown(payloads)
    print(text)
    C.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (C.RESULTS_DIR / "SUMMARY.md").write_text(text + f"\n\nSuite wall time: {total / 60:.1f} min\n")
    failed = [n for n, (rc, _) in status.items() if rc != 0]
    if failed:
        print(f"\nfailed or timed out: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
