"""Hostile and careless input, by class (issue 11 item 7): every case drawn ends in one
``error:`` line on stderr and exit status 2 — no traceback, no hang, nothing printed by a
library before it.

Each class draws new cases (hypothesis, derandomised with a fixed budget so runs repeat;
the budgets are the ``max_examples`` below) through the CLI in-process.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cnnlab.cli import argtypes
from cnnlab.cli.main import main

FUZZ = settings(max_examples=30, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def refused(capsys, argv, *, contains: str | None = None) -> str:
    """Run ``cnnlab ARGV``; assert exit 2 and exactly one ``error:`` line; return it."""
    capsys.readouterr()
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert status == 2, (argv, status, err[-500:])
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err[-800:])
    assert "Traceback" not in err and "Warning" not in err
    if contains:
        assert contains in lines[0], (argv, lines[0])
    return lines[0]


# ------------------------------------------------------------------ class 1: numbers

huge_int = st.integers(401, 20_000).map(lambda n: "9" * n)
long_decimal = st.integers(401, 20_000).map(lambda n: "0." + "0" * (n - 1) + "1")
big_exponent = st.tuples(st.sampled_from(["1", "-2.5", "7/3"]), st.integers(401, 10**9),
                         st.sampled_from(["", "-", "+"])).map(lambda t: f"{t[0].split('/')[0]}e{t[2]}{t[1]}")
over_float = st.sampled_from(["1.8e308", "-1.8e308", "1e309", ".inf", "-.inf", ".nan", "inf", "nan"])
hostile_number = st.one_of(huge_int, long_decimal, big_exponent, over_float)


@FUZZ
@given(number=hostile_number, where=st.sampled_from(["literal", "txt", "json"]))
def test_numbers_in_literals_and_input_files(capsys, tmp_path_factory, number, where):
    if where == "literal":
        refused(capsys, ["conv", "--input", f"1 2; {number} 4", "--kernel", "1 0; 0 1"])
        return
    folder = tmp_path_factory.mktemp("n")
    path = folder / f"x.{where}"
    text = f"[[1, 2], [{number}, 4]]" if where == "json" else f"1 2\n{number} 4\n"
    path.write_text(text)
    refused(capsys, ["conv", "--input", path, "--kernel", "1 0; 0 1"])


@FUZZ  # bare inf / nan are strings in YAML (a claimed answer in words, compared as text)
@given(number=hostile_number.filter(lambda n: n not in ("inf", "nan")), key=st.sampled_from(["given", "answer"]))
def test_numbers_in_problem_files(capsys, tmp_path_factory, number, key):
    path = tmp_path_factory.mktemp("p") / "p.yaml"
    if key == "given":
        path.write_text(f"given: {{x: {number}}}\nparts:\n  - {{id: a, ask: x + 1}}\n")
    else:
        path.write_text(f"parts:\n  - {{id: a, ask: 1 + 1, answer: {number}}}\n")
    refused(capsys, ["check" if key == "answer" else "solve", path])


@FUZZ
@given(case=st.one_of(
    hostile_number.map(lambda n: ["kernel", "describe", f"gaussian:5:{n}"]),
    st.sampled_from(["1e-320", "0", "-1", "1e7"]).map(lambda n: ["kernel", "describe", f"gaussian:5:{n}"]),
    st.integers(-10**30, -1).map(lambda n: ["kernel", "describe", "sobel_x", "--round", n]),
    st.integers(21, 10**30).map(lambda n: ["kernel", "describe", "sobel_x", "--round", n]),
    hostile_number.map(lambda n: ["kernel", "invariance", "--no-picture", "--sigma", n]),
    st.sampled_from(["(-0.0) ** -1", "0.0 ** -2", "0 ** -1"]).map(lambda e: ["solve-text", e]),
))
def test_numbers_in_flags_and_asks(capsys, tmp_path_factory, case):
    if case[0] == "solve-text":
        path = tmp_path_factory.mktemp("a") / "p.yaml"
        path.write_text(f'parts:\n  - {{id: a, ask: "{case[1]}"}}\n')
        case = ["solve", path]
    refused(capsys, case)


# ------------------------------------------------------------------ class 2: nesting

@settings(max_examples=12, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(33, 6000), where=st.sampled_from(["literal", "json", "arch-flow", "arch-block",
                                                           "problem"]))
def test_nesting_deeper_than_the_limit(capsys, tmp_path_factory, depth, where):
    folder = tmp_path_factory.mktemp("d")
    nested = "[" * depth + "1" + "]" * depth
    if where == "literal":
        refused(capsys, ["conv", "--input", nested, "--kernel", "1"], contains="nested")
    elif where == "json":
        (folder / "x.json").write_text(nested)
        refused(capsys, ["conv", "--input", folder / "x.json", "--kernel", "1"], contains="nested")
    elif where == "arch-flow":
        (folder / "net.yaml").write_text(nested)
        refused(capsys, ["arch", folder / "net.yaml", "--input", "1x8x8"], contains="nested")
    elif where == "arch-block":
        depth = min(depth, 2000)
        text = "".join("  " * i + "-\n" for i in range(depth)) + "  " * depth + "- 1\n"
        (folder / "net.yaml").write_text(text)
        refused(capsys, ["arch", folder / "net.yaml", "--input", "1x8x8"])
    else:
        (folder / "p.yaml").write_text(f"given: {{x: {nested}}}\nparts:\n  - {{id: a, ask: x}}\n")
        refused(capsys, ["solve", folder / "p.yaml"])


# ------------------------------------------------------------------ class 3: sizes

# (argv before the value, limit) for every bounded size/count/step flag that is read at parse time
BOUNDED = [
    (["kernel", "describe", "sobel_x", "--round"], argtypes.LIMITS["round"]),
    (["kernel", "invariance", "--no-picture", "--trials"], argtypes.LIMITS["trials"]),
    (["kernel", "invariance", "--no-picture", "--crop"], argtypes.LIMITS["crop"]),
    (["kernel", "cost", "--no-picture", "--repeats"], argtypes.LIMITS["repeats"]),
    (["explain", "RUN", "--what", "maximize", "--steps"], argtypes.LIMITS["steps"]),
    (["explain", "RUN", "--count"], argtypes.LIMITS["count"]),
    (["explain", "RUN", "--limit"], argtypes.LIMITS["limit"]),
    (["train", "--data", "digits", "--model", "mlp", "--epochs"], argtypes.LIMITS["epochs"]),
    (["train", "--data", "digits", "--model", "mlp", "--batch-size"], argtypes.LIMITS["batch_size"]),
    (["train", "--data", "digits", "--model", "mlp", "--threads"], argtypes.cpu_count()),
    (["compare", "--limit"], argtypes.LIMITS["limit"]),
    (["compare", "--threads"], argtypes.cpu_count()),
    (["compare", "--epochs"], argtypes.LIMITS["epochs"]),
    (["compare", "--batch-size"], argtypes.LIMITS["batch_size"]),
    (["tune", "--trials"], argtypes.LIMITS["tune_trials"]),
    (["tune", "--epochs"], argtypes.LIMITS["epochs"]),
    (["tune", "--limit"], argtypes.LIMITS["limit"]),
    (["train", "--data", "digits", "--model", "mlp", "--limit"], argtypes.LIMITS["limit"]),
    (["data", "info", "digits", "--limit"], argtypes.LIMITS["limit"]),
]


@FUZZ
@given(flag=st.sampled_from(BOUNDED), over=st.one_of(st.integers(1, 10**6), st.integers(10**6, 10**60)),
       below=st.booleans())
def test_every_bounded_flag_refuses_values_beyond_its_bound(capsys, flag, over, below):
    argv, limit = flag
    value = -over if below else limit + over
    refused(capsys, [*argv, value])


@FUZZ
@given(case=st.one_of(
    st.integers(65, 10**9).map(lambda k: ["kernel", "describe", f"{'box' if k % 2 else 'identity'}:{k}"]),
    st.integers(65, 10**9).map(lambda k: ["kernel", "describe", f"gaussian:{k}:1.0"]),
    st.tuples(st.sampled_from(["--dilation", "--stride"]), st.integers(257, 10**30)).map(
        lambda t: ["conv", "--transposed", *map(str, t), "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 1; 1 1"]),
    st.tuples(st.sampled_from(["shift", "crop", "noise", "rotate"]), st.integers(361, 10**12)).map(
        lambda t: ["train", "--data", "digits", "--model", "mlp", "--augment", f"{t[0]}:{t[1]}"]),
    st.integers(65_537, 10**15).map(lambda n: ["train", "--data", "digits", "--model", "mlp",
                                               "--model-opt", f"hidden=[{n}]"]),
    st.integers(4097, 10**9).map(lambda n: ["data", "info", "digits", "--resize", f"{n}x8"]),
    st.integers(4097, 10**9).map(lambda n: ["kernel", "cost", "--no-picture", "--size", str(n)]),
))
def test_sizes_are_refused_before_allocating(capsys, case):
    refused(capsys, case)


# ------------------------------------------------------------------ class 4: library refusals

@FUZZ
@given(seed=st.one_of(st.integers(2**32, 2**80), st.integers(-2**80, -1)),
       command=st.sampled_from([["kernel", "invariance", "--no-picture"], ["data", "info", "digits"],
                                ["train", "--data", "digits", "--model", "mlp"], ["quiz"],
                                ["explain", "RUN"], ["compare"], ["tune"]]))
def test_seeds_outside_numpys_range(capsys, seed, command):
    refused(capsys, [*command, "--seed", seed], contains="--seed")


@FUZZ
@given(value=st.one_of(st.floats(1.0, 1e300), st.floats(-1e300, -1e-9)),
       key=st.sampled_from(["dropout", "head_dropout"]))
def test_model_options_a_library_would_refuse(capsys, value, key):
    refused(capsys, ["train", "--data", "digits", "--model", "mlp", "--model-opt", f"{key}={value!r}"])


@pytest.mark.parametrize("side", [32])
def test_torchvision_model_refusing_an_input_size(capsys, side):
    pytest.importorskip("torchvision")
    refused(capsys, ["arch", "--torchvision", "vit_b_16", "--input", f"3x{side}x{side}"],
            contains="cannot run on input")


def test_what_slips_through_ends_in_one_error_line(capsys, monkeypatch):
    """The top-level guard: MemoryError, RecursionError and a library's own exception."""
    import cnnlab.cli.kernel_cmd as kernel_cmd

    for exc in (MemoryError(), RecursionError("maximum recursion depth exceeded"),
                AssertionError("Wrong image height!"), ValueError("Exceeds the limit (4300 digits) for "
                                                              "integer string conversion")):
        def boom(_args, exc=exc):
            raise exc
        monkeypatch.setattr(kernel_cmd, "_list", boom)
        refused(capsys, ["kernel", "list"])


