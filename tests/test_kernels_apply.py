"""Filtering photos: scipy path equals cnnlab.ops.conv2d, gradient magnitude equals scikit-image."""

import numpy as np
import pytest

from cnnlab.errors import UsageError
from cnnlab.kernels.apply import SCIPY_MODES, apply_kernels, filter_image, load_image
from cnnlab.kernels.named import get_kernel
from cnnlab.ops import conv2d


@pytest.mark.parametrize("mode", list(SCIPY_MODES))
@pytest.mark.parametrize("shape", [(3, 3), (5, 5), (2, 2), (4, 3), (1, 4)])
def test_filter_image_equals_ops_conv2d_on_a_crop(mode, shape):
    image, _ = load_image("camera")
    crop = image[200:240, 220:270]  # (40, 50) from a real photo
    k = np.random.default_rng(sum(shape)).normal(size=shape)
    np.testing.assert_allclose(filter_image(crop, k, mode),
                               conv2d(crop, k, padding="same", padding_mode=mode), atol=1e-12)


def test_colour_image_is_filtered_per_channel():
    image, label = load_image("coffee")
    assert image.shape == (400, 600, 3) and label == "skimage.data.coffee()"
    crop = image[100:130, 200:240]
    out = filter_image(crop, get_kernel("box:3"), "replicate")
    for c in range(3):
        np.testing.assert_allclose(out[..., c], conv2d(crop[..., c], get_kernel("box:3"), padding="same",
                                                       padding_mode="replicate"), atol=1e-12)
    gray, _ = load_image("coffee", gray=True)
    assert gray.shape == (400, 600)


def test_gradient_magnitude_matches_skimage_sobel_on_camera():
    # skimage.filters.sobel: kernels [1,2,1]/4 (x) [1,0,-1], mode='reflect' (scipy) = our 'symmetric',
    # magnitude sqrt((gx^2 + gy^2) / 2). So ours / (4 * sqrt(2)) must equal it.
    from skimage import filters

    image, _ = load_image("camera")
    r = apply_kernels(image, [get_kernel("sobel_x"), get_kernel("sobel_y")], ["sobel_x", "sobel_y"], "symmetric")
    np.testing.assert_allclose(r.magnitude / (4 * np.sqrt(2)), filters.sobel(image), atol=1e-12)
    np.testing.assert_allclose(r.outputs[0] / 4, filters.sobel_v(image), atol=1e-12)
    np.testing.assert_allclose(r.outputs[1] / 4, filters.sobel_h(image), atol=1e-12)
    # orientation: atan2(gy, gx); a bright right half gives 0 degrees
    step = np.zeros((9, 9)); step[:, 5:] = 1
    r2 = apply_kernels(step, [get_kernel("sobel_x"), get_kernel("sobel_y")], ["x", "y"], "replicate")
    assert r2.orientation[4, 4] == 0 and r2.magnitude[4, 4] == 4


def test_separable_gaussian_blur_matches_skimage_gaussian():
    from skimage import filters

    image, _ = load_image("camera")
    ours = filter_image(image, get_kernel("gaussian:9:1.5"), "symmetric")
    ref = filters.gaussian(image, sigma=1.5, mode="reflect", truncate=4 / 1.5, preserve_range=True)
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_image_errors(tmp_path):
    with pytest.raises(UsageError, match="samples: astronaut"):
        load_image("no_such_picture.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(UsageError, match="cannot read"):
        load_image(str(bad))
    # a PNG whose header says 5000 x 10: refused from the header, before decoding
    from PIL import Image
    big = tmp_path / "wide.png"
    Image.new("L", (5000, 10)).save(big)
    with pytest.raises(UsageError, match="4096"):
        load_image(str(big))
    with pytest.raises(UsageError, match="larger than the image"):
        filter_image(np.zeros((4, 4)), np.ones((5, 5)))
    with pytest.raises(UsageError, match="padding mode"):
        filter_image(np.zeros((4, 4)), np.ones((3, 3)), "mirror")


def test_png_and_jpeg_files_round_trip(tmp_path):
    from PIL import Image
    arr = (np.arange(48 * 64).reshape(48, 64) % 256).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "g.png")
    Image.fromarray(np.stack([arr] * 3, -1)).save(tmp_path / "c.jpg")
    g, label = load_image(str(tmp_path / "g.png"))
    assert label == "g.png" and g.shape == (48, 64)
    np.testing.assert_allclose(g, arr / 255.0)
    c, _ = load_image(str(tmp_path / "c.jpg"))
    assert c.shape == (48, 64, 3) and 0 <= c.min() and c.max() <= 1


