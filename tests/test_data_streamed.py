"""A folder larger than the memory budget is read from disk per batch, with the same values."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
import torch

import cnnlab.data.folder as folder
from cnnlab.data import load_dataset
from cnnlab.data.streamed import FileArray
from cnnlab.train.batches import DeviceImages, StreamedImages


def _pngs(root, n=12, size=(10, 8)):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(root / name / f"{i}.png")


def _tiles(root, n=10):
    rng = np.random.default_rng(1)
    for k, name in enumerate(("a", "b")):
        (root / name).mkdir(parents=True)
        for i in range(n):
            bands = (rng.integers(0, 3000, (5, 6, 7)) + 500 * k).astype(np.uint16)
            tifffile.imwrite(root / name / f"{i}.tif", bands, planarconfig="separate", photometric="minisblack")


@pytest.mark.parametrize("make, resize", [(_pngs, None), (_pngs, (12, 9)), (_tiles, None)])
def test_streamed_folder_reads_as_the_held_one(tmp_path, monkeypatch, make, resize):
    make(tmp_path / "data")
    kw = dict(stored=True, resize=resize, val_fraction=0.25, test_fraction=0.25)
    held = load_dataset(str(tmp_path / "data"), **kw)
    monkeypatch.setattr(folder, "MAX_DATASET_BYTES", 100)  # every folder is "larger than memory"
    streamed = load_dataset(str(tmp_path / "data"), **kw)
    assert isinstance(streamed.x_train.raw, FileArray) and isinstance(held.x_train.raw, np.ndarray)
    assert any("read from disk per batch" in note for note in streamed.notes)
    np.testing.assert_array_equal(streamed.mean, held.mean)
    np.testing.assert_array_equal(streamed.std, held.std)
    if held.band_min is not None:
        np.testing.assert_array_equal(streamed.band_min, held.band_min)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(np.asarray(getattr(streamed, f"x_{split}")),
                                      np.asarray(getattr(held, f"x_{split}")))
    # batches through two worker processes equal the in-memory batches, in the order asked
    images = StreamedImages(streamed.x_train, streamed.mean, streamed.std, torch.device("cpu"), workers=2)
    reference = DeviceImages(held.x_train, held.mean, held.std, torch.device("cpu"))
    idx = torch.tensor([5, 0, 3, 3, len(images) - 1])
    assert torch.equal(images[idx], reference[idx])
    assert torch.equal(images.subset(idx[:2])[0:2], reference[idx[:2]])


def test_training_on_a_streamed_folder_equals_training_in_memory(tmp_path, monkeypatch):
    from cnnlab.train import TrainConfig, fit

    _pngs(tmp_path / "data", n=16)
    base = dict(data=str(tmp_path / "data"), model="conv 3x3 4 p1; relu; gap; fc 2", epochs=2, batch_size=8,
                optimizer="sgd", lr=0.05, val_fraction=0.25, augment="shift:1")
    held = fit(TrainConfig(**base, out=str(tmp_path / "held")))
    monkeypatch.setattr(folder, "MAX_DATASET_BYTES", 100)
    lines = []
    streamed = fit(TrainConfig(**base, out=str(tmp_path / "streamed")), log=lines.append)
    assert any("read from disk per batch" in line for line in lines)
    for a, b in zip(streamed.model.state_dict().values(), held.model.state_dict().values()):
        assert torch.equal(a, b)
    assert streamed.summary["test_accuracy"] == held.summary["test_accuracy"]


def test_mixed_sizes_over_the_budget_are_still_refused(tmp_path, monkeypatch):
    from PIL import Image

    from cnnlab.errors import UsageError

    for name, size in (("a", (8, 8)), ("b", (9, 9))):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.fromarray(np.zeros(size, np.uint8)).save(tmp_path / name / f"{i}.png")
    monkeypatch.setattr(folder, "MAX_DATASET_BYTES", 100)
    with pytest.raises(UsageError, match="as float32, over the"):
        load_dataset(str(tmp_path), resize=(8, 8))


def test_a_corrupt_file_in_a_streamed_folder_is_named(tmp_path, monkeypatch):
    from cnnlab.errors import UsageError

    _pngs(tmp_path / "data", n=4)
    broken = tmp_path / "data" / "a" / "1.png"
    broken.write_bytes(broken.read_bytes()[:60])  # the header survives, the pixels do not
    monkeypatch.setattr(folder, "MAX_DATASET_BYTES", 100)
    with pytest.raises(UsageError, match=r"corrupt file .*1\.png.*cannot skip it"):
        load_dataset(str(tmp_path / "data"), val_fraction=0.25, test_fraction=0.25)


class _LoggedFiles:
    """A FileArray whose reads append ``pid index`` lines to a log (workers are processes)."""

    def __init__(self, files: FileArray, log):
        self.files, self.log = files, log
        self.shape, self.dtype = files.shape, files.dtype

    def __len__(self) -> int:
        return len(self.files)

    def read_one(self, i: int):
        with open(self.log, "a") as handle:
            handle.write(f"{__import__('os').getpid()} {int(i)}\n")
        return self.files.read_one(i)


def _read(log) -> list[tuple[int, int]]:
    return [tuple(map(int, line.split())) for line in log.read_text().splitlines()] if log.exists() else []


def test_planned_batches_are_read_ahead_by_the_workers(tmp_path, monkeypatch):
    """After the first planned batch is taken, the workers read the next ones before the
    trainer asks for them (prefetch); the batches are still those a direct read gives."""
    import os
    import time

    from cnnlab.train.batches import STREAM_PREFETCH

    _pngs(tmp_path / "data", n=12)
    monkeypatch.setattr(folder, "MAX_DATASET_BYTES", 100)
    ds = load_dataset(str(tmp_path / "data"), stored=True, val_fraction=0.25, test_fraction=0.25)
    log = tmp_path / "reads.log"
    stored = ds.x_train
    images = StreamedImages(stored, ds.mean, ds.std, torch.device("cpu"), workers=2)
    images.files = _LoggedFiles(stored.raw, log)  # before the loader starts its workers
    images._open_loader(2)
    batches = [torch.tensor([5, 0, 3]), torch.tensor([1, 2]), torch.tensor([7, 4]), torch.tensor([6, 8])]
    images.plan(batches)
    first = images[batches[0]]
    deadline = time.monotonic() + 30
    wanted = {1, 2, 7, 4}  # the next two batches: within each worker's prefetch
    while not wanted <= {i for _, i in _read(log)} and time.monotonic() < deadline:
        time.sleep(0.05)
    reads = _read(log)
    assert wanted <= {i for _, i in reads}, reads  # read before they were asked for
    assert all(pid != os.getpid() for pid, _ in reads)  # by the worker processes
    assert STREAM_PREFETCH >= 1
    rest = [images[b] for b in batches[1:]]
    direct = [images.files.files[b.numpy()] for b in batches]  # decoded here, in order
    for got, raw in zip([first, *rest], direct):
        expected = (torch.as_tensor(raw, dtype=torch.float32) / 255 - torch.as_tensor(ds.mean).view(1, -1, 1, 1)) \
            / torch.as_tensor(ds.std).view(1, -1, 1, 1)
        torch.testing.assert_close(got, expected)
    assert sorted(i for _, i in _read(log)) == sorted(int(i) for b in batches for i in b)  # each read once
