"""Data-parallel training: one process against two (docs/distributed.md states the agreement).

The two-process runs are real: ``cnnlab train --nproc 2`` (and ``torchrun -m cnnlab``)
with the gloo backend on this machine's CPU.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as tdist
import torch.nn.functional as F
from torch import nn

from cnnlab.cli.main import main
from cnnlab.models import get_model
from cnnlab.train import TrainConfig, fit
from cnnlab.train.distributed import Dist, SyncBatchNormCPU, convert_batchnorm

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
# First-step gradient of 2 processes against the float64 gradient (relative to each tensor's
# largest entry); measured 2e-5 at most on cnn6-bn (docs/distributed.md).
GRAD_RTOL = 1e-4
# One process against two: torch's float32 CPU batch-norm backward (channels-last) is off the
# float64 gradient by up to 1.1e-2 of a tensor's largest entry on the same step.
ONE_PROCESS_RTOL = 3e-2
# Final test accuracy of the same config trained by 1 and 2 processes (no augmentation).
ACCURACY_TOL = 0.01


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnlab", "train", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def _weights(run_dir: Path, name: str = "last.pt") -> dict[str, torch.Tensor]:
    state = torch.load(run_dir / name, map_location="cpu", weights_only=True)
    return state["model"] if "model" in state else state


def _history(run_dir: Path) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def test_shards_are_disjoint_and_cover_the_batch():
    idx = torch.randperm(103)
    for world in (1, 2, 3, 8):
        parts = [Dist(rank, world).shard(idx) for rank in range(world)]
        assert torch.equal(torch.cat(parts), idx)  # in order, nothing twice, nothing left out
        assert max(map(len, parts)) - min(map(len, parts)) <= 1


@pytest.fixture
def one_rank_group(tmp_path):
    """A gloo process group of one rank in this process (collectives are then identities)."""
    tdist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                             world_size=1)
    yield
    tdist.destroy_process_group()


def test_cpu_sync_batchnorm_equals_batchnorm(one_rank_group):
    """Forward, input/weight/bias gradients and running statistics against nn.BatchNorm2d."""
    torch.manual_seed(0)
    ref = nn.BatchNorm2d(5, momentum=0.3).double()
    with torch.no_grad():
        ref.weight.uniform_(0.5, 2)
        ref.bias.uniform_(-1, 1)
    sync = convert_batchnorm(nn.Sequential(ref), Dist(0, 1), torch.device("cpu"))[0]
    ref = nn.BatchNorm2d(5, momentum=0.3).double()
    ref.load_state_dict(sync.state_dict())
    assert isinstance(sync, SyncBatchNormCPU) and sync.state_dict().keys() == ref.state_dict().keys()
    for step in range(3):
        x = (torch.randn(6, 5, 4, 3, dtype=torch.float64) * 3 + step).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        weight = torch.randn(6, 5, 4, 3, dtype=torch.float64)
        (sync(x) * weight).sum().backward()
        (ref(x2) * weight).sum().backward()
        torch.testing.assert_close(x.grad, x2.grad, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(sync.weight.grad, ref.weight.grad)
        torch.testing.assert_close(sync.bias.grad, ref.bias.grad)
        sync.zero_grad(), ref.zero_grad()
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(sync.state_dict()[key], ref.state_dict()[key])
    sync.eval(), ref.eval()
    x = torch.randn(2, 5, 4, 3, dtype=torch.float64)
    torch.testing.assert_close(sync(x), ref(x))
    assert torch.autograd.gradcheck(lambda t: sync.train()(t).sum(dim=(2, 3)) ** 2,
                                    (torch.randn(3, 5, 2, 2, dtype=torch.float64, requires_grad=True),))


def _float64_gradient(config: TrainConfig) -> tuple[dict, dict]:
    """(initial weights, exact gradient): the model's first full-batch step, in float64."""
    import numpy as np

    from cnnlab.train.loop import load_config_dataset
    from cnnlab.train.metrics import safe_std, to_normalised_tensor

    ds = load_config_dataset(config)
    x = to_normalised_tensor(ds.x_train, np.asarray(ds.mean, np.float32), safe_std(ds.std),
                             torch.device("cpu")).double()  # (N, 1, 8, 8)
    y = torch.as_tensor(ds.y_train, dtype=torch.long)
    torch.manual_seed(config.seed)
    model = get_model(config.model, 1, 10, (8, 8), **config.model_cfg)
    w0 = {k: v.clone() for k, v in model.state_dict().items()}
    model.double().train()
    F.cross_entropy(model(x), y).backward()
    return w0, {k: p.grad for k, p in model.named_parameters()}


