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

import ctypes
import datetime
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.distributed as tdist
from torch import nn

from cnnlab.errors import UsageError

__all__ = ["Dist", "launch", "setup", "from_env", "from_cli", "SyncBatchNormCPU", "convert_batchnorm",
           "is_peer_lost", "peer_lost", "die_with_parent", "ENV_KEYS", "MAX_NPROC", "PEER_LOST"]

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
MAX_NPROC = 64  # processes on one machine; more is a typo
# How long a rank waits for the others (a dead rank is noticed by the launcher sooner).
TIMEOUT = datetime.timedelta(minutes=10)
# Exit status of a rank of `cnnlab train --nproc` that lost its peers: it prints nothing,
# the launcher names the rank that died (docs/distributed.md, "When a process dies").
PEER_LOST = 75
# Set by the launcher in its ranks' environment: its pid (a rank that outlives it exits).
LAUNCHER_ENV = "CNNLAB_LAUNCHER_PID"


@dataclass
class Dist:
    """This process's place in the group: rank of world, local rank on its machine."""

    rank: int
    world: int
    local_rank: int = 0
    local_world: int = 1
    backend: str = "gloo"
    _wrapped: Any = field(default=None, repr=False, compare=False)  # (key, DDP) of wrap()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, idx: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous part of a global batch ``idx``: (B,) -> (about B / world,)."""
        return torch.tensor_split(idx, self.world)[self.rank]

    def local_seed(self, seed: int) -> int:
        """Seed of this rank's dropout (rank 0 keeps ``seed``; other ranks draw other masks)."""
        return (seed + 104_729 * self.rank) % 2**63

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in torch's DistributedDataParallel (made once per set of trainable
        parameters: unfreezing a backbone makes a new one, since DDP reduces exactly the
        parameters that needed a gradient when it was made)."""
        from torch.nn.parallel import DistributedDataParallel

        key = (id(model), tuple(p.requires_grad for p in model.parameters()))
        if self._wrapped is None or self._wrapped[0] != key:
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
    cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    dist.backend = "nccl" if cuda else "gloo"
    if cuda:
        torch.cuda.set_device(dist.local_rank)
    if not tdist.is_initialized():
        tdist.init_process_group(dist.backend, rank=dist.rank, world_size=dist.world,
                                 timeout=TIMEOUT)
    return dist


# --- processes die together (docs/distributed.md, "When a process dies") -------------------

PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL = 1.0  # seconds between a rank's looks at its parent (under torchrun)
# What a collective raises when a peer is gone (gloo: "Connection closed by peer", a reset
# or broken pipe; nccl: its watchdog's errors are DistBackendError).
_PEER_SIGNS = ("Connection closed by peer", "Connection reset by peer", "Broken pipe",
               "gloo/transport", "Connection refused", "NCCL")


def die_with_parent() -> None:
    """End this rank when the process that started it ends.

    Under ``cnnlab train --nproc`` (the launcher's pid in CNNLAB_LAUNCHER_PID) the kernel
    sends SIGKILL when the launcher dies (``prctl(PR_SET_PDEATHSIG)``, Linux). Under another
    launcher (torchrun, whose agent may start ranks from a thread, where the kernel's
    notion of "parent" is the thread) a daemon thread checks the parent every
    ``PARENT_POLL`` seconds instead and ends the process when it is gone.
    """
    parent = os.getppid()
    launcher = os.environ.get(LAUNCHER_ENV)
    if launcher and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the poll below still ends the rank
            pass
        parent = int(launcher) if launcher.isdigit() else parent
    if os.getppid() != parent:  # the launcher died before the signal was armed
        os._exit(PEER_LOST)
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(PEER_LOST)

    threading.Thread(target=watch, name="cnnlab-parent-watch", daemon=True).start()


def is_peer_lost(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective failing because another rank is gone."""
    dist_error = getattr(tdist, "DistError", None)
    if dist_error is not None and isinstance(exc, dist_error):
        return True
    return isinstance(exc, RuntimeError) and any(sign in str(exc) for sign in _PEER_SIGNS)


def peer_lost(dist: Dist, out: str, exc: BaseException) -> None:
    """End this rank after its peers were lost, without the interpreter's teardown (which
    aborts with a raw "terminate called ..." line while the process group is alive).

    Under ``--nproc`` it says nothing (status PEER_LOST): the launcher names the rank that
    died. Under torchrun it prints one ``error:`` line and exits with status 2.
    """
    if not os.environ.get(LAUNCHER_ENV):
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = detail.split("] ", 1)[-1] if detail.startswith("[") else detail  # gloo's source path
        detail = detail.split(". ")[0]
        print(f"error: rank {dist.rank} of {dist.world} lost contact with the other ranks "
              f"({detail}): another rank died or the network failed. {out} keeps its last "
              f"finished epoch: run the same command to resume", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(PEER_LOST if os.environ.get(LAUNCHER_ENV) else 2)


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
                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                   LAUNCHER_ENV: str(os.getpid())}
            cmd = [sys.executable, "-m", "cnnlab", "train", "--config", str(path), *extra_args]
            procs.append(subprocess.Popen(cmd, env=env))
        return _supervise(procs, out)


# How long the launcher waits, after a rank failed, for the rank that caused it to be known
# (the first to end may be a rank that only lost its peer).
CAUSE_GRACE = 3.0


def _supervise(procs: list[subprocess.Popen], out: str) -> int:
    try:
        while True:
            codes = [p.poll() for p in procs]
            if any(c not in (None, 0) for c in codes):
                return _fail(procs, out)
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.1)
    except KeyboardInterrupt:
        _stop(procs, signal.SIGINT)
        print(f"error: interrupted; run the same command with --out {out} to resume from the "
              f"last finished epoch", file=sys.stderr)
        return 130


def _cause(procs: list[subprocess.Popen]) -> tuple[int, int] | None:
    """(rank, status) of the first rank that ended other than well or by losing its peers."""
    for rank, p in enumerate(procs):
        code = p.poll()
        if code not in (None, 0, PEER_LOST):
            return rank, code
    return None


def _fail(procs: list[subprocess.Popen], out: str) -> int:
    """A rank ended badly: name the one that caused it (once), stop the rest; status 2
    (or the failing rank's own status 1 after a traceback it printed)."""
    deadline = time.time() + CAUSE_GRACE
    while _cause(procs) is None and time.time() < deadline:
        time.sleep(0.05)
    cause = _cause(procs)
    _stop(procs)
    if cause is not None and cause[1] == 2:  # a usage error, already printed by rank 0
        return 2
    if cause is None:
        rank = next(r for r, p in enumerate(procs) if p.poll() == PEER_LOST)
        what = "lost contact with the other ranks"
    else:
        rank, code = cause
        what = _describe(code)
    print(f"error: rank {rank} of {len(procs)} {what}; the others were stopped. {out} keeps "
          f"its last finished epoch: run the same command to resume", file=sys.stderr)
    return 1 if cause is not None and cause[1] == 1 else 2


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