@pytest.mark.parametrize("mode", list(SCIPY_MODES))
@pytest.mark.parametrize("name", ["gaussian:7:1.5", "box:6"])
def test_big_separable_kernels_take_two_passes_with_the_same_result(mode, name):
    x = np.random.default_rng(3).random((30, 33))
    k = get_kernel(name)
    np.testing.assert_allclose(filter_image(x, k, mode), conv2d(x, k, padding="same", padding_mode=mode),
                               atol=1e-12)


def test_filter_work_limit():
    k = np.random.default_rng(0).normal(size=(101, 101))  # rank 101: no two-pass shortcut
    with pytest.raises(UsageError, match="over the limit"):
        filter_image(np.zeros((4096, 4096)), k)


# -- the picture: each panel's title says what its drawn values are -----------------------------
def _agree(a, kind):
    """Check panel_title against panel_values for one array and kind (no PNG parsing)."""
    from cnnlab.kernels.apply import panel_title, panel_values

    title = panel_title("k", a, kind)
    shown, vmin, vmax = panel_values(a, kind)
    if kind == "clip":
        np.testing.assert_array_equal(shown, np.minimum(np.maximum(a, 0), 1))
        assert (vmin, vmax) == (0, 1)
        outside = np.mean((a < 0) | (a > 1))
        if outside:
            assert "clipped to [0, 1]" in title and f"{100 * outside:.3g}%" in title
        else:
            assert "nothing clipped" in title
    elif kind == "rescaled":
        np.testing.assert_array_equal(shown, a)
        assert (vmin, vmax) == (a.min(), a.max())
        assert f"rescaled: [{a.min():.4g}, {a.max():.4g}]" in title
    elif kind == "signed":
        lim = np.percentile(np.abs(a), 99.5)
        assert (vmin, vmax) == (-lim, lim) and f"±{lim:.3g}" in title
        np.testing.assert_array_equal(shown, np.minimum(np.maximum(a, -lim), lim))
    return title, shown


@pytest.mark.parametrize("kind", ["clip", "rescaled", "signed"])
@pytest.mark.parametrize("scale", [0.5, 3.0, 255.0])
def test_panel_title_agrees_with_values_shown(kind, scale):
    a = np.random.default_rng(7).normal(size=(20, 30)) * scale
    _agree(a, kind)
    _agree(np.abs(a) / np.abs(a).max(), kind)  # inside [0, 1]: clip changes nothing


