"""Shared helpers for kanlab's benchmark scripts (``make bench`` runs them all).

Every benchmark script in this folder:

* prints its own table (markdown) to stdout;
* writes one JSON file ``benchmarks/results/<name>.json`` (the folder is git-ignored) with
  ``write_results(name, title, table, summary)``; the JSON holds the machine description, the
  full table and a few ``summary`` rows that ``summary.py`` gathers into one markdown table.

A summary row is a dict with the keys ``benchmark``, ``metric``, ``kanlab``, ``reference``
(pykan, an MLP, a target — whatever the comparison is against) and ``note``; values are strings
already formatted for reading.

Timings are medians over repeats with min–max, all measured in one run so that ratios hold on a
noisy machine. pykan (the reference implementation, PyPI ``pykan``) is optional: install the
``bench`` extra. It runs inside ``pykan_sandbox()``, a temporary working directory, because it
writes checkpoint folders into the working directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

if str(REPO_ROOT) not in sys.path:  # run as `python benchmarks/x.py` from a clone
    sys.path.insert(0, str(REPO_ROOT))


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux) or ``platform``; '' when unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU model, core count, Python/torch/kanlab/pykan versions and torch's thread count."""
    import torch

    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }
    try:
        import kanlab

        info["kanlab"] = kanlab.__version__
    except ImportError:  # pragma: no cover - the repo is on sys.path
        info["kanlab"] = None
    info["pykan"] = pykan_version()
    return info


def machine_line(info: dict[str, Any] | None = None) -> str:
    """One human line describing the machine, printed under every table."""
    info = info or machine_info()
    return (
        f"Machine: {info['cpu']} ({info['cores']} cores), torch {info['torch']} "
        f"({info['torch_threads']} threads), Python {info['python']}, kanlab {info['kanlab']}, "
        f"pykan {info['pykan'] or 'not installed'}"
    )


def pykan_version() -> str | None:
    """pykan's installed version, or None when the ``bench`` extra is not installed."""
    from importlib import metadata

    try:
        return metadata.version("pykan")
    except metadata.PackageNotFoundError:
        return None


@contextlib.contextmanager
def pykan_sandbox() -> Iterator[Path]:
    """Run pykan inside a fresh temporary working directory, removed afterwards.

    pykan writes ``./model`` checkpoint folders (``refine`` forces ``auto_save=True``), so the
    reference runs where nothing it writes can land in the repository.
    """
    old = Path.cwd()
    tmp = Path(tempfile.mkdtemp(prefix="kanlab_pykan_"))
    os.chdir(tmp)
    try:
        yield tmp
    finally:
        os.chdir(old)
        shutil.rmtree(tmp, ignore_errors=True)


def import_pykan():
    """Import pykan quietly inside the sandbox's cwd; return the module or None if missing."""
    try:
        import kan  # noqa: F401  (pykan's import name)
    except ImportError:
        return None
    return sys.modules["kan"]


def warm_up_torch() -> None:
    """Load what torch loads on first use before anything is timed.

    The first optimizer a process creates imports ``torch._dynamo`` (about 1 s here). Whichever
    library's fit ran first would pay it; warming up here keeps it out of both.
    """
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def time_repeats(
    fn: Callable[[], Any], repeats: int = 20, warmup: int = 3, number: int = 1
) -> dict[str, float]:
    """Median, min and max wall time (seconds) of ``fn()`` over ``repeats`` timed runs.

    ``number`` calls are timed together and divided, for functions too fast to time one by one.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return summarize(times)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """Median, min, max and count of a list of measurements."""
    vals = [float(v) for v in values]
    return {
        "median": statistics.median(vals),
        "min": min(vals),
        "max": max(vals),
        "n": len(vals),
    }


def fmt_time(seconds: float | None) -> str:
    """Seconds as a short human string: '12.3 µs', '4.56 ms', '7.8 s'."""
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_stat(stat: dict[str, float] | None, fmt: Callable[[float], str] = fmt_time) -> str:
    """'median (min–max)' of a ``summarize`` dict."""
    if not stat:
        return "—"
    if stat.get("n", 1) == 1:
        return fmt(stat["median"])
    return f"{fmt(stat['median'])} ({fmt(stat['min'])}–{fmt(stat['max'])})"


def fmt_sci(x: float | None, digits: int = 2) -> str:
    """A float in scientific notation ('1.23e-04'), '—' for None/NaN."""
    if x is None or x != x:
        return "—"
    return f"{x:.{digits}e}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(str(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def write_results(
    name: str,
    title: str,
    table: dict[str, Any],
    summary: Sequence[dict[str, str]] = (),
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``benchmarks/results/<name>.json`` and return its path.

    table: ``{"headers": [...], "rows": [[...], ...]}`` (the printed table);
    summary: rows for the suite's summary table (keys: benchmark, metric, kanlab, reference, note).
    """
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "name": name,
        "title": title,
        "machine": machine_info(),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "table": table,
        "summary": list(summary),
        "extra": extra or {},
    }
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def quick_flag(argv: Sequence[str] | None = None) -> bool:
    """True when ``--quick`` is on the command line (a seconds-long smoke run for tests)."""
    argv = sys.argv[1:] if argv is None else argv
    return "--quick" in argv
