"""Data-parallel training with torch.distributed: N processes, one model, one global batch.

``cnnlab train ... --nproc N`` starts N copies of the same command (:func:`launch`), and
``torchrun --nproc-per-node N -m cnnlab train ...`` does the same across machines; each
process reads its place from the environment (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT) and joins one process group (gloo on CPU, nccl on CUDA).
What each rank does (docs/distributed.md):

- every rank draws the same permutation of the training split per epoch (seeded by
  (seed, epoch)); each global batch of ``--batch-size`` examples is cut into ``world``
  contiguous, disjoint shards (:meth:`Dist.shard`);
- a rank's loss is its shard's mean loss times ``n_shard / n_batch``, and the gradients
  are summed over ranks with one all_reduce (:meth:`Dist.reduce_gradients`), so every
  rank steps with the mean gradient of the whole global batch, as one process would
  (an explicit all_reduce rather than DistributedDataParallel: the model's state dict
  keeps its plain keys, so checkpoints are those of a one-process run);
- batch norm normalises with the statistics of the whole global batch
  (:class:`SyncBatchNormCPU` on CPU, ``nn.SyncBatchNorm`` on CUDA);
- training loss and accuracy are summed over ranks; validation metrics are rank 0's,
  broadcast, so that every rank takes the same early-stopping decision;
- rank 0 alone writes the run folder, logs and shows progress; the others only train.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.distributed as tdist
from torch import nn

from cnnlab.errors import UsageError
from cnnlab.seeds import RANK, derive_seed

__all__ = ["Dist", "launch", "setup", "from_env", "from_cli", "SyncBatchNormCPU", "convert_batchnorm",
           "ENV_KEYS", "MAX_NPROC"]

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
MAX_NPROC = 64  # processes on one machine; more is a typo
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

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous part of a global batch ``idx``: (B,) -> (about B / world,)."""
        return torch.tensor_split(idx, self.world)[self.rank]

    def local_seed(self, seed: int) -> int:
        """Seed of this rank's dropout (rank 0 keeps ``seed``; other ranks draw other masks)."""
        return seed if self.rank == 0 else derive_seed(seed, RANK, self.rank)

    def reduce_gradients(self, model: nn.Module) -> None:
        """Sum every parameter's gradient over the ranks (one all_reduce of a flat buffer)."""
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        tdist.all_reduce(flat)
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

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


# --- batch norm over the global batch (CPU) -----------------------------------------------

