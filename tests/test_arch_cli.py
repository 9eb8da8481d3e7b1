"""``cnnlab arch`` on the command line: docs/arch.md JSON, formats, inverse mode, errors."""

from __future__ import annotations

import json

import pytest

from cnnlab.cli.main import main

CONTRACT_KEYS = {"index", "spec", "type", "output_shape", "receptive_field", "jump", "weights", "biases",
                 "params", "units", "macs"}


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_json_is_the_contract_object(capsys):
    status, out, _ = run(capsys, "arch", "conv 11x11/4 96; relu; maxpool 3x3/2", "--input", "3x227x227",
                         "--format", "json")
    data = json.loads(out)
    assert status == 0
    assert data["input"] == [3, 227, 227]
    assert CONTRACT_KEYS <= set(data["layers"][0])
    assert {"total_params", "total_macs", "activation_bytes", "param_bytes"} <= set(data)
    first = data["layers"][0]
    assert (first["output_shape"], first["receptive_field"], first["jump"], first["weights"], first["macs"]) == \
        ([96, 55, 55], 11, 4, 34848, 105415200)
    assert "steps" not in first


def test_dtype_steps_layout_and_fc_compare(capsys):
    _, out, _ = run(capsys, "arch", "conv 3x3 8 same", "--input", "28x28x1", "--layout", "nhwc",
                    "--dtype", "bf16", "--format", "json", "--steps", "--fc-compare")
    data = json.loads(out)
    assert data["input"] == [1, 28, 28] and data["param_bytes"] == 2 * 80
    assert data["layers"][0]["steps"] and data["layers"][0]["fc_equivalent"]["units"] == 8 * 28 * 28
    _, out, _ = run(capsys, "arch", "conv 3x3 8 same", "--input", "28x28x1", "--layout", "nhwc")
    assert "1×28×28×8" in out


@pytest.mark.parametrize("fmt,marker", [("table", "params"), ("text", "MACs"), ("markdown", "|---:"),
                                        ("latex", r"\begin{tabular}")])
def test_formats(capsys, fmt, marker):
    status, out, _ = run(capsys, "arch", "conv 5x5 6; maxpool 2x2; fc 10", "--input", "1x28x28", "--format", fmt)
    assert status == 0 and marker in out


def test_spec_file(capsys, tmp_path):
    path = tmp_path / "lenet.yaml"
    path.write_text("input: 1x32x32\nlayers: [conv 5x5 6, maxpool 2x2, conv 5x5 16, maxpool 2x2, fc 120, fc 84, fc 10]\n")
    _, out, _ = run(capsys, "arch", str(path), "--format", "json")
    assert json.loads(out)["total_params"] == 61706


def test_torchvision_json(capsys):
    pytest.importorskip("torchvision")
    status, out, _ = run(capsys, "arch", "--torchvision", "resnet18", "--input", "3x224x224", "--format", "json")
    data = json.loads(out)
    assert status == 0 and data["total_params"] == 11_689_512
    assert data["layers"][-1]["output_shape"] == [1000] and data["layers"][-1]["receptive_field"] >= 435


def test_solve_modes(capsys):
    _, out, _ = run(capsys, "arch", "--solve", "padding", "--n-in", "32", "--n-out", "32", "--kernel", "5",
                    "--format", "json")
    assert json.loads(out)["solutions"] == [2]
    _, out, _ = run(capsys, "arch", "--solve", "stride", "--n-in", "227", "--n-out", "55", "--kernel", "11")
    assert "s = 4" in out
    _, out, _ = run(capsys, "arch", "--solve", "depth", "--rf", "7", "--kernel", "3", "--channels", "64")
    assert "3 layers" in out


@pytest.mark.parametrize("argv,words", [
    (["arch", "conv 3x3 8; blah 3"], ["layer 2", "blah"]),
    (["arch", "conv 3x3 8", "--input", "3x9000x9"], ["4096"]),
    (["arch", "conv 9x9 8", "--input", "1x5x5"], ["layer 1", "1x5x5"]),
    (["arch", "conv 3x3 8"], ["--input"]),
    (["arch"], ["SPEC"]),
    (["arch", "conv 3x3 8", "--input", "1x9x9", "--fc-compare", "0"], ["positive"]),
    (["arch", "--solve", "padding", "--n-in", "8"], ["--n-out"]),
    (["arch", "--solve", "padding", "--n-in", "8", "--n-out", "8", "--kernel", "3", "--padding", "1"], ["unknown"]),
    (["arch", "conv 3x3 8", "--input", "1x9x9", "--kernel", "3"], ["--solve"]),
    (["arch", "--torchvision", "resnet81"], ["resnet18"]),
])
def test_bad_input_is_one_error_line_and_exit_2(capsys, argv, words):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("error:") and err.count("\n") == 1
    for word in words:
        assert word in err


def test_spec_part_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys; import cnnlab.arch, cnnlab.cli.arch_cmd; from cnnlab.cli.main import main; "
            "main(['arch', 'conv 3x3 8; fc 10', '--input', '1x8x8', '--steps', '--format', 'latex']); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
