"""Review of the pen-and-paper half: regressions for bugs found by a reviewer.

Each test states the bug it pins down; numbers are checked against torch or by hand.
The CLI runs in-process (``cnnlab.cli.main.main``) so a traceback fails the test directly.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import pytest

from cnnlab.cli.main import main
from cnnlab.errors import MAX_EXPONENT


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_usage_error(capsys, *argv: str, contains: str = "") -> str:
    rc, out, err = run(capsys, *argv)
    assert rc == 2, (rc, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert contains in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def huge_fractions(monkeypatch) -> list[str]:
    """Numerals with an exponent beyond MAX_EXPONENT that reached ``Fraction(str)``.

    Building such a Fraction is the slow step (1e-9999999 is a 10-million-digit integer), so
    the refusal must come before it: a speed-independent check instead of a stopwatch. The
    guard also stops the conversion at once, so a regression fails rather than hangs.
    """
    seen: list[str] = []
    original = Fraction.__new__

    def guarded(cls, numerator=0, denominator=None, **kwargs):
        if isinstance(numerator, str):
            m = re.search(r"[eE]([+-]?\d+)", numerator)
            if m and abs(int(m.group(1))) > MAX_EXPONENT:
                seen.append(numerator)
                raise OverflowError("test guard: huge exponent reached Fraction()")
        return original(cls, numerator, denominator, **kwargs)

    monkeypatch.setattr(Fraction, "__new__", guarded)
    return seen


def write_sheet(tmp_path, text: str) -> str:
    path = tmp_path / "sheet.yaml"
    path.write_text(text)
    return str(path)


# -- numbers out of float range in CLI literals and files ---------------------------------
@pytest.mark.parametrize("literal", ["1 1e400", "[1, 1e400]", "1 99999999999999999999" + "9" * 300])
def test_cli_literal_over_float_range_is_usage_error(capsys, literal):
    # was: OverflowError traceback when the Fractions were turned into floats
    assert_usage_error(capsys, "conv", "--input", literal, "--kernel", "1", contains="out of range")


def test_cli_literal_huge_exponent_is_refused_quickly(capsys, huge_fractions):
    # was: Fraction("1e-9999999") built a 10-million-digit integer (8 s; 1e-99999999 never ends)
    assert_usage_error(capsys, "conv", "--input", "1 1e-9999999", "--kernel", "1", contains="out of range")
    assert huge_fractions == []  # refused before any conversion


@pytest.mark.parametrize("body", ["[[1, NaN]]", "[[1, Infinity]]", "[[1, 1e400]]",
                                  "[[1, " + "9" * 400 + "]]", "[[1, " + "9" * 5000 + "]]"])
def test_cli_json_file_non_finite_is_usage_error(capsys, tmp_path, body):
    # was: ValueError "Invalid literal for Fraction: 'nan'" / OverflowError / int-digits tracebacks
    path = tmp_path / "x.json"
    path.write_text(body)
    assert_usage_error(capsys, "conv", "--input", str(path), "--kernel", "1")


def test_cli_small_numbers_still_read(capsys):
    rc, out, _ = run(capsys, "conv", "--input", "1e-300 1e308", "--kernel", "1", "--format", "json")
    assert rc == 0 and json.loads(out)["output"] == [[1e-300, 1e308]]


# -- problem files: non-finite numbers and answer strings -----------------------------------
@pytest.mark.parametrize("sheet", [
    'given: {x: 1e400}\nparts: [{id: a, ask: "x + 1"}]',
    'given: {x: .inf}\nparts: [{id: a, ask: "x + 1"}]',
    'parts: [{id: a, ask: "1e400 + 1"}]',
])
def test_solve_non_finite_number_is_usage_error(capsys, tmp_path, sheet):
    # was: exit 0 with "value": null (inf silently printed as JSON null)
    assert_usage_error(capsys, "solve", write_sheet(tmp_path, sheet), "--format", "json",
                       contains="not a finite number")


def test_check_answer_string_out_of_range_is_wrong_not_traceback(capsys, tmp_path):
    # was: OverflowError traceback from float(Fraction("1e400"))
    path = write_sheet(tmp_path, 'parts: [{id: a, ask: "1 + 1", answer: "1e400"}]')
    rc, out, err = run(capsys, "check", path)
    assert rc == 1 and "a: wrong" in out and not err


def test_check_answer_string_huge_exponent_is_quick(capsys, tmp_path, huge_fractions):
    # was: Fraction("1e-9999999") in the claimed answer hung `cnnlab check`
    path = write_sheet(tmp_path, 'parts: [{id: a, ask: "1 + 1", answer: "1e-9999999"}]')
    rc, out, _ = run(capsys, "check", path)
    assert rc == 1 and "a: wrong" in out
    assert huge_fractions == []  # judged wrong without converting the numeral


def test_check_message_shows_enough_digits(capsys, tmp_path):
    # was: "claimed 1e+06, expected 1e+06" (format :g) for 1000001.1 vs 1000000
    path = write_sheet(tmp_path, 'parts: [{id: a, ask: "1000000 + 0", answer: 1000001.1},'
                                 ' {id: b, ask: "[1000000, 1]", answer: [1000001.5, 1]}]')
    rc, out, _ = run(capsys, "check", path)
    assert rc == 1
    assert "claimed 1000001.1, expected 1000000" in out
    rc, out, _ = run(capsys, "solve", path)
    assert "claimed 1000001.1, expected 1000000" in out


# -- negative values written with commas -----------------------------------------------------
def test_negative_comma_values_are_arguments(capsys):
    # was: "argument --bias: expected one argument" for --bias -1,2 (help shows '1,-1')
    torch = pytest.importorskip("torch")
    x = [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]
    k = [[[[1.0]], [[0.0]]], [[[0.0]], [[2.0]]]]
    rc, out, err = run(capsys, "conv", "--input", json.dumps(x), "--kernel", json.dumps(k),
                       "--bias", "-1,-2.5", "--format", "json")
    assert rc == 0, err
    ref = torch.nn.functional.conv2d(torch.tensor(x)[None], torch.tensor(k), torch.tensor([-1.0, -2.5]))[0]
    assert np.allclose(json.loads(out)["output"], ref.numpy())
    rc, out, err = run(capsys, "conv", "--input", "1 2 3; 4 5 6", "--kernel", "-1,0,1", "--format", "json")
    assert rc == 0 and json.loads(out)["output"] == [[2.0], [2.0]], err



# -- softmax worked solution as JSON -----------------------------------------------------------
@pytest.mark.parametrize("literal", ["1 2 3", "1 2 3; 0 0 0", "[[[1, 2]], [[3, 0]]]", "5"])
def test_act_softmax_steps_json(capsys, literal):
    # was: TypeError "Object of type ndarray is not JSON serializable" (a softmax cell's value is a vector)
    torch = pytest.importorskip("torch")
    rc, out, err = run(capsys, "act", "--input", literal, "--fn", "softmax", "--steps", "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    from cnnlab.cli.inputs import read_tensor
    x = torch.tensor(read_tensor(literal))
    if x.ndim == 0:
        x = x.reshape(1)
    ref = torch.softmax(x, dim=1 if x.ndim == 2 else 0)
    assert np.allclose(doc["output"], ref.numpy())
    cell = doc["steps"]["cells"][0]
    assert np.allclose(cell["value"], cell["p"]) and abs(sum(cell["p"]) - 1) < 1e-12


# -- grouped convolution: worked steps name the input channel each window comes from ----------
def test_grouped_conv_steps_name_the_input_channel(capsys):
    # was: every window of group 2 was labelled "of the input" / "channel 1" although it is
    # taken from input channel 2 (depthwise) or channels 3-4 (two channels per group)
    x = "[[[1,2],[3,4]],[[5,6],[7,8]],[[0,1],[1,0]],[[2,2],[2,2]]]"
    rc, out, err = run(capsys, "conv", "--input", x, "--kernel", "[[[[1]],[[1]]],[[[1]],[[2]]]]",
                       "--groups", "2", "--steps", "--max-cells", "8")
    assert rc == 0, err
    second = out[out.index("O[2,1,1]"):]
    assert "window, channel 3" in second and "window, channel 4" in second
    assert "Σ channel 3 = 0·1 = 0" in second and "Σ channel 4 = 2·2 = 4" in second
    rc, out, err = run(capsys, "conv", "--input", "[[[1,2],[3,4]],[[5,6],[7,8]]]",
                       "--kernel", "[[[[1]]],[[[2]]]]", "--groups", "2", "--steps")
    assert rc == 0, err
    assert "O[2,1,1]: row 1, column 1 of the input, channel 2" in out
    assert "O[2,1,1] = 5·2 = 10" in out  # input channel 2 (value 5) times its own kernel (2)


# -- float overflow in a result: an error, not a silent JSON null ------------------------------
def test_conv_overflow_is_usage_error_not_null(capsys, tmp_path):
    # was: exit 0 with {"output": [[null, null]]} (1e300·1e300 = inf printed as null)
    for extra in ([], ["--steps"]):
        assert_usage_error(capsys, "conv", "--input", "1e300 1e300", "--kernel", "1e300",
                           "--format", "json", *extra, contains="overflows")
    path = write_sheet(tmp_path, 'parts: [{id: a, ask: "conv2d([[1e300]], [[1e300]])"}]')
    assert_usage_error(capsys, "solve", path, "--format", "json", contains="overflows")


def test_saturating_functions_still_fine(capsys):
    rc, out, _ = run(capsys, "act", "--input", "-800 0 800", "--fn", "sigmoid", "--format", "json")
    assert rc == 0 and json.loads(out)["output"] == [0.0, 0.5, 1.0]


def test_txt_file_with_blank_line_names_the_channels(capsys, tmp_path):
    # was: "input is ragged: row [1] has 1 entries, expected 2" for a .txt file whose blank line
    # (a channel separator) split a matrix into channels of 2 and 1 rows
    path = tmp_path / "x.txt"
    path.write_text("1 2 3\n4 5 6\n\n7 8 9\n")
    line = assert_usage_error(capsys, "conv", "--input", str(path), "--kernel", "1")
    assert "new channel" in line and "channel 2 has 1 row(s) where channel 1 has 2" in line
    path.write_text("1 2\n3 4\n\n5 6\n7 8\n")
    rc, out, _ = run(capsys, "conv", "--input", str(path), "--kernel", "1", "--format", "json")
    assert rc == 0 and json.loads(out)["output"] == [[6.0, 8.0], [10.0, 12.0]]
