"""`cnnlab kernel ...` end to end: docs/kernels.md JSON, formats, pictures, and bad input (exit 2)."""

import json

import pytest

from cnnlab.cli.main import main


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_describe_json_contract(capsys):
    status, out, err = run(capsys, "kernel", "describe", "sobel_x", "--format", "json")
    assert status == 0 and not err
    d = json.loads(out)
    assert d["shape"] == [3, 3] and d["sum"] == 0 and d["rank"] == 1 and d["separable"] is True
    assert d["column"] == [1, 2, 1] and d["row"] == [-1, 0, 1]
    assert set(d["responses"]) == {"horizontal_line", "vertical_line", "diagonal_line", "antidiagonal_line",
                                   "horizontal_edge", "vertical_edge", "dot", "ring", "corner", "flat"}
    assert d["best_probe"] == "vertical_edge"


@pytest.mark.parametrize("kernel,best", [("[[-1,-1,-1],[2,2,2],[-1,-1,-1]]", "horizontal_line"),
                                         ("0 1 0; 1 -4 1; 0 1 0", "ring"),
                                         ("laplacian4", "dot"), ("gaussian:5:1.0", "flat")])
def test_describe_literals_and_names(capsys, kernel, best):
    status, out, _ = run(capsys, "kernel", "describe", kernel, "--format", "json")
    assert status == 0 and json.loads(out)["best_probe"] == best


def test_describe_file_and_non_separable(capsys, tmp_path):
    f = tmp_path / "k.json"
    f.write_text("[[0, -1, 0], [-1, 5, -1], [0, -1, 0]]")
    status, out, _ = run(capsys, "kernel", "describe", str(f), "--format", "json")
    d = json.loads(out)
    assert status == 0 and d["rank"] == 2 and d["separable"] is False and d["column"] is None


@pytest.mark.parametrize("fmt,marker", [("text", "<- best"), ("markdown", "| probe |"),
                                        ("latex", r"\[ K = \begin{bmatrix}")])
def test_describe_formats(capsys, fmt, marker):
    status, out, _ = run(capsys, "kernel", "describe", "box:3", "--format", fmt)
    assert status == 0 and marker in out and ("1/9" in out or r"\frac{1}{9}" in out)
    assert "0.1111, 0.1111" not in out  # exact factors stay exact (1/9), not rounded floats


def test_list(capsys):
    status, out, _ = run(capsys, "kernel", "list")
    for name in ("sobel_x", "scharr_y", "laplacian8", "line_135", "emboss", "gaussian:k:sigma", "box:k"):
        assert name in out
    assert status == 0


def test_apply_writes_a_picture(capsys, tmp_path):
    png = tmp_path / "edges.png"
    status, out, _ = run(capsys, "kernel", "apply", "camera", "--kernel", "sobel_x", "--kernel2", "sobel_y",
                         "--out", str(png), "--format", "json")
    d = json.loads(out)
    assert status == 0 and png.stat().st_size > 10_000
    assert set(d["stats"]) == {"input", "sobel_x", "sobel_y", "magnitude"} and d["shape"] == [512, 512]


def test_cost_and_invariance_run(capsys, tmp_path):
    status, out, _ = run(capsys, "kernel", "cost", "--size", "64", "--k", "3,9", "--repeats", "1",
                         "--out", str(tmp_path / "c.png"))
    assert status == 0 and "separable" in out and (tmp_path / "c.png").exists()
    status, out, _ = run(capsys, "kernel", "invariance", "--crop", "96", "--n", "1,4", "--format", "json",
                         "--out", str(tmp_path / "i.png"))
    d = json.loads(out)
    assert status == 0 and d["shift"][0]["interior_max_diff"] == 0 and (tmp_path / "i.png").exists()
    assert "_arrays" not in json.dumps(d)


@pytest.mark.parametrize("argv,fragment", [
    (["kernel", "describe", "sobelx"], "known kernels"),
    (["kernel", "describe", "gaussian:4:-1"], "sigma"),
    (["kernel", "describe", "box:0"], "positive"),
    (["kernel", "describe", "[[1,2],[3]]"], "ragged"),
    (["kernel", "describe", "[]"], "empty"),
    (["kernel", "describe", "[1, 2, 3]"], "2-D"),
    (["kernel", "describe", "missing.npy"], "no such file"),
    (["kernel", "apply", "nosuchimage", "--kernel", "sobel_x", "--no-picture"], "samples"),
    (["kernel", "apply", "camera", "--kernel", "nope", "--no-picture"], "known kernels"),
    (["kernel", "apply", "camera", "--kernel", "sobel_x", "--out", "/no/such/dir/x.png"], "does not exist"),
    (["kernel", "cost", "--k", "3,a"], "integers"),
    (["kernel", "invariance", "--shift", "1"], "dy,dx"),
    (["kernel", "invariance", "--sigma", "-1"], "sigma"),
    (["kernel", "frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_error_line_exit_2(capsys, argv, fragment):
    status, out, err = run(capsys, *argv)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], err


def test_huge_image_refused_before_decoding(capsys, tmp_path):
    from PIL import Image
    big = tmp_path / "tall.png"
    Image.new("L", (8, 4100)).save(big)
    status, _, err = run(capsys, "kernel", "apply", str(big), "--kernel", "box:3", "--no-picture")
    assert status == 2 and "4096" in err
