"""The Python API (contract §9): each function's result is the CLI's output in every face.

``r.to_json()`` == ``--format json``, ``str(r)`` == the text, ``to_markdown``/``to_latex`` ==
those formats; bad input raises ``cnnlab.UsageError`` (a ValueError) with the CLI's message;
tensors may be lists, NumPy arrays, torch tensors or text; ``import cnnlab`` stays light.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import cnnlab
from cnnlab.cli.main import main as cli_main

ROOT = Path(__file__).resolve().parents[1]


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli_main(argv)
    out, err = capsys.readouterr()
    return status, out, err


OPS = [
    (cnnlab.conv, dict(input=[[0, 1, 2], [3, 4, 5], [6, 7, 8]], kernel="1 0; 0 -1", padding=1, flip=True, steps=True),
     ["conv", "--input", "[[0,1,2],[3,4,5],[6,7,8]]", "--kernel", "1 0; 0 -1", "--padding", "1", "--flip", "--steps"]),
    (cnnlab.conv, dict(input="1 2 0 1; 0 1 3 2; 2 1 0 1; 1 0 2 3", kernel="sobel_x", padding="same",
                       padding_mode="reflect", bias=-1, act="relu", steps=True, max_cells=3),
     ["conv", "--input", "1 2 0 1; 0 1 3 2; 2 1 0 1; 1 0 2 3", "--kernel", "sobel_x", "--padding", "same",
      "--padding-mode", "reflect", "--bias=-1", "--act", "relu", "--steps", "--max-cells", "3"]),
    (cnnlab.conv, dict(input=np.arange(18.).reshape(2, 3, 3), kernel=np.ones((2, 2, 2, 2)), bias=[1, -1],
                       stride=(2, 1), exact=True),
     ["conv", "--input", "0 1 2; 3 4 5; 6 7 8 | 9 10 11; 12 13 14; 15 16 17", "--kernel",
      "[[[[1,1],[1,1]],[[1,1],[1,1]]],[[[1,1],[1,1]],[[1,1],[1,1]]]]", "--bias", "1,-1", "--stride", "2,1",
      "--exact"]),
    (cnnlab.conv, dict(input=[[1, 2], [3, 4]], kernel=[[1, 1], [1, 1]], transposed=True, stride=2, steps=True),
     ["conv", "--input", "1 2; 3 4", "--kernel", "1 1; 1 1", "--transposed", "--stride", "2", "--steps"]),
    (cnnlab.conv, dict(input="1 2 3; 4 5 6; 7 8 9", kernel="box:3", padding=1, exact=True, round=3),
     ["conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "box:3", "--padding", "1", "--exact", "--round", "3"]),
    (cnnlab.pool, dict(input="1 2 3; 4 5 6; 7 8 9", op="avg", size=2, stride=2, ceil_mode=True, exact=True,
                       steps=True),
     ["pool", "--input", "1 2 3; 4 5 6; 7 8 9", "--op", "avg", "--size", "2", "--stride", "2", "--ceil-mode",
      "--exact", "--steps"]),
    (cnnlab.pool, dict(input=[[1, 2], [3, 4]], op="max", size=2, padding=1, stride=1),
     ["pool", "--input", "1 2; 3 4", "--op", "max", "--size", "2", "--padding", "1", "--stride", "1"]),
    (cnnlab.act, dict(input=[1, 2, 3], fn="softmax", round=4, steps=True),
     ["act", "--input", "1 2 3", "--fn", "softmax", "--round", "4", "--steps"]),
    (cnnlab.act, dict(input="-2 0.5; 3 -1", fn="leaky_relu", slope=0.1),
     ["act", "--input", "-2 0.5; 3 -1", "--fn", "leaky_relu", "--slope", "0.1"]),
]


@pytest.mark.parametrize("fn,kwargs,argv", OPS, ids=[f"{a[0]}-{i}" for i, (_, _, a) in enumerate(OPS)])
def test_op_results_are_the_cli_output_in_every_format(capsys, fn, kwargs, argv):
    r = fn(**kwargs)
    _, out, _ = cli([*argv, "--format", "json"], capsys)
    assert r.to_json() == json.loads(out)
    _, out, _ = cli(argv, capsys)
    assert str(r) + "\n" == out
    for fmt, method in (("markdown", r.to_markdown), ("latex", r.to_latex)):
        _, out, _ = cli([*argv, "--format", fmt], capsys)
        assert method() == out, fmt
    _, out, _ = cli([*argv, "--format", "latex", "--standalone"], capsys)
    assert r.to_latex(standalone=True) == out


def test_tensors_as_lists_numpy_torch_and_text_agree():
    torch = pytest.importorskip("torch")
    x = np.arange(16).reshape(4, 4) % 5 - 2
    k = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    forms = [x.tolist(), x, torch.tensor(x), "; ".join(" ".join(map(str, r)) for r in x)]
    outs = [cnnlab.conv(f, k, padding=1, stride=2).to_json() for f in forms]
    assert all(o == outs[0] for o in outs)
    ref = torch.nn.functional.conv2d(torch.tensor(x, dtype=torch.float64)[None, None],
                                     torch.tensor(k, dtype=torch.float64)[None, None], padding=1, stride=2)
    np.testing.assert_allclose(outs[0]["output"], ref[0, 0].numpy())
    assert cnnlab.conv([[Fraction(1, 2), 1]], [[Fraction(1, 3)]], exact=True).to_json()["exact"] == [["1/6", "1/3"]]


BAD = [
    (cnnlab.conv, dict(input="1 2; 3", kernel="1"), ["conv", "--input", "1 2; 3", "--kernel", "1"]),
    (cnnlab.conv, dict(input="1 2", kernel="1", padding_mode="mirror"),
     ["conv", "--input", "1 2", "--kernel", "1", "--padding-mode", "mirror"]),
    (cnnlab.conv, dict(input="1 2; 3 4", kernel="1 1 1; 1 1 1; 1 1 1"),
     ["conv", "--input", "1 2; 3 4", "--kernel", "1 1 1; 1 1 1; 1 1 1"]),
    (cnnlab.conv, dict(input="1 2", kernel="1", round=20), ["conv", "--input", "1 2", "--kernel", "1", "--round", "20"]),
    (cnnlab.pool, dict(input="1 2; 3 4", op="avg", size=2, dilation=2),
     ["pool", "--input", "1 2; 3 4", "--op", "avg", "--size", "2", "--dilation", "2"]),
    (cnnlab.act, dict(input="1 2", fn="gelu"), ["act", "--input", "1 2", "--fn", "gelu"]),
    (cnnlab.quiz, dict(seed=-1), ["quiz", "--seed", "-1"]),
    (cnnlab.arch, dict(spec="conv 9x9 4", input="1x4x4"), ["arch", "conv 9x9 4", "--input", "1x4x4"]),
]


@pytest.mark.parametrize("fn,kwargs,argv", BAD, ids=[f"{a[0]}-{i}" for i, (_, _, a) in enumerate(BAD)])
def test_bad_input_raises_usage_error_with_the_cli_message(capsys, fn, kwargs, argv):
    status, _, err = cli(argv, capsys)
    assert status == 2 and err.startswith("error: ")
    with pytest.raises(cnnlab.UsageError) as info:
        fn(**kwargs)
    assert isinstance(info.value, ValueError)
    assert str(info.value) == err.removeprefix("error: ").strip()


def test_problem_sets_by_path_name_or_dict_answer_as_the_cli(capsys):
    path = ROOT / "examples" / "problems" / "wrong_key.yaml"
    for form in (str(path), "wrong_key", path):
        r = cnnlab.solve(form)
        _, out, _ = cli(["solve", str(path), "--format", "json"], capsys)
        assert r.to_json() == json.loads(out)
    _, out, _ = cli(["solve", "sheet1"], capsys)
    assert str(cnnlab.solve("sheet1")) + "\n" == out
    _, out, _ = cli(["solve", "sheet1", "--format", "latex"], capsys)
    assert cnnlab.solve("sheet1").to_latex() == out
    status, out, _ = cli(["check", str(path)], capsys)
    c = cnnlab.check(path)
    assert (c.exit_status, str(c) + "\n") == (status, out) and status == 1
    d = cnnlab.solve({"given": {"X": [[1, -2], [3, 0]]}, "parts": [{"id": "a", "ask": "relu(X)", "answer": [[1, 0], [3, 0]]}]})
    assert d.to_json()["parts"][0]["correct"] is True


def test_quiz_arch_and_kernel_answer_as_the_cli(capsys):
    q = cnnlab.quiz("conv,pool", count=2, seed=4, steps="compact")
    _, out, _ = cli(["quiz", "--topics", "conv,pool", "--count", "2", "--seed", "4", "--steps"], capsys)
    assert q.to_markdown() == out
    _, out, _ = cli(["quiz", "--topics", "conv,pool", "--count", "2", "--seed", "4", "--format", "yaml"], capsys)
    assert q.to_yaml() == out
    a = cnnlab.arch("conv 3x3 16 same; bn; gap; fc 10", [3, 32, 32], dtype="fp16", steps=True)
    _, out, _ = cli(["arch", "conv 3x3 16 same; bn; gap; fc 10", "--input", "3x32x32", "--dtype", "fp16", "--steps",
                     "--format", "json"], capsys)
    assert a.to_json() == json.loads(out)
    _, out, _ = cli(["arch", "conv 3x3 16 same; bn; gap; fc 10", "--input", "3x32x32", "--dtype", "fp16", "--steps",
                     "--format", "text"], capsys)
    assert str(a) + "\n" == out
    k = cnnlab.kernel_describe("sobel_x")
    _, out, _ = cli(["kernel", "describe", "sobel_x", "--format", "json"], capsys)
    assert k.to_json() == json.loads(out)
    _, out, _ = cli(["kernel", "describe", "sobel_x"], capsys)
    assert str(k) + "\n" == out and cnnlab.kernel is cnnlab.kernel_describe
    _, out, _ = cli(["kernel", "list", "--format", "json"], capsys)
    assert cnnlab.kernel_list().to_json() == json.loads(out)


def test_notebook_html_draws_the_worked_solution_as_grids():
    html = cnnlab.conv("1 2 0 1; 0 1 3 2; 2 1 0 1; 1 0 2 3", "1 0; 0 -1", padding=1, steps=True, max_cells=2)._repr_html_()
    assert html.count('<table class="cnn-grid">') >= 8 and 'class="padding shade-' in html and "window" in html
    assert "<math" in html and "<pre>" not in html
    for r in (cnnlab.solve("sheet1"), cnnlab.arch("conv 3x3 8", "1x5x5"), cnnlab.act([1, -1], "relu")):
        assert r._repr_html_().startswith("<style>")


def test_import_cnnlab_stays_light():
    code = ("import sys, cnnlab; assert cnnlab.UsageError.__mro__[1] is ValueError; "
            "heavy = [m for m in ('torch', 'matplotlib', 'numpy') if m in sys.modules]; "
            "cnnlab.conv('1 2; 3 4', '1'); "
            "heavy2 = [m for m in ('torch', 'matplotlib') if m in sys.modules]; print(heavy, heavy2)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[] []"
