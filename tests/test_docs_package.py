"""The docs the pages link to (``/docs/NAME.md``) ship inside the package as ``cnnlab/docs``
and are served from there after ``pip install`` — not from a source tree the wheel lacks.

The wheel is test_install's (built offline from the tracked and new files); it is installed
with ``pip install --target`` into a temporary folder and ``cnnlab serve`` runs from there,
outside the checkout.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from cnnlab.serve import docs_pages
from test_install import CLEAN_ENV, REPO, _setuptools_major, wheel  # noqa: F401  (the module-scoped wheel fixture)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

DOCS = sorted(p.name for p in (REPO / "docs").glob("*.md"))
GLOSSARY_DOCS = sorted(set(re.findall(r'"([a-z]+\.md)(?:#[a-z0-9-]+)?"',
                                      (REPO / "cnnlab/serve/static/cnnlab.js").read_text(encoding="utf-8"))))


def test_the_glossary_links_to_docs_that_exist():
    assert GLOSSARY_DOCS, "the glossary names no docs page"
    assert set(GLOSSARY_DOCS) <= set(DOCS)


def test_wheel_ships_every_docs_page(wheel):  # noqa: F811
    names = set(zipfile.ZipFile(wheel).namelist())
    assert DOCS and [f"cnnlab/docs/{name}" for name in DOCS if f"cnnlab/docs/{name}" not in names] == []
    shipped = {n for n in names if n.startswith("cnnlab/docs/")}
    assert shipped == {f"cnnlab/docs/{name}" for name in DOCS}, "only the Markdown pages, not docs/img"
    with zipfile.ZipFile(wheel) as z:  # the same bytes as the repository's docs: no second copy
        for name in DOCS:
            assert z.read(f"cnnlab/docs/{name}") == (REPO / "docs" / name).read_bytes(), name


def test_docs_root_prefers_the_package_folder(tmp_path):
    package = tmp_path / "site" / "cnnlab"
    (package / "docs").mkdir(parents=True)
    assert docs_pages.docs_root(package) == package / "docs"
    bare = tmp_path / "bare" / "cnnlab"
    bare.mkdir(parents=True)
    assert docs_pages.docs_root(bare) is None  # site-packages/docs of someone else is never used
    checkout = tmp_path / "checkout"
    (checkout / "cnnlab").mkdir(parents=True)
    (checkout / "docs").mkdir()
    (checkout / "pyproject.toml").write_text("")
    assert docs_pages.docs_root(checkout / "cnnlab") == checkout / "docs"
    assert docs_pages.DOCS_DIR == REPO / "docs"  # this checkout: no cnnlab/docs folder in it


def test_installed_server_serves_docs_from_the_package(wheel, tmp_path):  # noqa: F811
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                        "--target", str(target), str(wheel)], capture_output=True, text=True, env=CLEAN_ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    installed = target / "cnnlab" / "docs"
    assert sorted(p.name for p in installed.glob("*.md")) == DOCS
    # a mark only the installed copy has: the page must come from there, not from the checkout
    page = installed / GLOSSARY_DOCS[0]
    page.write_text(page.read_text(encoding="utf-8") + "\n## Installed copy mark\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    env = dict(CLEAN_ENV, PYTHONPATH=str(target))
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab.cli.main", "serve", "--port", "0", "--runs", str(work / "runs")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=work)
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"serving on (http://127\.0\.0\.1:\d+)/\n", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        url = match.group(1)
        for name in GLOSSARY_DOCS:
            with urllib.request.urlopen(f"{url}/docs/{name}", timeout=30) as response:
                body = response.read().decode("utf-8")
            assert response.status == 200 and body == docs_pages.docs_page(name, installed), name
        with urllib.request.urlopen(f"{url}/docs/{GLOSSARY_DOCS[0]}", timeout=30) as response:
            assert 'id="installed-copy-mark"' in response.read().decode("utf-8")
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{url}/docs/no-such-page.md", timeout=30)
        assert missing.value.code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        out, err = proc.communicate()
    assert "Traceback" not in err, err
    # the server imported the installed package, not the checkout
    r = subprocess.run([sys.executable, "-c", "import cnnlab.serve.docs_pages as d; print(d.__file__, d.DOCS_DIR)"],
                       capture_output=True, text=True, env=env, cwd=work)
    assert r.stdout.split() == [str(target / "cnnlab" / "serve" / "docs_pages.py"), str(installed)], r.stderr


def test_sdist_then_wheel_ships_the_docs(wheel, tmp_path):  # noqa: F811
    """``pip install cnnlab`` from a source distribution: the sdist carries docs/*.md and the
    wheel built from it has them as cnnlab/docs."""
    if _setuptools_major() < 77:  # pyproject.toml's SPDX license string needs it (test_install says more)
        pytest.skip("building an sdist offline needs setuptools >= 77 in this venv")
    src = wheel.parent.parent / "src"  # the copy of the tracked files test_install built from
    r = subprocess.run([sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(tmp_path)!r})"],
                       cwd=src, capture_output=True, text=True, env=CLEAN_ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    (sdist,) = tmp_path.glob("cnnlab-*.tar.gz")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index", "--no-build-isolation",
                        "-w", str(tmp_path / "dist"), str(sdist)], capture_output=True, text=True, env=CLEAN_ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    (built,) = (tmp_path / "dist").glob("cnnlab-*.whl")
    with zipfile.ZipFile(built) as z:
        for name in DOCS:
            assert z.read(f"cnnlab/docs/{name}") == (REPO / "docs" / name).read_bytes(), name
