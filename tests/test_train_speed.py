"""What makes the loop fast must not change what it computes: channels-last, thread choice,
scoring batches, the train-accuracy sample, fast-cnn's crop; and resume stays exact."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from cnnlab.data import load_dataset
from cnnlab.models import count_params, get_model
from cnnlab.train import TrainConfig, fit
from cnnlab.train.loop import eval_batch_size, train_score_indices, use_channels_last
from cnnlab.train.metrics import predict_logits
from cnnlab.train.speed import amp_dtype, cpu_native_bf16
from cnnlab.train.threads import choose_threads


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset("digits")
    return dataclasses.replace(ds, x_train=ds.x_train[:400], y_train=ds.y_train[:400])


@pytest.mark.parametrize("cores, load, threads", [(2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.2, 1),
                                                  (2, 12.0, 1), (8, 3.2, 5), (1, 0.0, 1)])
def test_threads_are_the_cores_the_load_leaves_free(cores, load, threads):
    assert choose_threads(cores, load)[0] == threads


def test_run_logs_its_thread_and_memory_format_choice(digits, tmp_path):
    lines = []
    result = fit(TrainConfig(data="digits", model="cnn3", epochs=1, threads=1, device="cpu",
                             out=str(tmp_path / "r")), digits, log=lines.append)
    assert any("1 thread(s) (--threads" in line and "channels-last memory format" in line
               for line in lines)
    assert result.summary["threads"] == 1


def test_channels_last_is_chosen_for_conv_models_on_cpu_only():
    cpu = torch.device("cpu")
    conv = get_model("cnn3", 1, 10, (8, 8))
    mlp = get_model("mlp", 1, 10, (8, 8))
    base = TrainConfig(data="digits", model="cnn3")
    assert use_channels_last(base, conv, cpu) and not use_channels_last(base, mlp, cpu)
    assert not use_channels_last(base, conv, torch.device("cuda"))
    assert not use_channels_last(dataclasses.replace(base, channels_last=False), conv, cpu)


def test_channels_last_trains_the_same_network_as_nchw(digits, tmp_path):
    runs = {}
    for fmt in (True, False):
        config = TrainConfig(data="digits", model="cnn3", epochs=2, batch_size=32, seed=3,
                             channels_last=fmt, threads=1, out=str(tmp_path / str(fmt)))
        runs[fmt] = fit(config, digits)
    a, b = runs[True], runs[False]
    # the same arithmetic in another order: float rounding only
    for k, v in a.model.state_dict().items():
        assert torch.allclose(v, b.model.state_dict()[k], atol=2e-4), k
    assert [r["train_loss"] for r in a.history] == pytest.approx([r["train_loss"] for r in b.history], rel=1e-4)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="needs a CUDA GPU (these run on a GPU machine)")
DEVICES = [pytest.param("cpu", False, id="cpu"), pytest.param("cpu", True, id="cpu-amp"),
           pytest.param("cuda", False, id="cuda", marks=needs_cuda),
           pytest.param("cuda", True, id="cuda-amp", marks=needs_cuda)]


@pytest.mark.parametrize("device, amp", DEVICES)
def test_a_seeded_conv_run_is_reproducible_and_resumes_bit_identically(digits, tmp_path, device, amp):
    base = dict(data="digits", model="cnn3", epochs=3, batch_size=32, seed=5, lr=0.01,
                schedule="onecycle", augment=["shift:1", "jitter:0.3", "erase:0.5"], threads=1,
                device=device, amp=amp)
    whole = fit(TrainConfig(**base, out=str(tmp_path / "whole")), digits)
    again = fit(TrainConfig(**base, out=str(tmp_path / "again")), digits)

    class Stop(Exception):
        pass

    def stop(row):
        if row["epoch"] == 2:
            raise Stop

    broken = TrainConfig(**base, out=str(tmp_path / "broken"))
    with pytest.raises(Stop):
        fit(broken, digits, on_epoch=stop)
    resumed = fit(broken, digits)
    for other in (again, resumed):
        for k, v in whole.model.state_dict().items():
            assert torch.equal(v, other.model.state_dict()[k]), k
    a = torch.load(tmp_path / "whole" / "last.pt", weights_only=True, map_location="cpu")
    b = torch.load(tmp_path / "broken" / "last.pt", weights_only=True, map_location="cpu")
    for sa, sb in zip(a["optimizer"]["state"], b["optimizer"]["state"]):
        assert all(torch.equal(sa[k], sb[k]) if torch.is_tensor(sa[k]) else sa[k] == sb[k] for k in sa)


def test_scoring_batches_do_not_change_the_logits():
    torch.manual_seed(0)
    model = get_model("cnn3", 1, 10, (8, 8))
    x = torch.randn(300, 1, 8, 8)
    one = predict_logits(model, x, batch_size=300)
    assert torch.allclose(predict_logits(model, x, batch_size=eval_batch_size(1, 8, 8)), one, atol=1e-5)
    assert torch.allclose(predict_logits(model, x, batch_size=7), one, atol=1e-5)
    assert 32 <= eval_batch_size(3, 224, 224) <= eval_batch_size(1, 28, 28) <= 1024


def test_train_accuracy_sample_is_fixed_and_reported(digits, tmp_path):
    idx = train_score_indices(400, 150, seed=0)
    assert len(idx) == 150 and len(set(idx.tolist())) == 150
    assert torch.equal(idx, train_score_indices(400, 150, seed=0))
    assert torch.equal(train_score_indices(400, None, 0), torch.arange(400))
    result = fit(TrainConfig(data="digits", model="logreg", epochs=1, score_train_limit=150,
                             out=str(tmp_path / "r")), digits)
    s = result.summary
    assert s["n_train_scored"] == 150
    from cnnlab.train.metrics import evaluate_model

    sample = idx.numpy()
    direct = evaluate_model(result.model, digits.x_train[sample], digits.y_train[sample],
                            digits.mean, digits.std)
    assert direct["accuracy"] == pytest.approx(s["train_accuracy"])


@pytest.mark.parametrize("crop", [0, 1, 3])
def test_fast_cnn_crop_is_a_centre_crop_of_the_input(crop):
    torch.manual_seed(0)
    model = get_model("fast-cnn", 1, 10, (28, 28), crop=crop).eval()
    x = torch.randn(5, 1, 28, 28)
    assert count_params(model) == sum(p.numel() for p in model.parameters())
    body = torch.nn.Sequential(*[m for m in model.features if not isinstance(m, torch.nn.ZeroPad2d)])
    inner = x[:, :, crop:28 - crop, crop:28 - crop]
    assert torch.allclose(model(x), model.classifier(body(inner)), atol=1e-6)
    assert model(x).shape == (5, 10)


def test_fast_cnn_refuses_a_crop_larger_than_the_image():
    from cnnlab.errors import UsageError

    with pytest.raises(UsageError, match="crop"):
        get_model("fast-cnn", 1, 10, (8, 8), crop=4)
    assert np.isfinite(count_params(get_model("fast-cnn", 1, 10, (20, 20), crop=0)))


CPUINFO = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f {extra}\nbogomips\t: 4000\n"


@pytest.mark.parametrize("extra, native", [("amx_bf16 amx_tile", True), ("avx512_bf16", True),
                                           ("avx512_vnni", False), ("", False)])
def test_native_bf16_is_read_from_the_cpu_flags(extra, native):
    assert cpu_native_bf16(CPUINFO.format(extra=extra)) is native
    assert cpu_native_bf16("") is False


def test_amp_on_the_cpu_is_bfloat16_only_where_native():
    cpu = torch.device("cpu")
    assert amp_dtype(False, cpu) == (None, "float32")
    dtype, said = amp_dtype(True, cpu)
    if cpu_native_bf16():
        assert dtype == torch.bfloat16 and "bfloat16 autocast" in said
    else:
        assert dtype is None and "no native bfloat16" in said


def test_amp_on_the_cpu_trains_in_bfloat16_where_native_else_in_float32(digits, tmp_path):
    base = dict(data="digits", model="conv 3x3 16 p1; bn; relu; maxpool 2; fc 10", epochs=3,
                batch_size=32, seed=2, lr=0.01, threads=1, device="cpu")
    lines = []
    plain = fit(TrainConfig(**base, out=str(tmp_path / "fp32")), digits)
    mixed = fit(TrainConfig(**base, amp=True, out=str(tmp_path / "amp")), digits, log=lines.append)
    same = all(torch.equal(v, mixed.model.state_dict()[k]) for k, v in plain.model.state_dict().items())
    if cpu_native_bf16():  # really computed in bfloat16: other weights, about as good a model
        assert any("bfloat16 autocast" in line for line in lines)
        assert not same
        assert plain.summary["test_accuracy"] > 0.85
        assert abs(mixed.summary["test_accuracy"] - plain.summary["test_accuracy"]) < 0.05
        assert all(v.dtype == torch.float32 for v in mixed.model.state_dict().values()
                   if v.is_floating_point())  # the weights stay float32
    else:  # emulated bfloat16 would be slower: the run says so and trains in float32
        assert any("no native bfloat16" in line for line in lines)
        assert same


@needs_cuda
@pytest.mark.parametrize("amp", [False, True])
def test_a_cuda_run_scores_as_its_checkpoint_does_on_the_cpu(digits, tmp_path, amp):
    from cnnlab.train import evaluate_run

    config = TrainConfig(data="digits", model="conv 3x3 16 p1; bn; relu; maxpool 2; fc 10", epochs=3,
                         batch_size=32, lr=0.01, device="cuda", amp=amp, out=str(tmp_path / "r"))
    result = fit(config, digits)
    s = result.summary
    assert s["device"].startswith("cuda") and s["test_accuracy"] > 0.8
    on_cpu = evaluate_run(tmp_path / "r", device="cpu", dataset=digits)
    on_gpu = evaluate_run(tmp_path / "r", device="cuda", dataset=digits)
    n = s["n_test"]
    # float32 on the CPU vs (mixed precision) on the GPU: at most a few borderline images differ
    assert abs(on_cpu["accuracy"] - s["test_accuracy"]) <= 3 / n
    assert abs(on_gpu["accuracy"] - on_cpu["accuracy"]) <= 3 / n


@needs_cuda
def test_cuda_and_cpu_train_the_same_network(digits, tmp_path):
    runs = {dev: fit(TrainConfig(data="digits", model="cnn3", epochs=2, batch_size=32, seed=3, lr=0.003,
                                 device=dev, threads=1, out=str(tmp_path / dev)), digits)
            for dev in ("cpu", "cuda")}
    a, b = (runs[d].history for d in ("cpu", "cuda"))
    # the same arithmetic on other hardware (cuDNN may use TF32) from the same initial
    # weights: the first epoch's mean loss agrees closely; later the paths drift apart
    assert a[0]["train_loss"] == pytest.approx(b[0]["train_loss"], rel=2e-2)
    assert abs(runs["cpu"].summary["test_accuracy"] - runs["cuda"].summary["test_accuracy"]) < 0.06
    # a GPU run's checkpoint is plain CPU tensors: it loads where there is no GPU
    best = torch.load(tmp_path / "cuda" / "best.pt", weights_only=True)
    assert all(v.device.type == "cpu" for v in best.values())


def test_the_cnnlab_command_ends_train_without_teardown_and_loses_nothing(tmp_path):
    """``python -m cnnlab train`` ends with os._exit once the run is written: the exit
    status, the JSON line (even into a pipe) and every file of the run are all there."""
    import json
    import subprocess
    import sys

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "cnnlab", "train", "--data", "digits", "--model", "logreg",
           "--epochs", "1", "--json", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary == json.loads((out / "summary.json").read_text())
    for name in ("config.yaml", "metrics.csv", "best.pt", "last.pt", "best.safetensors",
                 "learning_curves.png", "confusion_matrix.png"):
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob("*.tmp"))
    again = subprocess.run(cmd[:-1] + [str(tmp_path / "other")] + ["--epochs", "0"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and again.stderr.startswith("error: ")  # statuses pass through
    assert not (tmp_path / "other").exists()
