"""Train a kanlab KAN with DistributedDataParallel: one process per CPU core (or GPU).

Run on one machine with two processes::

    torchrun --nproc_per_node 2 examples/ddp_train.py --steps 50

torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT. Each process builds the same
model (same ``seed``), takes its own shard of the training set, and DDP averages the gradients,
so every process holds the same weights after every step: exactly what one process would get
on the full batch (the loss is a mean and the shards are equal in size). ``KAN`` needs no change;
its symbolic parameters stay frozen (``requires_grad=False``) until an edge is snapped, so DDP
sees no unused parameters. Grid updates change buffers, not gradients: do them on every rank
from the same (full) inputs, or skip them as here. Nothing is written unless ``--save`` is given.
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from kanlab import KAN, create_dataset
from kanlab.datasets import exp_sin_xy


def shard(x: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This rank's equal slice of x (the first len(x) // world_size · world_size rows)."""
    n = x.shape[0] // world_size
    return x[rank * n : (rank + 1) * n]


def train(rank: int, world_size: int, steps: int = 50, lr: float = 0.02, seed: int = 0) -> KAN:
    """Adam on the mean squared error of this rank's shard; gradients averaged by DDP."""
    use_cuda = torch.cuda.is_available() and dist.get_backend() == "nccl"
    device = torch.device(f"cuda:{rank % torch.cuda.device_count()}" if use_cuda else "cpu")
    data = create_dataset(exp_sin_xy, 2, n_train=1024, n_test=256, seed=seed)
    model = KAN([2, 5, 1], grid=5, k=3, seed=seed).to(device)
    ddp = DistributedDataParallel(model, device_ids=[device.index] if use_cuda else None)
    x = shard(data["train_input"], rank, world_size).to(device)
    y = shard(data["train_label"], rank, world_size).to(device)
    optimizer = torch.optim.Adam(ddp.parameters(), lr=lr)
    for step in range(steps):
        optimizer.zero_grad()
        loss = torch.mean((ddp(x) - y) ** 2)
        loss.backward()  # DDP all-reduces (averages) the gradients here
        optimizer.step()
        if rank == 0 and (step % 10 == 0 or step == steps - 1):
            print(f"step {step:4d}  shard RMSE {loss.sqrt().item():.4e}", flush=True)
    if rank == 0:
        rmse = model.cpu().evaluate(data)
        print(f"final train RMSE {rmse['train_rmse']:.4e}  test RMSE {rmse['test_rmse']:.4e}")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--backend", default="gloo", help="gloo (CPU) or nccl (one GPU per process)")
    parser.add_argument("--save", default=None, help="write rank 0's model to this path")
    args = parser.parse_args()
    if "RANK" not in os.environ:
        parser.error("start it with torchrun, e.g. torchrun --nproc_per_node 2 examples/ddp_train.py")
    dist.init_process_group(args.backend)
    try:
        rank, world_size = dist.get_rank(), dist.get_world_size()
        model = train(rank, world_size, steps=args.steps, lr=args.lr)
        if rank == 0 and args.save:
            print(f"saved {model.save(args.save)}")
        dist.barrier()  # every rank finishes before any tears the process group down
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
