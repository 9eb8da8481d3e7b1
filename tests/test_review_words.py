"""Words and numbers a reader trusts (issue 24 item 6): positions counted from 1 in messages,
sizes in GB, filters numbered from 1 with "no clear pattern" below a threshold, layers named
as the table names them."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab.cli.main import main


@pytest.mark.parametrize("literal, where", [("1 2; 3", "row [2] (counted from 1)"),
                                           ("[[1, 2], [3, [4]]]", "element [2, 2] (counted from 1)"),
                                           ("[[[1, 2], [3, 4]], [[5, 6], [7]]]", "row [2, 2] (counted from 1)")])
def test_ragged_input_messages_count_from_1(literal, where, capsys):
    assert main(["conv", "--input", literal, "--kernel", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and where in err, err


def test_problem_file_positions_count_from_1():
    from cnnlab.errors import UsageError
    from cnnlab.problems import load_problem_text, solve_set

    with pytest.raises(UsageError, match=r"row \[3\] \(counted from 1\)"):
        solve_set(load_problem_text("given: {X: [[1, 2], [3, 4], [5]]}\nparts: ['X']\n"))


@pytest.mark.parametrize("n", [0, 999, 10_880, 999_999, 3_060_000_000, 2**30, 7 * 10**12, 12 * 10**15])
def test_sizes_in_the_largest_unit_never_in_e_notation(n):
    from cnnlab.arch.render import _bytes

    text = _bytes(n)
    assert "e+" not in text and "e-" not in text, text
    units = {"kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
    for value, unit in re.findall(r"([\d.]+) ([KMGT]i?B|kB)", text):
        assert float(value) * units[unit] == pytest.approx(n, rel=0.006, abs=1e-9), text
        assert n < 1e3 or float(value) >= 1 or unit in ("kB", "KiB")


def test_arch_of_a_big_network_says_gb(capsys):
    assert main(["arch", "conv 3x3 64 p1; conv 3x3 64 p1; conv 3x3 64 p1; conv 3x3 64 p1; conv 3x3 64 p1",
                 "--input", "3x1024x1024"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("activation memory"))
    assert " GB = " in line and "GiB" in line and "e+" not in out, line


def test_filters_numbered_from_1_and_weak_ones_have_no_clear_pattern():
    from cnnlab.explain.filters import NO_CLEAR_PATTERN, describe_filters, filter_titles
    from cnnlab.kernels.describe import describe_kernel

    rng = np.random.default_rng(6)
    w = rng.normal(size=(40, 1, 5, 5)) * rng.uniform(0.1, 1, size=(40, 1, 1, 1))
    w[0, 0] = np.pad(np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float), 1)  # Sobel x in the middle
    rows = describe_filters(w)
    assert [r["number"] for r in rows] == list(range(1, 41)) and rows[0]["pattern"] == "vertical edge"
    titles = filter_titles(rows)
    assert titles[0] == "1: vertical edge" and titles[-1].startswith("40: ")
    weak = 0
    for r in rows:
        d = describe_kernel(w[r["index"], 0])  # the reference: describe_kernel's own cosine
        match = d["match"][d["best_probe"]] if d["best_probe"] else 0.0
        if match < NO_CLEAR_PATTERN:
            weak += 1
            assert r["pattern"] == "no clear pattern" and r["strength"] is None
        else:
            assert r["pattern"] == d["best_probe"].replace("_", " ")
    assert weak > 0


def test_layers_named_as_the_table_with_the_module_path_beside():
    from cnnlab.arch.spec import parse_spec
    from cnnlab.explain.feature_maps import display_name, get_layer, layer_labels, resolve_layer
    from cnnlab.models import get_model

    spec = "conv 3x3 8; relu; maxpool 2; conv 3x3 8; relu; fc 10"
    model = get_model(spec, 1, 10, (12, 12))
    labels = layer_labels(model)
    kinds = [layer.kind for layer in parse_spec(spec)]
    named = [re.sub(r"\d+$", "", label) for label in labels.values() if label != "flatten1"]
    assert named == kinds  # the same kinds, in the same order, as the spec's table
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3), nn.ReLU())
    assert layer_labels(net) == {"0": "conv1", "1": "relu1", "2": "maxpool1", "3": "conv2", "4": "relu2"}
    assert resolve_layer(net, "conv2") == "3" == resolve_layer(net, "conv2 (3)") == resolve_layer(net, "3")
    assert display_name(net, "3") == "conv2 (3)" and get_layer(net, "relu2") is net[4]
