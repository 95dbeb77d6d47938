"""Layer speed: one KAN layer's forward + backward, kanlab vs pykan vs the matmul floor vs an MLP.

A B-spline KAN layer cannot avoid one matrix multiply of the flattened basis
(batch, in·(G+k)) by the coefficients (in·(G+k), out); ``nn.Linear(in·(G+k), out)`` forward +
backward on a precomputed input is that floor. Targets (issue 3): kanlab ≤ 3× the floor at the
three larger shapes, ≤ 6× at (2, 5); peak extra memory of one step at (1024, 256→256) ≤ 64 MiB.

Run: ``python benchmarks/layer_speed.py [--quick] [--threads N]``. float32, 2 threads (default),
G = 5, k = 3; the input does not require grad (a first layer); the "x.grad" column also
back-propagates into the input, as every hidden layer must. kanlab computes its basis on every
step in those two columns (``kanlab.fused.reuse_features(False)``); "data reused" is the step of a
first layer in full-batch training, where the same inputs come back every step and kanlab
computes their basis once per grid. "(of minima)" is the same ratio from
the fastest repeat of each, a steadier estimate when other processes share the CPU. Peak memory is measured in a fresh subprocess per layer: one warm
step, reset the kernel's high-water mark (``/proc/self/clear_refs``), one step, read ``VmHWM``.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

GRID, K = 5, 3
SHAPES = [(1024, 2, 5), (1024, 64, 64), (1024, 256, 256), (64, 784, 64)]
TARGETS = {(1024, 2, 5): 6.0}  # others: 3.0
MEM_SHAPE = (1024, 256, 256)
MEM_TARGET_MIB = 64.0


def make_layer(kind: str, in_dim: int, out_dim: int) -> tuple[nn.Module, int]:
    """Build one layer; returns (module, flattened input width it expects)."""
    torch.manual_seed(0)
    if kind == "kanlab":
        from kanlab.layer import KANLayer

        return KANLayer(in_dim, out_dim, grid=GRID, k=K), in_dim
    if kind == "pykan":
        with C.pykan_sandbox():
            from kan.KANLayer import KANLayer as PyKANLayer

            return PyKANLayer(in_dim=in_dim, out_dim=out_dim, num=GRID, k=K), in_dim
    if kind == "floor":
        return nn.Linear(in_dim * (GRID + K), out_dim, bias=False), in_dim * (GRID + K)
    if kind == "mlp":
        return nn.Linear(in_dim, out_dim), in_dim
    raise ValueError(f"kind must be one of kanlab, pykan, floor, mlp; got {kind!r}")


def make_step(kind: str, batch: int, in_dim: int, out_dim: int, input_grad: bool = False,
              reuse: bool = False):
    """A closure doing one forward + backward (grads cleared by setting them to None).

    ``reuse`` (kanlab only): let kanlab reuse the basis of the repeated input, as it does for
    the data in full-batch training; off by default, so each step computes its basis."""
    layer, width = make_layer(kind, in_dim, out_dim)
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(batch, width, generator=gen) * 2 - 1).requires_grad_(input_grad)
    grad_out = torch.randn(batch, out_dim, generator=gen)
    params = [p for p in layer.parameters() if p.requires_grad]
    fresh_basis = contextlib.nullcontext
    if kind == "kanlab" and not reuse:  # measure the basis computation, not its reuse
        from kanlab.fused import reuse_features

        def fresh_basis():
            return reuse_features(False)

    def step() -> None:
        for p in params:
            p.grad = None
        x.grad = None
        with fresh_basis():
            y = layer(x)
        if isinstance(y, tuple):  # pykan's KANLayer returns (y, preacts, postacts, postspline)
            y = y[0]
        y.backward(grad_out)

    return step


def calibrate(step) -> tuple[float, int]:
    """Time one step after a warm-up; return (seconds, calls to batch per timed sample)."""
    step()
    t0 = time.perf_counter()
    step()
    one = max(time.perf_counter() - t0, 1e-6)
    return one, max(1, int(2e-3 / one))  # batch very fast steps into >= 2 ms samples


def time_interleaved(steps: dict, budget_s: float, max_repeats: int = 40) -> dict[str, dict]:
    """Median/min/max step time of every closure in ``steps``, measured round-robin.

    Interleaving puts every implementation through the same machine noise, so the ratios hold
    even when the absolute times drift. Repeats: as many as ``budget_s`` allows (5..max_repeats).
    """
    cal = {name: calibrate(step) for name, step in steps.items()}
    per_round = sum(one * number for one, number in cal.values())
    repeats = int(min(max_repeats, max(5, budget_s / per_round)))
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            number = cal[name][1]
            t0 = time.perf_counter()
            for _ in range(number):
                step()
            times[name].append((time.perf_counter() - t0) / number)
    return {name: C.summarize(ts) for name, ts in times.items()}


_MEM_CHILD = """
import sys, json
sys.path.insert(0, {bench!r})
import torch
torch.set_num_threads({threads})
import layer_speed as L
step = L.make_step({kind!r}, {batch}, {in_dim}, {out_dim})
step()
def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
try:
    open('/proc/self/clear_refs', 'w').write('5')
    reset = True
