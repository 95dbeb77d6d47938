"""pykan's hello-KAN recipe typed unchanged into kanlab and into pykan: how often is the law recovered?

The recipe (pykan's tutorial): ``KAN(width=[2, 5, 1], grid=3, k=3, seed=s)`` on
``create_dataset(f, n_var=2)`` with f = exp(sin πx₁ + x₂²); ``fit(steps=50, lamb=0.001)`` →
``prune()`` → ``fit(50)`` → ``refine(10)`` → ``fit(50)`` → ``auto_symbolic(lib=[...])`` →
``fit(50)`` → the formula rounded to 4 digits. float64 (``torch.set_default_dtype``, as the
tutorial does), seeds 0–9, the same calls in both libraries (``model.formula()`` in kanlab is
``ex_round(model.symbolic_formula()[0][0], 4)`` in pykan).

A run *recovers* the law when its rounded formula uses exactly one exp and one sin (no other
function), both inputs, and agrees with f to a relative error below 1e-3 on 1000 fresh points of
[-1, 1]² (so exp(x₂² + sin(3.1416·x₁)) counts, a partly wrong snap does not). A run that raises
counts as a failure and the error is printed.

kanlab runs twice: with its default (the paper's) sparsity penalty and L1 pruning, and with
pykan's default penalty and attribution pruning (``fit(reg_metric="edge_forward_spline_n")``,
``prune(method="attribution")``), the only change to the recipe.

Run: ``python benchmarks/hello_kan.py [--seeds N] [--kanlab-only | --pykan-only] [--quick]`` (1 torch thread;
pykan runs in a temporary working directory; ``--quick``: seeds 0–1, kanlab only).
"""

from __future__ import annotations

import contextlib
import io
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402
import torch  # noqa: E402

LIB = ["x", "x^2", "x^3", "x^4", "exp", "log", "sqrt", "tanh", "sin", "abs"]


def target(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(torch.pi * x[:, [0]]) + x[:, [1]] ** 2)


def recovered(expr, n: int = 1000) -> tuple[bool, float]:
    """(the rounded formula is the law, its max relative error on fresh points)."""
    import sympy

    x1, x2 = sympy.symbols("x_1 x_2")
    funcs = {type(f) for f in expr.atoms(sympy.Function)}
    counts = {name: sum(isinstance(f, getattr(sympy, name)) for f in expr.atoms(sympy.Function))
              for name in ("exp", "sin")}
    g = torch.Generator().manual_seed(12345)
    x = torch.rand(n, 2, generator=g, dtype=torch.float64) * 2 - 1
    fn = sympy.lambdify((x1, x2), expr, "numpy")
    with contextlib.suppress(Exception):
        y = torch.as_tensor(fn(x[:, 0].numpy(), x[:, 1].numpy()), dtype=torch.float64).reshape(-1)
        err = float(((y - target(x)[:, 0]).abs() / target(x)[:, 0].abs()).max())
        ok = (funcs <= {sympy.exp, sympy.sin} and counts == {"exp": 1, "sin": 1}
              and expr.free_symbols == {x1, x2} and err < 1e-3)
        return ok, err
    return False, math.inf


def run_kanlab(seed: int, pykan_penalty: bool = False) -> dict:
    """The recipe in kanlab; ``pykan_penalty``: with pykan's default sparsity penalty and pruning
    (``reg_metric="edge_forward_spline_n"``, ``prune(method="attribution")``) instead of the paper's."""
    from kanlab import KAN, create_dataset

    reg = {"reg_metric": "edge_forward_spline_n"} if pykan_penalty else {}
    model = KAN(width=[2, 5, 1], grid=3, k=3, seed=seed)
    dataset = create_dataset(target, n_var=2)
    model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001, progress=False, **reg)
    model = model.prune(method="attribution") if pykan_penalty else model.prune()
    model.fit(dataset, opt="LBFGS", steps=50, progress=False)
    model = model.refine(10)
    model.fit(dataset, opt="LBFGS", steps=50, progress=False)
    model.auto_symbolic(lib=LIB)
    model.fit(dataset, opt="LBFGS", steps=50, progress=False)
    return {"formula": model.formula(), "width": list(model.width)}


def run_pykan(seed: int) -> dict:
    with C.pykan_sandbox(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        from kan import KAN, create_dataset
        from kan.utils import ex_round

        model = KAN(width=[2, 5, 1], grid=3, k=3, seed=seed)
        dataset = create_dataset(target, n_var=2)
        model.fit(dataset, opt="LBFGS", steps=50, lamb=0.001)
        model = model.prune()
        model.fit(dataset, opt="LBFGS", steps=50)
        model = model.refine(10)
        model.fit(dataset, opt="LBFGS", steps=50)
        model.auto_symbolic(lib=LIB)
        model.fit(dataset, opt="LBFGS", steps=50)
        return {"formula": ex_round(model.symbolic_formula()[0][0], 4),
                "width": [w[0] if isinstance(w, list) else w for w in model.width]}


def main(argv: list[str] | None = None) -> int:
    import warnings

    argv = sys.argv[1:] if argv is None else argv
    quick = C.quick_flag(argv)
    n_seeds = int(argv[argv.index("--seeds") + 1]) if "--seeds" in argv else (2 if quick else 10)
    kanlabs = ["kanlab", "kanlab, pykan's penalty"]
    libs = kanlabs if quick or "--kanlab-only" in argv or C.import_pykan() is None else [*kanlabs, "pykan"]
    if "--pykan-only" in argv:
        libs = ["pykan"]
    runners = {"kanlab": run_kanlab, "kanlab, pykan's penalty": lambda s: run_kanlab(s, pykan_penalty=True),
               "pykan": run_pykan}
    torch.set_num_threads(1)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    rows, counts = [], {lib: 0 for lib in libs}
    try:
        for seed in range(n_seeds):
            for lib in libs:  # interleaved, so machine noise hits both
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        out = runners[lib](seed)
                    ok, err = recovered(out["formula"])
                    text = str(out["formula"])
                except Exception as exc:  # the recipe raised: a failure, reported
                    ok, err, text, out = False, math.inf, f"raised {type(exc).__name__}: {exc}"[:120], {}
                counts[lib] += ok
                rows.append([seed, lib, out.get("width", "-"), "yes" if ok else "no", C.fmt_sci(err),
                             f"{time.perf_counter() - t0:.1f} s", text])
                print(" | ".join(str(v) for v in rows[-1]), flush=True)
    finally:
        torch.set_default_dtype(old)
    headers = ["seed", "library", "width after prune", "recovered", "max rel. error", "time", "formula"]
    print()
    print(C.markdown_table(headers, rows))
    print()
    print(C.markdown_table(["library", f"recovered (of {n_seeds} seeds)"], [[lib, counts[lib]] for lib in libs]))
    summary = [{"benchmark": "hello_kan", "metric": f"exp(sin πx₁ + x₂²) recovered, seeds 0–{n_seeds - 1}",
                "kanlab": (f"{counts['kanlab']}/{n_seeds} (pykan's penalty: {counts[kanlabs[1]]}/{n_seeds})"
                           if "kanlab" in counts else "-"),
                "reference": f"pykan {counts['pykan']}/{n_seeds}" if "pykan" in counts else "-",
                "note": "pykan's tutorial recipe typed unchanged, float64"}]
    C.write_results("hello_kan", "hello-KAN recipe: law recovered", {"headers": headers, "rows": rows}, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
