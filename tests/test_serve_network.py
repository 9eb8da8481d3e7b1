"""/network: every layer of a trained network, and one unit's arithmetic, checked against torch.

The reference values come from torch itself: forward hooks on the model (independent of
cnnlab's recording) and, for a convolution unit, torch.nn.functional.conv2d on a window.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from cnnlab.explain.network_record import record_network, shown_layers  # noqa: E402
from cnnlab.explain.units import unit_arithmetic  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

REL = 1e-4


def torch_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Every named module's first output for x (1, C, H, W), by plain forward hooks."""
    seen: dict[str, np.ndarray] = {}

    def hook_for(name: str):
        def hook(_module, _inputs, output) -> None:
            if isinstance(output, torch.Tensor) and name not in seen:
                seen[name] = output.detach()[0].clone().numpy()
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in model.named_modules() if n]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return seen


def close(a: float, b: float, scale: float) -> bool:
    """|a - b| within REL of the unit's magnitude (or of the layer's, for a value near 0)."""
    return abs(a - b) <= REL * max(abs(b), 1e-2 * scale)


def check_every_layer(model: nn.Module, x: torch.Tensor, seed: int = 0, per_layer: int = 4) -> set[str]:
    """Random units of every shown layer: the worked value equals torch's forward value."""
    model.eval()
    rec = record_network(model, x)
    ref = torch_outputs(model, x)
    rng = np.random.default_rng(seed)
    kinds = set()
    for name in shown_layers(rec):
        out = ref[name]
        np.testing.assert_allclose(rec.outputs[name], out, rtol=1e-6, atol=1e-6)
        scale = float(np.abs(out).max())
        for _ in range(per_layer):
            idx = tuple(int(rng.integers(n)) for n in out.shape)
            c, i, j = (idx + (0, 0))[:3] if out.ndim == 1 else idx
            unit = unit_arithmetic(rec, name, c, i, j)
            kinds.add(unit["kind"])
            assert close(unit["value"], float(out[idx]), scale), (name, idx, unit["value"], out[idx])
            assert unit["forward"] == pytest.approx(float(out[idx]), abs=1e-6)
    return kinds


def test_units_of_registry_models_match_torch():
    from cnnlab.models import get_model

    torch.manual_seed(0)
    x = torch.randn(1, 1, 28, 28)
    kinds = set()
    for name in ("small-cnn", "lenet5", "cnn3", "cnn6-bn", "fast-cnn", "mlp"):
        model = get_model(name, 1, 10, (28, 28))
        for m in model.modules():  # batch-norm statistics other than 0/1, as after training
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
        kinds |= check_every_layer(model, x)
    assert {"conv", "maxpool", "linear", "batchnorm", "activation"} <= kinds


def test_units_of_spec_with_residual_blocks_match_torch():
    from cnnlab.models.spec_model import build_spec_model

    torch.manual_seed(1)
    model = build_spec_model("conv 3x3 8 p1; relu; res 3x3 8; res 3x3/2 16; avgpool 2; gap; fc 10",
                             3, 10, (12, 12))
    kinds = check_every_layer(model, torch.randn(1, 3, 12, 12), per_layer=6)
    assert {"skip", "avgpool", "conv", "batchnorm"} <= kinds


def test_units_of_resnet18_blocks_match_torch():
    from cnnlab.models import get_model

    torch.manual_seed(2)
    model = get_model("resnet18", 3, 10, (32, 32))
    rec = record_network(model.eval(), torch.randn(1, 3, 32, 32))
    ref = torch_outputs(model, torch.randn(1, 3, 32, 32) * 0)  # shapes only
    for name in ("layer1.0", "layer2.0", "layer2.0.downsample.0", "fc"):
        assert rec.outputs[name].shape == ref[name].shape
        unit = unit_arithmetic(rec, name, 1, 0, 0) if rec.outputs[name].ndim == 3 else unit_arithmetic(rec, name, 1)
        assert unit["value"] == pytest.approx(unit["forward"], rel=REL, abs=1e-5)
    block = unit_arithmetic(rec, "layer2.0", 3, 1, 2)
    assert block["kind"] == "skip" and block["skip_layer"] == "layer2.0.downsample"
    assert block["sum"] == pytest.approx(block["main"] + block["skip"])


