"""Damaged or tampered run folders, drawn at random: evaluate, explain and resume refuse each.

Every case damages one file of a finished run with a mutation from the catalogue below
(its details drawn from a seeded generator) and, in about half the cases, rewrites the
file's recorded hash as well, so that the structure checks (not only the hash) are what
must catch it. The command must end in exactly one ``error:`` line naming the file (or
its run folder), exit 2, and never evaluate NaN weights into numbers.
"""

from __future__ import annotations

import io
import json
import random

import pytest
import torch
import yaml

from cnnlab.cli.main import main
from cnnlab.data import load_dataset
from cnnlab.train import TrainConfig, fit
from cnnlab.storage.hashes import write_recorded
from storage_helpers import copy_run

N_EVALUATE, N_RESUME, N_EXPLAIN = 60, 30, 12  # cases drawn per command (make test-all)
FAST_SHARE = 3  # the default run draws the first third of each; the rest are marked slow


def _seeds(n: int) -> list:
    return [seed if seed < n // FAST_SHARE else pytest.param(seed, marks=pytest.mark.slow)
            for seed in range(n)]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    config = TrainConfig(data="digits", model="cnn6-bn", epochs=2, lr=0.003, batch_size=64, limit=300,
                         out=str(tmp_path_factory.mktemp("fuzz") / "run"))
    return fit(config, load_dataset("digits")).run_dir


