"""Figures for the course: every function returns a matplotlib ``Figure`` and writes no file.

matplotlib is imported inside each function so ``import kanlab`` stays light.
Several authors add functions here: append new functions, keep each one small.
"""

from __future__ import annotations

from typing import Any

# Okabe–Ito colour-blind-safe palette, paired with markers and line styles.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1)), (0, (1, 1)), (0, (5, 5))]


def use_course_style() -> None:
    """Apply the course's plot style: white background, colour-blind-safe cycle, readable sizes.

    Called in every notebook's setup cell (see 00_start_here).
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.dpi": 90,
            "figure.figsize": (7.0, 3.6),
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.prop_cycle": cycler(color=OKABE_ITO) + cycler(linestyle=LINESTYLES),
            "font.size": 10,
            "legend.frameon": False,
            "image.cmap": "viridis",
        }
    )


def style_cycle(n: int) -> list[dict[str, Any]]:
    """Return ``n`` distinct (color, marker, linestyle) keyword dicts for manual plotting."""
    return [
        {
            "color": OKABE_ITO[i % len(OKABE_ITO)],
            "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)],
        }
        for i in range(n)
    ]


def plot_mlp_vs_kan(width: tuple[int, ...] | list[int] = (2, 5, 1)) -> Any:
    """Draw an MLP and a KAN of the same ``width`` side by side; return the ``Figure``.

    Left: an MLP, fixed activation sigma on every node, a learnable number w on every edge.
    Right: a KAN, a plain sum on every node, a learnable curve phi on every edge (drawn as a
    small wiggle at the edge's midpoint). Introduced in 01_kolmogorov_arnold_theorem.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    width = list(width)
    if len(width) < 2 or any(not isinstance(n, int) or n < 1 for n in width):
        raise ValueError(f"width must list at least two positive ints, got {width!r}")
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6))
    rng = np.random.default_rng(0)
    t = np.linspace(-1.0, 1.0, 25)
    for ax, kind in zip(axes, ("MLP", "KAN")):
        pos = [
            [((i + 0.5) / n, l / (len(width) - 1)) for i in range(n)] for l, n in enumerate(width)
        ]
        for l in range(len(width) - 1):
            for xa, ya in pos[l]:
                for xb, yb in pos[l + 1]:
                    ax.plot([xa, xb], [ya, yb], color="0.6", lw=0.8, linestyle="-", zorder=1)
                    frac = 0.65 if width[l + 1] >= width[l] else 0.35  # where edges fan out most
                    xm, ym = xa + frac * (xb - xa), ya + frac * (yb - ya)
                    if kind == "KAN":
                        c = rng.normal(size=3)
                        curve = c[0] * t + c[1] * np.sin(3 * t) + c[2] * t**2
                        curve = curve / (np.abs(curve).max() + 1e-9)
                        ax.plot(xm + 0.035 * t, ym + 0.03 * curve, color=OKABE_ITO[3], lw=1.4, linestyle="-", zorder=3)
                    else:
                        ax.plot(xm, ym, "o", ms=3, color=OKABE_ITO[1], zorder=3)
        for l, layer in enumerate(pos):
            for x0, y0 in layer:
                hidden = 0 < l < len(width) - 1
                label = "σ" if (kind == "MLP" and l > 0 and hidden) else ("+" if l > 0 and kind == "KAN" else "")
                ax.scatter([x0], [y0], s=260, color="white", edgecolor="black", zorder=4)
                ax.text(x0, y0, label, ha="center", va="center", fontsize=11, zorder=5)
        title = (
            "MLP: fixed σ on nodes, learnable weights w on edges"
            if kind == "MLP"
            else "KAN: sums on nodes, learnable curves φ on edges"
        )
        ax.set_title(title, fontsize=9.5)
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(-0.12, 1.12)
        ax.axis("off")
        ax.text(-0.04, 0.0, "inputs", fontsize=8, rotation=90, va="bottom")
        ax.text(-0.04, 1.0, "output", fontsize=8, rotation=90, va="top")
    fig.suptitle(f"width = {width}: same shape, different places for the nonlinearity", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_ka_composition(
    inner: Any,
    outer: Any,
    target: Any,
    grid_range: tuple[float, float] = (-1.0, 1.0),
    title: str = "",
    n: int = 81,
) -> Any:
    """Picture a Kolmogorov–Arnold composition f(x, y) = sum_q Phi_q(phi_q1(x) + phi_q2(y)).

    ``inner``: list over q of two callables (phi_q1, phi_q2) on NumPy arrays; ``outer``: list
    over q of callables Phi_q; ``target``: callable (x, y) -> f. Panels: the inner functions,
    the outer functions over the range their argument actually takes, and the composed surface
    (filled) with the target's contour lines (dashed) on top. Returns the ``Figure``.
    Introduced in 01_kolmogorov_arnold_theorem.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if len(inner) != len(outer):
        raise ValueError(f"inner and outer must have the same length, got {len(inner)} and {len(outer)}")
    lo, hi = grid_range
    t = np.linspace(lo, hi, n)
    xx, yy = np.meshgrid(t, t)
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 3.0))
    styles = style_cycle(2 * len(inner))
    for q, (phi_x, phi_y) in enumerate(inner):
        for p, (phi, var) in enumerate(((phi_x, "x"), (phi_y, "y"))):
            st = styles[2 * q + p]
            axes[0].plot(t, phi(t), color=st["color"], linestyle=st["linestyle"], label=f"φ$_{{{q},{p + 1}}}$({var})")
    axes[0].set(title="inner functions", xlabel="input value")
    axes[0].legend(fontsize=7)
    total = np.zeros_like(xx)
    for q, ((phi_x, phi_y), big_phi) in enumerate(zip(inner, outer)):
        s = phi_x(xx) + phi_y(yy)
        total = total + big_phi(s)
        ss = np.linspace(s.min(), s.max(), n)
        st = styles[q]
        axes[1].plot(ss, big_phi(ss), color=st["color"], linestyle=st["linestyle"], label=f"Φ$_{q}$(s)")
    axes[1].set(title="outer functions", xlabel="s = sum of inner values")
    axes[1].legend(fontsize=7)
    cs = axes[2].contourf(xx, yy, total, levels=15)
    axes[2].contour(xx, yy, target(xx, yy), levels=cs.levels, colors="white", linestyles="--", linewidths=0.8)
    axes[2].set(title="composition (fill) vs target (dashed)", xlabel="x", ylabel="y")
    axes[2].grid(False)
    fig.colorbar(cs, ax=axes[2], fraction=0.046)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def _math_label(label: str) -> str:
    """Wrap a plain label in $...$ so matplotlib renders it as maths (x_1 -> x₁)."""
    return label if "$" in label else f"${label}$"


def plot_kan(
    model: Any,
    x: Any = None,
    in_vars: list[str] | None = None,
    out_vars: list[str] | None = None,
    beta: float = 3.0,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    score: str = "l1",
) -> Any:
    """Draw a KAN as the paper does: nodes, and on every edge a box with the edge's curve φ(x).

    x: (batch, width[0]) inputs the curves are drawn on (default: the inputs of the last fit,
    else a sweep of each input's grid range). Each edge fades with its importance,
    ``alpha = tanh(beta·s)`` with s its ``score``: ``"l1"`` (``|phi|_1``, 07_interpretability) or
    ``"attribution"`` (KAN 2.0's backward edge score, 10_discovering_laws). Multiplication nodes
    are drawn as ×, fed by their subnodes (small dots); masked (pruned) edges are not drawn; symbolic edges are
    drawn in vermillion with their function's name. ``in_vars``/``out_vars`` label inputs and
    outputs (maths text: ``["x", "y"]`` or ``["$v_1$", "$v_2$"]``). Returns the ``Figure``; writes no file.
    Introduced in 07_interpretability.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    width = list(model.width)
    n_layers = len(width) - 1
    if in_vars is not None and len(in_vars) != width[0]:
        raise ValueError(f"in_vars needs {width[0]} labels, got {len(in_vars)}")
    if out_vars is not None and len(out_vars) != width[-1]:
        raise ValueError(f"out_vars needs {width[-1]} labels, got {len(out_vars)}")
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta!r}")
    if score not in ("l1", "attribution"):
        raise ValueError(f"score must be 'l1' or 'attribution', got {score!r}")
    if x is None:
        x = model.train_input
    if x is None:
        ranges = model.layers[0].grid_range.detach()
        t = torch.linspace(0, 1, 101, dtype=ranges.dtype, device=ranges.device)[:, None]
        x = ranges[:, 0] + t * (ranges[:, 1] - ranges[:, 0])
    with torch.no_grad():
        acts = [(h.cpu().numpy(), a.cpu().numpy()) for h, a in model.activations(x)]
    if score == "attribution":
        from kanlab.attribution import attribute

        scores = [e.cpu().numpy() for e in attribute(model, x).edge_scores]
    else:
        scores = [np.abs(a).mean(axis=0) for _, a in acts]  # (out, in): |phi|_1
    n_edges = max(a.shape[1] * a.shape[2] for _, a in acts)
    if figsize is None:
        figsize = (min(9.0, max(4.0, 0.55 * n_edges + 1.0)), min(7.0, 1.7 * n_layers + 0.8))
    fig = plt.figure(figsize=figsize)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.9 if title else 0.96))
    ax.set(xlim=(0, 1), ylim=(-0.25, n_layers + 0.25))
    ax.axis("off")
    node_x = [[(m + 0.5) / w for m in range(w)] for w in width]
    layouts = getattr(model, "node_layouts", None)
    for l, (h, a) in enumerate(acts):  # noqa: E741
        layer = model.layers[l]
        out_dim, in_dim = a.shape[1], a.shape[2]
        edge_score = scores[l]
        ends = node_x[l + 1], l + 1  # where edges end: the nodes, or the subnodes below them
        if layouts is not None and layouts[l + 1].arity:
            ends = [(s + 0.5) / out_dim for s in range(out_dim)], l + 0.9
            for n, group in enumerate(layouts[l + 1].groups()):
                for sub in group:
                    ax.plot([ends[0][sub], node_x[l + 1][n]], [ends[1], l + 1], color="0.5", lw=0.8, linestyle="-")
            ax.scatter(ends[0], [ends[1]] * out_dim, s=8, color="black", zorder=3)
        box_w, box_h = min(0.8 / (out_dim * in_dim), 0.14), 0.32
        for i in range(in_dim):
            order = np.argsort(h[:, i])
            for j in range(out_dim):
                if float(layer.mask[j, i]) == 0.0:
                    continue
                symbolic = float(layer.sym_mask[j, i]) == 1.0
                color = OKABE_ITO[3] if symbolic else "black"
                alpha = float(np.clip(np.tanh(beta * edge_score[j, i]), 0.03, 1.0))
                cx, cy = (i * out_dim + j + 0.5) / (in_dim * out_dim), l + 0.5
                line = {"color": color, "alpha": alpha, "lw": 1, "linestyle": "-"}
                ax.plot([node_x[l][i], cx], [l, cy - box_h / 2], **line)
                ax.plot([cx, ends[0][j]], [cy + box_h / 2, ends[1]], **line)
                box = ax.inset_axes((cx - box_w / 2, cy - box_h / 2, box_w, box_h), transform=ax.transData)
                box.plot(h[order, i], a[order, j, i], **dict(line, lw=1.5))
                box.set(xticks=[], yticks=[])
                box.grid(False)
                for spine in box.spines.values():
                    spine.set(visible=True, alpha=alpha, color=color)
                if symbolic:
                    box.set_title(layer.sym_names[j][i], fontsize=7, color=color, pad=1)
    for l, w in enumerate(width):  # noqa: E741
        ax.scatter(node_x[l], [l] * w, s=60, color="white", edgecolor="black", zorder=3)
        n_sum = layouts[l].n_sum if layouts is not None else w
        for m in range(n_sum, w):
            ax.text(node_x[l][m], l, "×", ha="center", va="center", fontsize=9, zorder=4)
    in_labels = in_vars or [f"x_{{{i + 1}}}" for i in range(width[0])]
    out_labels = out_vars or [f"y_{{{j + 1}}}" for j in range(width[-1])]
    for m, label in enumerate(in_labels):
        ax.text(node_x[0][m], -0.12, _math_label(label), ha="center", va="top", fontsize=11)
    for m, label in enumerate(out_labels):
        ax.text(node_x[-1][m], n_layers + 0.12, _math_label(label), ha="center", va="bottom", fontsize=11)
    if title:
        fig.suptitle(title, fontsize=10)
    plt.close(fig)
    return fig


