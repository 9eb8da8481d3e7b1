"""Named kernels against scikit-image's filters: the stated scale and orientation hold.

Each named kernel with a reference (``cnnlab.kernels.sources``) is applied by
cross-correlation (cnnlab's convention) and compared with scikit-image's filter on a
random image, interior pixels only (the libraries pad differently at the border).
"""

from __future__ import annotations

import numpy as np
import pytest

skimage_filters = pytest.importorskip("skimage.filters")
ndimage = pytest.importorskip("scipy.ndimage")

from cnnlab.cli.main import main  # noqa: E402
from cnnlab.kernels.named import get_kernel, list_kernels  # noqa: E402
from cnnlab.kernels.sources import SOURCES, kernel_source  # noqa: E402

REFERENCES = {
    "sobel_x": skimage_filters.sobel_v, "sobel_y": skimage_filters.sobel_h,
    "prewitt_x": skimage_filters.prewitt_v, "prewitt_y": skimage_filters.prewitt_h,
    "scharr_x": skimage_filters.scharr_v, "scharr_y": skimage_filters.scharr_h,
    "laplacian4": lambda image: skimage_filters.laplace(image, ksize=3),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_named_kernel_equals_scale_times_scikit_image(name):
    image = np.random.default_rng(7).random((24, 31))
    ours = ndimage.correlate(image, get_kernel(name), mode="reflect")
    theirs = REFERENCES[name](image)
    source = kernel_source(name)
    assert source.scale is not None and source.reference is not None
    np.testing.assert_allclose(ours[1:-1, 1:-1], source.scale * theirs[1:-1, 1:-1], atol=1e-12)


def test_box_equals_scipy_uniform_filter():
    image = np.random.default_rng(5).random((17, 19))
    for k in (3, 5):
        ours = ndimage.correlate(image, get_kernel(f"box:{k}"), mode="reflect")
        np.testing.assert_allclose(ours, ndimage.uniform_filter(image, size=k, mode="reflect"), atol=1e-12)


def test_laplacian8_is_not_scikit_images_or_opencvs_laplacian():
    image = np.random.default_rng(3).random((20, 20))
    ours = ndimage.correlate(image, get_kernel("laplacian8"), mode="reflect")[1:-1, 1:-1]
    theirs = skimage_filters.laplace(image, ksize=3)[1:-1, 1:-1]
    for scale in (1, 2, 8 / 4):
        assert not np.allclose(ours, scale * theirs)
    opencv3 = np.array([[2, 0, 2], [0, -8, 0], [2, 0, 2]], float)
    assert not np.allclose(get_kernel("laplacian8"), -opencv3 / 2) and "no scikit-image" in SOURCES["laplacian8"].origin


def test_every_named_kernel_has_a_source_shown_by_list_and_describe(capsys):
    names = [row[0].split(":")[0] for row in list_kernels()]
    assert set(names) == set(SOURCES)
    capsys.readouterr()
    assert main(["kernel", "list"]) == 0
    listing = capsys.readouterr().out
    assert "4 x scikit-image filters.sobel_v" in listing and "3 x scikit-image filters.prewitt_v" in listing
    assert main(["kernel", "describe", "laplacian8"]) == 0
    assert "no scikit-image or OpenCV filter equals it" in capsys.readouterr().out
    assert main(["kernel", "describe", "sobel_x", "--format", "json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["source"]["scale"] == 4 and "sobel_v" in data["source"]["reference"]