@pytest.mark.parametrize("name", ["mobilenet_v2", "efficientnet_b0"])
def test_units_of_torchvision_backbones_match_torch(name):
    """Depthwise and grouped convolutions, ReLU6, SiLU, squeeze-excitation: one unit per layer."""
    from cnnlab.models import get_model

    torch.manual_seed(5)
    model = get_model(name, 3, 10, (16, 16))
    kinds = check_every_layer(model, torch.randn(1, 3, 16, 16), per_layer=1)
    assert {"conv", "batchnorm", "activation"} <= kinds


def test_conv_unit_is_the_window_times_the_kernel():
    """A strided, dilated, grouped, padded convolution: the unit against F.conv2d on its window."""
    torch.manual_seed(3)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)
    x = torch.randn(1, 4, 9, 9)
    rec = record_network(nn.Sequential(conv), x)
    unit = unit_arithmetic(rec, "0", 5, 1, 2)
    assert unit["in_channels"] == [2, 3]
    window = torch.tensor(unit["cell"]["window"], dtype=torch.float32)  # (2, 3, 3)
    with torch.no_grad():
        expected = torch.nn.functional.conv2d(window[None], conv.weight[5:6], conv.bias[5:6])[0, 0, 0, 0]
    assert unit["value"] == pytest.approx(float(expected), rel=1e-5)
    # the window's rows and columns in input coordinates: row 1*2 - 2 + 2a, col 2*2 - 2 + 2b
    assert unit["rows"] == [0, 2, 4] and unit["cols"] == [2, 4, 6]
    np.testing.assert_allclose(window[0].numpy(), x[0, 2][[0, 2, 4]][:, [2, 4, 6]].numpy())


def test_pool_unit_names_its_window_in_input_coordinates():
    pool = nn.MaxPool2d(3, stride=2, padding=1)
    x = torch.randn(1, 2, 7, 7)
    rec = record_network(nn.Sequential(pool), x)
    unit = unit_arithmetic(rec, "0", 1, 2, 3)
    assert unit["rows"] == [3, 4, 5] and unit["cols"] == [5, 6, 7]  # col 7 is padding (-inf)
    assert unit["value"] == pytest.approx(float(x[0, 1, 3:6, 5:7].max()))


def test_linear_unit_names_its_inputs_through_flatten_and_dropout():
    """cnn3-dropout: the first linear layer reads the last pooling's map through dropout and flatten."""
    from cnnlab.models import get_model

    torch.manual_seed(4)
    model = get_model("cnn3-dropout", 1, 10, (8, 8)).eval()
    x = torch.randn(1, 1, 8, 8)
    rec = record_network(model, x)
    linear = next(n for n in rec.order if isinstance(rec.modules[n], nn.Linear))
    unit = unit_arithmetic(rec, linear, 3)
    last_map = [n for n in shown_layers(rec) if rec.outputs[n].ndim == 3][-1]
    assert unit["source"] == last_map and unit["input_shape"] == list(rec.outputs[last_map].shape)
    top = unit["contributions"][0]
    assert top["input"] == pytest.approx(float(rec.outputs[last_map].reshape(-1)[top["index"]]))
    assert unit["value"] == pytest.approx(unit["forward"], rel=REL)


def test_unit_outside_the_layer_is_a_usage_error():
    from cnnlab.errors import UsageError

    rec = record_network(nn.Sequential(nn.Conv2d(1, 2, 3)), torch.zeros(1, 1, 5, 5))
    with pytest.raises(UsageError, match="outside"):
        unit_arithmetic(rec, "0", 2, 0, 0)
    with pytest.raises(UsageError, match="no layer"):
        unit_arithmetic(rec, "conv9", 0, 0, 0)


# --- the page, in Chromium, on real (tiny) trained runs ------------------------------------

SPEC = "conv 3x3 8 p1; relu; res 3x3 8; res 3x3/2 16; maxpool 2; fc 10"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two run folders trained for one epoch on 400 digits: cnn3 (registry) and a spec with res blocks."""
    from cnnlab.train import TrainConfig, fit

    root = tmp_path_factory.mktemp("network") / "runs"
    fit(TrainConfig(data="digits", model="cnn3", epochs=1, limit=400, out=str(root / "cnn3"), device="cpu", threads=1))
    fit(TrainConfig(data="digits", model=SPEC, epochs=1, limit=400, out=str(root / "res"), device="cpu", threads=1))
    return root


def reference(run) -> tuple[nn.Module, np.ndarray, dict]:
    """The run's model rebuilt from its files by hand, its test images and model.json."""
    import yaml

    from cnnlab.models import get_model
    from cnnlab.models.spec_model import build_spec_model
    from cnnlab.train.config import TrainConfig
    from cnnlab.train.loop import load_config_dataset

    meta = json.loads((run / "model.json").read_text())
    shape = (meta["in_channels"], meta["num_classes"], tuple(meta["input_size"]))
    model = get_model(meta["model"], *shape) if meta["model"] == "cnn3" else build_spec_model(SPEC, *shape)
    model.load_state_dict(torch.load(run / "best.pt", weights_only=True))
    config = TrainConfig.from_dict(yaml.safe_load((run / "config.yaml").read_text()), validate=False)
    x, _ = load_config_dataset(config).split("test")
    return model.eval(), x, meta


