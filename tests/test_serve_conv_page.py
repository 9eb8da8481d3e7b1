"""The /conv page in headless Chromium: type, click, read, compare with the CLI and with torch."""

from __future__ import annotations

import json

import pytest

from cnnlab.cli.main import main as cli_main
from page_helpers import by_testid, cli, fill, number_text, output_cells, shot, site, wait  # noqa: F401 (site: fixture)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_conv_page(site, capsys):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, browser, _ = site
    browser.get(url + "/conv")
    wait(browser, lambda b: output_cells(b))  # the page computes its example on load
    fill(browser, {"conv-input": "0 1 2 3; 4 5 6 7; 8 9 10 11; 12 13 14 15", "conv-kernel": "1 0 -1; 2 0 -2; 1 0 -1",
                   "conv-padding": "1", "conv-stride": "2", "conv-bias": ""})
    by_testid(browser, "conv-flip").click()
    by_testid(browser, "conv-run").click()
    expected = cli(["conv", "--input", "0 1 2 3; 4 5 6 7; 8 9 10 11; 12 13 14 15", "--kernel", "1 0 -1; 2 0 -2; 1 0 -1",
                    "--padding", "1", "--stride", "2", "--flip", "--steps", "--max-cells", "100", "--format", "json"],
                   capsys)
    want = [number_text(v) for row in expected["output"] for v in row]
    wait(browser, lambda b: output_cells(b) == want)

    cells = by_testid(browser, "conv-output").find_elements(By.TAG_NAME, "td")
    cells[3].click()
    cell = expected["steps"]["cells"][3]
    step = by_testid(browser, "conv-step").text
    assert "cell 4 of 4: output row 2, column 2" in step
    products = [number_text(p) for row in cell["products"][0] for p in row]
    assert all(p in step for p in products) and f"sum = {number_text(cell['sum'])}" in step
    window = [td.text for td in by_testid(browser, "conv-padded").find_elements(By.CSS_SELECTOR, "td.win")]
    assert window == [number_text(v) for row in cell["window"][0] for v in row]
    shot(site, "conv")

    by_testid(browser, "conv-step-prev").click()
    assert "cell 3 of 4" in by_testid(browser, "conv-step").text
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    assert "cell 2 of 4" in by_testid(browser, "conv-step").text
    by_testid(browser, "conv-step-next").click()
    assert "cell 3 of 4" in by_testid(browser, "conv-step").text
    by_testid(browser, "conv-play").click()  # the animation runs on to the last cell
    wait(browser, lambda b: "cell 4 of 4" in by_testid(b, "conv-step").text)

    # pooling in the same view
    from selenium.webdriver.support.ui import Select

    Select(by_testid(browser, "conv-op")).select_by_value("avg")
    fill(browser, {"conv-input": "1 2 3; 4 5 6; 7 8 10", "conv-size": "2", "conv-stride": "1", "conv-padding": "0"})
    by_testid(browser, "conv-exact").click()
    by_testid(browser, "conv-run").click()
    pooled = cli(["pool", "--input", "1 2 3; 4 5 6; 7 8 10", "--op", "avg", "--size", "2", "--stride", "1",
                  "--exact", "--format", "json"], capsys)
    assert pooled["exact"][1][1] == "29/4"  # (5 + 6 + 8 + 10) / 4 stays a fraction
    wait(browser, lambda b: output_cells(b) == [number_text(v) for row in pooled["exact"] for v in row])
    cells = by_testid(browser, "conv-output").find_elements(By.TAG_NAME, "td")
    cells[1].click()
    assert "(2 + 3 + 5 + 6) / 4 = 16 / 4 = 4" in by_testid(browser, "conv-step").text
    assert "⌊(3 + 2·0 − 1·(2 − 1) − 1) / 1⌋ + 1 = 2" in by_testid(browser, "conv-formula").text

    # a mistake shows the CLI's message
    fill(browser, {"conv-input": "1 2; 3"})
    by_testid(browser, "conv-run").click()
    wait(browser, lambda b: by_testid(b, "conv-error").text.startswith("error: input"))

    # every built-in example is valid input and shows its first worked cell
    examples = Select(by_testid(browser, "conv-example"))
    for option in [o.get_attribute("value") for o in examples.options if o.get_attribute("value")]:
        before = by_testid(browser, "conv-cli").text
        examples.select_by_value(option)
        wait(browser, lambda b: by_testid(b, "conv-cli").text != before and by_testid(b, "conv-step").text.startswith("cell 1 of"))
        assert by_testid(browser, "conv-error").text == "", option


