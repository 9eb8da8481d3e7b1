"""The /conv, /solve and /arch pages in headless Chromium: type, click, read, compare with the CLI.

Screenshots go to the test's temporary folder (and to $CNNLAB_SCREENSHOTS when set, which
is how docs/img is made).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cnnlab.cli.main import main as cli_main
from serve_helpers import ROOT, chrome, serving

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """(base URL, browser, screenshot folder): one server and one browser for the module."""
    tmp = tmp_path_factory.mktemp("pages")
    browser = chrome(tmp / "profile")
    try:
        with serving(tmp / "runs") as (url, _proc):
            yield url, browser, tmp
    finally:
        browser.quit()


def shot(site, name: str) -> None:
    _, browser, tmp = site
    browser.save_screenshot(str(tmp / f"{name}.png"))
    if os.environ.get("CNNLAB_SCREENSHOTS"):
        browser.save_screenshot(str(Path(os.environ["CNNLAB_SCREENSHOTS"]) / f"{name}.png"))


def cli(argv: list[str], capsys):
    capsys.readouterr()
    assert cli_main(argv) in (0, 1)
    return json.loads(capsys.readouterr().out)


def by_testid(browser, testid: str):
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def wait(browser, condition, timeout: float = 30):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: condition(b))


def fill(browser, testid: str, text: str) -> None:
    box = by_testid(browser, testid)
    box.clear()
    box.send_keys(text)


def output_cells(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [td.text for td in by_testid(browser, "conv-output").find_elements(By.TAG_NAME, "td")]


def number_text(v: float) -> str:
    """How the page writes a number: integers plain, else up to 4 decimals."""
    if isinstance(v, str):  # an exact value, "5/8"
        return v
    return str(int(v)) if float(v).is_integer() else f"{v:.4f}".rstrip("0").rstrip(".")


def test_conv_page(site, capsys):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, browser, _ = site
    browser.get(url + "/conv")
    wait(browser, lambda b: output_cells(b))  # the page computes its example on load
    fill(browser, "conv-input", "0 1 2 3; 4 5 6 7; 8 9 10 11; 12 13 14 15")
    fill(browser, "conv-kernel", "1 0 -1; 2 0 -2; 1 0 -1")
    fill(browser, "conv-padding", "1")
    fill(browser, "conv-stride", "2")
    fill(browser, "conv-bias", "")
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
    fill(browser, "conv-input", "1 2 3; 4 5 6; 7 8 10")
    fill(browser, "conv-size", "2")
    fill(browser, "conv-stride", "1")
    fill(browser, "conv-padding", "0")
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
    fill(browser, "conv-input", "1 2; 3")
    by_testid(browser, "conv-run").click()
    wait(browser, lambda b: by_testid(b, "conv-error").text.startswith("error: input"))

    # every built-in example is valid input and shows its first worked cell
    examples = Select(by_testid(browser, "conv-example"))
    for option in [o.get_attribute("value") for o in examples.options if o.get_attribute("value")]:
        before = by_testid(browser, "conv-cli").text
        examples.select_by_value(option)
        wait(browser, lambda b: by_testid(b, "conv-cli").text != before and by_testid(b, "conv-step").text.startswith("cell 1 of"))
        assert by_testid(browser, "conv-error").text == "", option


def test_solve_page(site, capsys):
    from selenium.webdriver.common.by import By

    url, browser, _ = site
    path = ROOT / "examples" / "problems" / "wrong_key.yaml"
    expected = cli(["solve", str(path), "--format", "json"], capsys)
    browser.get(url + "/solve")
    box = by_testid(browser, "solve-text")
    box.clear()
    browser.execute_script("arguments[0].value = arguments[1]", box, path.read_text())
    by_testid(browser, "solve-run").click()
    parts = wait(browser, lambda b: by_testid(b, "solve-parts").find_elements(By.CSS_SELECTOR, "[data-part-id]"))
    shown = [(p.get_attribute("data-part-id"), p.get_attribute("data-correct")) for p in parts]
    marks = {None: "none", True: "true", False: "false"}
    assert shown == [(p["id"], marks[p["correct"]]) for p in expected["parts"]]
    diagnosed = [p for p in expected["parts"] if p["diagnosis"]]
    assert diagnosed and diagnosed[0]["diagnosis"] in by_testid(browser, "solve-parts").text
    assert f"({expected['parts'][0]['id']})" in by_testid(browser, "solve-worked").text
    shot(site, "solve")

    # an error clears the parts and worked solutions it replaces
    browser.execute_script("arguments[0].value = arguments[1]", box, "parts: [")
    by_testid(browser, "solve-run").click()
    wait(browser, lambda b: by_testid(b, "solve-error").text.startswith("error: "))
    assert not by_testid(browser, "solve-parts").find_elements(By.CSS_SELECTOR, "[data-part-id]")
    assert by_testid(browser, "solve-worked").text == ""
    browser.execute_script("arguments[0].value = arguments[1]", box, path.read_text())
    by_testid(browser, "solve-run").click()
    wait(browser, lambda b: by_testid(b, "solve-parts").find_elements(By.CSS_SELECTOR, "[data-part-id]"))

    # a new quiz: the topics of `cnnlab quiz`; questions first, the key on request
    from cnnlab.problems.quiz import TOPICS

    boxes = wait(browser, lambda b: by_testid(b, "quiz-topics").find_elements(By.TAG_NAME, "input"))
    assert [box.get_attribute("value") for box in boxes] == list(TOPICS)
    by_testid(browser, "quiz-new").click()
    wait(browser, lambda b: by_testid(b, "quiz-questions").text.strip())
    key = by_testid(browser, "quiz-key")
    assert not key.is_displayed()
    by_testid(browser, "quiz-show-key").click()
    assert key.is_displayed() and key.text.strip()


def _preloaded_example() -> str:
    """The problem file the /solve page opens with (its textarea, unescaped)."""
    import html
    import re

    page = (ROOT / "cnnlab" / "serve" / "static" / "solve.html").read_text(encoding="utf-8")
    return html.unescape(re.search(r'data-testid="solve-text"[^>]*>(.*?)</textarea>', page, re.S).group(1))


def test_solve_example_is_the_docs_example_and_its_key_is_right():
    """The page's example is docs/problems.md's first file without its end-of-line comments
    (test_problems_docs solves that file), and its claimed answer is what torch computes:
    true convolution, ReLU, 2x2 max pooling."""
    import re

    import torch
    import torch.nn.functional as F
    import yaml

    text = _preloaded_example()
    doc = (ROOT / "docs" / "problems.md").read_text(encoding="utf-8")
    first = re.findall(r"```yaml\n(.*?)```", doc, re.S)[0]
    assert text == "".join(re.sub(r"\s+#.*$", "", line) + "\n" for line in first.splitlines())
    assert yaml.safe_load(text) == yaml.safe_load(first)
    sheet = yaml.safe_load(text)
    x = torch.tensor(sheet["given"]["X"], dtype=torch.float64)[None, None]
    k = torch.tensor(sheet["given"]["K"], dtype=torch.float64).flip(0, 1)[None, None]  # flip=true
    o = F.conv2d(x, k, padding=1)
    pooled = F.max_pool2d(F.relu(o), 2, stride=2)[0, 0]
    (claimed,) = [p["answer"] for p in sheet["parts"] if "answer" in p]
    assert pooled.tolist() == claimed
    assert all(p.get("text") for p in sheet["parts"])


def _part_cards(browser):
    from selenium.webdriver.common.by import By

    return wait(browser, lambda b: by_testid(b, "solve-parts").find_elements(By.CSS_SELECTOR, "[data-part-id]"))


def test_solve_preloaded_example_is_right_on_the_first_click(site, capsys, tmp_path):
    """Open /solve, press the button: every claimed answer is right, and each card shows the
    question as the sheet words it, with the expression as the detail below."""
    from selenium.webdriver.common.by import By

    url, browser, _ = site
    path = tmp_path / "preloaded.yaml"
    path.write_text(_preloaded_example(), encoding="utf-8")
    expected = cli(["solve", str(path), "--format", "json"], capsys)
    assert expected["wrong"] == 0 and expected["right"] >= 1
    browser.get(url + "/solve")
    by_testid(browser, "solve-run").click()
    cards = _part_cards(browser)
    assert [c.get_attribute("data-correct") for c in cards] == \
        ["none" if p["correct"] is None else "true" for p in expected["parts"]]
    for card, part in zip(cards, expected["parts"]):
        assert card.find_element(By.CSS_SELECTOR, '[data-testid="solve-question"]').text == part["text"]
        assert card.find_element(By.CSS_SELECTOR, '[data-testid="solve-ask"]').text == "Computed as " + part["ask"]
        assert not card.find_elements(By.CSS_SELECTOR, '[data-testid="solve-diagnosis"]')
    assert "✗" not in by_testid(browser, "solve-parts").text
    assert by_testid(browser, "solve-summary").text.endswith(f"{expected['right']} of {expected['right']} claimed answers right.")


def test_solve_every_wrong_part_shows_its_diagnosis(site, capsys):
    """wrong_key.yaml: each wrong card names `cnnlab check`'s slip; the one no rule explains
    says so and shows the differing cell (counted from 1)."""
    from selenium.webdriver.common.by import By

    url, browser, _ = site
    path = ROOT / "examples" / "problems" / "wrong_key.yaml"
    expected = cli(["solve", str(path), "--format", "json"], capsys)
    browser.get(url + "/solve")
    box = by_testid(browser, "solve-text")
    browser.execute_script("arguments[0].value = arguments[1]", box, path.read_text())
    by_testid(browser, "solve-run").click()
    cards = _part_cards(browser)
    assert len(cards) == len(expected["parts"])
    unexplained = 0
    for card, part in zip(cards, expected["parts"]):
        assert card.find_element(By.CSS_SELECTOR, '[data-testid="solve-question"]').text == part["text"]
        diagnosis = card.find_elements(By.CSS_SELECTOR, '[data-testid="solve-diagnosis"]')
        if part["correct"] is not False:
            assert not diagnosis, part["id"]
            continue
        assert len(diagnosis) == 1 and diagnosis[0].is_displayed(), part["id"]
        if part["diagnosis"]:
            assert part["diagnosis"] in diagnosis[0].text
        else:
            unexplained += 1
            assert diagnosis[0].text.startswith("No named slip")
            m = part["mismatches"][0]
            r, c = m["index_from_1"]
            assert f"row {r}, column {c}: claimed {number_text(m['claimed'])}, expected {number_text(m['expected'])}" \
                in diagnosis[0].text
    assert unexplained == 1


def test_arch_page(site, capsys):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, browser, _ = site
    spec = "conv 3x3 8 p1; relu; maxpool 2x2; conv 3x3 16; gap; fc 10"
    expected = cli(["arch", spec, "--input", "3x16x16", "--format", "json"], capsys)
    browser.get(url + "/arch")
    fill(browser, "arch-spec", spec)
    fill(browser, "arch-input", "3x16x16")
    by_testid(browser, "arch-run").click()
    rows = wait(browser, lambda b: [r for r in by_testid(b, "arch-table").find_elements(By.CSS_SELECTOR, "tbody tr")
                                    if r.text.startswith("1 conv 3x3 8 p1")] and
                by_testid(b, "arch-table").find_elements(By.CSS_SELECTOR, "tbody tr"))
    assert len(rows) == len(expected["layers"])
    for row, layer in zip(rows, expected["layers"]):
        tds = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        assert tds[1] == layer["spec"] and tds[7] == f"{layer['params']:,}"
        assert tds[2] == "×".join(map(str, layer["output_shape"]))
    assert by_testid(browser, "arch-total-params").text == f"{expected['total_params']:,}"
    ActionChains(browser).move_to_element(rows[3]).perform()
    layer = expected["layers"][3]  # conv 3x3 16 on 8x8 -> 6x6; centre unit (3, 3), counted from 1
    rf, jump, start = layer["receptive_field"], layer["jump"], layer["start"]
    centre = start + 2 * jump
    top = int(centre - (rf - 1) / 2)
    text = by_testid(browser, "arch-rf-text").text
    assert f"layer 4 ({layer['spec']})" in text and f"receptive field {rf}×{rf}, jump {jump}" in text
    assert f"input rows {top + 1} to {top + rf}" in text
    shot(site, "arch")

    # by keyboard: rows take focus and the arrow keys move between them
    from selenium.webdriver.common.keys import Keys

    rows[0].click()
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN, Keys.ARROW_DOWN)
    assert browser.switch_to.active_element.get_attribute("data-layer") == "3"
    assert f"layer 4 ({layer['spec']})" in by_testid(browser, "arch-rf-text").text
    # an error clears the table it replaces
    fill(browser, "arch-spec", "conv 99x99 8")
    by_testid(browser, "arch-run").click()
    wait(browser, lambda b: by_testid(b, "arch-error").text.startswith("error: "))
    assert not by_testid(browser, "arch-table").find_elements(By.CSS_SELECTOR, "tbody tr")
    assert by_testid(browser, "arch-rf-text").text == ""


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
    fill(browser, "conv-input", "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16")
    fill(browser, "conv-kernel", "1 0 -1; 2 0 -2; 1 0 -1")
    fill(browser, "conv-bias", "")
    fill(browser, "conv-padding", "0")
    fill(browser, "conv-stride", "2")  # no click on Compute: the page recomputes by itself
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
    fill(browser, "conv-kernel", "1 2; 3 4")
    fill(browser, "conv-input", "1 2; 3 4")
    fill(browser, "conv-stride", "2")
    fill(browser, "conv-output-padding", "1")
    by_testid(browser, "conv-transposed").click()
    xt, kt = torch.tensor([[1.0, 2], [3, 4]]).reshape(1, 1, 2, 2), torch.tensor([[1.0, 2], [3, 4]]).reshape(1, 1, 2, 2)
    want = F.conv_transpose2d(xt, kt, stride=2, output_padding=1)
    wait(browser, lambda b: output_cells(b) == torch_cells(want))
    assert "output padding + 1" in by_testid(browser, "conv-formula").text
    by_testid(browser, "conv-transposed").click()

    # two groups and a leaky ReLU with slope 0.2
    fill(browser, "conv-output-padding", "0")
    fill(browser, "conv-stride", "1")
    fill(browser, "conv-input", "1 -2 3; -4 5 -6; 7 -8 9 | 0 1 0; 1 -3 1; 0 1 0")
    fill(browser, "conv-kernel", "[[[[1,0],[0,-1]]],[[[-1,1],[1,-1]]]]")
    fill(browser, "conv-groups", "2")
    Select(by_testid(browser, "conv-act")).select_by_visible_text("leaky_relu")
    fill(browser, "conv-slope", "0.2")
    xg = torch.tensor([[[1.0, -2, 3], [-4, 5, -6], [7, -8, 9]], [[0, 1, 0], [1, -3, 1], [0, 1, 0]]])[None]
    kg = torch.tensor([[[[1.0, 0], [0, -1]]], [[[-1, 1], [1, -1]]]])
    want = F.leaky_relu(F.conv2d(xg, kg, groups=2), 0.2)
    wait(browser, lambda b: output_cells(b) == torch_cells(want))

    # an error clears the results it replaces
    fill(browser, "conv-input", "1 2; 3")
    wait(browser, lambda b: by_testid(b, "conv-error").text.startswith("error: input"))
    assert output_cells(browser) == [] and by_testid(browser, "conv-step").text == ""
    assert by_testid(browser, "conv-error").get_attribute("aria-live") == "assertive"


@pytest.mark.parametrize("page", ["conv", "solve", "arch", "explore", "network"])
def test_pages_fit_a_phone(site, page):
    """At 390×844 no page scrolls sideways, and every form control has a label."""
    url, browser, _ = site
    browser.set_window_size(390, 844)
    try:
        browser.get(url + "/" + page)
        wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
        import time

        time.sleep(1)  # the page's first computation
        assert browser.execute_script(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        unlabelled = browser.execute_script("""
            return [...document.querySelectorAll('input, select, textarea')].filter((e) =>
              e.type !== 'hidden' && !e.labels?.length && !e.getAttribute('aria-label')).map((e) => e.outerHTML);""")
        assert unlabelled == []
    finally:
        browser.set_window_size(1400, 1000)


def test_glossary_links_open_the_docs(site):
    """Every term card links to a paragraph of docs/concepts.md that the server shows."""
    from selenium.webdriver.common.by import By

    url, browser, _ = site
    for page in ("conv", "solve", "arch", "explore", "network"):
        browser.get(url + "/" + page)
        cards = wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid=glossary] [data-term]"))
        links = [c.find_element(By.TAG_NAME, "a").get_attribute("href") for c in cards]
        assert len(links) >= 4 and all("/docs/concepts.md#" in h for h in links)
    for href in links + [url + "/docs/concepts.md#padding", url + "/docs/concepts.md#dilation"]:
        browser.get(href)
        anchor = href.split("#")[1]
        heading = browser.find_element(By.ID, anchor)
        assert heading.tag_name == "h2" and heading.text
    browser.get(url + "/docs/..%2Fpyproject.toml")
    assert "[project]" not in browser.page_source and "Not Found" in browser.page_source
    browser.get(url + "/docs/pyproject.toml")
    assert "no such page" in browser.page_source


# WCAG 2 contrast of every visible text against the first opaque background behind it
CONTRAST_JS = r"""
const parse = (c) => { const m = c.match(/[\d.]+/g).map(Number); return m.length === 4 ? m : [...m, 1]; };
const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
function bg(e) { for (; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c[3] > 0.5) return c; } return [255, 255, 255, 1]; }
const bad = [];
for (const e of document.querySelectorAll("body *")) {
  if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
  const r = e.getBoundingClientRect(); if (!r.width || !r.height) continue;
  const st = getComputedStyle(e); if (st.visibility === "hidden" || st.opacity === "0") continue;
  if (e.closest("button:disabled")) continue;
  const fg = parse(st.color), b = bg(e), L1 = lum(fg), L2 = lum(b);
  const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
  if (ratio < 4.5) bad.push(`${e.tagName}.${e.className}[${e.dataset.testid || ""}] "${e.textContent.trim().slice(0, 30)}" ${st.color} on rgb(${b.slice(0, 3)}) ${ratio.toFixed(2)}`);
}
return bad.slice(0, 20);
"""


@pytest.mark.parametrize("page,action", [("conv", None), ("solve", "solve-run"), ("arch", "arch-run")])
def test_text_contrast_is_at_least_4_5(site, page, action):
    import time

    url, browser, _ = site
    browser.get(url + "/" + page)
    wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
    if action:
        by_testid(browser, action).click()
    time.sleep(2)  # results drawn
    assert browser.execute_script(CONTRAST_JS) == []