def test_first_step_gradients_of_one_and_two_processes_agree(tmp_path):
    """One SGD step on the whole training split (the global batch) of a batch-norm net:
    (w0 - w1) / lr is the gradient. 2 processes (sharded batch, summed gradients, batch norm
    over the global batch) give the float64 gradient to GRAD_RTOL; one process agrees with
    them to ONE_PROCESS_RTOL (torch's float32 CPU batch-norm backward is the less exact one)."""
    lr = 0.5
    common = dict(data="digits", model="cnn6-bn", epochs=1, batch_size=2048, optimizer="sgd",
                  lr=lr, momentum=0.0, limit=300, device="cpu", threads=1, seed=3)
    config = TrainConfig(**common, model_cfg={"dropout": 0.0}, out=str(tmp_path / "one"))
    one = fit(config)
    args = [f"--{k.replace('_', '-')}={v}" for k, v in common.items()]
    done = _cli(*args, "--model-opt", "dropout=0", "--nproc", "2", "--out", str(tmp_path / "two"),
                "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"test_accuracy"') == 1  # rank 0 alone prints (and writes)
    assert one.summary["epochs"] == 1
    w0, exact = _float64_gradient(config)
    w1_one, w1_two = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert w1_one.keys() == w1_two.keys() == w0.keys()  # plain keys: no wrapper, no "module."
    for name, g in exact.items():
        g_one = (w0[name].double() - w1_one[name].double()) / lr
        g_two = (w0[name].double() - w1_two[name].double()) / lr
        scale = g.abs().max().item()
        assert (g_two - g).abs().max().item() <= GRAD_RTOL * scale, name
        assert (g_one - g_two).abs().max().item() <= ONE_PROCESS_RTOL * scale, name
    for name in w0:  # batch-norm statistics of the global batch
        if "running" in name or "num_batches" in name:
            torch.testing.assert_close(w1_one[name], w1_two[name], rtol=1e-4, atol=1e-6)
    files = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "one").iterdir())  # the same run folder


