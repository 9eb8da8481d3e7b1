"""explain reads only the split it explains: its numbers equal those of the whole-dataset load."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab.data as data
import cnnlab.explain.context as explain_context_module
from cnnlab.data.idx import write_idx

IDX_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture(scope="module")
def idx_run(tmp_path_factory):
    """A cnn3 run, one epoch, on the 8x8 digits written as an MNIST-style IDX folder
    (1,400 training and 397 test images), so that the test split has files of its own."""
    from sklearn.datasets import load_digits

    from cnnlab.data import load_dataset
    from cnnlab.train import TrainConfig, fit

    bunch = load_digits()
    images = np.minimum(bunch.images * 16, 255).astype(np.uint8)  # (1797, 8, 8)
    labels = bunch.target.astype(np.uint8)
    root = tmp_path_factory.mktemp("explain_split")
    folder = root / "idx"
    folder.mkdir()
    for name, array in zip(IDX_NAMES, [images[:1400], labels[:1400], images[1400:], labels[1400:]]):
        write_idx(folder / name, array)
    ds = load_dataset(str(folder))
    run = fit(TrainConfig(data=str(folder), model="cnn3", epochs=1, lr=3e-3, out=str(root / "run")), ds)
    return run.run_dir, folder


def _explain(run_dir, out):
    from cnnlab.explain.run import ExplainConfig, explain_run

    return explain_run(run_dir, ExplainConfig(what=["gradcam", "shift"], out=str(out), count=6,
                                              index=5, max_shift=2))


def test_shift_curves_and_grad_cam_equal_those_of_the_whole_load(idx_run, tmp_path, monkeypatch):
    run_dir, folder = idx_run
    from cnnlab.train.loop import load_config_dataset

    with monkeypatch.context() as patch:  # the old path: all of the dataset, then the split
        patch.setattr(explain_context_module, "_load_split",
                      lambda config, split: load_config_dataset(config).split(split))
        old = _explain(run_dir, tmp_path / "old")
    (folder / IDX_NAMES[0]).write_bytes(b"not read")  # the new path never opens the training files
    monkeypatch.setattr(data, "_load", lambda *a, **k: pytest.fail("the whole dataset was loaded"))
    new = _explain(run_dir, tmp_path / "new")
    assert new["shift"]["of"] == old["shift"]["of"] == new["shift"]["n"] == 397
    assert new["shift"]["shifts"] == old["shift"]["shifts"] == [-2, -1, 0, 1, 2]
    assert new["shift"]["accuracy"] == old["shift"]["accuracy"] > 0.2  # unshifted; 10 classes
    for axis in ("horizontal", "vertical"):
        assert new["shift"][axis] == old["shift"][axis]  # accuracy and consistency per shift
    assert new["gradcam"]["images"] == old["gradcam"]["images"]  # predictions, probabilities, CAM peaks
    assert [r["image"] for r in new["gradcam"]["images"]] == [f"#{i}" for i in range(5, 11)]
