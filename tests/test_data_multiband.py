"""Multi-band images: TIFF band stacks in every layout and dtype, .npy, per-band statistics."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tifffile
import torch

from cnnlab.data import load_dataset
from cnnlab.data.images import probe, read_raw, tiff_layout
from cnnlab.errors import UsageError

DTYPES = (np.uint8, np.uint16, np.float32)


def _bands(seed: int, C: int = 12, H: int = 6, W: int = 5, dtype=np.uint16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 250, (C, H, W)) if np.dtype(dtype).kind in "ui" else rng.normal(0, 3, (C, H, W))
    return x.astype(dtype)  # (C, H, W)


def _write(path, bands: np.ndarray, layout: str) -> None:
    """bands: (C, H, W) written as an interleaved, planar, shaped-pages or separate-pages TIFF."""
    if layout == "interleaved":
        tifffile.imwrite(path, bands.transpose(1, 2, 0), planarconfig="contig", photometric="minisblack")
    elif layout == "planar":
        tifffile.imwrite(path, bands, planarconfig="separate", photometric="minisblack")
    elif layout == "pages":  # one shaped series of C pages
        tifffile.imwrite(path, bands, photometric="minisblack", metadata={"axes": "QYX"})
    else:  # one page per band, each its own series (as GDAL and many tools write them)
        with tifffile.TiffWriter(path) as tif:
            for band in bands:
                tif.write(band, photometric="minisblack", metadata=None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["interleaved", "planar", "pages", "separate"])
def test_each_layout_reads_as_bands_first(tmp_path, layout, dtype):
    bands = _bands(0, dtype=dtype)
    path = tmp_path / "tile.tif"
    _write(path, bands, layout)
    found = probe(path)
    assert found.kind == "array" and found.shape == (12, 6, 5)
    x = read_raw(found, 12, np.dtype(dtype))
    assert x.dtype == dtype and np.array_equal(x, bands)


def test_tiff_layout_names_what_it_cannot_read():
    assert tiff_layout([(4, 5, 3)], ["YXS"]) == ((3, 4, 5), "YXS")
    assert tiff_layout([(3, 4, 5)], ["IYX"]) == ((3, 4, 5), "pages")
    from cnnlab.data.images import CorruptFile

    with pytest.raises(CorruptFile, match="one page per band"):
        tiff_layout([(4, 5), (4, 6)], ["YX", "YX"])
    with pytest.raises(CorruptFile, match="axes TYXS"):
        tiff_layout([(2, 4, 5, 3)], ["TYXS"])


def test_an_8bit_rgb_tiff_is_still_a_picture(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "rgb.tif", rgb, photometric="rgb")
    found = probe(tmp_path / "rgb.tif")
    assert found.kind == "image" and found.shape == (3, 6, 5)
    assert np.array_equal(read_raw(found, 3, np.dtype(np.uint8)), rgb.transpose(2, 0, 1))


def _tile_folder(root, layouts=("planar", "interleaved", "separate"), per_class=6, C=12, dtype=np.uint16):
    """Two classes of C-band tiles, the layouts mixed inside each class; returns {path: bands}."""
    written = {}
    for k, name in enumerate(("field", "forest")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            bands = _bands(100 * k + i, C=C, dtype=dtype) + np.asarray(40 * k, dtype)  # classes differ
            path = root / name / f"{i}.tif"
            _write(path, bands, layouts[i % len(layouts)])
            written[path] = bands
    return written


def test_a_folder_of_mixed_layouts_loads_as_stored_with_per_band_scaling(tmp_path):
    written = _tile_folder(tmp_path / "tiles")
    ds = load_dataset(str(tmp_path / "tiles"), val_fraction=0.2, test_fraction=0.2, stored=True)
    assert ds.image_shape == (12, 6, 5) and ds.x_train.raw.dtype == np.uint16  # held as stored
    everything = np.stack(list(written.values())).astype(np.float32)  # (12, 12, 6, 5)
    train_raw = ds.x_train.raw.astype(np.float32)
    low, high = train_raw.min(axis=(0, 2, 3)), train_raw.max(axis=(0, 2, 3))
    np.testing.assert_array_equal(ds.band_min, low)
    np.testing.assert_array_equal(ds.band_max, high)
    # every stored tile is one of the files, bands first, whatever its layout
    for tile in ds.x_train.raw:
        assert any(np.array_equal(tile, ref) for ref in everything)
    scaled = np.clip((train_raw - low[:, None, None]) / (high - low)[:, None, None], 0, 1)
    np.testing.assert_allclose(np.asarray(ds.x_train), scaled, rtol=1e-6)
    # --normalize data: the mean and std of each band over the training split
    np.testing.assert_allclose(ds.mean, scaled.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(ds.std, scaled.std(axis=(0, 2, 3)), rtol=1e-4)
    floats = load_dataset(str(tmp_path / "tiles"), val_fraction=0.2, test_fraction=0.2)
    np.testing.assert_array_equal(floats.x_test, np.asarray(ds.x_test))


def test_a_different_band_count_is_an_error_naming_the_file(tmp_path):
    _tile_folder(tmp_path / "tiles")
    odd = tmp_path / "tiles" / "forest" / "odd.tif"
    _write(odd, _bands(9, C=4), "planar")
    with pytest.raises(UsageError, match=r"differ in band count: .* but .*odd\.tif is 4x6x5"):
        load_dataset(str(tmp_path / "tiles"))


def test_npy_and_tiff_band_stacks_mix(tmp_path):
    written = _tile_folder(tmp_path / "tiles", per_class=4)
    first = next(iter(written))
    np.save(first.with_suffix(".npy"), written[first])
    first.unlink()
    ds = load_dataset(str(tmp_path / "tiles"), val_fraction=0.25, test_fraction=0.25, stored=True)
    assert ds.image_shape == (12, 6, 5) and len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 8


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cnnlab", *args], capture_output=True, text=True, cwd=cwd,
                          env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1]),
                               "PATH": "/usr/bin:/bin", "HOME": str(cwd)})


def test_imagenet_statistics_on_12_bands_are_refused_and_data_trains(tmp_path):
    _tile_folder(tmp_path / "tiles", per_class=5)
    refused = _cli("train", "--data", "tiles", "--model", "cnn3", "--normalize", "imagenet",
                   "--out", "r1", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith("error: --normalize imagenet needs RGB images (3 bands)")
    assert "12 bands" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "r1").exists()
    done = _cli("train", "--data", "tiles", "--model", "conv 3x3 4 p1; relu; gap; fc 2", "--epochs", "1",
                "--val-fraction", "0.2", "--out", "r2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    import json

    meta = json.loads((tmp_path / "r2" / "model.json").read_text())
    assert meta["in_channels"] == 12 and len(meta["mean"]) == 12


def test_pretrained_rgb_stem_adapts_to_12_bands():
    """The documented rule: RGB filters repeated over the bands, each copy divided by its
    number of copies, so a uniform image excites the stem as through the RGB filters."""
    from cnnlab.models.pretrained import adapt_conv_channels

    w = torch.randn(8, 3, 3, 3, generator=torch.Generator().manual_seed(0))
    w12 = adapt_conv_channels(w, 12)
    assert w12.shape == (8, 12, 3, 3)
    torch.testing.assert_close(w12[:, 0], w[:, 0] / 4)
    torch.testing.assert_close(w12[:, 4], w[:, 1] / 4)
    flat = torch.full((1, 12, 5, 5), 0.7)
    torch.testing.assert_close(torch.nn.functional.conv2d(flat, w12),
                               torch.nn.functional.conv2d(flat[:, :3], w))
