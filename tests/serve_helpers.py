"""Shared by the test_serve_* modules: a real `cnnlab serve` process and a headless Chromium.

Browser tests need Debian's chromium and chromedriver (.ci/run installs them). When they
are missing, the tests fail in CI (CI=true) and are skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CNNLAB_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CNNLAB_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000"]


@contextmanager
def serving(runs_dir: Path | str):
    """Run ``cnnlab serve --port 0 --runs DIR``; yield (base URL, process); stop it with SIGTERM."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab.cli.main", "serve", "--port", "0", "--runs", str(runs_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()  # blocks until the server prints its line (or exits)
        match = re.fullmatch(r"serving on (http://127\.0\.0\.1:\d+/)\n", line)
        if not match:
            raise AssertionError(f"no 'serving on' line: {line!r} {proc.stderr.read()!r}")
        yield match.group(1).rstrip("/"), proc
    except BaseException:
        proc.kill()
        raise
    if proc.poll() is None:  # a clean stop on SIGTERM: exit status 0, no traceback
        proc.send_signal(signal.SIGTERM)
        try:
            status = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("the server did not stop within 20 s of SIGTERM") from None
        err = proc.stderr.read()
        assert status == 0 and "Traceback" not in err, (status, err)


def need_browser() -> None:
    """Fail in CI, skip with the reason elsewhere, when Chromium or ChromeDriver is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.exists(p) or shutil.which(p))]
    if not missing:
        return
    message = f"browser tests need {' and '.join(missing)} (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def chrome(profile: Path):
    """A headless Chromium driven by selenium, with a fresh profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    need_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def train_tiny_run(out: Path) -> Path:
    """A real run folder: cnn3 on scikit-learn's 8x8 digits, 3 quick epochs on 400 images."""
    from cnnlab.train import TrainConfig, fit

    fit(TrainConfig(data="digits", model="cnn3", epochs=3, limit=400, out=str(out), device="cpu", threads=1))
    return out
