"""From data to law: ``kanlab.discovery.discover`` on the Feynman laws of 10_discovering_laws.

For every law of ``kanlab.discovery.FEYNMAN_LAWS`` (velocity addition, an inverse-square law,
Doppler's ω₀/(1 − v/c) with its dimensionless group v/c, and relativistic mass, the known hard
case) and seeds 0–4: attribution → separability/symmetry tests → shape (MultKAN product, sum,
or F(Σ g_i)) → fit → snap with lookahead → formula, rounded to 4 decimals. A run *recovers*
the law when sympy proves the rounded formula equal to the law (``equivalent``), checked again
numerically on a wider box (``Law.outside``: up to 5× the training range, inside the physical domain). Acceptance (issue 21): ≥ 4 of 5 seeds
on velocity addition, inverse square and Doppler.

``--multkan`` adds velocity addition with the shape forced to the MultKAN F(s)·G(p),
``width=[2, [1, 1], [0, 1]]`` (the shape ``from_formula`` compiles (u + v)/(1 + uv) into), to
see how well multiplication nodes find it from data.

Run: ``python benchmarks/discover_laws.py [--seeds N] [--quick] [--hard] [--multkan] [LAW ...]`` (1 torch
thread). By default the three acceptance laws, seeds 0–4 (about 10–20 s per law and seed on an idle
core, so it fits ``run_all``'s 300 s limit); ``--hard`` adds relativistic mass (about 1–2 min a
seed); ``--quick``: seed 0 only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import torch  # noqa: E402

ACCEPTANCE = ("velocity_addition", "inverse_square", "doppler")


def short(expr, limit: int = 60) -> str:
    text = str(expr)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main(argv: list[str]) -> None:
    from kanlab.discovery import FEYNMAN_LAWS, discover

    torch.set_num_threads(1)
    quick = C.quick_flag(argv)
    n_seeds = 1 if quick else 5
    if "--seeds" in argv:
        n_seeds = int(argv[argv.index("--seeds") + 1])
    names = [a for a in argv if a in FEYNMAN_LAWS] or list(ACCEPTANCE)
    if "--hard" in argv and "relativistic_mass" not in names:
        names.append("relativistic_mass")
    runs = [(n, n, None) for n in names]  # (row label, law, forced shape)
    if "--multkan" in argv:
        runs.append(("velocity_addition (MultKAN)", "velocity_addition", "mixed"))
    headers = ["law", "seed", "inputs kept", "shape", "recovered formula", "sympy-equal", "max rel. err outside",
               "test RMSE", "time"]
    rows, counts = [], {}
    for name, law_name, kind in runs:
        law = FEYNMAN_LAWS[law_name]
        counts[name] = 0
        for seed in range(n_seeds):
            t0 = time.perf_counter()
            found = discover(law.f, law.ranges, law.names, seed=seed, kind=kind)
            same, _ = law.check(found.formula)
            _, rel_out = law.check(found.formula, outside=True)
            counts[name] += same
            rows.append([name, seed, ",".join(law.names[i] for i in found.kept), str(found.shape.width),
                         short(found.formula), "yes" if same else "no", C.fmt_sci(rel_out),
                         C.fmt_sci(found.rmse), f"{time.perf_counter() - t0:.0f} s"])
            print(" | ".join(str(v) for v in rows[-1]), flush=True)
    print()
    print(C.markdown_table(headers, rows))
    print()
    table = [[n, FEYNMAN_LAWS[ln].truth, f"{counts[n]}/{n_seeds}",
              "yes" if n in ACCEPTANCE else ("no (known hard)" if k is None else "no (shape comparison)")]
             for n, ln, k in runs]
    print(C.markdown_table(["law", "truth", "exact law recovered", "acceptance law"], table))
    summary = [{"benchmark": "discover_laws", "metric": f"{n}: exact law, seeds 0–{n_seeds - 1}",
                "kanlab": f"{counts[n]}/{n_seeds}", "reference": "≥ 4/5" if n in ACCEPTANCE else "-",
                "note": FEYNMAN_LAWS[ln].truth} for n, ln, _ in runs]
    C.write_results("discover_laws", "From data to law: Feynman laws", {"headers": headers, "rows": rows}, summary)


if __name__ == "__main__":
    main(sys.argv[1:])