def _pt(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def _some_key(state, rng, floating=True):
    keys = [k for k, v in state.items() if not floating or v.is_floating_point()]
    return rng.choice(keys)


# --- mutations of a model state dict (best.pt, and last.pt's "model") ------------------

def sd_list(sd, rng):
    return list(sd.values())


def sd_drop(sd, rng):
    sd.pop(_some_key(sd, rng, False))
    return sd


def sd_extra(sd, rng):
    sd[f"stray.{rng.randrange(100)}"] = torch.zeros(3)
    return sd


def sd_shape(sd, rng):
    k = _some_key(sd, rng)
    sd[k] = torch.zeros(*(s + rng.randint(1, 3) for s in sd[k].shape)) if sd[k].ndim else torch.zeros(2)
    return sd


def sd_nan(sd, rng):
    k = _some_key(sd, rng)
    flat = sd[k].view(-1)
    flat[rng.randrange(flat.numel())] = rng.choice([float("nan"), float("inf"), -float("inf")])
    return sd


def sd_str(sd, rng):
    sd[_some_key(sd, rng, False)] = rng.choice(["weights", 3, None, [1.0, 2.0]])
    return sd


def sd_nested(sd, rng):
    return {rng.choice(["model", "state_dict", "net"]): sd}


def sd_int(sd, rng):
    k = _some_key(sd, rng)
    sd[k] = sd[k].to(torch.int64)
    return sd


STATE_DICT_MUTATIONS = [sd_list, sd_drop, sd_extra, sd_shape, sd_nan, sd_str, sd_nested, sd_int]


def bytes_garbage(data: bytes, rng) -> bytes:
    return rng.choice([b"", data[:rng.randrange(1, len(data))], bytes(rng.randrange(256)
                       for _ in range(rng.randrange(1, 2000))), b"\x80\x02}q\x00."])


# --- mutations of last.pt -------------------------------------------------------------

def last_epoch(saved, rng):
    saved["epoch"] = rng.choice([1.5, "2", -1, 10**9, True, None, float("nan")])
    return saved


def last_history(saved, rng):
    saved["history"] = rng.choice([saved["history"][:1], {}, "rows", saved["history"][::-1]])
    return saved


def last_missing(saved, rng):
    saved.pop(rng.choice(["model", "optimizer", "epoch", "history", "best_epoch", "stopped"]))
    return saved


def last_counters(saved, rng):
    key, value = rng.choice([("best_epoch", 7), ("best_epoch", 0), ("best_epoch", 1.0),
                             ("bad_epochs", -3), ("bad_epochs", 50), ("stopped", "no"),
                             ("train_seconds", float("nan")), ("train_seconds", -1.0),
                             ("best_val_loss", float("nan")), ("best_val_loss", "low"),
                             ("version", 99), ("version", "1")])
    saved[key] = value
    return saved


def last_optimizer(saved, rng):
    opt = saved["optimizer"]
    # cnnlab's own optimizers keep one dict of buffers per parameter, by position; torch.optim
    # a dict keyed by parameter index, with the indices listed in each group
    slots = opt["state"] if isinstance(opt["state"], list) else list(opt["state"].values())
    choice = rng.randrange(4)
    if choice == 0:
        slot = rng.choice([s for s in slots if "exp_avg" in s])
        slot["exp_avg"].view(-1)[0] = float("nan")
    elif choice == 1:
        slot = rng.choice([s for s in slots if "exp_avg_sq" in s])
        slot["exp_avg_sq"] = torch.zeros(slot["exp_avg_sq"].numel() + 1)
    elif choice == 2:
        if isinstance(opt["state"], list):
            opt["state"] = opt["state"][:-1]
        else:
            opt["param_groups"][0]["params"] = opt["param_groups"][0]["params"][:-1]
    else:
        saved["optimizer"] = rng.choice([[], "adam", {"state": {}}])
    return saved


def last_model(saved, rng):
    saved["model"] = rng.choice(STATE_DICT_MUTATIONS)(saved["model"], rng)
    return saved


def last_is_best(saved, rng):
    return saved["model"]


def last_scheduler(saved, rng):
    saved[rng.choice(["scheduler", "scaler"])] = rng.choice([[1, 2], "step", 3])
    return saved


LAST_MUTATIONS = [last_epoch, last_history, last_missing, last_counters, last_optimizer,
                  last_model, last_is_best, last_scheduler]


# --- mutations of config.yaml and model.json ------------------------------------------

def config_mutation(values: dict, rng):
    choice = rng.randrange(7)
    if choice == 0:
        return list(values.items())
    if choice == 1:
        values.pop(rng.choice(["model", "data"]))
    elif choice == 2:
        values["model_cfg"] = rng.choice([[1, 2], "hidden=3", 7])
    elif choice == 3:
        values[rng.choice(["epochs", "batch_size", "lr", "seed"])] = rng.choice(["many", [1], {"a": 1}])
    elif choice == 4:
        values[f"unknown_{rng.randrange(99)}"] = 1
    elif choice == 5:
        values["model"] = rng.choice(["mlp", "resnet18", "no-such-model"])
    else:
        return "just a string"
    return values


def meta_mutation(meta: dict, rng):
    choice = rng.randrange(10)
    if choice == 0:
        meta["in_channels"] = rng.choice([10**6, 0, -1, "1", 1.5, 4096])
    elif choice == 1:
        meta["mean"] = rng.choice(["0.5", [0.5, 0.5], ["a"], None, 0.5])
    elif choice == 2:
        meta["std"] = rng.choice([[], "1", [1.0] * 3, [True]])
    elif choice == 3:
        meta["input_size"] = rng.choice([[10**6, 10**6], "8x8", [8], [0, 8], [8.0, 8.0]])
    elif choice == 4:
        meta["num_classes"] = rng.choice([0, 10**7, "10", 3])
    elif choice == 5:
        meta["classes"] = rng.choice([["a"], "0123456789", list(range(10)), None])
    elif choice == 6:
        meta.pop(rng.choice(["model", "in_channels", "num_classes", "input_size", "mean"]))
    elif choice == 7:
        meta["model_cfg"] = rng.choice([[1], "dropout=2", {"hidden": [10**9]}, {"nope": 1}])
    elif choice == 8:
        meta["model"] = rng.choice(["mlp", "no-such-model", 7, ""])
    else:
        return [meta]
    return meta


# --- drawing a damaged run ------------------------------------------------------------

def _damage(run, rng, targets):
    """Damage one file of ``run``; returns its name."""
    name = rng.choice(targets)
    path = run / name
    raw = path.read_bytes()
    if name in ("best.pt", "last.pt") and rng.random() < 0.15:
        data = bytes_garbage(raw, rng)
    elif name == "best.pt":
        data = _pt(rng.choice(STATE_DICT_MUTATIONS)(torch.load(path, weights_only=True), rng))
    elif name == "last.pt":
        saved = torch.load(path, weights_only=True)
        data = _pt(rng.choice(LAST_MUTATIONS)(saved, rng)) if rng.random() < 0.85 \
            else (run / "best.pt").read_bytes()
    elif name == "config.yaml":
        data = yaml.safe_dump(config_mutation(yaml.safe_load(raw), rng)).encode()
        if rng.random() < 0.1:
            data = bytes(rng.randrange(256) for _ in range(300))
    else:
        data = json.dumps(meta_mutation(json.loads(raw), rng)).encode()
    if rng.random() < 0.5:
        write_recorded(path, data)  # the hash agrees: the structure checks must catch it
    else:
        path.write_bytes(data)
    return name


def _copy(pristine, tmp_path):
    return copy_run(pristine, tmp_path / "run")


def _one_error_line(capsys, run):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert str(run) in errors[0], errors[0]
    assert "nan" not in out.lower()
    return errors[0]


@pytest.mark.parametrize("seed", _seeds(N_EVALUATE))
def test_evaluate_refuses_a_damaged_run(pristine, tmp_path, capsys, seed):
    rng = random.Random(seed)
    run = _copy(pristine, tmp_path)
    name = _damage(run, rng, ["best.pt", "best.pt", "config.yaml", "model.json", "model.json"])
    capsys.readouterr()
    status = main(["evaluate", str(run), "--json"])
    message = _one_error_line(capsys, run)
    assert status == 2
    assert name in message or name == "config.yaml" and "config.yaml" in message, message


@pytest.mark.parametrize("seed", _seeds(N_RESUME))
def test_resume_refuses_a_damaged_run(pristine, tmp_path, capsys, seed):
    rng = random.Random(1000 + seed)
    run = _copy(pristine, tmp_path)
    name = _damage(run, rng, ["last.pt", "last.pt", "last.pt", "config.yaml"])
    capsys.readouterr()
    status = main(["train", "--data", "digits", "--model", "cnn6-bn", "--epochs", "3", "--lr",
                   "0.003", "--batch-size", "64", "--limit", "300", "--out", str(run), "--json"])
    message = _one_error_line(capsys, run)
    assert status == 2, message
    assert name in message or "already holds a different run" in message, message


@pytest.mark.parametrize("seed", _seeds(N_EXPLAIN))
def test_explain_refuses_a_damaged_run(pristine, tmp_path, capsys, seed):
    rng = random.Random(2000 + seed)
    run = _copy(pristine, tmp_path)
    name = _damage(run, rng, ["best.pt", "config.yaml", "model.json"])
    capsys.readouterr()
    status = main(["explain", str(run), "--what", "filters", "--json"])
    message = _one_error_line(capsys, run)
    assert status == 2 and name in message, message
    assert not (run / "explain" / "explain.html").exists()
