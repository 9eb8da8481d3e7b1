"""Shared by the browser tests of the pages: one server and one Chromium per module, and the
ways a test types into, clicks and reads a page (by its ``data-testid`` attributes).

Screenshots go to the test's temporary folder (and to $CNNLAB_SCREENSHOTS when set, which
is how docs/img is made).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cnnlab.cli.main import main as cli_main
from serve_helpers import chrome, serving


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
    """What ``cnnlab ARGV`` prints as JSON (the reference the page is compared with)."""
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


def fill(browser, fields: dict[str, str]) -> None:
    """Type each text into the box of its ``data-testid``, in order, replacing what was there."""
    for testid, text in fields.items():
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
