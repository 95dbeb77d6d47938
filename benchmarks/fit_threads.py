"""Fit time with torch's default thread count vs one thread: the README fit, idle and with a busy core.

The README's ``KAN([2, 5, 1]).fit(dataset, steps=40)`` (1000 samples, float32) is timed with
torch's default intra-op thread count and with ``torch.set_num_threads(1)``, interleaved (one of
each per repeat, so both see the same load), first as the machine is, then while another
process keeps one core busy (a Python busy loop, as a browser tab or a second kernel would).
kanlab's ``fit`` runs small problems on one thread and restores the caller's setting
(``kanlab.train.SMALL_FIT_WORK``), so the two columns should agree (target: default ≤ 1.2×
one thread). Before that, torch's spinning worker threads made the default several times slower
as soon as a core was busy.

Run: ``python benchmarks/fit_threads.py [--quick]``. On a shared machine "idle" means "with
whatever else runs": compare the ratio, which is measured within one interleaved run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import torch

DEFAULT_THREADS = torch.get_num_threads()  # before anything changes it


def readme_fit_seconds(threads: int, steps: int) -> float:
    from kanlab import KAN, create_dataset

    f = lambda x: torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)  # noqa: E731
    dataset = create_dataset(f, n_var=2, seed=0)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model = KAN(width=[2, 5, 1], grid=5, k=3, seed=0)
        start = time.perf_counter()
        model.fit(dataset, opt="LBFGS", steps=steps, progress=False)
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)


def measure(repeats: int, steps: int) -> dict[int, list[float]]:
    times: dict[int, list[float]] = {DEFAULT_THREADS: [], 1: []}
    for _ in range(repeats):
        for threads in times:
            times[threads].append(readme_fit_seconds(threads, steps))
    return times


def main() -> int:
    quick = "--quick" in sys.argv
    repeats, steps = (2, 10) if quick else (4, 40)
    readme_fit_seconds(1, 2)  # warm up (imports, kernels' first call)
    rows = []
    for condition in ("as is", "one core busy"):
        busy = None
        if condition == "one core busy":
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        try:
            times = measure(repeats, steps)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
        default, one = statistics.median(times[DEFAULT_THREADS]), statistics.median(times[1])
        rows.append((condition, default, one, default / one))
    print(f"## README fit ([2, 5, 1], 1000 samples, {steps} LBFGS steps, float32): torch's default "
          f"{DEFAULT_THREADS} thread(s) vs 1 (median of {repeats}, interleaved)\n")
    print("| machine | default threads (s) | 1 thread (s) | default / 1 |")
    print("|---|---:|---:|---:|")
    for condition, default, one, ratio in rows:
        print(f"| {condition} | {default:.2f} | {one:.2f} | {ratio:.2f}x |")
    worst = max(r[3] for r in rows)
    print(f"\nworst ratio {worst:.2f}x (target <= 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
