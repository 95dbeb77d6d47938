"""benchmarks/fit_suite.py caches pykan's results on disk (pykan takes 50-290 s per task and seed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture()
def suite(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("fit_suite_under_test", BENCH / "fit_suite.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fit_suite_under_test", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "PYKAN_CACHE", tmp_path / "pykan_cache")
    return module


def test_pykan_results_are_cached_per_task_seed_and_data(suite, monkeypatch) -> None:
    from kanlab.paper_tasks import PAPER_TASKS

    task = PAPER_TASKS["I.27.6"]
    calls = []

    def fake_run(task, data, seed):
        calls.append(seed)
        return {"rmse": [1e-2, 1e-3, float("inf"), 2e-4], "time": 12.5}

    monkeypatch.setattr(suite, "run_pykan_now", fake_run)
    data = {s: task.dataset(n_train=50, n_test=50, seed=s, dtype=torch.float32) for s in (0, 1)}
    first = suite.run_pykan(task, data[0], 0)
    again = suite.run_pykan(task, data[0], 0)
    other_seed = suite.run_pykan(task, data[1], 1)
    assert calls == [0, 1]  # the second call for seed 0 came from the cache
    assert again["cached"] and again["rmse"] == first["rmse"] and again["time"] == 12.5
    assert not other_seed.get("cached")
    # another dataset, schedule or pykan version is another entry
    path = suite.pykan_cache_path(task, data[0], 0)
    assert path.parent == suite.PYKAN_CACHE and path.is_file()
    assert suite.pykan_cache_path(task, data[1], 0) != path
    monkeypatch.setattr(suite, "STEPS", suite.STEPS + 1)
    assert suite.pykan_cache_path(task, data[0], 0) != path
    monkeypatch.setattr(suite, "USE_CACHE", False)  # --no-cache runs pykan again
    suite.run_pykan(task, data[0], 0)
    assert calls == [0, 1, 0]


def test_the_cache_lives_in_an_ignored_folder() -> None:
    text = (BENCH / "fit_suite.py").read_text()
    assert 'PYKAN_CACHE = C.RESULTS_DIR / "pykan_cache"' in text
    assert "RESULTS_DIR = BENCH_DIR / \"results\"" in (BENCH / "_common.py").read_text()
    assert "benchmarks/results/" in (BENCH.parent / ".gitignore").read_text().splitlines()
