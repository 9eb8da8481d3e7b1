"""/explore and its API on a real (tiny) trained run: numbers against torch, then the page in Chromium."""

from __future__ import annotations

import base64
import io
import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from serve_helpers import chrome, serving, train_tiny_run
from test_serve_api import call
from page_helpers import by_testid, wait

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_explore(tmp_path):
    """One test, so that the run is trained once even when xdist spreads tests over workers."""
    run = train_tiny_run(tmp_path / "runs" / "digits-cnn3")
    with serving(tmp_path / "runs") as (url, _proc):
        check_info_and_prediction(url, run)
        check_page(url, tmp_path)


def digit_on_canvas(side: int, top: int, left: int, size: int, canvas: int = 280) -> np.ndarray:
    """scikit-learn's first 7 (8×8) scaled to size×size at (top, left) of a black canvas, in [0, 1]."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    seven = digits.images[list(digits.target).index(7)] / 16.0  # (8, 8)
    big = np.asarray(Image.fromarray(seven.astype(np.float32), mode="F").resize((size, size), Image.Resampling.BILINEAR))
    out = np.zeros((canvas, canvas))
    out[top:top + size, left:left + size] = np.clip(big, 0, 1)
    return out


def test_mnist_recipe_centres_and_scales_any_drawing():
    """MNIST's recipe against scipy's centre of mass: a small 7 in a corner and a full-frame 7 come out alike."""
    from scipy import ndimage

    from cnnlab.data.digit_preprocess import ink_on_dark, mnist_recipe

    small = mnist_recipe(digit_on_canvas(280, 10, 200, 60))
    full = mnist_recipe(digit_on_canvas(280, 0, 0, 280))
    for out in (small, full):
        assert out.shape == (28, 28) and 0 <= out.min() and out.max() <= 1
        cy, cx = ndimage.center_of_mass(out)
        assert abs(cy - 13.5) <= 0.75 and abs(cx - 13.5) <= 0.75
        rows, cols = np.nonzero(out > 0.1 * out.max())
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 in (20, 21, 22)  # anti-aliased edge
    assert np.corrcoef(small.ravel(), full.ravel())[0, 1] > 0.95
    # a dark digit on white paper is inverted first; a blank picture stays blank
    paper = 1.0 - digit_on_canvas(280, 10, 200, 60)
    np.testing.assert_allclose(mnist_recipe(ink_on_dark(paper)), small, atol=1e-9)
    assert not mnist_recipe(np.zeros((50, 50))).any()


def test_mnist_runs_get_the_recipe_other_runs_do_not():
    """load_drawing on an MNIST run's facts: the recipe; on a digits run: resize only."""
    from cnnlab.data.digit_preprocess import mnist_recipe
    from cnnlab.serve.explore import load_drawing
    from cnnlab.serve.runs import ServedRun

    pixels = np.round(digit_on_canvas(280, 10, 200, 60) * 255).astype(np.uint8)
    mnist = ServedRun(Path("."), None, {"data": "mnist", "in_channels": 1, "input_size": [28, 28]})
    x = load_drawing(mnist, png_data_url(pixels))
    np.testing.assert_allclose(x[0], mnist_recipe(pixels / 255.0), atol=1e-6)
    digits = ServedRun(Path("."), None, {"data": "digits", "in_channels": 1, "input_size": [28, 28]})
    plain = load_drawing(digits, png_data_url(pixels))  # resized from 280 to 28: the 7 stays in its corner
    assert plain[0, :, :14].sum() < 0.05 * plain.sum()


