"""Data-parallel training with torch.distributed: N processes, one model, one global batch.

``cnnlab train ... --nproc N`` starts N copies of the same command (:func:`launch`), and
``torchrun --nproc-per-node N -m cnnlab train ...`` does the same across machines; each
process reads its place from the environment (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT) and joins one process group (gloo on CPU, nccl on CUDA).
What each rank does (docs/distributed.md):

- every rank draws the same permutation of the training split per epoch (seeded by
  (seed, epoch)); each global batch of ``--batch-size`` examples is cut into ``world``
  contiguous, disjoint shards (:meth:`Dist.shard`);
- the model trains through torch's ``DistributedDataParallel`` (:meth:`Dist.wrap`), which
  averages the gradients over the ranks in buckets while the backward pass runs; a rank's
  loss is its shard's mean loss times ``world * n_shard / n_batch``, so the average is the
  mean gradient of the whole global batch, as one process would compute it. The wrapper
  only drives training: the run folder holds the plain model (its state dict keys are
  those of a one-process run);
- batch norm normalises with the statistics of the whole global batch
  (``nn.SyncBatchNorm`` on CUDA; :class:`SyncBatchNormCPU` on the CPU, where torch's
  refuses to run: its forward accepts CUDA, XPU, HPU and private-use devices only);
- training loss and accuracy are summed over ranks; validation metrics are rank 0's,
  broadcast, so that every rank takes the same early-stopping decision;
- rank 0 alone writes the run folder, logs and shows progress; the others only train;
- processes die together: a rank that loses its peers (one died) ends at once with one
  line (:func:`peer_lost`), the launcher names the rank that died first and stops the
  rest, and a rank dies with its launcher (:func:`die_with_parent`).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.distributed as tdist
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.seeds import RANK, derive_seed
from cnnlab.train.launcher import (LAUNCHER_ENV, MAX_NPROC, PEER_LOST, _free_port, die_with_parent,  # noqa: F401
                                   is_peer_lost, launch, peer_lost)
from cnnlab.train.sync_batchnorm import SyncBatchNormCPU, convert_cpu

__all__ = ["Dist", "launch", "setup", "from_env", "from_cli", "SyncBatchNormCPU", "convert_batchnorm",
           "is_peer_lost", "peer_lost", "die_with_parent", "ENV_KEYS", "MAX_NPROC", "PEER_LOST",
           "LAUNCHER_ENV"]

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
# How long a rank waits for the others (a dead rank is noticed by the launcher sooner).
TIMEOUT = datetime.timedelta(minutes=10)


@dataclass
class Dist:
    """This process's place in the group: rank of world, local rank on its machine."""

    rank: int
    world: int
    local_rank: int = 0
    local_world: int = 1
    backend: str = "gloo"
    _wrapped: Any = field(default=None, repr=False, compare=False)  # (key, DDP) of wrap()
    _preload: Any = field(default=None, repr=False, compare=False)  # thread importing torch._dynamo

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous part of a global batch ``idx``: (B,) -> (about B / world,)."""
        return torch.tensor_split(idx, self.world)[self.rank]

    def local_seed(self, seed: int) -> int:
        """Seed of this rank's dropout (rank 0 keeps ``seed``; other ranks draw other masks)."""
        return seed if self.rank == 0 else derive_seed(seed, RANK, self.rank)

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in torch's DistributedDataParallel (made once per set of trainable
        parameters: unfreezing a backbone makes a new one, since DDP reduces exactly the
        parameters that needed a gradient when it was made)."""
        from torch.nn.parallel import DistributedDataParallel

        key = (id(model), tuple(p.requires_grad for p in model.parameters()))
        if self._wrapped is None or self._wrapped[0] != key:
            if self._preload is not None:  # DDP needs torch._dynamo (see setup)
                self._preload.join()
            # broadcast_buffers=False: batch norm is synchronised, so its running
            # statistics are already equal on every rank; nothing else has buffers
            ddp = DistributedDataParallel(
                model, device_ids=[self.local_rank] if self.backend == "nccl" else None,
                broadcast_buffers=False)
            self._wrapped = (key, ddp)
        return self._wrapped[1]

    def loss_share(self, n_shard: int, n_batch: int) -> float:
        """The factor on a shard's mean loss that makes DDP's mean of the ranks' gradients
        the global batch's mean gradient: ``world * n_shard / n_batch``."""
        return self.world * n_shard / n_batch

    def sum(self, *values: torch.Tensor) -> list[torch.Tensor]:
        """Each scalar tensor summed over the ranks (float64 on the way)."""
        stacked = torch.stack([v.detach().to(torch.float64).reshape(()) for v in values])
        tdist.all_reduce(stacked)
        return list(stacked.unbind())

    def broadcast(self, values: list[float]) -> list[float]:
        """Rank 0's numbers, on every rank."""
        t = torch.tensor(values, dtype=torch.float64)
        if self.backend == "nccl":
            t = t.cuda()
        tdist.broadcast(t, 0)
        return t.cpu().tolist()

    def broadcast_object(self, value: Any) -> Any:
        box = [value]
        tdist.broadcast_object_list(box, 0)
        return box[0]

    def barrier(self) -> None:
        tdist.barrier()


