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


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Unit tests use small tensors: one torch thread is faster and steadier than two on a
    2-core CI box (two busy-waiting threads slow tiny ops down many times over)."""
    import torch

    torch.set_num_threads(1)


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


# --- No side effects (tests/test_no_side_effects.py): snapshot `git status` when the session
# starts, and run the check after every other test, notebooks (nbval) included.
SIDE_EFFECT_TEST = "test_no_side_effects.py::test_git_status_is_unchanged"
# Ignored paths that tools (not kanlab) may create: caches, the venv, build metadata.
TOOL_CACHES = ("__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis", ".ipynb_checkpoints",
               ".venv", ".egg-info", "tests/artifacts", "benchmarks/results")


def git_state(root: Path) -> frozenset[str] | None:
    """`git status --porcelain` lines, untracked files listed one by one, plus ignored paths that
    are not tool caches (a stray `model.pt` is ignored by .gitignore but still a side effect).
    None when root is not a git checkout or git is missing."""
    import subprocess

    def status(*args: str) -> list[str]:
        out = subprocess.run(["git", "status", "--porcelain", *args], cwd=root, capture_output=True,
                             text=True, check=True, timeout=60)
        return out.stdout.splitlines()

    try:
        lines = status("--untracked-files=all")
        ignored = [line for line in status("--ignored=traditional") if line.startswith("!! ")]
    except (OSError, subprocess.SubprocessError):
        return None
    ignored = [line for line in ignored if not any(c in line for c in TOOL_CACHES)]
    return frozenset(lines + ignored)


def pytest_configure(config: pytest.Config) -> None:
    config.kanlab_git_state_at_start = git_state(REPO_ROOT)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [item for item in items if item.nodeid.endswith(SIDE_EFFECT_TEST)]
    items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def git_state_at_start(request: pytest.FixtureRequest) -> frozenset[str] | None:
    """The repository's `git_state` when this pytest session started."""
    return request.config.kanlab_git_state_at_start


@pytest.fixture
def current_git_state() -> frozenset[str] | None:
    """The repository's `git_state` now."""
    return git_state(REPO_ROOT)