def png_data_url(pixels: np.ndarray) -> str:
    """(H, W) uint8 grey pixels as a PNG data URL."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def reference(run: Path, x: np.ndarray):
    """Probabilities and first-conv maps of the run's checkpoint for x (1, 8, 8) in [0, 1], by hand."""
    from cnnlab.models import get_model

    meta = json.loads((run / "model.json").read_text())
    model = get_model(meta["model"], meta["in_channels"], meta["num_classes"], tuple(meta["input_size"]))
    state = torch.load(run / "best.pt", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    xn = (torch.tensor(x[None], dtype=torch.float32) - meta["mean"][0]) / meta["std"][0]
    with torch.no_grad():
        prob = torch.softmax(model(xn), 1)[0].numpy()
    w, b = state["features.0.weight"], state["features.0.bias"]
    maps = torch.nn.functional.conv2d(xn, w, b, padding=2)[0].numpy()
    return prob, maps, w.numpy()


def reference_cam(run: Path, x: np.ndarray, layer: str, target: int) -> np.ndarray:
    """Grad-CAM (Selvaraju et al.) of the checkpoint by hand: ReLU(Σ_k mean(∂y/∂A_k)·A_k), 8×8, max 1."""
    from cnnlab.models import get_model

    meta = json.loads((run / "model.json").read_text())
    model = get_model(meta["model"], meta["in_channels"], meta["num_classes"], tuple(meta["input_size"]))
    model.load_state_dict(torch.load(run / "best.pt", weights_only=True))
    model.eval()
    kept = {}
    handle = dict(model.named_modules())[layer].register_forward_hook(lambda m, i, o: kept.update(a=o))
    xn = (torch.tensor(x[None], dtype=torch.float32) - meta["mean"][0]) / meta["std"][0]
    score = model(xn)[0, target]
    handle.remove()
    (grad,) = torch.autograd.grad(score, kept["a"])
    cam = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * kept["a"]).sum(1))[0].detach()  # (8, 8) for features.0
    return (cam / cam.max()).numpy() if cam.max() > 0 else cam.numpy()


def check_info_and_prediction(url: str, run: Path) -> None:
    """The API's numbers against the run's checkpoint run by hand in torch."""
    status, info = call(url, "/api/explore/info?run=digits-cnn3")
    assert status == 200 and info["input"] == [1, 8, 8] and info["classes"] == [str(i) for i in range(10)]
    assert [l["name"] for l in info["layers"]] == ["features.0", "features.3", "features.6"]
    # cnn3: conv 5x5 p2 -> field 5, jump 1; maxpool 2 -> 6, jump 2; conv 5x5 -> 6 + 4*2 = 14
    assert [(l["receptive_field"], l["jump"]) for l in info["layers"][:2]] == [(5, 1), (14, 2)]

    from sklearn.datasets import load_digits

    digit = load_digits().images[0]  # (8, 8) values 0..16
    pixels = np.round(digit / 16 * 255).astype(np.uint8)
    x = (pixels / 255.0).astype(np.float32)[None]  # what the server must feed: no resize at 8x8
    status, doc = call(url, "/api/explore/predict", {"run": "digits-cnn3", "image": png_data_url(pixels)})
    assert status == 200
    prob, maps, weights = reference(run, x)
    np.testing.assert_allclose(doc["input"], x, atol=1e-4)
    np.testing.assert_allclose(doc["probabilities"], prob, atol=1e-5)
    assert doc["predicted"] == int(prob.argmax())
    first = doc["maps"][0]
    assert first["layer"] == "features.0" and first["channels"] == 32
    np.testing.assert_allclose(first["maps"], maps, atol=2e-3)  # sent rounded to 3 decimals
    np.testing.assert_allclose(info["filters"]["weights"], weights, atol=1e-5)
    heat = np.asarray(doc["gradcam"]["heat"])
    assert heat.shape == (8, 8) and heat.min() >= 0 and heat.max() in (0, 1)

    # a bigger picture is resized as `cnnlab explain --image` does; a wrong shape is refused
    big = np.kron(pixels, np.ones((4, 4), np.uint8))  # 32x32
    assert call(url, "/api/explore/predict", {"run": "digits-cnn3", "image": png_data_url(big)})[0] == 200
    status, bad = call(url, "/api/explore/predict", {"run": "digits-cnn3", "image": png_data_url(big[:, :16])})
    assert status == 400 and "aspect ratio" in bad["error"]
    status, bad = call(url, "/api/explore/predict", {"run": "digits-cnn3", "image": "data:image/gif;base64,R0lGODlh"})
    assert status == 400 and "PNG and JPEG" in bad["error"]
    # Grad-CAM on a chosen layer, against Grad-CAM computed here with torch's autograd
    status, doc = call(url, "/api/explore/predict", {"run": "digits-cnn3", "image": png_data_url(pixels),
                                                     "layer": "features.0", "target": 3})
    assert status == 200 and doc["gradcam"]["layer"] == "features.0" and doc["prepared"] == "resize"
    np.testing.assert_allclose(doc["gradcam"]["heat"], reference_cam(run, x, "features.0", 3), atol=2e-3)
    status, bad = call(url, "/api/explore/predict", {"run": "digits-cnn3", "image": png_data_url(pixels),
                                                     "layer": "classifier.1"})
    assert status == 400 and "features.0" in bad["error"]


