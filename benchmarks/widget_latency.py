"""Widget latency: time from a coefficient-slider change to a finished redraw.

A student drags a coefficient slider of ``SplineExplorer(grid=20, k=3)`` (23 sliders). We set
the slider's ``.value`` exactly as the browser's comm message does and time until the callback
has returned: the spline's y-data updated, the changed artists drawn over the cached background
and the new PNG handed to the ``Image`` widget (the "image" canvas, the course default). For
the ipympl canvas the timed work is the callback plus the synchronous Agg draw that its
``draw_idle`` schedules. Target (issue 7): median and 90th percentile ≤ 50 ms on the image canvas.

Run: ``python benchmarks/widget_latency.py [--quick]``. Writes benchmarks/results/widget_latency.json.
"""

from __future__ import annotations

import statistics
import sys
import time

from _common import fmt_time, machine_line, markdown_table, quick_flag, write_results

TARGET_S = 0.050


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(canvas: str, n_moves: int, what: str = "coef") -> list[float]:
    """Seconds per slider move (after a warm-up) for one canvas mode."""
    import matplotlib

    from kanlab.widgets import SplineExplorer

    if canvas == "ipympl":
        matplotlib.use("module://ipympl.backend_nbagg")  # what %matplotlib widget does
    w = SplineExplorer(grid=20, k=3, target="sin", canvas=canvas)
    times = []
    for step in range(n_moves + 5):
        if what == "coef":
            s = w.coef_sliders[step % len(w.coef_sliders)]
            value = s.value + (0.05 if step % 2 == 0 else -0.05)
            t0 = time.perf_counter()
            s.value = value
            if canvas == "ipympl":
                w.fig.canvas.draw()  # the work draw_idle schedules
        else:  # target dropdown: a full redraw (reference row)
            names = w.target_dropdown.options
            t0 = time.perf_counter()
            w.target_dropdown.value = names[(step + 1) % len(names)]
        elapsed = time.perf_counter() - t0
        if step >= 5:
            times.append(elapsed)
    assert w.last_error is None, w.last_error
    return times


def main() -> int:
    n = 30 if quick_flag() else 200
    rows, results = [], {}
    cases = [("image", "coef", "coefficient slider (blit + PNG)"),
             ("image", "target", "target dropdown (full redraw + PNG)")]
    try:
        import ipympl  # noqa: F401

        cases.append(("ipympl", "coef", "coefficient slider (ipympl, Agg draw)"))
    except ImportError:
        pass
    for canvas, what, label in cases:
        times = measure(canvas, n if what == "coef" else max(10, n // 10), what)
        med, p90 = statistics.median(times), _percentile(times, 0.9)
        results[f"{canvas}-{what}"] = {"median": med, "p90": p90, "n": len(times)}
        rows.append([label, canvas, len(times), fmt_time(med), fmt_time(p90), fmt_time(max(times))])
    headers = ["SplineExplorer(grid=20, k=3)", "canvas", "moves", "median", "p90", "max"]
    print(markdown_table(headers, rows))
    print(machine_line())
    main_row = results["image-coef"]
    ok = main_row["median"] <= TARGET_S and main_row["p90"] <= TARGET_S
    verdict = "PASS" if ok else "FAIL"
    print(f"\ntarget: median and p90 <= {TARGET_S * 1e3:.0f} ms on the image canvas -> {verdict}")
    write_results(
        "widget_latency",
        "Widget latency: coefficient slider -> finished redraw",
        {"headers": headers, "rows": rows},
        [{"benchmark": "widget latency", "metric": "SplineExplorer G=20 slider->redraw median (p90)",
          "kanlab": f"{fmt_time(main_row['median'])} ({fmt_time(main_row['p90'])})",
          "reference": f"target ≤ {TARGET_S * 1e3:.0f} ms", "note": verdict}],
        extra=results,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
