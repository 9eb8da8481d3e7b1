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