def test_apply_panels_match_their_titles_for_each_kernel_kind():
    from cnnlab.kernels.apply import apply_panels

    image, label = load_image("camera")
    crop = image[200:260, 220:300]
    names = ["sharpen", "sobel_x", "box:3"]
    kernels = [get_kernel(n) for n in names]
    panels = apply_panels(apply_kernels(crop, kernels[:1], names[:1]), [1.0])
    # sharpen (sum 1) overshoots [0, 1] on a photo: the title says clipped, and it is clipped
    assert [p.kind for p in panels] == ["clip", "clip"]
    raw = filter_image(crop, kernels[0], "reflect")
    assert raw.max() > 1 and "clipped to [0, 1]" in panels[1].title and panels[1].values.max() == 1
    pair = apply_kernels(crop, [get_kernel("sobel_x"), get_kernel("sobel_y")], ["sobel_x", "sobel_y"])
    panels = apply_panels(pair, [0.0, 0.0])
    assert [p.kind for p in panels] == ["clip", "signed", "signed", "rescaled", "angle"]
    for p, a in zip(panels[1:4], [pair.outputs[0], pair.outputs[1], pair.magnitude]):
        title, shown = _agree(a, p.kind)
        assert p.title.endswith(title[1:]) and np.array_equal(p.values, shown)
    # a kernel of sum 9 is drawn divided by its sum, and says so
    boxsum = np.ones((3, 3))
    p = apply_panels(apply_kernels(crop, [boxsum], ["ones"]), [9.0])[1]
    assert "/ its sum 9" in p.title
    np.testing.assert_allclose(p.values, np.clip(filter_image(crop, boxsum, "reflect") / 9, 0, 1))


def test_colour_outputs_say_how_channels_were_reduced():
    from cnnlab.kernels.apply import apply_panels

    image, _ = load_image("coffee")
    crop = image[100:140, 200:250]
    r = apply_kernels(crop, [get_kernel("sobel_x"), get_kernel("sobel_y")], ["sobel_x", "sobel_y"])
    panels = apply_panels(r, [0.0, 0.0])
    assert "channel mean" in panels[1].title and panels[1].values.ndim == 2
    assert "channel max" in panels[3].title
    np.testing.assert_array_equal(panels[3].values, r.magnitude.max(axis=-1))


# -- matrix files as grey images --------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_matrix_file_is_a_grey_image_equal_to_conv2d(tmp_path, capsys, suffix):
    import json

    from scipy import ndimage

    from cnnlab.cli.main import main

    m = np.random.default_rng(3).integers(-50, 200, size=(12, 15)).astype(float)
    path = tmp_path / f"m{suffix}"
    if suffix == ".npy":
        np.save(path, m)
    else:
        path.write_text("\n".join(",".join(f"{v:g}" for v in row) for row in m))
    out = tmp_path / "pic.png"
    rc = main(["kernel", "apply", str(path), "--kernel", "sobel_x", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "read as a matrix" in text and out.stat().st_size > 0
    rc = main(["kernel", "apply", str(path), "--kernel", "sobel_x", "--no-picture", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and data["read_as"] == "matrix" and data["shape"] == [12, 15]
    ref = conv2d(m, get_kernel("sobel_x"), padding="same", padding_mode="zeros")
    ref2 = ndimage.correlate(m, get_kernel("sobel_x"), mode="constant")  # 3x3: centred as conv2d
    np.testing.assert_allclose(ref, ref2, atol=1e-9)
    st = data["stats"]["sobel_x"]
    assert st["min"] == pytest.approx(ref.min()) and st["max"] == pytest.approx(ref.max())
    assert st["mean"] == pytest.approx(ref.mean()) and data["stats"]["input"]["max"] == m.max()
    from cnnlab.cli.kernel_cmd import _read_apply_image

    image, label, is_matrix = _read_apply_image(str(path), gray=False)
    assert is_matrix and label.endswith("(matrix)")
    np.testing.assert_array_equal(image, m)
    np.testing.assert_allclose(filter_image(image, get_kernel("sobel_x"), "zeros"), ref, atol=1e-9)


@pytest.mark.parametrize("name,body", [("bad.csv", "1,2\n3,x\n"), ("cube.npy", None), ("row.txt", "1 2 3")])
def test_bad_matrix_file_is_one_error_line(tmp_path, capsys, name, body):
    from cnnlab.cli.main import main

    path = tmp_path / name
    if body is None:
        np.save(path, np.zeros((2, 3, 4)))
    else:
        path.write_text(body)
    rc = main(["kernel", "apply", str(path), "--kernel", "sobel_x", "--no-picture"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error:"), err
