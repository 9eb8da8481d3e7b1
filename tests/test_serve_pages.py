"""What every page of `cnnlab serve` must do in headless Chromium — fit a phone, label its
controls, link its words to the docs, keep text readable — and the /arch page.

/conv and /solve have their own files (test_serve_conv_page.py, test_serve_solve_page.py).
"""

from __future__ import annotations

import pytest

from cnnlab.serve.shell import PAGES
from page_helpers import CONTRAST_JS, by_testid, cli, fill, shot, site, wait  # noqa: F401 (site: fixture)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _start_tags(page: str) -> list[tuple[str, dict]]:
    """The start tags of a page: (name, attributes), in order."""
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    parser = Tags()
    parser.feed(page)
    return parser.tags


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_wears_the_one_shell(name):
    """Each page is the shell around its own body: one head with the shared icon, style sheet
    and scripts (its helpers, then its own script, after cnnlab.js), the navigation bar
    linking every page and marking this one, its body inside <main> once, and no id or test
    id twice."""
    from cnnlab.serve.shell import page_html
    from serve_helpers import ROOT

    page = page_html(name)
    static = ROOT / "cnnlab" / "serve" / "static"
    body = (static / f"{name}.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>\n") and page.count("<main>") == 1 and f"<main>\n{body}</main>" in page
    assert "<!doctype" not in body.lower() and "<head" not in body and "<main" not in body  # a body, not a page
    tags = _start_tags(page)
    assert [t for t, _ in tags].count("title") == 1 and f"<title>cnnlab · {PAGES[name].title}</title>" in page
    scripts = [a["src"] for t, a in tags if t == "script" and "src" in a]
    assert scripts == ["/static/cnnlab.js", *[f"/static/{s}" for s in PAGES[name].helpers], f"/static/{name}.js"]
    assert all((static / s.removeprefix("/static/")).is_file() for s in scripts)
    assert [a["href"] for t, a in tags if t == "link"] == ["/static/icon.svg", "/static/cnnlab.css"]
    assert page.endswith("</main>\n</body>\n</html>\n") and "<script>" not in page  # no inline script
    names = [t for t, _ in tags]
    bar = tags[names.index("header"):names.index("main")]  # the navigation bar, before <main>
    assert [a for t, a in bar if t == "a"] == [{"href": f"/{p}", **({"class": "here"} if p == name else {})} for p in PAGES]
    assert all(f">{spec.label}</a>" in page for spec in PAGES.values())
    for attr in ("id", "data-testid"):
        values = [a[attr] for _, a in tags if attr in a]
        assert len(values) == len(set(values)), (attr, sorted(v for v in values if values.count(v) > 1))


def test_docs_pages_wear_the_same_shell():
    """A docs page (/docs/NAME.md) has the pages' head and navigation bar (no page marked),
    its Markdown inside <main> in a ``worked`` block."""
    from cnnlab.serve.docs_pages import docs_page
    from cnnlab.serve.shell import page_html

    page, conv = docs_page("concepts.md"), page_html("conv")
    assert page.split("<title>")[0] == conv.split("<title>")[0] and "<title>cnnlab · concepts.md</title>" in page
    tags = _start_tags(page)
    assert [a["src"] for t, a in tags if t == "script" and "src" in a] == ["/static/cnnlab.js"]
    assert [a["href"] for t, a in tags if t == "link"] == ["/static/icon.svg", "/static/cnnlab.css"]
    assert '<main>\n<div class="worked"><h1 id="' in page and 'class="here"' not in page


def test_arch_page(site, capsys):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, browser, _ = site
    spec = "conv 3x3 8 p1; relu; maxpool 2x2; conv 3x3 16; gap; fc 10"
    expected = cli(["arch", spec, "--input", "3x16x16", "--format", "json"], capsys)
    browser.get(url + "/arch")
    fill(browser, {"arch-spec": spec, "arch-input": "3x16x16"})
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
    fill(browser, {"arch-spec": "conv 99x99 8"})
    by_testid(browser, "arch-run").click()
    wait(browser, lambda b: by_testid(b, "arch-error").text.startswith("error: "))
    assert not by_testid(browser, "arch-table").find_elements(By.CSS_SELECTOR, "tbody tr")
    assert by_testid(browser, "arch-rf-text").text == ""


@pytest.mark.parametrize("page", list(PAGES))
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
    for page in PAGES:
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


@pytest.mark.parametrize("page,pad,clear,width", [("explore", "explore-canvas", "explore-clear", 26),
                                                  ("network", "net-canvas", "net-clear", 22)])
def test_drawing_pad_draws_and_clears(site, page, pad, clear, width):
    """The shared pad (drawpad.js) on both pages: a dragged stroke leaves a white line of the
    page's width across the canvas's middle, black elsewhere; the page's Clear makes it all black."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, browser, _ = site
    browser.get(url + "/" + page)
    wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")
    canvas = by_testid(browser, pad)
    for summary in canvas.find_elements(By.XPATH, "ancestor::details/summary"):  # /network folds the pad away
        summary.click()
    ActionChains(browser).move_to_element_with_offset(canvas, -60, 0).click_and_hold() \
        .move_by_offset(40, 0).move_by_offset(40, 0).move_by_offset(40, 0).release().perform()
    column = f"""const c = document.querySelector('[data-testid="{pad}"]'), d = c.getContext("2d");
      const img = d.getImageData(0, 0, c.width, c.height).data, at = (x, y) => img[4 * (y * c.width + x)];
      return [[...Array(c.height).keys()].filter((y) => at(c.width >> 1, y) > 127).length,
              [...Array(c.width * c.height).keys()].filter((i) => img[4 * i] > 0).length];"""
    inked_rows, inked = browser.execute_script(column)
    assert abs(inked_rows - width) <= 2 and inked > 0
    by_testid(browser, clear).click()
    assert browser.execute_script(column) == [0, 0]