except OSError:
    reset = False
base = status('VmRSS:')
step()
print(json.dumps({{'extra': status('VmHWM:') - base, 'reset': reset}}))
"""


def peak_extra_memory(kind: str, batch: int, in_dim: int, out_dim: int) -> float | None:
    """Peak extra resident memory (MiB) of one training step, in a fresh subprocess."""
    code = _MEM_CHILD.format(
        bench=str(C.BENCH_DIR), kind=kind, batch=batch, in_dim=in_dim, out_dim=out_dim,
        threads=torch.get_num_threads(),
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
        ).stdout
        res = json.loads(out.strip().splitlines()[-1])
    except (subprocess.SubprocessError, json.JSONDecodeError, IndexError):
        return None
    return res["extra"] / 2**20 if res["reset"] else None


def main() -> int:
    quick = C.quick_flag()
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    torch.set_num_threads(threads)
    budget = 0.5 if quick else 6.0
    kinds = ["kanlab", "pykan", "floor", "mlp"]
    have_pykan = C.pykan_version() is not None
    errors: dict[str, str] = {}
    results: dict[str, dict] = {}
    shapes = SHAPES[:2] if quick else SHAPES
    for batch, i, o in shapes:
        key = f"{batch}x{i}->{o}"
        steps = {}
        for kind in kinds + ["kanlab_xgrad", "kanlab_reuse"]:
            if kind == "pykan" and not have_pykan:
                continue
            base_kind = "kanlab" if kind.startswith("kanlab") else kind
            try:
                steps[kind] = make_step(base_kind, batch, i, o, input_grad=kind == "kanlab_xgrad",
                                        reuse=kind == "kanlab_reuse")
                steps[kind]()  # fail here, not inside the timing loop
            except Exception as exc:  # report, keep benchmarking the others
                steps.pop(kind, None)
                errors[f"{key}/{kind}"] = f"{type(exc).__name__}: {exc}"
        results[key] = time_interleaved(steps, budget)
    mem: dict[str, float | None] = {}
    if not quick:
        for kind in kinds:
            if kind == "pykan" and not have_pykan:
                continue
            mem[kind] = peak_extra_memory(kind, *MEM_SHAPE)

    headers = ["batch, in→out", "kanlab", "kanlab (x.grad)", "kanlab (data reused)", "pykan",
               "matmul floor", "MLP layer", "kanlab/floor", "(of minima)", "target", "pykan/floor",
               "pykan/kanlab", "pykan/kanlab (data reused)"]
    rows, summary = [], []
    for (batch, i, o) in shapes:
        r = results[f"{batch}x{i}->{o}"]
        med = {k: v["median"] for k, v in r.items()}
        target = TARGETS.get((batch, i, o), 3.0)
        ratio = med["kanlab"] / med["floor"] if "kanlab" in med and "floor" in med else None
        p_ratio = med["pykan"] / med["floor"] if "pykan" in med and "floor" in med else None
        speedup = med["pykan"] / med["kanlab"] if "pykan" in med and "kanlab" in med else None
        reuse_speedup = (med["pykan"] / med["kanlab_reuse"]
                         if "pykan" in med and "kanlab_reuse" in med else None)
        best = ({k: v["min"] for k, v in r.items()} if "kanlab" in r and "floor" in r else None)
        min_ratio = best["kanlab"] / best["floor"] if best else None
        best_ratio = f"{min_ratio:.1f}×" if best else "—"
        rows.append([
            f"{batch}, {i}→{o}", C.fmt_stat(r.get("kanlab")), C.fmt_stat(r.get("kanlab_xgrad")),
            C.fmt_stat(r.get("kanlab_reuse")),
            C.fmt_stat(r.get("pykan")), C.fmt_stat(r.get("floor")), C.fmt_stat(r.get("mlp")),
            f"{ratio:.1f}×" if ratio else "—", best_ratio, f"≤ {target:g}×",
            f"{p_ratio:.0f}×" if p_ratio else "—", f"{speedup:.2g}×" if speedup else "—",
            f"{reuse_speedup:.2g}×" if reuse_speedup else "—",
        ])
        summary.append({
            "benchmark": "layer_speed",
            "metric": f"fwd+bwd step, batch {batch}, {i}→{o}",
            "kanlab": (f"{C.fmt_time(med.get('kanlab'))}; {ratio:.1f}× floor "
                       f"(of minima {min_ratio:.1f}×)") if ratio else "—",
            "reference": f"pykan {C.fmt_time(med.get('pykan'))}" if "pykan" in med else "pykan —",
            "note": (f"kanlab {speedup:.2g}× as fast ({reuse_speedup:.2g}× with the data's basis "
                     "reused, as in full-batch training); " if speedup and reuse_speedup else "")
            + (f"target ≤ {target:g}× floor: " + ("met" if max(ratio, min_ratio) <= target
                                                   else "MISSED") if ratio else ""),
        })
    print(f"## Layer speed: forward + backward of one layer (float32, {threads} thread(s), "
          f"G={GRID}, k={K})\n")
    print(C.markdown_table(headers, rows))
    if mem:
        print(f"\nPeak extra memory of one step at batch {MEM_SHAPE[0]}, "
              f"{MEM_SHAPE[1]}→{MEM_SHAPE[2]} (target ≤ {MEM_TARGET_MIB:g} MiB for kanlab):")
        for kind, mib in mem.items():
            print(f"- {kind}: {'—' if mib is None else f'{mib:.1f} MiB'}")
        k_mib = mem.get("kanlab")
        summary.append({
            "benchmark": "layer_speed",
            "metric": f"peak extra memory, one step, {MEM_SHAPE[0]}×{MEM_SHAPE[1]}→{MEM_SHAPE[2]}",
            "kanlab": "—" if k_mib is None else f"{k_mib:.1f} MiB",
            "reference": "pykan —" if mem.get("pykan") is None else f"pykan {mem['pykan']:.1f} MiB",
            "note": f"target ≤ {MEM_TARGET_MIB:g} MiB"
            + ("" if k_mib is None else (": met" if k_mib <= MEM_TARGET_MIB else ": MISSED")),
        })
    for where, msg in errors.items():
        print(f"\nerror in {where}: {msg}")
    print("\n" + C.machine_line())
    name = "layer_speed" if threads == 2 else f"layer_speed_{threads}t"
    for row in summary:
        row["benchmark"] = name
    path = C.write_results(
        name, f"Layer speed (fwd+bwd, float32, {threads} threads)",
        {"headers": headers, "rows": rows}, summary,
        extra={"raw": results, "peak_extra_mib": mem, "errors": errors, "quick": quick},
    )
    print(f"wrote {path.relative_to(C.REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