def test_library_warnings_do_not_reach_the_terminal(capsys):
    """A numpy RuntimeWarning on the way to an answer or an error is not printed."""
    capsys.readouterr()
    main(["pool", "--input", "1e308 1e308; 1e308 1e308", "--size", "2", "--op", "avg"])
    err = capsys.readouterr().err
    assert "Warning" not in err and len(err.strip().splitlines()) <= 1


# ------------------------------------------------------------------ class 5: files

def _special_paths(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    binary = tmp_path / "blob.yaml"
    binary.write_bytes(bytes(range(256)) * 8)
    return {"device": "/dev/zero", "null": "/dev/null", "fifo": str(fifo), "folder": str(tmp_path),
            "binary": str(binary)}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["device", "null", "fifo", "folder", "binary"]),
       use=st.sampled_from(["problem", "data", "config", "arch", "input", "weights"]))
def test_files_that_are_not_regular_or_not_text(capsys, tmp_path_factory, kind, use):
    path = _special_paths(tmp_path_factory.mktemp("f"))[kind]
    argv = {"problem": ["solve", path], "data": ["data", "info", path],
            "config": ["train", "--config", path],
            "arch": ["arch", path if path.endswith(".yaml") or kind != "folder" else path + "/", "--input", "1x8x8"],
            "input": ["conv", "--input", path, "--kernel", "1"],
            "weights": ["train", "--data", "digits", "--model", "resnet18", "--weights", path]}[use]
    if use == "weights" and kind == "binary":
        pytest.importorskip("torch")
    line = refused(capsys, argv)
    if kind in ("device", "fifo", "folder") and use not in ("input",):
        assert "does not exist" not in line


def test_missing_arch_file_is_named_missing(capsys, tmp_path):
    line = refused(capsys, ["arch", str(tmp_path / "missing.yaml"), "--input", "1x8x8"])
    assert "does not exist" in line and "layer kind" not in line


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path):
    np = pytest.importorskip("numpy")
    from cnnlab.data import load_dataset

    for i in range(8):
        np.save(tmp_path / f"{i}.npy", np.full((1, 4, 4), i, np.float32))
    rows = "".join(f"{i}.npy,{'ab'[i % 2]}\n" for i in range(8))
    (tmp_path / "list.csv").write_bytes(b"\xef\xbb\xbfpath,label\n" + rows.encode())
    ds = load_dataset(str(tmp_path / "list.csv"), val_fraction=0.25, test_fraction=0.25)
    assert ds.classes == ["a", "b"] and len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 8


def test_limits_document_lists_every_bound():
    text = open(os.path.join(os.path.dirname(__file__), "..", "docs", "limits.md"), encoding="utf-8").read()
    for name, value in argtypes.LIMITS.items():
        assert f"{value:,}" in text or str(value) in text, name


def test_json_nested_file_message_names_nesting(capsys, tmp_path):
    (tmp_path / "x.json").write_text(json.dumps([[1, 2], [3, 4]]))
    capsys.readouterr()
    assert main(["conv", "--input", str(tmp_path / "x.json"), "--kernel", "1"]) == 0


