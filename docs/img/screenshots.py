"""Make the 1366×900 and 390×844 screenshots of docs/img from a running `cnnlab serve`.

Usage: python docs/img/screenshots.py http://127.0.0.1:8000 RUN [PAGE ...]
(RUN: an MNIST run under the server's runs folder, e.g. one trained with
``cnnlab train --data mnist --model fast-cnn --epochs 1 --limit 3000 --out runs/mnist-fast-cnn``;
PAGE: only these of network, conv, explore, solve, arch — solve and arch need no RUN, pass -).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests"))
from serve_helpers import chrome  # noqa: E402

SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
SEVEN = """const c = document.querySelector('[data-testid=%s]'), x = c.getContext('2d');
x.strokeStyle = '#fff'; x.lineWidth = 22; x.lineCap = 'round'; x.beginPath();
x.moveTo(70, 60); x.lineTo(210, 60); x.lineTo(120, 230); x.stroke();"""


def settle(browser, condition: str, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end and not browser.execute_script(f"return {condition}"):
        time.sleep(0.1)
    time.sleep(0.5)


def main(url: str, run: str, pages: tuple[str, ...] = ()) -> None:
    pages = set(pages or ("network", "conv", "explore", "solve", "arch"))
    browser = chrome(Path("/tmp/cnnlab-screenshots-profile"))
    try:
        for size, (w, h) in SIZES.items():
            browser.set_window_size(w, h)
            if "network" in pages:
                _network(browser, url, run, size)
            if "conv" in pages:
                _conv(browser, url, size)
            if "explore" in pages:
                _explore(browser, url, run, size)
            for page, ready in (("solve", "document.querySelector('[data-testid=solve-parts] [data-part-id]')"),
                                ("arch", "document.querySelector('[data-testid=arch-table] tbody tr')")):
                if page not in pages:
                    continue
                browser.get(f"{url}/{page}")
                settle(browser, f"document.querySelector('[data-testid={page}-run]')")
                browser.execute_script(f"document.querySelector('[data-testid={page}-run]').click()")
                settle(browser, ready)
                if size == "phone" and page == "solve":  # the marked parts, below the form on a phone
                    browser.execute_script("document.querySelector('[data-testid=solve-summary]').scrollIntoView()")
                    time.sleep(0.3)
                browser.save_screenshot(str(HERE / f"{page}-{size}.png"))
    finally:
        browser.quit()


def _network(browser, url: str, run: str, size: str) -> None:
    browser.get(f"{url}/network?run={run}&index=0")
    settle(browser, "document.querySelectorAll('[data-testid=net-output] tr').length > 1")
    browser.save_screenshot(str(HERE / f"network-{size}.png"))
    browser.execute_script("document.querySelectorAll(\"[data-layer='features.3'] [data-testid=net-map]\")[2]"
                           ".dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}))")
    settle(browser, "document.querySelector('[data-testid=net-unit-value]') !== null")
    browser.execute_script("document.querySelector('[data-testid=net-unit]').scrollIntoView()")
    time.sleep(0.3)
    browser.save_screenshot(str(HERE / f"network-unit-{size}.png"))


def _conv(browser, url: str, size: str) -> None:
    browser.get(f"{url}/conv")
    settle(browser, "document.querySelectorAll('[data-testid=conv-output] td').length > 0")
    browser.execute_script("const s = document.querySelector('[data-testid=conv-stride]'); s.value = '2';"
                           "const p = document.querySelector('[data-testid=conv-padding]'); p.value = '0';"
                           "p.dispatchEvent(new Event('input', {bubbles: true}));")
    settle(browser, "!document.querySelector('[data-testid=conv-warning]').hidden")
    if size == "phone":
        browser.execute_script("document.querySelector('[data-testid=conv-warning]').scrollIntoView()")
    browser.save_screenshot(str(HERE / f"conv-{size}.png"))


def _explore(browser, url: str, run: str, size: str) -> None:
    browser.get(f"{url}/explore?run={run}")
    settle(browser, "document.querySelectorAll('[data-testid=explore-filters] canvas').length > 0")
    browser.execute_script(SEVEN % "explore-canvas" + "predict();")
    settle(browser, "document.querySelector('[data-testid=explore-prediction]').dataset.predicted")
    browser.save_screenshot(str(HERE / f"explore-{size}.png"))


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), sys.argv[2], tuple(sys.argv[3:]))
