"""Same seed, same result: bit-identical training histories and weights, wherever it runs.

Three settings (all CPU): twice in this process, in two fresh Python processes (a tiny script
run with ``subprocess``), and under ``torch.use_deterministic_algorithms(True)``. The run
covers what can go wrong: seeded initialisation, grid updates inside ``fit``, LBFGS with the
sparsity penalty, and Adam on seeded minibatches. Histories are compared as exact floats
(``float.hex``) and weights as raw bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

RUN = textwrap.dedent(
    """
    import hashlib, json, sys
    import torch

    from kanlab import KAN, create_dataset
    from kanlab.datasets import exp_sin_xy


    def run() -> dict:
        ds = create_dataset(exp_sin_xy, 2, n_train=48, n_test=24, seed=3)
        model = KAN([2, 3, 1], grid=4, k=3, seed=7)
        lbfgs = model.fit(ds, opt="LBFGS", steps=1, lamb=1e-3, progress=False)
        adam = model.fit(ds, opt="Adam", lr=0.02, steps=6, batch=16, grid_update_every=3,
                         seed=5, progress=False)
        digest = hashlib.sha256()
        for key, value in model.state_dict().items():
            digest.update(key.encode())
            digest.update(value.detach().contiguous().numpy().tobytes())
        history = {f"{name}/{key}": [v.hex() for v in values]
                   for name, h in (("lbfgs", lbfgs), ("adam", adam)) for key, values in h.items()}
        return {"history": history, "weights": digest.hexdigest()}


    if __name__ == "__main__":
        torch.set_num_threads(int(sys.argv[1]))
        print(json.dumps(run()))
    """
)


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("determinism") / "kanlab_run.py"
    path.write_text(RUN)
    return path


def _in_process(script: Path) -> dict:
    namespace: dict = {"__name__": "kanlab_determinism_run"}
    exec(compile(script.read_text(), str(script), "exec"), namespace)  # noqa: S102 - our own script
    return namespace["run"]()


def test_twice_in_one_process(script: Path) -> None:
    first, second = _in_process(script), _in_process(script)
    assert first["history"] == second["history"]
    assert first["weights"] == second["weights"]
    # The run really trained: one finite loss per Adam step.
    losses = [float.fromhex(v) for v in first["history"]["adam/train_loss"]]
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)


def test_in_two_separate_processes(script: Path, tmp_path: Path) -> None:
    threads = str(torch.get_num_threads())
    procs = [
        subprocess.Popen([sys.executable, str(script), threads], cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0] == results[1]
    assert results[0] == _in_process(script)  # and the same as here, with the same thread count
    assert list(tmp_path.iterdir()) == []  # the runs wrote nothing


@pytest.fixture
def deterministic_algorithms():
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(previous, warn_only=warn_only)


def test_under_deterministic_algorithms(script: Path, deterministic_algorithms: None) -> None:
    """Every op kanlab uses has a deterministic implementation (no error is raised), and the
    results equal the default mode's bit for bit."""
    strict = _in_process(script)
    torch.use_deterministic_algorithms(False)
    default = _in_process(script)
    assert strict == default


def test_seed_changes_the_result(script: Path) -> None:
    """The check above is not vacuous: another model seed gives other weights."""
    from kanlab import KAN

    a, b = KAN([2, 3, 1], seed=7), KAN([2, 3, 1], seed=8)
    digest = [hashlib.sha256(m.layers[0].coef.detach().numpy().tobytes()).hexdigest() for m in (a, b)]
    assert digest[0] != digest[1]
