"""Small helpers shared by the course: seeding and argument checks."""

from __future__ import annotations

import math
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch so a notebook or example repeats bit for bit.

    Introduced in 00_start_here (every notebook's setup cell calls it).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def tracing() -> bool:
    """True inside ``torch.compile`` tracing or a ``torch.func`` transform (vmap, grad, jacrev, ...).

    There kanlab builds its layers from ordinary torch ops (no C kernels, no caches keyed on
    tensor identity, no Python scalars read from tensors), so the compiler and the transforms
    see every operation.
    """
    if torch.compiler.is_compiling():
        return True
    active = getattr(torch._C, "_are_functorch_transforms_active", None)
    return bool(active()) if active is not None else False


def all_finite(x: torch.Tensor) -> bool:
    """True when ``x`` has no NaN or inf; one reduction in the common case (eager CPU only).

    The sum of finite numbers is finite unless it overflows, so only a non-finite sum pays for
    the elementwise check. It reads a Python bool, i.e. it waits for the device: on a
    forward pass use ``check_finite`` instead.
    """
    if x.numel() == 0 or math.isfinite(float(x.detach().sum())):
        return True
    return bool(torch.isfinite(x).all())


def check_finite(x: torch.Tensor, message: str) -> None:
    """Raise ``ValueError(message)`` when ``x`` holds NaN or inf, without stalling a forward pass.

    Eager CPU tensors are checked at once (one reduction; reading it costs nothing there). On
    an accelerator the check is queued on the device (``torch._assert_async``: no host sync, it
    fails at the next synchronisation). Inside ``torch.compile`` or a ``torch.func`` transform
    it is skipped: a traced forward must not branch on tensor values.
    """
    if tracing():
        return
    if x.device.type == "cpu":
        if not all_finite(x):  # all_finite: True for an empty x
            raise ValueError(message)
    elif x.numel():
        torch._assert_async(torch.isfinite(x).all(), message)
