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


def all_finite(x: torch.Tensor) -> bool:
    """True when ``x`` has no NaN or inf; one reduction in the common case.

    The sum of finite numbers is finite unless it overflows, so only a non-finite sum pays for
    the elementwise check (this runs on every forward pass).
    """
    if x.numel() == 0 or math.isfinite(float(x.detach().sum())):
        return True
    return bool(torch.isfinite(x).all())