# ------------------------------------------------------------------ class 6: budgets checked before work

def _npy_header_only(path, shape, descr="<f8") -> None:
    """A .npy file that is only a header: reading its data would fail, so a refusal proves the
    shape was judged from the header alone."""
    np = pytest.importorskip("numpy")
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})


@FUZZ
@given(shape=st.one_of(st.tuples(st.integers(65, 4096), st.integers(65, 4096)),
                       st.tuples(st.integers(1, 64), st.integers(4097, 10**6))),
       command=st.sampled_from([["kernel", "describe", "{k}"],
                                ["kernel", "apply", "camera", "--kernel", "{k}", "--no-picture"],
                                ["kernel", "invariance", "--kernel", "{k}", "--no-picture"]]))
def test_oversized_kernel_files_are_refused_from_the_header(capsys, tmp_path_factory, shape, command):
    import time

    path = tmp_path_factory.mktemp("k") / "big.npy"
    _npy_header_only(path, shape)
    start = time.monotonic()
    line = refused(capsys, [str(a).replace("{k}", str(path)) for a in command],
                   contains=f"{shape[0]}x{shape[1]}")
    assert "4,096 numbers" in line and time.monotonic() - start < 10


@FUZZ
@given(side=st.integers(65, 200), where=st.sampled_from(["csv", "txt", "literal"]))
def test_oversized_kernel_text_is_refused(capsys, tmp_path_factory, side, where):
    rows = [" ".join("1" for _ in range(side))] * 2 if side * 2 <= 4096 else None
    if where == "literal":
        text = "; ".join(rows)
    else:
        path = tmp_path_factory.mktemp("k") / f"k.{where}"
        path.write_text("\n".join(r.replace(" ", "," if where == "csv" else " ") for r in rows) + "\n")
        text = str(path)
    refused(capsys, ["kernel", "describe", text], contains=f"2x{side}")


@FUZZ
@given(width=st.integers(2**24, 2**26), extra=st.sampled_from(["", "conv 3x3 8; ", "conv 3x3 4 p1; relu; "]))
def test_huge_spec_models_are_refused_before_building(capsys, tmp_path_factory, width, extra):
    import resource

    pytest.importorskip("torch")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = refused(capsys, ["train", "--data", "digits", "--model", f"{extra}fc {width}", "--limit", "20",
                            "--epochs", "1", "--out", tmp_path_factory.mktemp("huge") / "run"])
    assert "parameters" in line and ("2^30" in line or "GiB" in line), line
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 2**20  # KiB: under 1 GiB more


def test_spec_parameter_bound_matches_evaluate():
    from cnnlab.models.spec_model import MAX_SPEC_PARAMS
    from cnnlab.train.evaluate import MAX_PARAMS

    assert MAX_SPEC_PARAMS == MAX_PARAMS


@settings(max_examples=6, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=st.sampled_from(["conv 3x3 4; relu; gap; fc 8; bn; fc 10", "conv 3x3 4; gap; bn; fc 10",
                             "fc 16; bn; relu; fc 10", "conv 8x8 4; bn; fc 10"]))
def test_batch_norm_with_batches_of_one(capsys, tmp_path_factory, spec):
    pytest.importorskip("torch")
    out = tmp_path_factory.mktemp("bn") / "run"
    refused(capsys, ["train", "--data", "digits", "--model", spec, "--batch-size", "1", "--limit", "20",
                     "--epochs", "1", "--out", out], contains="--batch-size 2")