def plot_pde_solution(history: Any, snapshot: int = -1, label: str = "KAN") -> Any:
    """Exact solution, prediction and log10 |error| on the test mesh, side by side.

    ``history``: a ``kanlab.pde_train.PDEHistory`` with ``exact`` and at least one snapshot;
    ``snapshot`` indexes ``history.snapshots`` (default: the last). Maps are (n_test, n_test)
    images, rows = y and columns = x. Returns the ``Figure``. Introduced in 08_solving_pdes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if history.exact is None or not history.snapshots:
        raise ValueError("history needs an exact solution and at least one snapshot")
    if not -len(history.snapshots) <= snapshot < len(history.snapshots):
        raise ValueError(f"snapshot must index history.snapshots (0..{len(history.snapshots) - 1}), got {snapshot!r}")
    step, u_hat = history.snapshots[snapshot]
    lo, hi = history.domain
    extent = (lo, hi, lo, hi)
    vmax = float(np.abs(history.exact).max())
    log_err = np.log10(np.abs(u_hat - history.exact) + 1e-16)
    fig, axes = plt.subplots(1, 3, figsize=(11.0, 3.4), layout="constrained")
    panels = [
        (history.exact, "exact u*(x, y)", {"cmap": "RdBu_r", "vmin": -vmax, "vmax": vmax}, "u"),
        (u_hat, f"{label}, step {step}", {"cmap": "RdBu_r", "vmin": -vmax, "vmax": vmax}, "u"),
        (log_err, "log10 |error|", {"cmap": "viridis"}, "log10 |u − u*|"),
    ]
    for ax, (img, title, kw, cbar) in zip(axes, panels):
        im = ax.imshow(img, origin="lower", extent=extent, **kw)
        ax.set(title=title, xlabel="x", ylabel="y")
        ax.grid(False)
        fig.colorbar(im, ax=ax, label=cbar)
    plt.close(fig)
    return fig


def plot_pde_errors(histories: dict[str, Any], metrics: tuple[str, ...] = ("u_mse", "h1"), x: str = "step") -> Any:
    """Error against the exact solution vs training step (or seconds) for several models.

    ``histories``: label -> ``PDEHistory`` (e.g. {"KAN [2,10,1]": h_kan, "MLP": h_mlp});
    ``metrics``: any of "u_mse", "rel_l2", "h1", "loss", "pde_loss", "bc_loss", one panel each,
    log scale; ``x``: "step" or "time" (training seconds). Dotted verticals mark a KAN's grid
    extensions. Returns the ``Figure``. Introduced in 08_solving_pdes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    allowed = ("u_mse", "rel_l2", "h1", "loss", "pde_loss", "bc_loss")
    if not histories:
        raise ValueError("histories must map at least one label to a PDEHistory")
    if isinstance(metrics, str) or not metrics or any(m not in allowed for m in metrics):
        raise ValueError(f"metrics must be a non-empty tuple of {allowed}, got {metrics!r}")
    if x not in ("step", "time"):
        raise ValueError(f"x must be 'step' or 'time', got {x!r}")
    names = {"u_mse": "u MSE", "rel_l2": "relative L2 error", "h1": "H1 seminorm error",
             "loss": "PINN loss", "pde_loss": "mean residual²", "bc_loss": "mean boundary error²"}
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
    styles = style_cycle(len(histories))
    for ax, metric in zip(axes[0], metrics):
        for st, (label, h) in zip(styles, histories.items()):
            xs = getattr(h, x)
            ax.semilogy(xs, getattr(h, metric), color=st["color"], linestyle=st["linestyle"], label=label)
            for i in range(1, len(h.grid)):
                if h.grid[i] != h.grid[i - 1]:
                    ax.axvline(xs[i - 1], color=st["color"], linestyle=":", linewidth=0.8)
        ax.set(title=names[metric], xlabel="LBFGS step" if x == "step" else "training time (s)",
               ylabel=names[metric])
        if x == "step":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig
