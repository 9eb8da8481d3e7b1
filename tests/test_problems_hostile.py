"""Bad and hostile problem files: one `error:` line, exit status 2, nothing executed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cnnlab.cli.main import main
from cnnlab.errors import UsageError
from cnnlab.problems import load_problem_text, solve_set
from cnnlab.problems.loader import MAX_FILE_BYTES

LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

G = "given: {X: [[1, 2], [3, 4]]}\n"

HOSTILE = {
    "yaml_syntax": ("given: {X: [[1,2],[3,4]]\nparts: [relu(X)]\n", "line 2, column 1: YAML syntax error"),
    "python_tag": ("given: !!python/object/apply:os.system ['echo hacked']\nparts: ['1']\n", "YAML tag"),
    "python_name_tag": ("given: {X: !!python/name:os.system ''}\nparts: ['1']\n", "YAML tag"),
    "custom_tag": ("given: {X: !foo [1]}\nparts: ['1']\n", "YAML tag '!foo' is not allowed"),
    "binary_tag": ("given: {X: !!binary aGk=}\nparts: ['1']\n", "YAML tag"),
    "set_tag": ("given: {X: !!set {a: null}}\nparts: ['1']\n", "YAML tag"),
    "billion_laughs": (LAUGHS, "expands to more than"),
    "recursive_alias": ("a: &a [*a]\n", "recursive YAML alias"),
    "duplicate_key": ("given: {X: 1, X: 2}\nparts: ['X']\n", "key 'X' appears twice"),
    "not_a_mapping": ("- 1\n- 2\n", "must be a mapping"),
    "unknown_key": (G + "part: ['1']\n", "unknown key 'part'"),
    "no_parts": (G, "parts must be a non-empty list"),
    "ragged": ("given: {X: [[1, 2], [3]]}\nparts: ['X']\n", "ragged"),
    "non_numeric": ("given: {X: [[1, 'a']]}\nparts: ['X']\n", "non-numeric"),
    "dict_given": ("given: {X: {a: 1}}\nparts: ['X']\n", "must be a number, a list of numbers or a string"),
    "bad_name": ("given: {'2x': 1}\nparts: ['1']\n", "not a valid name"),
    "dunder_given": ("given: {__class__: 1}\nparts: ['1']\n", "dunder"),
    "dup_part_id": (G + "parts: [{id: a, ask: X}, {id: a, ask: X}]\n", "part id 'a' is used twice"),
    "bad_round": (G + "round: -1\nparts: ['X']\n", "round must be an integer"),
    "attribute": (G + "parts: ['X.T']\n", "attribute access"),
    "subscript": (G + "parts: ['X[0][0][0]']\n", "can be indexed"),
    "dunder": (G + "parts: ['__import__(\"os\").system(\"echo hacked\")']\n", "attribute access"),
    "comprehension": (G + "parts: ['[x for x in X]']\n", "comprehensions"),
    "lambda": (G + "parts: ['(lambda: 0)()']\n", "lambdas"),
    "unknown_function": (G + "parts: ['eval(\"1\")']\n", "unknown function"),
    "unknown_name": (G + "parts: ['relu(Y)']\n", "unknown name"),
    "keyword": (G + "parts: ['conv2d(X, X, strides=2)']\n", "no argument 'strides'"),
    "arg_type": (G + "parts: ['maxpool2d(X, \"2\")']\n", "size must be an integer or a pair"),
    "shape": (G + "parts: ['X + [1, 2, 3]']\n", "do not match"),
    "too_big_result": (G + "parts: ['pad(X, 3000)']\n", "over the limit of 4096"),
    "too_big_transposed": (G + "parts: ['conv_transpose2d(X, X, stride=5000)']\n", "over the limit"),
    "huge_power": (G + "parts: ['9 ** 9 ** 9']\n", "too large"),
    "div_zero": (G + "parts: ['X / 0']\n", "division by zero"),
    "deep_flow": ("given: {X: " + "[" * 100_000 + "]" * 100_000 + "}\nparts: [X]\n", "nested deeper than"),
    "deep_block": ("given:\n X:\n" + "".join("  " * i + " -\n" for i in range(1, 200)) + "parts: [X]\n",
                   "nested deeper than"),
    "five_d": ("given: {X: [[[[[1]]]]]}\nparts: [X]\n", "at most 4"),
    "kernel_too_big": (G + "parts: ['conv2d(X, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])']\n", "larger than the padded input"),
}


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_loader(request, monkeypatch):
    """Run a test with PyYAML's C loader and with its pure-Python one: the messages are cnnlab's."""
    from cnnlab.problems import loader

    monkeypatch.setattr(loader, "_Loader", loader._CLoader if request.param == "libyaml" else loader._PyLoader)
    return request.param


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_text_refused(name, yaml_loader):
    text, message = HOSTILE[name]
    with pytest.raises(UsageError, match=message.replace("(", "\\(").replace("[", "\\[")):
        solve_set(load_problem_text(text, source="f.yaml"))


def test_cli_refuses_with_one_error_line_and_exit_2(tmp_path, capsys):
    for name in ("billion_laughs", "python_tag", "dunder", "yaml_syntax", "shape"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(HOSTILE[name][0])
        assert main(["solve", str(path)]) == 2
        assert main(["check", str(path)]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)


def test_nothing_executed_when_a_later_part_is_bad(tmp_path, capsys):
    path = tmp_path / "late.yaml"
    path.write_text(G + "parts:\n  - {id: a, ask: 'conv2d(X, X)'}\n  - {id: b, ask: 'X.T'}\n")
    assert main(["solve", str(path), "--out", str(tmp_path / "o.txt")]) == 2
    assert not (tmp_path / "o.txt").exists()
    assert "part b: attribute access" in capsys.readouterr().err


def test_file_over_one_megabyte_refused_before_reading(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_text("title: " + "x" * MAX_FILE_BYTES + "\n")
    assert main(["solve", str(path)]) == 2
    assert "over the limit of 1 MB" in capsys.readouterr().err


def test_missing_file_directory_and_binary(tmp_path, capsys):
    assert main(["solve", str(tmp_path / "none.yaml")]) == 2
    assert main(["solve", str(tmp_path)]) == 2
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "not UTF-8" in err


def test_tagged_file_executes_nothing(tmp_path):
    marker = tmp_path / "hacked"
    path = tmp_path / "tag.yaml"
    path.write_text(f"given: !!python/object/apply:os.system ['touch {marker}']\nparts: ['1']\n")
    proc = subprocess.run([sys.executable, "-m", "cnnlab.cli.main", "solve", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert not marker.exists()


def test_exponent_floats_read_as_numbers():
    r = solve_set(load_problem_text("given: {X: [1e-3, 2E2]}\nparts: ['X']\n"))
    assert r.parts[0].value.tolist() == [0.001, 200.0]
