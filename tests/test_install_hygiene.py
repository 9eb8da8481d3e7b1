"""What a notebook or script user meets when importing cnnlab: the matplotlib backend is left
alone, and normal use prints no warning from NumPy or torch (docs/conventions.md)."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
import sys
import textwrap
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def test_library_code_never_switches_the_matplotlib_backend():
    """``matplotlib.use`` or pyplot in library code would change a notebook's backend and state."""
    offenders = []
    for path in sorted((REPO / "cnnlab").rglob("*.py")):
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"matplotlib\.use\(|import matplotlib\.pyplot|import pyplot|\bplt\.", code):
                offenders.append(f"{path.relative_to(REPO)}:{no}: {line.strip()}")
    assert not offenders, "use cnnlab.report.figures.new_figure (an Agg Figure) instead:\n" + "\n".join(offenders)


def test_pictures_leave_the_callers_backend_alone(tmp_path):
    """A notebook picked a backend; cnnlab draws its pictures, and the backend is unchanged."""
    pytest.importorskip("matplotlib")
    script = textwrap.dedent(f"""
        import sys
        import matplotlib
        matplotlib.use("svg")  # what a notebook would have chosen
        import numpy as np
        from PIL import Image
        Image.fromarray((np.arange(80 * 80).reshape(80, 80) % 251).astype(np.uint8)).save("img.png")
        from cnnlab.cli.main import main
        for argv in (["kernel", "apply", "img.png", "--kernel", "sobel_x", "--kernel2", "sobel_y", "--out", "a.png"],
                     ["kernel", "cost", "--size", "16", "--k", "3,5", "--repeats", "1", "--out", "c.png"],
                     ["kernel", "invariance", "--image", "img.png", "--crop", "64", "--n", "1,2", "--trials", "1",
                      "--out", "i.png"]):
            assert main(argv) == 0, argv
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
        assert "matplotlib.pyplot" not in sys.modules
        print("ok")
    """)
    r = subprocess.run([sys.executable, "-W", "error", "-c", script], cwd=tmp_path, env=ENV,
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr
    assert "Warning" not in r.stderr, r.stderr
    assert all((tmp_path / name).stat().st_size > 0 for name in ("a.png", "c.png", "i.png"))


# -- the README's tour of the arithmetic half, with warnings as errors ----------------------
_CORE = re.compile(r"^cnnlab (conv|pool|act|solve|check|quiz|examples|kernel (list|describe)|arch (?!.*--torchvision))")


def readme_core_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S):
        for line in block.splitlines():
            for part in line.split("  #", 1)[0].split("&&"):
                part = part.strip()
                if _CORE.match(part):
                    commands.append(part)
    return commands


README_CORE = readme_core_commands()


def test_the_readme_tours_the_arithmetic_half():
    assert len(README_CORE) >= 10, README_CORE


@pytest.mark.parametrize("command", README_CORE)
def test_readme_command_runs_without_warnings(command, tmp_path, monkeypatch):
    """Each arithmetic command of the README runs (check: exit 1 on a key with mistakes)."""
    from cnnlab.cli.main import main

    monkeypatch.chdir(tmp_path)  # the README's own files ship in examples/ (an image, an architecture file)
    (tmp_path / "examples").symlink_to(REPO / "examples")
    if "check quiz.yaml" in command:
        main(["quiz", "--topics", "rf,params,padding", "--count", "3", "--seed", "1", "--out", "quiz.yaml"])
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(out), redirect_stderr(err):
        warnings.simplefilter("error")
        status = main(shlex.split(command)[1:])
    expected = 1 if command.startswith("cnnlab check") and "wrong" in command else 0
    assert status == expected, (command, err.getvalue())
    assert "Warning" not in err.getvalue(), err.getvalue()


@pytest.mark.slow
def test_practical_tour_prints_no_warnings(tmp_path):
    """The practical half on the small built-in digits, with every warning an error."""
    tour = [
        "data info digits --json",
        "train --data digits --model cnn3 --epochs 1 --limit 300 --out run --json",
        "evaluate run --shift 1,0 --json",
        "explain run --what filters,shift --max-shift 1 --limit 100 --json",
        "compare --data digits --models logreg,mlp --epochs 1 --limit 300 --out cmp --json",
        "tune --data digits --model mlp --trials 2 --epochs 1 --limit 300 --out study --json",
    ]
    for command in tour:
        r = subprocess.run([sys.executable, "-W", "error", "-m", "cnnlab.cli.main", *shlex.split(command)],
                           cwd=tmp_path, env=ENV, capture_output=True, text=True)
        assert r.returncode == 0, (command, r.stderr[-2000:])
        assert "Warning" not in r.stderr, (command, r.stderr[-2000:])
