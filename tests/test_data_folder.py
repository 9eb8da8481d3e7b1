"""Image folders (PNG/JPEG, gray/RGB/16-bit), .npy bands and CSV files, with the bad-input
paths: corrupt files, mixed sizes/bands/kinds, one class, missing CSV paths."""

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import load_dataset
from cnnlab.data.images import array_layout
from cnnlab.errors import UsageError


def _gray(path, value, size=(6, 5)):
    """A constant grayscale PNG of ``size`` (H, W) whose pixels are all ``value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full(size, value, np.uint8), mode="L").save(path)


def _folder(root, per_class=6, classes=("off", "on")):
    """Class k, image i has the constant value 10 * (k * per_class + i) + 5."""
    for k, name in enumerate(classes):
        for i in range(per_class):
            _gray(root / name / f"{i:02d}.png", 10 * (k * per_class + i) + 5)
    return root


def _all(ds):
    x = np.concatenate([ds.x_train, ds.x_val, ds.x_test])
    y = np.concatenate([ds.y_train, ds.y_val, ds.y_test])
    return x, y


def test_gray_png_folder_values_labels_and_stats(tmp_path):
    ds = load_dataset(str(_folder(tmp_path / "d")), val_fraction=1 / 6, test_fraction=1 / 6)
    assert ds.classes == ["off", "on"] and ds.image_shape == (1, 6, 5)
    assert [len(ds.y_train), len(ds.y_val), len(ds.y_test)] == [8, 2, 2]
    x, y = _all(ds)
    values = np.round(x[:, 0, 0, 0] * 255).astype(int)
    for v, label in zip(values, y):  # every pixel is the file's value / 255, label from the folder
        assert (v - 5) // 10 // 6 == label
        np.testing.assert_allclose(x[y == label][0], x[y == label][0][0, 0, 0])
    assert sorted(values.tolist()) == [10 * i + 5 for i in range(12)]
    np.testing.assert_allclose(ds.mean, [ds.x_train.astype(np.float64).mean()], rtol=1e-6)
    np.testing.assert_allclose(ds.std, [ds.x_train.astype(np.float64).std()], rtol=1e-5)
    assert ds.skipped == 0 and ds.source == str(tmp_path / "d")


def test_jpeg_rgb_with_gray_png_converts_gray_to_rgb(tmp_path):
    root = tmp_path / "d"
    for i in range(3):
        (root / "a").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), (200, 100, 0), np.uint8)).save(root / "a" / f"{i}.jpg", quality=100)
        _gray(root / "b" / f"{i}.png", 77, size=(8, 8))
    ds = load_dataset(str(root), val_fraction=0.0, test_fraction=1 / 3)
    x, y = _all(ds)
    assert ds.image_shape == (3, 8, 8) and any("grayscale images were converted to RGB" in n for n in ds.notes)
    gray = x[y == 1]
    np.testing.assert_allclose(gray, 77 / 255, atol=1e-6)  # repeated to all three channels
    colour = x[y == 0].mean(axis=(0, 2, 3)) * 255
    np.testing.assert_allclose(colour, [200, 100, 0], atol=3)  # JPEG is lossy


def test_rgba_and_16bit_png(tmp_path):
    root = tmp_path / "d"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir(parents=True)
    for i in range(2):
        Image.fromarray(np.full((4, 4, 4), (10, 20, 30, 0), np.uint8), mode="RGBA").save(root / "a" / f"{i}.png")
        Image.fromarray(np.full((4, 4), 200, np.uint8)).convert("P").save(root / "b" / f"{i}.png")
    x, y = _all(load_dataset(str(root), val_fraction=0.0, test_fraction=0.5))
    np.testing.assert_allclose(x[y == 0][:, :, 0, 0] * 255, [[10, 20, 30]] * 2, atol=1e-4)  # alpha dropped
    root16 = tmp_path / "d16"
    for k in range(2):
        (root16 / str(k)).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((4, 4), 1000 * (k + 1) + i, np.uint16)).save(root16 / str(k) / f"{i}.png")
    ds = load_dataset(str(root16), val_fraction=0.0, test_fraction=0.5)
    x, y = _all(ds)
    assert ds.image_shape == (1, 4, 4)
    np.testing.assert_allclose(np.sort(x[:, 0, 0, 0]) * 65535, [1000, 1001, 2000, 2001], atol=1e-2)


def test_npy_bands_channel_first_hwc_and_train_range(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "tiles"
    raws = []
    for k, name in enumerate(["off", "on"]):
        (root / name).mkdir(parents=True)
        for i in range(5):
            raw = rng.normal(100 * k, 10, (4, 20, 20)).astype(np.float32) * [[[1]], [[2]], [[3]], [[4]]]
            raws.append(raw)
            stored = raw.transpose(1, 2, 0) if i % 2 else raw  # half stored as (H, W, C)
            np.save(root / name / f"{i}.npy", stored)
    ds = load_dataset(str(root), val_fraction=0.2, test_fraction=0.2)
    assert ds.image_shape == (4, 20, 20) and ds.band_min is not None
    np.testing.assert_allclose(ds.x_train.min(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(ds.x_train.max(axis=(0, 2, 3)), 1, atol=1e-6)
    for x in (ds.x_val, ds.x_test):
        assert x.min() >= 0 and x.max() <= 1
    # undo the scaling: each training tile is one of the files, bands in the right order,
    # and the range is that of exactly those training files
    span = (ds.band_max - ds.band_min)[:, None, None]
    by_sum = {round(float(r.sum())): r for r in raws}
    train_raws = [by_sum[round(float((t * span + ds.band_min[:, None, None]).sum()))] for t in ds.x_train]
    np.testing.assert_allclose(ds.band_min, np.min([r.min(axis=(1, 2)) for r in train_raws], axis=0), rtol=1e-6)
    np.testing.assert_allclose(ds.band_max, np.max([r.max(axis=(1, 2)) for r in train_raws], axis=0), rtol=1e-6)
    for tile, raw in zip(ds.x_train, train_raws):
        np.testing.assert_allclose(tile * span + ds.band_min[:, None, None], raw, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ds.mean, ds.x_train.mean(axis=(0, 2, 3)), rtol=1e-5)


def test_array_layout_rule():
    assert array_layout((3, 64, 64)) == ((3, 64, 64), False)
    assert array_layout((64, 64, 13)) == ((13, 64, 64), True)
    assert array_layout((16, 64, 3)) == ((16, 64, 3), False)  # first axis <= 16: channel-first
    assert array_layout((5, 5)) == ((1, 5, 5), False)


def test_csv_with_header_relative_paths_numeric_labels(tmp_path):
    for i in range(9):
        _gray(tmp_path / "img" / f"{i}.png", i * 20)
    rows = ["path,label"] + [f"img/{i}.png,{[2, 10, 2][i % 3]}" for i in range(9)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n\n")
    ds = load_dataset(str(tmp_path / "data.csv"), val_fraction=0.0, test_fraction=1 / 3)
    assert ds.classes == ["2", "10"]  # numeric order, not "10" < "2"
    x, y = _all(ds)
    for value, label in zip(np.round(x[:, 0, 0, 0] * 255 / 20).astype(int), y):
        assert ds.classes[label] == str([2, 10, 2][value % 3])


@pytest.mark.parametrize("text, message", [
    ("img/0.png,a\nimg/1.png\n", r"data.csv:2: expected 2 columns path,label, got 1"),
    ("img/0.png,a\nimg/nope.png,b\nimg/gone.png,b\n", r"2 of 3 paths in .*data.csv do not exist, e.g. line 2: img/nope.png"),
    ("path,label\n", r"has no path,label rows"),
    ("img/0.png,a\nimg/1.png,a\n", r"only one class \(a\); a classifier needs at least two labels"),
    ("img/0.png,\n", r"data.csv:1: empty path or label"),
])
def test_bad_csv(tmp_path, text, message):
    _gray(tmp_path / "img" / "0.png", 1)
    _gray(tmp_path / "img" / "1.png", 2)
    (tmp_path / "data.csv").write_text(text)
    with pytest.raises(UsageError, match=message):
        load_dataset(str(tmp_path / "data.csv"))


def test_csv_not_text(tmp_path):
    (tmp_path / "data.csv").write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        load_dataset(str(tmp_path / "data.csv"))


def test_corrupt_images_skipped_and_counted_or_refused_when_strict(tmp_path):
    root = _folder(tmp_path / "d")
    good = (root / "on" / "00.png").read_bytes()
    (root / "on" / "bad-header.png").write_bytes(b"not an image at all")
    (root / "off" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "off" / "notes.txt").write_text("ignored: not an image suffix")
    ds = load_dataset(str(root))
    assert ds.skipped == 2 and len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 12
    assert any("skipped 2 unreadable files" in n for n in ds.notes)
    with pytest.raises(UsageError, match=r"corrupt file .*(bad-header|truncated)\.png"):
        load_dataset(str(root), strict=True)


def test_mixed_sizes_refused_naming_files_or_resized(tmp_path):
    root = _folder(tmp_path / "d")
    _gray(root / "on" / "big.png", 9, size=(12, 10))
    with pytest.raises(UsageError, match=r"differ in size: .*\.png is 1x6x5 but .*big\.png is 1x12x10.*--resize 6x5"):
        load_dataset(str(root))
    ds = load_dataset(str(root), resize=(6, 5))
    x, _ = _all(ds)
    assert ds.image_shape == (1, 6, 5) and len(x) == 13
    assert np.isclose(x * 255, 9, atol=1e-3).all(axis=(1, 2, 3)).sum() == 1  # constant stays constant


def test_mixed_band_counts_and_kinds_refused(tmp_path):
    root = tmp_path / "d"
    for k in range(2):
        (root / str(k)).mkdir(parents=True)
        for i in range(3):
            np.save(root / str(k) / f"{i}.npy", np.zeros((4, 8, 8)))
    np.save(root / "1" / "odd.npy", np.zeros((3, 8, 8)))
    with pytest.raises(UsageError, match=r"band count: .*\.npy is 4x8x8 but .*odd\.npy is 3x8x8"):
        load_dataset(str(root))
    (root / "1" / "odd.npy").unlink()
    _gray(root / "1" / "pic.png", 3, size=(8, 8))
    with pytest.raises(UsageError, match=r"mixes images .*pic\.png.* and \.npy arrays"):
        load_dataset(str(root))


def test_nan_npy_is_corrupt(tmp_path):
    root = tmp_path / "d"
    for k in range(2):
        (root / str(k)).mkdir(parents=True)
        for i in range(3):
            np.save(root / str(k) / f"{i}.npy", np.ones((2, 8, 8)) * (i + k))
    np.save(root / "0" / "nan.npy", np.full((2, 8, 8), np.nan))
    assert load_dataset(str(root)).skipped == 1
    with pytest.raises(UsageError, match="nan.npy: array holds NaN"):
        load_dataset(str(root), strict=True)


def test_folder_structure_errors(tmp_path):
    with pytest.raises(UsageError, match="only one class \\(off\\)"):
        load_dataset(str(_folder(tmp_path / "one", classes=("off",))))
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(UsageError, match="no images found: no .png/.jpg/.npy files"):
        load_dataset(str(tmp_path / "empty"))
    _gray(tmp_path / "loose" / "1.png", 1)
    with pytest.raises(UsageError, match="sit directly in .*one sub-folder per class"):
        load_dataset(str(tmp_path / "loose"))
    with pytest.raises(UsageError, match="neither a dataset name"):
        load_dataset(str(tmp_path / "missing"))


def test_hidden_files_ignored_and_oversized_refused(tmp_path):
    root = _folder(tmp_path / "d")
    _gray(root / "on" / ".cache" / "x.png", 1, size=(3, 3))  # would be a size mismatch if read
    _gray(root / ".trash" / "y.png", 1, size=(3, 3))
    ds = load_dataset(str(root))
    assert ds.classes == ["off", "on"] and ds.image_shape == (1, 6, 5)
    _gray(root / "on" / "wide.png", 0, size=(1, 4097))
    with pytest.raises(UsageError, match=r"wide\.png is 1x4097 pixels, over the limit of 4096"):
        load_dataset(str(root))
