"""The /solve page in headless Chromium: a problem sheet solved and checked as `cnnlab solve`
does it, the preloaded example, the diagnoses of wrong answers, a new quiz."""

from __future__ import annotations

import pytest

from page_helpers import by_testid, cli, number_text, shot, site, wait  # noqa: F401 (site: fixture)
from serve_helpers import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


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
