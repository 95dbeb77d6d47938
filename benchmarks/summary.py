"""Gather ``benchmarks/results/*.json`` into one markdown table (the README's numbers).

Every benchmark writes a JSON file with a ``summary`` list (see ``_common.write_results``);
a file without one still gets a line pointing at its full table. Run:
``python benchmarks/summary.py [--out FILE]`` (prints the table; ``--out`` also writes it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

ORDER = ["layer_speed", "layer_speed_1t", "fit_accuracy", "fit_suite", "time_to_accuracy", "scalar_xor", "regularization", "pde",
         "widget_latency", "notebooks"]


def load_results(results_dir: Path = C.RESULTS_DIR) -> list[dict]:
    """All result files, in the suite's order (unknown names last, alphabetically)."""
    files = sorted(results_dir.glob("*.json"))
    payloads = []
    for f in files:
        try:
            payloads.append(json.loads(f.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            payloads.append({"name": f.stem, "title": f.stem, "summary": [],
                             "error": f"unreadable: {exc}"})
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(payloads, key=lambda p: (rank.get(p.get("name"), len(ORDER)), p.get("name", "")))


def summary_markdown(payloads: list[dict]) -> str:
    """One table: benchmark | what | kanlab | reference | note, then the machine line."""
    headers = ["benchmark", "what", "kanlab", "reference", "note"]
    rows = []
    for p in payloads:
        items = p.get("summary") or []
        if not items:
            rows.append([p.get("name", "?"), p.get("title", ""), "see its table", "",
                         p.get("error", "")])
        for s in items:
            rows.append([s.get("benchmark", p.get("name", "?")), s.get("metric", ""),
                         s.get("kanlab", ""), s.get("reference", ""), s.get("note", "")])
    machine = next((p["machine"] for p in payloads if isinstance(p.get("machine"), dict)), None)
    lines = [C.markdown_table(headers, rows), ""]
    if machine:
        try:
            lines.append(C.machine_line(machine))
        except KeyError:
            lines.append(f"Machine: {machine}")
    quick = [p["name"] for p in payloads if (p.get("extra") or {}).get("quick")]
    if quick:
        lines.append(f"(quick smoke-run results, not for quoting: {', '.join(quick)})")
    return "\n".join(lines)


def main() -> int:
    payloads = load_results()
    if not payloads:
        print(f"no results in {C.RESULTS_DIR}; run `python benchmarks/run_all.py` first")
        return 1
    text = summary_markdown(payloads)
    print("## kanlab benchmark summary\n")
    print(text)
    if "--out" in sys.argv:
        out = Path(sys.argv[sys.argv.index("--out") + 1])
        out.write_text("## kanlab benchmark summary\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