def forward(model: nn.Module, x: np.ndarray, meta: dict) -> tuple[dict, np.ndarray]:
    """Hooked outputs and softmax of the model for one image x (C, H, W) in [0, 1]."""
    xn = (torch.tensor(x[None], dtype=torch.float32) - meta["mean"][0]) / meta["std"][0]
    outs = torch_outputs(model, xn)
    with torch.no_grad():
        prob = torch.softmax(model(xn), 1)[0].numpy()
    return outs, prob


def test_network_page(runs, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from serve_helpers import chrome, serving
    from page_helpers import CONTRAST_JS, by_testid, wait

    model, x, meta = reference(runs / "cnn3")
    outs, prob = forward(model, x[5], meta)
    with serving(runs) as (url, _proc):
        browser = chrome(tmp_path / "profile")
        try:
            browser.get(url + "/network?run=cnn3&index=5")
            wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid=net-output] tr[data-class]"), 90)
            layers = [e.get_attribute("data-layer") for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid=net-layer]")]
            assert layers[0] == "input" and {"features.0", "features.3", "features.6", "classifier.3"} <= set(layers)
            assert layers.index("features.0") < layers.index("features.3") < layers.index("classifier.3")
            # headed as `cnnlab explain` names layers: the table name with the module path beside
            heads = {e.get_attribute("data-layer"): e.find_element(By.TAG_NAME, "h3").text
                     for e in browser.find_elements(By.CSS_SELECTOR, "[data-testid=net-layer]")}
            assert heads["features.0"] == "conv1 (features.0)" and heads["features.3"] == "conv2 (features.3)"
            shown = [float(r.find_elements(By.TAG_NAME, "td")[2].text) for r in
                     browser.find_elements(By.CSS_SELECTOR, "[data-testid=net-output] tr[data-class]")]
            np.testing.assert_allclose(shown, prob, atol=1e-4)
            legend = by_testid(browser, "net-legend")
            assert float(legend.get_attribute("data-max")) > 0 > float(legend.get_attribute("data-min"))
            conv2 = browser.find_elements(By.CSS_SELECTOR, "[data-layer='features.3'] [data-testid=net-map]")
            assert len(conv2) == 16 and conv2[2].get_attribute("data-channel") == "2"

            def opened(layer, c, i, j, outs=outs):
                unit = wait(browser, lambda b: (u := by_testid(b, "net-unit")).get_attribute("data-layer") == layer
                            and [u.get_attribute(k) for k in ("data-channel", "data-row", "data-col")]
                            == [str(c), str(i), str(j)] and u)
                value = float(wait(browser, lambda b: by_testid(b, "net-unit-value").text))
                expected = float(outs[layer][(c, i, j) if outs[layer].ndim == 3 else (c,)])
                assert close(value, expected, float(np.abs(outs[layer]).max())), (layer, value, expected)
                return unit

            # a click on the 4x4 map of features.3, channel 2, lower right quarter: unit (2, 3, 3)
            ActionChains(browser).move_to_element_with_offset(conv2[2], 20, 20).click().perform()
            unit = opened("features.3", 2, 3, 3)
            assert "input channel 0" in unit.text and "kernel" in unit.text
            assert browser.execute_script(CONTRAST_JS) == []  # the view and the unit card
            # its window is outlined on the maps it reads (features.2, the pooling before it)
            marked = browser.find_elements(By.CSS_SELECTOR, "[data-layer='features.2'] [data-testid=net-map].marked")
            assert [m.get_attribute("data-channel") for m in marked] == [str(k) for k in range(16)]
            # by keyboard: focus the first map of features.0, two steps right, one down, Enter
            first = browser.find_elements(By.CSS_SELECTOR, "[data-layer='features.0'] [data-testid=net-map]")[0]
            first.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_DOWN, Keys.ENTER)
            opened("features.0", 0, 1, 2)
            # pooling and a linear unit (its vector is one strip: row f is unit f)
            pool = browser.find_elements(By.CSS_SELECTOR, "[data-layer='features.2'] [data-testid=net-map]")[1]
            ActionChains(browser).move_to_element_with_offset(pool, -20, -20).click().perform()
            opened("features.2", 1, 0, 0)
            logits = browser.find_element(By.CSS_SELECTOR, "[data-layer='classifier.3'] [data-testid=net-map]")
            logits.send_keys(*[Keys.ARROW_DOWN] * 7, Keys.ENTER)
            assert "largest terms" in opened("classifier.3", 7, 0, 0).text
            # a drawing: the same probabilities as /explore gives for that picture
            from test_serve_api import call

            browser.find_element(By.CSS_SELECTOR, ".draw-box summary").click()
            pad = by_testid(browser, "net-canvas")
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", pad)
            strokes = ActionChains(browser).move_to_element_with_offset(pad, -40, -80).click_and_hold()
            for dx, dy in [(60, 0), (-20, 50), (-20, 60)]:  # a 7
                strokes = strokes.move_by_offset(dx, dy)
            strokes.release().perform()
            wait(browser, lambda b: "your picture" in by_testid(b, "net-status").text, 60)
            drawing = browser.execute_script('return document.querySelector("[data-testid=net-canvas]").toDataURL("image/png")')
            status, explore = call(url, "/api/explore/predict", {"run": "cnn3", "image": drawing})
            assert status == 200
            shown = [float(r.find_elements(By.TAG_NAME, "td")[2].text) for r in
                     browser.find_elements(By.CSS_SELECTOR, "[data-testid=net-output] tr[data-class]")]
            np.testing.assert_allclose(shown, explore["probabilities"], atol=1e-4)
            # a pixel of the input column: (pixel - mean) / std of the run
            status, pixel = call(url, "/api/network/unit", {"run": "cnn3", "index": 5, "layer": "input",
                                                             "channel": 0, "row": 3, "col": 4})
            assert status == 200 and pixel["kind"] == "input"
            assert pixel["value"] == pytest.approx((float(x[5][0, 3, 4]) - meta["mean"][0]) / meta["std"][0], rel=1e-5)
            # the API refuses what it cannot answer, with the reason
            for body, words in [({"run": "cnn3", "index": 0, "image": drawing}, "not both"),
                                ({"run": "cnn3", "index": -1}, "whole number"),
                                ({"run": "cnn3", "index": 0, "colour": 1}, "unknown field"),
                                ({"run": "../x", "index": 0}, "outside")]:
                status, doc = call(url, "/api/network/view", body)
                assert status in (400, 403) and words in doc["error"], (body, doc)
            for body, words in [({"run": "cnn3", "layer": "features.9", "channel": 0}, "no layer"),
                                ({"run": "cnn3", "layer": "features.0", "channel": 32}, "outside"),
                                ({"run": "cnn3", "layer": "features.0", "channel": 0, "row": "1"}, "whole number"),
                                ({"run": "cnn3", "channel": 0}, "layer")]:
                status, doc = call(url, "/api/network/unit", body)
                assert status == 400 and words in doc["error"], (body, doc)

            # on a phone: no sideways scrolling of the page (the columns scroll in their own box)
            browser.set_window_size(390, 844)
            assert browser.execute_script(
                "return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
            # an error replaces the results
            pick = by_testid(browser, "net-input-pick")
            pick.send_keys(Keys.CONTROL, "a")
            pick.send_keys("99999")
            wait(browser, lambda b: "out of range" in by_testid(b, "net-error").text)
            assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=net-layer]")
            assert not by_testid(browser, "net-unit").is_displayed()

            # a spec run with residual blocks: the skip addition, checked against torch
            rmodel, rx, rmeta = reference(runs / "res")
            routs, _ = forward(rmodel, rx[0], rmeta)
            browser.set_window_size(1366, 900)
            browser.get(url + "/network?run=res&index=0")
            wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "[data-layer='3'] [data-testid=net-map]"), 90)
            block = browser.find_elements(By.CSS_SELECTOR, "[data-layer='3'] [data-testid=net-map]")[4]
            block.send_keys(Keys.ARROW_DOWN, Keys.ENTER)
            unit = opened("3", 4, 1, 0, routs)
            assert "skip" in unit.text and "3.shortcut" in unit.text
        finally:
            browser.quit()