@pytest.mark.parametrize("args, words", [
    (["--nproc", "0"], ["--nproc must be in 1..64"]),
    (["--nproc", "2", "--batch-size", "1"], ["global batch", "at least", "(2)"]),
])
def test_nproc_refusals(tmp_path, capsys, args, words):
    out = tmp_path / "run"
    assert main(["train", "--data", "digits", "--model", "mlp", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert all(w in err[0] for w in words), err[0]
    assert not out.exists()


@pytest.mark.slow
def test_torchrun_two_processes_reach_the_one_process_accuracy(tmp_path):
    """torchrun -m cnnlab train: the same history and final accuracy within ACCURACY_TOL."""
    torchrun = Path(sys.executable).with_name("torchrun")
    common = ["--data", "digits", "--model", "mlp", "--epochs", "4", "--batch-size", "32",
              "--device", "cpu", "--threads", "1", "--seed", "1"]
    one = _cli(*common, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    from cnnlab.train.distributed import _free_port

    two = subprocess.run([str(torchrun), "--nproc-per-node", "2", "--master-port",
                          str(_free_port()), "-m",
                          "cnnlab", "train", *common, "--out", str(tmp_path / "two")],
                         capture_output=True, text=True, timeout=600, env=ENV)
    assert two.returncode == 0, two.stderr
    import json

    s1 = json.loads((tmp_path / "one" / "summary.json").read_text())
    s2 = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert abs(s1["test_accuracy"] - s2["test_accuracy"]) <= ACCURACY_TOL
    for r1, r2 in zip(_history(tmp_path / "one"), _history(tmp_path / "two")):
        assert float(r1["val_loss"]) == pytest.approx(float(r2["val_loss"]), rel=1e-3)


def _rank_pid(launcher: int, rank: int) -> int | None:
    try:
        children = Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()
    except OSError:
        return None
    for pid in map(int, children):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in env:
            return pid
    return None


@pytest.mark.slow
def test_a_rank_killed_mid_run_resumes_to_the_unbroken_result(tmp_path):
    """SIGKILL rank 1 after epoch 2: the launcher stops rank 0 and says how to resume; the
    same command then finishes with the weights and history of a run never interrupted."""
    common = ["--data", "digits", "--model", "cnn6-bn", "--epochs", "6", "--batch-size", "64",
              "--limit", "600", "--device", "cpu", "--threads", "1", "--nproc", "2",
              "--optimizer", "sgd", "--schedule", "cosine"]
    unbroken = _cli(*common, "--out", str(tmp_path / "unbroken"))
    assert unbroken.returncode == 0, unbroken.stderr
    run = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "train", *common, "--out", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if (run / "metrics.csv").exists() and len(_history(run)) >= 2:
                break
            time.sleep(0.05)
        victim = _rank_pid(proc.pid, 1)
        assert victim is not None and proc.poll() is None, "the run ended before the kill"
        os.kill(victim, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert "rank 1 of 2 was killed by SIGKILL" in err and "to resume" in err, err
    assert 2 <= len(_history(run)) < 6
    resumed = _cli(*common, "--out", str(run))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    assert _history(run) == _history(tmp_path / "unbroken")
    for name, w in _weights(tmp_path / "unbroken").items():
        assert torch.equal(w, _weights(run)[name]), name
    shutil.rmtree(tmp_path, ignore_errors=True)


# --- processes die together (docs/distributed.md, "When a process dies") ---------------------

LONG_RUN = ["--data", "digits", "--model", "cnn6-bn", "--epochs", "40", "--batch-size", "32",
            "--device", "cpu", "--threads", "1"]


def _start_and_wait_for_an_epoch(args: list[str], run: Path, env=None) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "train", *args, "--out", str(run)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or ENV)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (run / "metrics.csv").exists():
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    return proc


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _survivors(ranks: list[int], wait: float = 5) -> list[int]:
    """The ranks still alive ``wait`` seconds on (killed now, so that none outlives the test)."""
    deadline = time.time() + wait
    while time.time() < deadline and any(_alive(pid) for pid in ranks):
        time.sleep(0.05)
    survivors = [pid for pid in ranks if _alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    return survivors


@pytest.mark.parametrize("victim", [pytest.param(1, marks=pytest.mark.slow), 0])
def test_a_killed_rank_ends_the_run_with_one_line_and_status_2(tmp_path, victim):
    """The other rank's gloo error ("Connection closed by peer") and the C++ abort at its
    teardown never reach the terminal: one documented line, status 2, no rank left."""
    proc = _start_and_wait_for_an_epoch([*LONG_RUN, "--nproc", "2"], tmp_path / "run")
    ranks = [_rank_pid(proc.pid, r) for r in (0, 1)]
    assert None not in ranks
    os.kill(ranks[victim], signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.splitlines() == [
        f"error: rank {victim} of 2 was killed by SIGKILL; the others were stopped. "
        f"{tmp_path / 'run'} keeps its last finished epoch: run the same command to resume"], err
    assert not any(_alive(pid) for pid in ranks)


def test_killing_the_launcher_takes_its_ranks_with_it(tmp_path):
    proc = _start_and_wait_for_an_epoch([*LONG_RUN, "--nproc", "2"], tmp_path / "run")
    ranks = [_rank_pid(proc.pid, r) for r in (0, 1)]
    assert None not in ranks and all(_alive(pid) for pid in ranks)
    proc.kill()
    proc.communicate(timeout=30)
    assert _survivors(ranks) == []


def test_a_rank_without_cnnlabs_launcher_says_one_line_when_its_peer_dies(tmp_path):
    """As under torchrun: each rank started by hand; rank 1 killed; rank 0 reports the lost
    connection itself in one line, with status 2."""
    from cnnlab.train.distributed import _free_port

    env = {**ENV, "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port())}
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "cnnlab", "train", *LONG_RUN, "--out", str(run)]
    other = subprocess.Popen(cmd, env={**env, "RANK": "1", "LOCAL_RANK": "1"},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = _start_and_wait_for_an_epoch(LONG_RUN, run, env={**env, "RANK": "0", "LOCAL_RANK": "0"})
        other.kill()
        out, err = first.communicate(timeout=120)
    finally:
        other.kill()
        other.wait()
    assert first.returncode == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: rank 0 of 2 lost contact with the other "
                                                   "ranks ("), err
    assert "Connection" in lines[0] and "gloo" not in lines[0]  # closed or reset by peer
    assert lines[0].endswith(f"{run} keeps its last finished epoch: run the same command to resume")


def test_two_torchrun_nodes_on_one_machine_train_a_tiny_run(tmp_path):
    """torchrun --nnodes 2 --node-rank 0 / 1 with a static rendezvous on 127.0.0.1: one rank
    per "node", DDP over gloo; the run folder is the one a one-process run writes, and its
    accuracy is that of one process within ACCURACY_TOL."""
    import json

    from cnnlab.train.distributed import _free_port

    torchrun = Path(sys.executable).with_name("torchrun")
    common = ["--data", "digits", "--model", "mlp", "--epochs", "2", "--batch-size", "32",
              "--limit", "600", "--device", "cpu", "--threads", "1", "--seed", "1"]
    port = str(_free_port())
    nodes = [subprocess.Popen([str(torchrun), "--nnodes", "2", "--node-rank", str(rank),
                               "--nproc-per-node", "1", "--master-addr", "127.0.0.1",
                               "--master-port", port, "-m", "cnnlab", "train", *common, "--json",
                               "--out", str(tmp_path / "two")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
             for rank in (0, 1)]
    try:
        results = [node.communicate(timeout=300) for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    assert [node.returncode for node in nodes] == [0, 0], results
    assert results[0][0].count('"test_accuracy"') == 1 and '"test_accuracy"' not in results[1][0]
    one = _cli(*common, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    s1 = json.loads((tmp_path / "one" / "summary.json").read_text())
    s2 = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert abs(s1["test_accuracy"] - s2["test_accuracy"]) <= ACCURACY_TOL
    assert _weights(tmp_path / "one").keys() == _weights(tmp_path / "two").keys()
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == \
        sorted(p.name for p in (tmp_path / "two").iterdir())


@pytest.mark.slow
def test_unfreezing_the_backbone_mid_run_reduces_its_gradients_too(tmp_path):
    """DDP reduces the parameters that needed a gradient when it was made: after
    --unfreeze-after the run makes a new wrapper, so the backbone trains as in one process."""
    base = ["--data", "digits", "--model", "cnn3", "--threads", "1", "--device", "cpu"]
    first = _cli(*base, "--epochs", "1", "--out", str(tmp_path / "first"))
    assert first.returncode == 0, first.stderr
    tuned = [*base, "--epochs", "2", "--weights", str(tmp_path / "first" / "best.pt"), "--freeze",
             "--unfreeze-after", "1"]
    one = _cli(*tuned, "--out", str(tmp_path / "one"))
    two = _cli(*tuned, "--nproc", "2", "--out", str(tmp_path / "two"))
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    w0, w1, w2 = (_weights(tmp_path / name) for name in ("first", "one", "two"))
    backbone = [k for k in w0 if k.startswith("features") or "conv" in k]
    assert backbone and any(not torch.equal(w0[k], w2[k]) for k in backbone)  # it trained
    for name in w1:
        torch.testing.assert_close(w2[name], w1[name], rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.slow
def test_killing_torchrun_takes_its_ranks_with_it(tmp_path):
    """Under torchrun the ranks watch their parent (docs/distributed.md, "When a process dies")."""
    from cnnlab.train.distributed import _free_port

    torchrun = Path(sys.executable).with_name("torchrun")
    run = tmp_path / "run"
    proc = subprocess.Popen([str(torchrun), "--nproc-per-node", "2", "--master-port", str(_free_port()),
                             "-m", "cnnlab", "train", *LONG_RUN, "--out", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None and not (run / "metrics.csv").exists():
            time.sleep(0.05)
        ranks = [int(pid) for pid in
                 Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        assert len(ranks) == 2 and all(_alive(pid) for pid in ranks)
    finally:
        proc.kill()
        proc.wait()
    assert _survivors(ranks) == []


def test_peer_loss_is_told_from_other_errors():
    """What gloo raises when a peer dies (the message measured in a 2-process run) against
    errors that are bugs and must keep their own report."""
    from cnnlab.train.launcher import is_peer_lost

    gloo = ("[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:561] Connection "
            "closed by peer [127.0.0.1]:36261. This is typically caused by a remote worker crashing.")
    assert is_peer_lost(RuntimeError(gloo))
    assert is_peer_lost(RuntimeError("Read error [127.0.0.1]:10961: Connection reset by peer"))
    assert is_peer_lost(tdist.DistBackendError("NCCL communicator was aborted"))
    assert not is_peer_lost(RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x3 and 5x2)"))
    assert not is_peer_lost(ValueError("Connection closed by peer"))  # not what a collective raises
