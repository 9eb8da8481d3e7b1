"""A teacher's review: every LaTeX fragment the CLI prints compiles in a plain document.

docs/cli.md ("Output formats") promises that a `--format latex` fragment compiles in any
document that loads amsmath and graphicx; a teacher pastes `cnnlab arch ... --steps
--format latex` (align* blocks) or `cnnlab conv ... --steps --format latex` into a sheet.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cnnlab.cli.main import main

FRAGMENTS = {
    "arch": ["arch", "conv 5x5 6 p2; relu; maxpool 2; conv 5x5 16; relu; maxpool 2; fc 120; relu; fc 10",
             "--input", "1x28x28", "--steps"],
    "conv": ["conv", "--input", "0 1 2; 3 4 5; 6 7 8", "--kernel", "1 0; 0 -1", "--padding", "1", "--flip",
             "--steps", "--exact"],
    "pool": ["pool", "--input", "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16", "--size", "2", "--op", "avg",
             "--steps"],
    "act": ["act", "--input", "1 -2; 3 0", "--fn", "softmax", "--steps"],
}


def test_docs_promise_what_a_fragment_needs():
    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text[text.index("## Output formats"):text.index("## `cnnlab conv`")]
    assert "amsmath" in section and "graphicx" in section and "fragment" in section


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex on this machine (CI installs one)")
@pytest.mark.parametrize("name", sorted(FRAGMENTS))
def test_latex_fragment_compiles_with_amsmath_and_graphicx(name, tmp_path, capsys):
    assert main([*FRAGMENTS[name], "--format", "latex"]) == 0
    fragment = capsys.readouterr().out
    assert "\\documentclass" not in fragment  # a fragment, as documented
    (tmp_path / "sheet.tex").write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{graphicx}\n"
                                        "\\begin{document}\n" + fragment + "\n\\end{document}\n", encoding="utf-8")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "sheet.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "sheet.pdf").stat().st_size > 1000
