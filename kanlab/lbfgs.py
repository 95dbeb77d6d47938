"""L-BFGS with a configurable curvature threshold, for fitting KANs to high accuracy.

``torch.optim.LBFGS`` only stores a curvature pair (s, y) when ``yᵀs > 1e-10``. Near the
accuracy KANs reach (MSE ~ 1e-8 and below) every pair is smaller than that, so the
quasi-Newton memory freezes and L-BFGS decays to steepest descent with a line search. This
optimiser is the same algorithm (two-loop recursion + strong-Wolfe line search) with the
threshold ``tolerance_ys`` exposed. The line search is torch's private one when it has the
signature tested here (torch 2.13: the same iterates as torch), else kanlab's own
(``kanlab.line_search``, Nocedal & Wright Alg. 3.5/3.6), so a torch upgrade cannot break it. Two more differences: a step
whose loss or gradient is not finite is rejected (the parameters go back to the last finite
iterate, with one warning per optimiser), and ``state_dict()`` holds only tensors and numbers, so
it loads with ``torch.load(weights_only=True)``. Used by ``kanlab.train.fit`` and
``kanlab.pde_train.train_pde`` (introduced in 06_function_fitting).
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import torch

from kanlab.line_search import strong_wolfe


def _torch_strong_wolfe() -> Callable[..., tuple] | None:
    """torch's private strong-Wolfe line search, when it has the signature kanlab was tested with.

    Private API (torch 2.13 tested): a release that renames it or changes its arguments makes
    ``LBFGS`` fall back to kanlab's own :func:`kanlab.line_search.strong_wolfe` instead of failing.
    """
    try:
        from torch.optim.lbfgs import _strong_wolfe
    except ImportError:
        return None
    try:
        names = list(inspect.signature(_strong_wolfe).parameters)
    except (TypeError, ValueError):
        return None
    return _strong_wolfe if names[:7] == ["obj_func", "x", "t", "d", "f", "g", "gtd"] else None


#: torch's line search (the same iterates as torch.optim.LBFGS) or None: kanlab's own is used.
_TORCH_LINE_SEARCH = _torch_strong_wolfe()


class LBFGS(torch.optim.Optimizer):
    """Limited-memory BFGS on all parameters as one flat vector (one parameter group).

    Each ``step(closure)`` runs up to ``max_iter`` iterations. ``closure`` must zero the
    gradients, compute the loss, call ``backward()`` and return the loss.
    """

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        tolerance_ys: float = 1e-32,
        history_size: int = 10,
        line_search_fn: str | None = "strong_wolfe",
    ) -> None:
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        defaults = dict(
            lr=lr, max_iter=max_iter, max_eval=max_eval or max_iter * 5 // 4,
            tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
            tolerance_ys=tolerance_ys, history_size=history_size, line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS supports a single parameter group")
        self._params = self.param_groups[0]["params"]
        self._warned = False

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state with the curvature memory as plain tensors (``weights_only`` safe)."""
        packed = super().state_dict()
        packed["state"] = {
            key: dict(value, memory=value["memory"].as_state()) if isinstance(value.get("memory"), _Memory) else value
            for key, value in packed["state"].items()
        }
        return packed

    def reset(self) -> None:
        """Forget the curvature pairs and the last step: the next ``step`` starts as a fresh LBFGS.

        ``fit`` calls it after a grid update: the pairs (s, y) describe the loss as a function of
        the coefficients on the old grid, which mean other functions on the new one.
        """
        self.state.clear()

    def _reject(self, values: list[torch.Tensor] | None, what: str) -> None:
        """Put the parameters back to ``values`` (the last finite iterate) and say so, once."""
        if values is not None:
            self._set_params(values)
        if not self._warned:
            self._warned = True
            warnings.warn(
                f"LBFGS rejected a non-finite {what} and kept the last finite parameters "
                f"(warned once per optimiser)", RuntimeWarning, stacklevel=4,
            )

    # -- flat-vector helpers ---------------------------------------------------------------
    def _flat_grad(self) -> torch.Tensor:
        return torch.cat([
            p.grad.reshape(-1) if p.grad is not None else torch.zeros_like(p).reshape(-1)
            for p in self._params
        ])

    def _add(self, step: float, direction: torch.Tensor) -> None:
        views, offset = [], 0
        for p in self._params:
            views.append(direction[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
        torch._foreach_add_(self._params, views, alpha=step)  # one call for all parameters

    def _clone_params(self) -> list[torch.Tensor]:
        return [p.clone(memory_format=torch.contiguous_format) for p in self._params]

    def _set_params(self, values: list[torch.Tensor]) -> None:
        torch._foreach_copy_(self._params, values)

    def _directional_evaluate(self, closure, x, t, d):
        self._add(t, d)
        loss = float(closure())
        flat_grad = self._flat_grad()
        self._set_params(x)
        if not (math.isfinite(loss) and math.isfinite(float(flat_grad.abs().sum()))):
            # Too far: an infinite loss makes the line search step back (bisect towards x).
            self._reject(None, "loss at a line-search trial point")
            return math.inf, torch.zeros_like(flat_grad)
        return loss, flat_grad

    def _line_search(self, closure, x, t, d, loss, flat_grad, gtd) -> tuple[float, torch.Tensor, float, int]:
        """Strong-Wolfe step along ``d`` from the parameters ``x``: torch's, else kanlab's own."""
        if _TORCH_LINE_SEARCH is not None:
            def obj_func(x, t, d):
                return self._directional_evaluate(closure, x, t, d)

            f, g, t, evals = _TORCH_LINE_SEARCH(obj_func, x, t, d, loss, flat_grad, gtd)
            return float(f), g, float(t), int(evals)
        return strong_wolfe(lambda step: self._directional_evaluate(closure, x, step, d),
                            d, t, loss, flat_grad, float(gtd))

    # -- the algorithm ---------------------------------------------------------------------
    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if not (math.isfinite(loss) and math.isfinite(float(flat_grad.abs().sum()))):
            self._reject(self._clone_params(), "loss or gradient at the start of a step")
            return orig_loss
        if flat_grad.abs().max() <= group["tolerance_grad"]:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        memory = state.get("memory")
        if isinstance(memory, dict):  # loaded from a state_dict
            memory = _Memory.from_state(memory)
        h_diag, prev_flat_grad = state.get("H_diag"), state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, h_diag = -flat_grad, 1
                memory = _Memory(group["history_size"])
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > group["tolerance_ys"]:
                    memory.add(s, y)
                    h_diag = ys / y.dot(y)
                d = -memory.inverse_hessian_times(flat_grad, h_diag)
            prev_flat_grad = flat_grad.clone(memory_format=torch.contiguous_format)
            prev_loss = loss
            t = min(1.0, 1.0 / float(flat_grad.abs().sum())) * lr if state["n_iter"] == 1 else lr
            gtd = flat_grad.dot(d)
            if gtd > -group["tolerance_change"]:
                break
            x_init = self._clone_params()
            if group["line_search_fn"] == "strong_wolfe":

                loss, flat_grad, t, ls_evals = self._line_search(closure, x_init, t, d, loss, flat_grad, gtd)
                self._add(t, d)
            else:
                self._add(t, d)
                ls_evals = 0
                if n_iter != max_iter:
                    loss = float(closure())
                    flat_grad = self._flat_grad()
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if not (math.isfinite(loss) and math.isfinite(float(flat_grad.abs().sum()))):
                self._reject(x_init, "loss or gradient")  # back to this iteration's start point
                loss, flat_grad = prev_loss, prev_flat_grad
                t = 0.0  # the rejected step is no curvature pair: the next one starts afresh
                break
            if n_iter == max_iter or evals >= max_eval:
                break
            if flat_grad.abs().max() <= group["tolerance_grad"]:
                break
            if (d * t).abs().max() <= group["tolerance_change"]:
                break
            if abs(loss - prev_loss) < group["tolerance_change"]:
                break

        state.update(d=d, t=t, memory=memory, H_diag=h_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss


class _Memory:
    """The last m curvature pairs (s, y) and the inverse-Hessian product in compact form.

    Byrd, Nocedal & Schnabel (1994), Nocedal & Wright eq. 7.24:
    ``H = γI + [S γY] [[R⁻ᵀ(D + γYᵀY)R⁻¹, -R⁻ᵀ], [-R⁻¹, 0]] [Sᵀ; γYᵀ]`` with R the upper
    triangle of SᵀY and D its diagonal. It equals the classic two-loop recursion but takes a
    handful of matrix operations instead of 4m vector ones, which matters for KAN-sized models.
    """

    def __init__(self, size: int) -> None:
        self.size = int(size)
        # Pairs live in rows [start, end) of (2·size, P) buffers, oldest first, so S and Y are
        # views and adding a pair copies one row (and, once per `size` pairs, slides the window
        # back to row 0) instead of re-allocating (m, P) matrices every iteration.
        self._s_rows: torch.Tensor | None = None
        self._y_rows: torch.Tensor | None = None
        self.start = self.end = 0
        self.SY: torch.Tensor | None = None  # (m, m): s_i · y_j
        self.YY: torch.Tensor | None = None  # (m, m): y_i · y_j

    def as_state(self) -> dict[str, Any]:
        """The pairs and their products as plain tensors (for ``state_dict``)."""
        if self.S is None:
            return {"size": self.size}
        return {"size": self.size, "S": self.S.clone(), "Y": self.Y.clone(), "SY": self.SY.clone(), "YY": self.YY.clone()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> _Memory:
        memory = cls(state["size"])
        if "S" in state:
            s, y = state["S"], state["Y"]
            memory._s_rows = s.new_empty(2 * memory.size, s.shape[1])
            memory._y_rows = y.new_empty(2 * memory.size, y.shape[1])
            memory._s_rows[: s.shape[0]], memory._y_rows[: y.shape[0]] = s, y
            memory.end = s.shape[0]
            memory.SY, memory.YY = state["SY"].clone(), state["YY"].clone()
        return memory

    @property
    def S(self) -> torch.Tensor | None:  # (m, P), oldest pair first
        return None if self._s_rows is None else self._s_rows[self.start : self.end]

    @property
    def Y(self) -> torch.Tensor | None:
        return None if self._y_rows is None else self._y_rows[self.start : self.end]

    def add(self, s: torch.Tensor, y: torch.Tensor) -> None:
        if self._s_rows is None:
            self._s_rows = s.new_empty(2 * self.size, s.numel())
            self._y_rows = y.new_empty(2 * self.size, y.numel())
            self.SY, self.YY = (s @ y).reshape(1, 1), (y @ y).reshape(1, 1)
        else:
            sy_col, ys_row = self.S @ y, self.Y @ s  # s_i·y_new and y_i·s_new
            yy_col, sy_new = self.Y @ y, s @ y
            self.SY = torch.cat([torch.cat([self.SY, sy_col[:, None]], 1),
                                 torch.cat([ys_row, sy_new[None]])[None]], 0)
            self.YY = torch.cat([torch.cat([self.YY, yy_col[:, None]], 1),
                                 torch.cat([yy_col, (y @ y)[None]])[None]], 0)
        if self.end == self._s_rows.shape[0]:  # slide the window back to row 0 (no overlap)
            n = self.end - self.start
            self._s_rows[:n] = self._s_rows[self.start : self.end]
            self._y_rows[:n] = self._y_rows[self.start : self.end]
            self.start, self.end = 0, n
        self._s_rows[self.end], self._y_rows[self.end] = s, y
        self.end += 1
        if self.end - self.start > self.size:
            self.start += 1
            self.SY, self.YY = self.SY[1:, 1:], self.YY[1:, 1:]

    def inverse_hessian_times(self, g: torch.Tensor, gamma) -> torch.Tensor:
        if self.S is None:
            return g * gamma
        a, b = self.S @ g, self.Y @ g  # (m,)
        r = torch.triu(self.SY)
        r_inv_a = torch.linalg.solve_triangular(r, a[:, None], upper=True)[:, 0]
        inner = (torch.diag(self.SY) * r_inv_a + gamma * (self.YY @ r_inv_a)) - gamma * b
        top = torch.linalg.solve_triangular(r.T, inner[:, None], upper=False)[:, 0]
        return gamma * g + top @ self.S - gamma * (r_inv_a @ self.Y)
