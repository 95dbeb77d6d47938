"""How responsive is the KAN Playground while it trains? A real kernel, real widget messages.

Starts a fresh ``python3`` kernel (jupyter_client), builds ``Playground()`` there with one torch
thread, and measures:

- build: seconds to import kanlab.widgets + build the app in a fresh kernel (wall, and the
  kernel's CPU time, which other users of a shared machine inflate less), and to build it
  again (warm); ``--builds N`` repeats the cold build in N fresh kernels (median and worst);
- slider answer: a browser's slider move is a ``comm_msg`` "update" on the shell channel; we send
  exactly that to the λ slider (cheap callback) and to the noise slider (new data: pause, rebuild,
  resume) and time until the kernel reports idle for it, first with the app idle, then while
  Play trains in its background thread;
- UI update: the app's redraw (readout, loss curves, prediction map, network picture) during
  training, as timed inside the kernel (``Playground.draw_times``, wall; ``draw_cpu_times``, the
  drawing thread's CPU time, which a busy shared machine does not inflate), plus the render
  ipympl does on the main thread when the browser asks for the new network picture;
- one training step: the smallest chunk an event-loop scheduler (instead of a thread) could
  run between two messages, i.e. the latency floor of that design;
- kernel memory: peak resident set size of the kernel process.

Run: ``.venv/bin/python benchmarks/playground_latency.py [--moves 20] [--builds 3]
[--build-only]``. Prints a table.
Numbers are wall-clock times on a shared machine: run it when the machine is quiet, or read
them as upper bounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

SETUP = """
import time, resource
t0 = time.perf_counter()
import torch, kanlab
import_torch = time.perf_counter() - t0
torch.set_num_threads(1)
t0, c0 = time.perf_counter(), time.process_time()
from kanlab.widgets import Playground
pg = Playground()
build_cold, build_cold_cpu = time.perf_counter() - t0, time.process_time() - c0
t0 = time.perf_counter(); Playground(); build_warm = time.perf_counter() - t0
pg.draw_times.clear(); pg.draw_cpu_times.clear()
"""


INFO = ("import json\n_out = {'import_torch': import_torch, 'build_cold': build_cold,"
        " 'build_cold_cpu': build_cold_cpu, 'build_warm': build_warm,"
        " 'lamb': pg.c.lamb.model_id, 'noise': pg.c.noise.model_id}")


def _cold_build() -> dict[str, Any]:
    """The SETUP's measurements in a fresh kernel (then shut down)."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        _run(kc, SETUP)
        return _run(kc, INFO)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _print_builds(cold: list[dict[str, Any]]) -> None:
    def cell(key: str) -> str:
        ms = [1000 * c[key] for c in cold]
        return f"{statistics.median(ms):.0f} | {max(ms):.0f}"

    print("| cold build in a fresh kernel | n | median ms | max ms | target |")
    print("|---|---|---|---|---|")
    print(f"| import torch + kanlab (before the app) | {len(cold)} | {cell('import_torch')} | |")
    print(f"| import kanlab.widgets + build (wall) | {len(cold)} | {cell('build_cold')} | ≤ 2000 |")
    print(f"| import kanlab.widgets + build (kernel CPU) | {len(cold)} | {cell('build_cold_cpu')} | |")
    print(f"| build again (warm) | {len(cold)} | {cell('build_warm')} | ≤ 2000 |")


def _wait_idle(kc: Any, msg_id: str, timeout: float = 60.0) -> float:
    """Seconds until the kernel reports idle for the request ``msg_id``."""
    start = time.perf_counter()
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"):
            return time.perf_counter() - start


def _run(kc: Any, code: str) -> dict[str, Any]:
    msg_id = kc.execute(code, user_expressions={"out": "json.dumps(_out)"} if "_out" in code else {})
    reply = kc.get_shell_msg(timeout=600)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=600)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel error: {reply['content'].get('evalue')}")
    _wait_idle(kc, msg_id)
    out = reply["content"].get("user_expressions", {}).get("out")
    return json.loads(out["data"]["text/plain"].strip("'")) if out else {}