def torch_cells(out) -> list[str]:
    """A torch result (1, C, H, W) as the page's cell texts, row-major."""
    return [number_text(round(float(v), 4)) for v in out.flatten()]


def test_conv_playground(site, capsys):
    """Recompute as you type, steppers, the unused-rows note, transposed, groups and slope, against torch."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, browser, _ = site
    browser.get(url + "/conv")
    wait(browser, lambda b: output_cells(b))
    x = torch.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    k = torch.tensor([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]).reshape(1, 1, 3, 3)
    fill(browser, {"conv-input": "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16",
                   "conv-kernel": "1 0 -1; 2 0 -2; 1 0 -1", "conv-bias": "", "conv-padding": "0",
                   "conv-stride": "2"})  # no click on Compute: the page recomputes by itself
    wait(browser, lambda b: output_cells(b) == torch_cells(F.conv2d(x, k, stride=2)))
    warning = wait(browser, lambda b: by_testid(b, "conv-warning").is_displayed() and by_testid(b, "conv-warning"))
    assert json.loads(warning.get_attribute("data-rows")) == [3] and json.loads(warning.get_attribute("data-cols")) == [3]
    striped = [td.text for td in by_testid(browser, "conv-padded").find_elements(By.CSS_SELECTOR, "td.unused")]
    assert striped == ["4", "8", "12", "13", "14", "15", "16"]  # the last column, then the last row
    capsys.readouterr()
    assert cli_main(["conv", "--input", "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16", "--kernel",
                     "1 0 -1; 2 0 -2; 1 0 -1", "--stride", "2"]) == 0
    note = capsys.readouterr().err.strip()
    assert note == "note: no window reads input row 4 or column 4 (counted from 1): the stride does not fit the input"
    assert warning.text == note.replace("note: ", "Note: ")
    # the stride stepper: back to 1, every row read, the note gone
    browser.find_element(By.CSS_SELECTOR, "[aria-label='stride minus one']").click()
    wait(browser, lambda b: output_cells(b) == torch_cells(F.conv2d(x, k)))
    wait(browser, lambda b: not by_testid(b, "conv-warning").is_displayed())
    # the kernel-size stepper grows the kernel with zeros
    browser.find_element(By.CSS_SELECTOR, "[aria-label='kernel size plus one']").click()
    k4 = F.pad(k, (0, 1, 0, 1))
    wait(browser, lambda b: output_cells(b) == torch_cells(F.conv2d(x, k4)))

    # transposed convolution with output padding
    fill(browser, {"conv-kernel": "1 2; 3 4", "conv-input": "1 2; 3 4", "conv-stride": "2",
                   "conv-output-padding": "1"})
    by_testid(browser, "conv-transposed").click()
    xt, kt = torch.tensor([[1.0, 2], [3, 4]]).reshape(1, 1, 2, 2), torch.tensor([[1.0, 2], [3, 4]]).reshape(1, 1, 2, 2)
    want = F.conv_transpose2d(xt, kt, stride=2, output_padding=1)
    wait(browser, lambda b: output_cells(b) == torch_cells(want))
    assert "output padding + 1" in by_testid(browser, "conv-formula").text
    by_testid(browser, "conv-transposed").click()

    # two groups and a leaky ReLU with slope 0.2
    fill(browser, {"conv-output-padding": "0", "conv-stride": "1",
                   "conv-input": "1 -2 3; -4 5 -6; 7 -8 9 | 0 1 0; 1 -3 1; 0 1 0",
                   "conv-kernel": "[[[[1,0],[0,-1]]],[[[-1,1],[1,-1]]]]", "conv-groups": "2"})
    Select(by_testid(browser, "conv-act")).select_by_visible_text("leaky_relu")
    fill(browser, {"conv-slope": "0.2"})
    xg = torch.tensor([[[1.0, -2, 3], [-4, 5, -6], [7, -8, 9]], [[0, 1, 0], [1, -3, 1], [0, 1, 0]]])[None]
    kg = torch.tensor([[[[1.0, 0], [0, -1]]], [[[-1, 1], [1, -1]]]])
    want = F.leaky_relu(F.conv2d(xg, kg, groups=2), 0.2)
    wait(browser, lambda b: output_cells(b) == torch_cells(want))

    # an error clears the results it replaces
    fill(browser, {"conv-input": "1 2; 3"})
    wait(browser, lambda b: by_testid(b, "conv-error").text.startswith("error: input"))
    assert output_cells(browser) == [] and by_testid(browser, "conv-step").text == ""
    assert by_testid(browser, "conv-error").get_attribute("aria-live") == "assertive"