def from_env(environ: dict[str, str] | None = None) -> Dist | None:
    """The Dist the launcher's environment describes, or None outside a group of >1."""
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return None
    try:
        world, rank = int(env["WORLD_SIZE"]), int(env.get("RANK", "0"))
        local_rank = int(env.get("LOCAL_RANK", "0"))
        local_world = int(env.get("LOCAL_WORLD_SIZE", str(world)))
    except ValueError:
        raise UsageError("RANK, WORLD_SIZE and LOCAL_RANK must be integers") from None
    if world <= 1:
        return None
    if not 0 <= rank < world:
        raise UsageError(f"RANK {rank} is not in 0..{world - 1} (WORLD_SIZE {world})")
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not env.get(k)]
    if missing:
        raise UsageError(f"WORLD_SIZE {world} set but {' and '.join(missing)} missing; start "
                         f"with torchrun or cnnlab train --nproc N")
    return Dist(rank, world, local_rank, max(1, local_world))


def setup(device_name: str) -> Dist | None:
    """Join the process group the environment describes (gloo on CPU, nccl on CUDA)."""
    dist = from_env()
    if dist is None:
        return None
    die_with_parent()
    # DistributedDataParallel imports torch._dynamo when it is made and on its first forward
    # (4 s at load 8.7 on the 2-core machine): imported while the ranks meet and load data
    from cnnlab.train.speed import import_in_background

    dist._preload = import_in_background("torch._dynamo")
    cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    dist.backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(dist.local_rank)
    if not tdist.is_initialized():
        tdist.init_process_group(dist.backend, rank=dist.rank, world_size=dist.world,
                                 timeout=TIMEOUT)
    return dist


def device_for(dist: Dist | None, device: torch.device) -> torch.device:
    """One GPU per local rank; the CPU is shared."""
    if dist is not None and device.type == "cuda":
        return torch.device("cuda", dist.local_rank)
    return device


def threads_for(dist: Dist | None, threads: int) -> int:
    """The cores chosen for one process, divided among the ranks on this machine."""
    return threads if dist is None else max(1, threads // dist.local_world)


def convert_batchnorm(model: nn.Module, dist: Dist | None, device: torch.device) -> nn.Module:
    """Batch-norm layers replaced by their synchronised version (same parameters and state)."""
    if dist is None:
        return model
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return convert_cpu(model)


# --- the command line (cnnlab train --nproc N, or started by torchrun) ---------------------

def from_cli(config, nproc: int | None, extra_args: Sequence[str] = ()) -> "Dist | int | None":
    """What ``cnnlab train`` does with ``--nproc`` or a launcher's environment.

    With ``--nproc N`` (N > 1): check the config and run folder once, start the N ranks
    and return their exit status. Started by a launcher (WORLD_SIZE in the environment):
    join the group and return this rank's Dist. Otherwise None (one process).
    """
    from cnnlab.train.runs import check_run_dir

    if nproc is not None and "WORLD_SIZE" in os.environ:
        raise UsageError("--nproc is for starting the ranks here; under torchrun (WORLD_SIZE is "
                         "set) leave it out")
    if nproc is not None:
        if not 1 <= nproc <= MAX_NPROC:
            raise UsageError(f"--nproc must be in 1..{MAX_NPROC}, got {nproc}")
        if nproc == 1:
            return None
        _check_batch(config.batch_size, nproc)
        config.validate()
        check_run_dir(Path(config.out), config.resume_key())  # refused once, not per rank
        return launch(config.to_yaml(), nproc, config.out, extra_args)
    dist = setup(config.device)
    if dist is None:
        return None
    _check_batch(config.batch_size, dist.world)
    config.out = dist.broadcast_object(config.out)  # a default run folder is rank 0's
    return dist


def _check_batch(batch_size: int, world: int) -> None:
    if batch_size < world:
        raise UsageError(f"--batch-size {batch_size} is the global batch: it must be at least "
                         f"the number of processes ({world})")
