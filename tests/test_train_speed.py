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
    result = fit(TrainConfig(data="digits", model="cnn3", epochs=1, threads=1,
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


def test_a_seeded_conv_run_is_reproducible_and_resumes_bit_identically(digits, tmp_path):
    base = dict(data="digits", model="cnn3", epochs=3, batch_size=32, seed=5, lr=0.01,
                schedule="onecycle", augment=["shift:1", "jitter:0.3", "erase:0.5"], threads=1)
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
    a = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "broken" / "last.pt", weights_only=True)
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
