"""kanlab.KAN under DistributedDataParallel (gloo, 2 CPU processes) and on CUDA when present.

Two processes are started with ``torch.multiprocessing.spawn`` on localhost at a free port.
Each builds the same seeded KAN, trains on its half of the batch (mean loss) and DDP averages
the gradients, which is the gradient of the mean loss over the full batch. So after a few
Adam and SGD steps both ranks must hold the weights that single-process training on the full
batch gives, to 1e-6 (in float64 they agree to round-off). Also: ``examples/ddp_train.py``
runs under torchrun.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from kanlab import KAN, create_dataset
from kanlab.datasets import exp_sin_xy

WORLD_SIZE = 2
STEPS = 4
REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup() -> tuple[KAN, torch.Tensor, torch.Tensor]:
    data = create_dataset(exp_sin_xy, 2, n_train=64, n_test=8, seed=0, dtype=torch.float64)
    model = KAN([2, 3, 1], grid=4, k=3, seed=0, dtype=torch.float64)
    return model, data["train_input"], data["train_label"]


def _train(model: torch.nn.Module, params, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Adam for STEPS steps, then SGD with momentum for STEPS steps; mean squared error."""
    losses = []
    for opt in (torch.optim.Adam(params, lr=0.05), torch.optim.SGD(params, lr=0.1, momentum=0.9)):
        for _ in range(STEPS):
            opt.zero_grad()
            loss = torch.mean((model(x) - y) ** 2)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def _worker(rank: int, port: int, out_dir: str) -> None:
    """One DDP rank: train on rows [rank·n/2, (rank+1)·n/2) and save the resulting weights."""
    from torch.nn.parallel import DistributedDataParallel

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD_SIZE)
    try:
        model, x, y = _setup()
        ddp = DistributedDataParallel(model)  # find_unused_parameters=False: every param must get a grad
        half = x.shape[0] // WORLD_SIZE
        rows = slice(rank * half, (rank + 1) * half)
        losses = _train(ddp, list(ddp.parameters()), x[rows], y[rows])
        torch.save({"state": model.state_dict(), "losses": losses}, Path(out_dir) / f"rank{rank}.pt")
        dist.barrier()  # no rank tears gloo down while another still talks to it (else: abort)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    import torch.multiprocessing as mp

    out_dir = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(_free_port(), str(out_dir)), nprocs=WORLD_SIZE, join=True)
    return [torch.load(out_dir / f"rank{r}.pt", weights_only=True) for r in range(WORLD_SIZE)]


def test_ddp_ranks_stay_in_sync(ddp_results: list[dict]) -> None:
    a, b = (r["state"] for r in ddp_results)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_ddp_equals_single_process_full_batch(ddp_results: list[dict]) -> None:
    model, x, y = _setup()
    params = [p for p in model.parameters() if p.requires_grad]
    losses = _train(model, params, x, y)
    ddp_state = ddp_results[0]["state"]
    worst = max(float((ddp_state[k] - v).abs().max()) for k, v in model.state_dict().items())
    print(f"DDP (2 ranks) vs single-process full batch: max |weight difference| = {worst:.2e}")
    assert worst <= 1e-6, f"DDP and full-batch weights differ by {worst:.3e}"
    # The full-batch loss is the mean of the two ranks' half-batch losses, step by step.
    mean_losses = [(p + q) / 2 for p, q in zip(ddp_results[0]["losses"], ddp_results[1]["losses"])]
    assert mean_losses == pytest.approx(losses, rel=1e-9, abs=1e-12)
    assert losses[-1] < losses[0]  # it trained


def test_example_runs_under_torchrun(tmp_path: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO_ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_port", str(_free_port()), str(REPO_ROOT / "examples" / "ddp_train.py"),
           "--steps", "3", "--save", str(tmp_path / "ddp_model.pt")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "final train RMSE" in proc.stdout
    loaded = KAN.load(tmp_path / "ddp_model.pt")
    assert loaded.width == [2, 5, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp_model.pt"]  # nothing else written


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_on_cuda_matches_cpu() -> None:
    data = create_dataset(exp_sin_xy, 2, n_train=256, n_test=64, seed=0, dtype=torch.float64)
    cpu = KAN([2, 5, 1], grid=5, seed=0, dtype=torch.float64)
    gpu = KAN([2, 5, 1], grid=5, seed=0, dtype=torch.float64).to("cuda")
    gpu_data = {k: v.to("cuda") for k, v in data.items()}
    h_cpu = cpu.fit(data, opt="Adam", lr=0.02, steps=20, grid_update_every=5, progress=False)
    h_gpu = gpu.fit(gpu_data, opt="Adam", lr=0.02, steps=20, grid_update_every=5, progress=False)
    assert all(p.is_cuda for p in gpu.parameters()) and all(b.is_cuda for b in gpu.buffers())
    assert h_gpu["train_loss"][-1] < 0.5 * h_gpu["train_loss"][0]
    assert h_gpu["train_loss"] == pytest.approx(h_cpu["train_loss"], rel=1e-6)
    x = data["test_input"]
    torch.testing.assert_close(gpu(x.to("cuda")).cpu(), cpu(x), atol=1e-8, rtol=1e-6)
    gpu.refine(10)
    assert gpu.layers[0].knots.is_cuda and torch.isfinite(gpu(x.to("cuda"))).all()
