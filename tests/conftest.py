"""Shared test setup: a headless plot backend, seeded randomness, no leaked figures.

Every test starts from ``seed_everything(0)``, so a failure repeats exactly on a rerun, and
hypothesis runs derandomised with no deadline (a 2-core CI box is slow and noisy).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Must happen before anything imports matplotlib.pyplot: tests never open a window.
os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "kanlab",
        derandomize=True,
        deadline=None,
        max_examples=50,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kanlab"))
except ImportError:  # hypothesis is a dev extra; tests that need it import it themselves
    pass


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder (where pyproject.toml lives), as an absolute path."""
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Seed Python, NumPy and torch before every test (kanlab.seed_everything(0))."""
    from kanlab.utils import seed_everything

    seed_everything(0)


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Close every matplotlib figure a test left open, so memory stays flat over the run."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
