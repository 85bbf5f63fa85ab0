"""Running `vitcourse.train.fit` under ``torchrun``: process group, device and data sharding.

``torchrun --nproc_per_node=N script.py`` starts N copies of a script and sets
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` in each; `fit` sees them and trains
with `torch.nn.parallel.DistributedDataParallel`. Nothing here is needed for a
single process.

The data order does not depend on N: every process draws the same shuffled
order a single process would, cuts it into global batches of ``batch_size``
and keeps its own slice of each (`GlobalBatchShard`). So N processes see,
step for step, exactly the examples one process sees, and their averaged
gradients are one process's gradients up to float rounding.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Iterator, Sized, cast

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

__all__ = ["DistInfo", "GlobalBatchShard", "launched_by_torchrun", "setup", "all_sum", "is_main_process"]


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run: rank (0 is the one that logs and saves), world size, device."""

    rank: int
    world: int
    local_rank: int
    device: torch.device
    backend: str

    @property
    def main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher setting RANK and WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def is_main_process() -> bool:
    """True in a single process, and in rank 0 of a distributed run: the process that prints and saves."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def _env_int(name: str) -> int:
    value = os.environ.get(name, "0")
    if not value.strip().isdigit():
        raise ValueError(f"environment variable {name}={value!r} must be a non-negative integer (torchrun sets it)")
    return int(value)


def setup(device: torch.device | str | None) -> DistInfo:
    """Join (or start) the process group for this torchrun process and pick its device.

    ``device``: ``None``/``"auto"`` means this process's GPU (``cuda:LOCAL_RANK``)
    when there are GPUs, else the CPU; ``"cuda"`` means ``cuda:LOCAL_RANK``. The
    backend is NCCL for GPUs and gloo for the CPU. A process group that the
    caller already started is used as it is.
    """
    if not dist.is_available():
        raise RuntimeError(
            "this PyTorch was built without torch.distributed, so fit cannot run under torchrun; "
            "run the script with plain python, or install a PyTorch build with distributed support"
        )
    local_rank = _env_int("LOCAL_RANK")
    if device is None or device == "auto":
        device = torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    if device.type not in {"cpu", "cuda"}:
        raise ValueError(
            f"device={str(device)!r}: training under torchrun runs on 'cpu' (gloo) or 'cuda' (NCCL), "
            f"not {device.type}; pass device='cpu' or device='cuda'"
        )
    if device.type == "cuda":
        if device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={str(device)!r} but this machine has {torch.cuda.device_count()} GPU(s); "
                f"start torchrun with --nproc_per_node at most the number of GPUs"
            )
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
        atexit.register(_destroy)
    else:
        backend = dist.get_backend()
        if backend == "nccl" and device.type != "cuda":
            raise ValueError(
                "the process group uses NCCL, which only moves GPU tensors, but fit was asked to train "
                f"on {str(device)!r}; pass device='cuda' or start the group with backend='gloo'"
            )
    return DistInfo(
        rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local_rank, device=device, backend=backend
    )


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """Sum a few numbers over all processes (in float64); the same list everywhere."""
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


class GlobalBatchShard(Sampler[int]):
    """This process's slice of each global batch of ``sampler``'s order.

    ``sampler`` gives the order one process would use (e.g. a seeded
    `RandomSampler`; every process builds the same one). Its indices are cut into
    consecutive global batches of ``global_batch``; process ``rank`` of ``world``
    keeps positions ``[rank * b, (rank + 1) * b)`` of each, ``b = global_batch //
    world``. An incomplete last global batch is dropped, as a single process with
    ``drop_last=True`` does. Unlike `torch.utils.data.DistributedSampler`
    (which deals the indices out in turn), the union of the N slices of a step is
    exactly the batch one process would draw, whatever N.
    """

    def __init__(self, sampler: Sampler[int], *, global_batch: int, rank: int, world: int):
        if global_batch % world:
            raise ValueError(
                f"batch_size={global_batch} (the global batch) is not divisible by the {world} processes; "
                f"pick a batch_size that is a multiple of {world}"
            )
        self.sampler, self.global_batch, self.rank, self.world = sampler, global_batch, rank, world
        self.per_rank = global_batch // world

    def __iter__(self) -> Iterator[int]:
        batch: list[int] = []
        lo, hi = self.rank * self.per_rank, (self.rank + 1) * self.per_rank
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.global_batch:
                yield from batch[lo:hi]
                batch = []

    def __len__(self) -> int:
        # len() of a sized sampler (RandomSampler, SequentialSampler); Sampler itself declares no __len__
        return (len(cast(Sized, self.sampler)) // self.global_batch) * self.per_rank
