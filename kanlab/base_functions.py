"""The base functions ``b(x)`` of a KAN edge (``phi = scale_base·b + scale_sp·spline``) and their slopes.

Introduced in 03_learnable_activation; the fused layer's backward pass (``kanlab.fused``) uses the
derivatives.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

Fn = Callable[[torch.Tensor], torch.Tensor]


def _silu_derivative(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s))


def _gelu_derivative(x: torch.Tensor) -> torch.Tensor:
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    return cdf + x * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _tanh_derivative(x: torch.Tensor) -> torch.Tensor:
    return 1 - torch.tanh(x) ** 2


BASE_FUNCTIONS: dict[str, Fn] = {
    "silu": nn.functional.silu,
    "identity": lambda x: x,
    "zero": torch.zeros_like,
    "tanh": torch.tanh,
    "gelu": nn.functional.gelu,
}
BASE_DERIVATIVES: dict[str, Fn] = {
    "silu": _silu_derivative,
    "identity": torch.ones_like,
    "zero": torch.zeros_like,
    "tanh": _tanh_derivative,
    "gelu": _gelu_derivative,
}