@FUZZ
@given(pad=st.integers(300, 600), width=st.sampled_from([128, 256]), extra=st.integers(1, 32))
def test_spec_batches_over_the_memory_budget_are_refused(capsys, tmp_path_factory, pad, width, extra):
    """Huge activation maps: refused with the batch size that fits, before torch allocates them."""
    import resource

    pytest.importorskip("torch")
    from cnnlab.models.spec_model import MAX_SPEC_TRAIN_BYTES

    side = 8 + 2 * pad
    per_example = 2 * width * side * side * 8  # two conv outputs, value and gradient, float32
    batch = MAX_SPEC_TRAIN_BYTES // per_example + extra  # one example fits, the batch does not
    assert per_example < MAX_SPEC_TRAIN_BYTES and batch <= 60  # and the 140 training examples fill it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = refused(capsys, ["train", "--data", "digits", "--model", f"conv 1x1 {width} p{pad}; conv 1x1 {width}; gap",
                            "--batch-size", batch, "--limit", "200", "--epochs", "1",
                            "--out", tmp_path_factory.mktemp("mem") / "run"], contains="GiB")
    assert "--batch-size" in line
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 2**21  # KiB: under 2 GiB more


# ------------------------------------------------------------------ class 7: smaller slips (issue 23 item 7)

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@settings(max_examples=9, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["fifo", "folder", "device"]),
       name=st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12))
def test_model_naming_a_special_file_says_what_it_is(capsys, tmp_path_factory, kind, name):
    folder = tmp_path_factory.mktemp("m")
    path = folder / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = "/dev/zero"
    expected = {"fifo": "a named pipe", "folder": "a folder", "device": "a device file"}[kind]
    line = refused(capsys, ["train", "--data", "digits", "--model", path, "--out", folder / "run"], contains=expected)
    assert "does not exist" not in line and "unknown model" not in line


@FUZZ
@given(rows=st.integers(1, 6), cols=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       suffix=st.sampled_from(["csv", "txt"]))
def test_input_files_with_a_byte_order_mark_are_read(capsys, tmp_path_factory, rows, cols, seed, suffix):
    np = pytest.importorskip("numpy")
    x = np.random.default_rng(seed).integers(-99, 100, (rows, cols))
    sep = "," if suffix == "csv" else " "
    text = "\n".join(sep.join(str(v) for v in row) for row in x) + "\n"
    folder = tmp_path_factory.mktemp("bom")
    (folder / f"bom.{suffix}").write_bytes(b"\xef\xbb\xbf" + text.encode())
    capsys.readouterr()
    assert main(["conv", "--input", str(folder / f"bom.{suffix}"), "--kernel", "2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == (2 * x).tolist()  # a 1x1 kernel of 2 doubles x


@FUZZ
@given(crop=st.integers(1, 63))
def test_invariance_crop_below_the_minimum_names_the_crop(capsys, crop):
    refused(capsys, ["kernel", "invariance", "--no-picture", "--crop", crop], contains=f"got {crop}")


@FUZZ
@given(name=st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12))
def test_compare_out_on_a_training_run_says_so(capsys, tmp_path_factory, name):
    run = tmp_path_factory.mktemp("r") / name
    run.mkdir()
    (run / "model.json").write_text("{}")  # what cnnlab train writes into every run folder
    (run / "config.yaml").write_text("model: cnn3\n")
    line = refused(capsys, ["compare", "--data", "digits", "--out", run], contains="training run")
    assert "comparison (" not in line


nested_bias = st.recursive(st.integers(-9, 9), lambda inner: st.lists(inner, min_size=1, max_size=3), max_leaves=6).filter(
    lambda v: isinstance(v, list) and any(isinstance(e, list) for e in v) and len(v) > 1)


@FUZZ
@given(bias=nested_bias)
def test_nested_bias_is_an_error_line(capsys, bias):
    """A list holding a list ([1, [2]], [[1], [2]]) is no bias; it used to end in a TypeError."""
    refused(capsys, ["conv", "--input", "1 2; 3 4", "--kernel", "[[[[1]]], [[[1]]]]", "--bias", json.dumps(bias)],
            contains="bias")


@settings(max_examples=6, derandomize=True, deadline=None, database=None)
@given(spec=st.sampled_from(["conv 3x3 8 p1; bn; relu; res 16; gap", "fc 16; bn; relu; fc 10",
                             "conv 3x3 4; bn; relu; res 3x3/2 8; bn; gap; fc 10"]))
def test_budget_guards_leave_spec_models_traceable(spec):
    """The batch and batch-norm guards must not stop torch.fx (cnnlab arch, /explore's fields)."""
    pytest.importorskip("torch")
    from cnnlab.arch import analyze
    from cnnlab.models.spec_model import build_spec_model, plan_spec

    model = build_spec_model(spec, 1, 10, (8, 8))
    table = analyze(model, (1, 8, 8))
    assert not any("could not trace" in note for note in table["notes"]), table["notes"]
    assert table["total_params"] == plan_spec(spec, 1, 10, (8, 8)).table["total_params"]