def _move(kc: Any, comm_id: str, state: dict[str, Any]) -> float:
    """Send one slider 'update' exactly as the browser does; seconds until the kernel is idle."""
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id,
                                      "data": {"method": "update", "state": state,
                                               "buffer_paths": []}})
    start = time.perf_counter()
    kc.shell_channel.send(msg)
    _wait_idle(kc, msg["header"]["msg_id"])
    return time.perf_counter() - start


def _moves(kc: Any, ids: dict[str, str], n: int) -> dict[str, list[float]]:
    lamb, noise = [], []
    for k in range(n):
        lamb.append(_move(kc, ids["lamb"], {"index": 1 + k % 3}))
        time.sleep(0.1)
    for k in range(max(3, n // 4)):
        noise.append(_move(kc, ids["noise"], {"value": 0.05 * (1 + k % 2)}))
        time.sleep(0.2)
    return {"lamb": lamb, "noise": noise}


def main() -> None:
    from jupyter_client.manager import start_new_kernel

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--moves", type=int, default=20, help="λ-slider moves per phase")
    parser.add_argument("--builds", type=int, default=1, help="fresh kernels for the cold build")
    parser.add_argument("--build-only", action="store_true", help="measure the builds only")
    args = parser.parse_args()
    cold = [_cold_build() for _ in range(args.builds - 1 if not args.build_only else args.builds)]
    if args.build_only:
        _print_builds(cold)
        return
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        _run(kc, SETUP)
        info = _run(kc, INFO)
        cold.append(info)
        idle = _moves(kc, info, args.moves)
        _run(kc, "pg.c.noise.value = 0.0\npg.draw_times.clear(); pg.draw_cpu_times.clear()\n"
                 "_steps = [0]; _record = pg.trainer.on_step\n"  # counts across data changes
                 "pg.trainer.on_step = lambda h: (_steps.__setitem__(0, _steps[0] + 1), _record(h))\n"
                 "pg.play()\ntime.sleep(3)")
        training = _moves(kc, info, args.moves)
        stats = _run(kc, "pg.pause()\nimport json, resource\n"
                         "_r = []\nfor _ in range(5):\n"
                         "    _s = time.perf_counter(); pg.network.fig.canvas.draw(); _r.append(time.perf_counter() - _s)\n"
                         "_out = {'draw': pg.draw_times, 'cpu': pg.draw_cpu_times, 'render': _r,"
                         " 'steps': _steps[0],"
                         " 'playing': pg.trainer.playing, 'message': pg.message,"
                         " 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}")
        steps = _run(kc, "import time\n_t = []\nfor _ in range(5):\n"
                         "    _s = time.perf_counter(); pg.step(1); _t.append(time.perf_counter() - _s)\n"
                         "_out = {'step': _t}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    def row(name: str, values: list[float], target: str = "") -> str:
        ms = sorted(1000 * v for v in values)
        p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
        return (f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {p90:.0f} | {max(ms):.0f} "
                f"| {target} |")

    _print_builds(cold)
    print()
    print("| measurement | n | median ms | p90 ms | max ms | target |")
    print("|---|---|---|---|---|---|")
    print(row("λ slider answer, idle", idle["lamb"]))
    print(row("λ slider answer, while training", training["lamb"], "≤ 200"))
    print(row("noise slider answer (new data), idle", idle["noise"]))
    print(row("noise slider answer (new data), while training", training["noise"], "≤ 200"))
    print(row("UI update while training (wall)", stats["draw"], "≤ 100 (median)"))
    print(row("UI update while training (CPU of the drawing thread)", stats["cpu"], "≤ 100 (median)"))
    print(row("network picture render + PNG diff (ipympl, main thread)", stats["render"]))
    print(row("one training step (event-loop chunk floor)", steps["step"]))
    print(f"| kernel peak RSS | 1 | {stats['rss_mb']:.0f} MB | | | ≤ 1024 MB |")
    print(f"\nsteps trained while measuring: {stats['steps']}; message: {stats['message']!r}")


if __name__ == "__main__":
    main()
