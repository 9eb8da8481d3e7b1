"""cnnlab conv / pool / act through a subprocess: JSON output, formats, and every class of bad
input (exit status 2, one ``error:`` line, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def cnnlab(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnlab.cli.main", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


def run_json(*args: str) -> dict:
    r = cnnlab(*args, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_conv_json():
    doc = run_json("conv", "--input", "0 1 2; 3 4 5; 6 7 8", "--kernel", "[[1,0],[0,-1]]",
                   "--padding", "1", "--flip")
    assert doc["shape"] == [4, 4]
    assert doc["output"] == [[0, 1, 2, 0], [3, 4, 4, -2], [6, 4, 4, -5], [0, -6, -7, -8]]
    doc = run_json("conv", "--input", "[[[1,2],[3,4]],[[5,6],[7,8]]]", "--kernel", "[[[[1]],[[1]]],[[[1]],[[-1]]]]",
                   "--bias", "1,0")
    assert doc["shape"] == [2, 2, 2] and doc["output"][0] == [[7, 9], [11, 13]]


def test_conv_steps_json_and_act_and_round():
    doc = run_json("conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 0; 0 -1", "--bias", "0.5",
                   "--act", "sigmoid", "--round", "3", "--steps", "--max-cells", "2")
    assert doc["output"] == [[0.029, 0.029], [0.029, 0.029]]
    steps = doc["steps"]
    assert steps["cells_total"] == 4 and steps["cells_omitted"] == 2
    cell = steps["cells"][0]
    assert cell["window"] == [[[1, 2], [4, 5]]] and cell["products"] == [[[1, 0], [0, -5]]]
    assert cell["sum"] == -4 and cell["bias"] == 0.5 and cell["pre_activation"] == -3.5
    assert cell["activation"] == "sigmoid"


def test_conv_named_kernel_and_padding_mode():
    doc = run_json("conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "sobel_x", "--padding", "same",
                   "--padding-mode", "replicate")
    assert doc["shape"] == [3, 3] and doc["output"][1][1] == 8  # (3+6*2+9) - (1+4*2+7)


def test_pool_exact_json():
    doc = run_json("pool", "--input", "1/2 1/2; 3/2 0", "--op", "avg", "--size", "2", "--exact")
    assert doc["output"] == [[0.625]] and doc["exact"] == [["5/8"]]
    doc = run_json("pool", "--input", "1 2 3; 4 5 6; 7 8 9", "--op", "max", "--size", "2", "--ceil-mode")
    assert doc["output"] == [[5, 6], [8, 9]]


def test_act_json():
    doc = run_json("act", "--input", "[1, 2, 3]", "--fn", "softmax", "--round", "4")
    assert doc["output"] == [0.09, 0.2447, 0.6652] and doc["shape"] == [3]
    doc = run_json("act", "--input", "-1 2; 0.5 -3", "--fn", "leaky_relu", "--slope", "0.1")
    assert np.allclose(doc["output"], [[-0.1, 2], [0.5, -0.3]], rtol=0, atol=1e-15)


def test_files_as_inputs(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(9.).reshape(3, 3))
    (tmp_path / "k.csv").write_text("1,0\n0,-1\n")
    (tmp_path / "k.json").write_text("[[1, 0], [0, -1]]")
    (tmp_path / "x.txt").write_text("# a comment\n0 1 2\n3 4 5\n6 7 8\n")
    for x, k in (("x.npy", "k.csv"), ("x.txt", "k.json")):
        r = cnnlab("conv", "--input", str(tmp_path / x), "--kernel", str(tmp_path / k), "--format", "json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["output"] == [[-4, -4], [-4, -4]]


def test_latex_steps_text_and_standalone():
    r = cnnlab("conv", "--input", "0 1 2; 3 4 5; 6 7 8", "--kernel", "1 0; 0 -1", "--padding", "1", "--flip",
               "--steps", "--format", "latex", "--standalone")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(r"\documentclass") and r"\begin{bmatrix}" in r.stdout
    assert r.stdout.rstrip().endswith(r"\end{document}")
    t = cnnlab("pool", "--input", "1 2; 3 4", "--op", "max", "--size", "2", "--steps")
    assert t.returncode == 0 and "O[1,1] = max(1, 2, 3, 4) = 4" in t.stdout


@pytest.mark.parametrize("cmd", ["conv", "pool", "act"])
def test_help_shows_examples(cmd):
    r = cnnlab(cmd, "--help")
    assert r.returncode == 0
    examples = [line for line in r.stdout.splitlines() if line.strip().startswith(f"cnnlab {cmd} ")]
    assert 2 <= len(examples) <= 4


BAD = [
    ("ragged literal", ["conv", "--input", "1 2; 3", "--kernel", "1"]),
    ("non-numeric literal", ["conv", "--input", "1 x; 3 4", "--kernel", "1"]),
    ("non-numeric JSON-ish", ["conv", "--input", "[[1, 'a']]", "--kernel", "1"]),
    ("unbalanced brackets", ["conv", "--input", "[[1, 2]", "--kernel", "1"]),
    ("empty matrix", ["conv", "--input", "[]", "--kernel", "1"]),
    ("empty text", ["conv", "--input", "  ", "--kernel", "1"]),
    ("missing file", ["conv", "--input", "nope.csv", "--kernel", "1"]),
    ("kernel larger than padded input", ["conv", "--input", "1 2; 3 4", "--kernel", "1 1 1; 1 1 1; 1 1 1"]),
    ("stride 0", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--stride", "0"]),
    ("dilation -1", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--dilation", "-1"]),
    ("pool size 0", ["pool", "--input", "1 2; 3 4", "--op", "max", "--size", "0"]),
    ("groups not dividing", ["conv", "--input", "[[[1]],[[2]],[[3]]]", "--kernel", "1", "--groups", "2"]),
    ("reflect as wide as input", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--padding", "2",
                                  "--padding-mode", "reflect"]),
    ("bias of wrong length", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--bias", "1,2"]),
    ("unknown mode", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--padding-mode", "mirror-ish"]),
    ("unknown op", ["pool", "--input", "1 2; 3 4", "--op", "median", "--size", "2"]),
    ("unknown function", ["act", "--input", "1 2", "--fn", "swish"]),
    ("unknown kernel name", ["conv", "--input", "1 2; 3 4", "--kernel", "sobel_q"]),
    ("padding over the limit", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--padding", "5000"]),
    ("bad padding word", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--padding", "lots"]),
    ("round out of range", ["act", "--input", "1", "--fn", "relu", "--round", "-1"]),
    ("division by zero", ["act", "--input", "1/0", "--fn", "relu"]),
    ("slope not finite", ["act", "--input", "-1", "--fn", "leaky_relu", "--slope", "nan"]),
    ("quiz to a pdf", ["quiz", "--topics", "conv", "--count", "1", "--out", "quiz.pdf"]),
    ("solve to yaml", ["solve", str(Path(__file__).parents[1] / "examples/problems/sheet1.yaml"),
                       "--out", "sheet1.yaml"]),
    ("transposed with flip", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--transposed", "--flip"]),
    ("transposed reflect", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--transposed",
                            "--padding-mode", "reflect"]),
    ("transposed same", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--transposed", "--padding", "same"]),
    ("output padding too big", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--transposed",
                                "--output-padding", "1"]),
    ("output padding without transposed", ["conv", "--input", "1 2; 3 4", "--kernel", "1",
                                           "--output-padding", "1"]),
    ("transposed output empty", ["conv", "--input", "1 2; 3 4", "--kernel", "1", "--transposed",
                                 "--padding", "3"]),
]


@pytest.mark.parametrize("what,args", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_error_line(what, args):
    r = cnnlab(*args)
    assert r.returncode == 2, (what, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Traceback" not in r.stderr


def test_bad_files(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "obj.npy").write_bytes(b"not an npy file at all")
    (tmp_path / "dir.csv").mkdir()
    np.save(tmp_path / "big.npy", np.zeros((1, 5000), dtype=np.uint8))  # over 4096 per axis
    for name in ("bad.json", "obj.npy", "dir.csv", "big.npy"):
        r = cnnlab("act", "--input", str(tmp_path / name), "--fn", "relu")
        assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr, r.stderr
    r = cnnlab("act", "--input", str(tmp_path / "big.npy"), "--fn", "relu")
    assert "limit of 4096" in r.stderr


def test_literal_over_the_element_limit_is_refused_before_parsing():
    from cnnlab.cli.inputs import read_tensor
    from cnnlab.errors import UsageError

    with pytest.raises(UsageError, match="4096"):
        read_tensor("[" + ",".join(["1"] * 4097) + "]", "input")


def test_conv_transposed_against_torch(capsys):
    # in-process (no interpreter start per case): random shapes, strides, paddings,
    # output paddings, dilations, groups and biases against F.conv_transpose2d
    torch = pytest.importorskip("torch")
    from cnnlab.cli.main import main

    rng = np.random.default_rng(7)
    for _ in range(40):
        g = int(rng.integers(1, 3))
        cin, cout = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        H, W, kh, kw = (int(v) for v in rng.integers(1, 5, size=4))
        s, d = int(rng.integers(1, 4)), int(rng.integers(1, 3))
        p = int(rng.integers(0, min(kh, kw)))
        op = int(rng.integers(0, max(s, d)))
        x = rng.integers(-3, 4, size=(cin, H, W)).astype(float)
        k = rng.integers(-2, 3, size=(cin, cout // g, kh, kw)).astype(float)
        b = rng.integers(-2, 3, size=cout).astype(float)
        if min((n - 1) * s - 2 * p + d * (kk - 1) + op + 1 for n, kk in ((H, kh), (W, kw))) < 1:
            continue  # an empty output: refused by both (tested among the bad inputs)
        want = torch.nn.functional.conv_transpose2d(
            torch.tensor(x)[None], torch.tensor(k), torch.tensor(b), stride=s, padding=p,
            output_padding=op, groups=g, dilation=d)[0].numpy()
        argv = ["conv", "--transposed", "--input", json.dumps(x.tolist()), "--kernel", json.dumps(k.tolist()),
                "--bias", ",".join(str(v) for v in b), "--stride", str(s), "--padding", str(p),
                "--output-padding", str(op), "--dilation", str(d), "--groups", str(g), "--format", "json"]
        assert main(argv) == 0, capsys.readouterr().err
        doc = json.loads(capsys.readouterr().out)
        got = np.array(doc["output"]).reshape(want.shape)
        np.testing.assert_allclose(got, want, atol=1e-9)
        assert main(argv + ["--steps", "--max-cells", "0"]) == 0  # the worked route agrees too
        doc = json.loads(capsys.readouterr().out)
        np.testing.assert_allclose(np.array(doc["output"]).reshape(want.shape), want, atol=1e-9)


def test_conv_transposed_hand_worked_steps():
    # 2x2 input, 2x2 kernel, stride 2: each input value stamps a scaled kernel copy
    doc = run_json("conv", "--transposed", "--input", "1 2; 3 4", "--kernel", "1 2; 3 4", "--stride", "2")
    assert doc["output"] == [[1, 2, 2, 4], [3, 4, 6, 8], [3, 6, 4, 8], [9, 12, 12, 16]]
    r = cnnlab("conv", "--transposed", "--input", "1 2; 3 4", "--kernel", "1 1; 1 1", "--stride", "2",
               "--steps", "--max-cells", "1")
    assert r.returncode == 0 and "spread and padded input" in r.stdout and "kernel rotated 180°" in r.stdout