def check_page(url: str, tmp: Path) -> None:
    """Draw, read the probabilities, click a unit, upload a picture: in Chromium."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    browser = chrome(tmp / "profile")
    try:
        browser.get(url + "/explore?run=digits-cnn3")
        wait(browser, lambda b: "cnn3 on digits" in by_testid(b, "explore-info").text, 60)
        wait(browser, lambda b: len(by_testid(b, "explore-filters").find_elements(By.TAG_NAME, "canvas")) == 32)
        canvas = by_testid(browser, "explore-canvas")
        strokes = ActionChains(browser).move_to_element_with_offset(canvas, -10, -90).click_and_hold()
        for dx, dy in [(0, 40), (0, 40), (0, 40), (0, 40)]:  # a vertical bar: a "1"
            strokes = strokes.move_by_offset(dx, dy)
        strokes.release().perform()
        wait(browser, lambda b: by_testid(b, "explore-prediction").get_attribute("data-predicted"), 60)
        shown = {e.get_attribute("data-class"): float(e.text)
                 for e in by_testid(browser, "explore-prediction").find_elements(By.CSS_SELECTOR, "[data-class]")}
        # the same drawing through the API gives the probabilities the page shows
        drawing = browser.execute_script(
            'return document.querySelector("[data-testid=explore-canvas]").toDataURL("image/png")')
        status, doc = call(url, "/api/explore/predict", {"run": "digits-cnn3", "image": drawing})
        assert status == 200
        assert [shown[str(k)] for k in range(10)] == pytest.approx(doc["probabilities"], abs=1e-4)
        maps = by_testid(browser, "explore-maps").find_elements(By.CSS_SELECTOR, "[data-layer='features.3'] canvas")
        assert len(maps) == 32
        # 56-pixel canvas of a 4x4 map, offsets from its centre: unit (row 3, column 3)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", maps[0])
        ActionChains(browser).move_to_element_with_offset(maps[0], 20, 20).click().perform()
        region = json.loads(wait(browser, lambda b: by_testid(b, "explore-rf").get_attribute("data-region")))
        # features.3: field 14, jump 2, start 0.5 -> unit 2 centred on pixel 4.5: rows -2..11, clipped to 0..7
        assert region == [0, 7, 0, 7]
        ActionChains(browser).move_to_element_with_offset(by_testid(browser, "explore-maps").find_elements(
            By.CSS_SELECTOR, "[data-layer='features.0'] canvas")[0], -27, -27).click().perform()  # unit (0, 0)
        wait(browser, lambda b: json.loads(by_testid(b, "explore-rf").get_attribute("data-region")) == [0, 2, 0, 2])
        from page_helpers import CONTRAST_JS

        assert browser.execute_script(CONTRAST_JS) == []
        browser.save_screenshot(str(tmp / "explore.png"))
        import os

        if os.environ.get("CNNLAB_SCREENSHOTS"):
            browser.save_screenshot(str(Path(os.environ["CNNLAB_SCREENSHOTS"]) / "explore.png"))
        # an uploaded picture goes the same way
        from PIL import Image

        upload = tmp / "three.png"
        Image.fromarray(np.kron(np.eye(8, dtype=np.uint8) * 255, np.ones((4, 4), np.uint8))).save(upload)
        by_testid(browser, "explore-upload").send_keys(str(upload))
        from test_serve_api import call as api_call

        expected = api_call(url, "/api/explore/predict", {"run": "digits-cnn3",
                                                          "image": png_data_url(np.asarray(Image.open(upload)))})[1]
        wait(browser, lambda b: [float(e.text) for e in by_testid(b, "explore-prediction").find_elements(
            By.CSS_SELECTOR, "[data-class]")] == pytest.approx(expected["probabilities"], abs=1e-4), 60)
        # the same picture on /network: the link carries it, the probabilities agree
        link = by_testid(browser, "explore-network-link")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
        link.click()
        wait(browser, lambda b: "/network?run=digits-cnn3" in b.current_url)
        rows = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid=net-output] tr[data-class]"), 60)
        assert [float(r.find_elements(By.TAG_NAME, "td")[2].text) for r in rows] == pytest.approx(
            expected["probabilities"], abs=1e-4)
    finally:
        browser.quit()
