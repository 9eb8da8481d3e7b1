"""examples/tour.ipynb runs in a real Jupyter kernel (nbclient) and shows what it should.

The kernel is this interpreter, registered in a temporary folder through JUPYTER_PATH;
every Jupyter/IPython folder points into the test's tmp dir, so the user's home is not
touched.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "tour.ipynb"


def run_notebook(tmp_path: Path, monkeypatch) -> "nbformat.NotebookNode":  # noqa: F821
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    spec = tmp_path / "jupyter" / "kernels" / "cnnlab-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "cnnlab (tests)", "language": "python"}))
    for var, sub in [("JUPYTER_PATH", "jupyter"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_CONFIG_DIR", "config"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="cnnlab-test", timeout=120,
                                     resources={"metadata": {"path": str(ROOT / "examples")}})
    client.execute()
    return nb


def outputs_of(nb, marker: str) -> list[dict]:
    """Outputs of the one code cell whose source contains ``marker``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(cells) == 1, marker
    return cells[0].outputs


def text(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def test_tour_notebook(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    nb = run_notebook(tmp_path, monkeypatch)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]

    # 1. the result shows itself as a worked solution (grids, MathML); its numbers are torch's
    X = torch.tensor([[1, 2, 0, 1], [0, 1, 3, 2], [2, 1, 0, 1], [1, 0, 2, 3]], dtype=torch.float64)
    K = torch.tensor([[1, 0, -1], [1, 1, 0], [0, -1, 1]], dtype=torch.float64)
    bias = torch.tensor([-1.0], dtype=torch.float64)
    ref = F.relu(F.conv2d(X[None, None], K[None, None], bias=bias, padding=1))[0, 0]
    shown = outputs_of(nb, "conv = cnnlab.conv")[0]["data"]
    assert {"text/html", "text/markdown", "text/latex"} <= set(shown)
    assert "<h2>Convolution" in shown["text/html"] or "<h3>Convolution" in shown["text/html"]
    assert r"\begin{bmatrix}" in shown["text/latex"]
    assert '<table class="cnn-grid">' in shown["text/html"] and "<math" in shown["text/html"]
    printed = text(outputs_of(nb, 'print(conv.to_json()["output"])')).splitlines()
    assert json.loads(printed[0]) == ref.tolist()
    assert f"value {ref[1, 2].item()}" in printed[1]

    # 2. pooling of that map
    pooled = F.max_pool2d(ref[None, None], 2)[0, 0]
    pool_html = outputs_of(nb, "pool = cnnlab.pool")[0]["data"]["text/html"]
    result = pool_html.rsplit("Result", 1)[1]
    assert [float(v) for v in re.findall(r"<td[^>]*>(-?\d+(?:\.\d+)?)</td>", result)] == pooled.flatten().tolist()

    # 3. the flip slip is caught: flip(K) over X gives 4 everywhere, the claimed -4 is the cross-correlation
    checked = " ".join(outputs_of(nb, "[(p.id, p.correct, p.diagnosis)")[0]["data"]["text/plain"].split())
    assert checked.startswith("[('a', False, 'kernel not flipped") and "('b', None, None)" in checked
    part = outputs_of(nb, "sheet.result.parts[0]")[0]["data"]
    assert "wrong" in part["text/markdown"] and re.search(r"<h[1-6][^>]*>\(a\)", part["text/html"])
    assert part["text/latex"].startswith(r"\subsection*{(a)")
    sheet_cell = [c for c in nb.cells if c.cell_type == "code" and c.source.strip() == "sheet"][0]
    whole = sheet_cell.outputs[0]["data"]["text/html"]
    assert re.search(r"<h([1-6])>Convolution and pooling</h\1>", whole) and re.search(r"<h[1-6][^>]*>\(b\)", whole)

    # 4. the table's parameter count is torch's
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.Conv2d(6, 16, 5),
                              torch.nn.Linear(16 * 5 * 5, 120), torch.nn.Linear(120, 84), torch.nn.Linear(84, 10))
    lenet = outputs_of(nb, "lenet = cnnlab.arch")
    assert f"parameters: {sum(p.numel() for p in net.parameters())} " in text(lenet)
    table = [o for o in lenet if o.output_type == "execute_result"][0]["data"]["text/html"]
    assert table.count("<tr>") >= 11 + 1 and "conv 5x5 16" in table

    # 5. questions first (no answers), then the key
    questions = outputs_of(nb, "no_key=True")[0]["data"]["text/markdown"]
    full = outputs_of(nb, "seed=7).to_markdown()")[0]["data"]["text/markdown"]
    assert len(full) > len(questions) and full.startswith(questions.split("\n")[0])
    assert "key" in full.lower() and "key" not in questions.lower().replace("answer key", "")