class _SyncBN(torch.autograd.Function):
    """Batch norm of x: (N, C, ...) with mean and variance over the batches of all ranks."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float):
        C = x.shape[1]
        dims = [0] + list(range(2, x.dim()))
        count = torch.tensor([x.numel() / max(1, C)], dtype=torch.float64)
        total = torch.cat([x.sum(dims, dtype=torch.float64), count])  # (C + 1,)
        tdist.all_reduce(total)
        n = total[C]
        mean = (total[:C] / n).to(x.dtype)  # (C,)
        shape = [1, C] + [1] * (x.dim() - 2)
        centred = x - mean.view(shape)
        sq = centred.pow(2).sum(dims, dtype=torch.float64)
        tdist.all_reduce(sq)
        var = (sq / n).to(x.dtype)  # biased, as batch norm normalises
        invstd = torch.rsqrt(var + eps)
        xhat = centred * invstd.view(shape)
        ctx.save_for_backward(xhat, invstd, weight)
        ctx.n, ctx.shape, ctx.dims = float(n), shape, dims
        out = xhat * weight.view(shape) + bias.view(shape) if weight is not None else xhat
        unbiased = var * (float(n) / max(1.0, float(n) - 1))  # for running_var
        ctx.mark_non_differentiable(mean, unbiased)
        return out, mean, unbiased

    @staticmethod
    def backward(ctx, grad_out, _grad_mean, _grad_var):
        xhat, invstd, weight = ctx.saved_tensors
        shape, dims, n = ctx.shape, ctx.dims, ctx.n
        g = grad_out * weight.view(shape) if weight is not None else grad_out  # dL/dxhat
        sums = torch.cat([g.sum(dims, dtype=torch.float64), (g * xhat).sum(dims, dtype=torch.float64)])
        tdist.all_reduce(sums)
        C = xhat.shape[1]
        mean_g = (sums[:C] / n).to(g.dtype).view(shape)
        mean_gx = (sums[C:] / n).to(g.dtype).view(shape)
        grad_x = invstd.view(shape) * (g - mean_g - xhat * mean_gx)
        grad_w = (grad_out * xhat).sum(dims) if weight is not None else None
        grad_b = grad_out.sum(dims) if weight is not None else None
        return grad_x, grad_w, grad_b, None


class SyncBatchNormCPU(nn.modules.batchnorm._BatchNorm):
    """``nn.SyncBatchNorm`` for the CPU (torch's needs CUDA kernels): in training, the
    statistics are those of the global batch (three small all_reduces per layer and step);
    in evaluation it is plain batch norm. Its state dict is that of ``nn.BatchNorm2d``."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and tdist.is_initialized()):
            return super().forward(x)
        self._check_input_dim(x)
        out, mean, var = _SyncBN.apply(x, self.weight, self.bias, self.eps)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                factor = (1.0 / float(self.num_batches_tracked) if self.momentum is None
                          else self.momentum)
                self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                self.running_var.mul_(1 - factor).add_(var.detach(), alpha=factor)
        return out


def convert_batchnorm(model: nn.Module, dist: Dist | None, device: torch.device) -> nn.Module:
    """Batch-norm layers replaced by their synchronised version (same parameters and state)."""
    if dist is None:
        return model
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _convert_cpu(model)


def _convert_cpu(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, SyncBatchNormCPU):
        new = SyncBatchNormCPU(module.num_features, module.eps, module.momentum, module.affine,
                               module.track_running_stats)
        like = next(iter(module.state_dict().values()), None)
        if like is not None and module.affine:
            new = new.to(device=module.weight.device, dtype=module.weight.dtype)
        elif like is not None:
            new = new.to(device=like.device, dtype=module.running_mean.dtype)
        new.load_state_dict(module.state_dict())
        new.train(module.training)
        for p_new, p_old in zip(new.parameters(), module.parameters()):
            p_new.requires_grad_(p_old.requires_grad)
        return new
    for name, child in module.named_children():
        setattr(module, name, _convert_cpu(child))
    return module


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


# --- the launcher (cnnlab train --nproc N) -------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def launch(config_yaml: str, nproc: int, out: str, extra_args: Sequence[str] = ()) -> int:
    """Run ``cnnlab train --config FILE`` in ``nproc`` processes on this machine; their status.

    Every process gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and
    MASTER_PORT, as torchrun would set them. When one dies, the others are stopped (as
    torchrun does) and the message says how to resume.
    """
    if not 1 <= nproc <= MAX_NPROC:
        raise UsageError(f"--nproc must be in 1..{MAX_NPROC}, got {nproc}")
    with tempfile.TemporaryDirectory(prefix="cnnlab-nproc-") as tmp:
        path = Path(tmp) / "config.yaml"
        path.write_text(config_yaml, encoding="utf-8")
        port = _free_port()
        procs = []
        for rank in range(nproc):
            env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": str(nproc),
                   "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(nproc),
                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
            cmd = [sys.executable, "-m", "cnnlab", "train", "--config", str(path), *extra_args]
            procs.append(subprocess.Popen(cmd, env=env))
        return _supervise(procs, out)


def _supervise(procs: list[subprocess.Popen], out: str) -> int:
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [(r, c) for r, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                rank, code = failed[0]
                _stop(procs)
                if code != 2:  # 2: a usage error, already printed by rank 0
                    print(f"error: rank {rank} of {len(procs)} {_describe(code)}; the others were "
                          f"stopped. {out} keeps its last finished epoch: run the same command "
                          f"to resume", file=sys.stderr)
                return 2 if code == 2 else 1
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        _stop(procs, signal.SIGINT)
        print(f"error: interrupted; run the same command with --out {out} to resume from the "
              f"last finished epoch", file=sys.stderr)
        return 130


def _stop(procs: list[subprocess.Popen], sig: int = signal.SIGTERM) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    deadline = time.time() + 10
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
