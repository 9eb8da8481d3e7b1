"""benchmarks/bench_fashion_search.py: its cost ratios are the ones of cnnlab's real spec models."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_fashion_search as bench  # noqa: E402
from cnnlab.models.spec_model import build_spec_model  # noqa: E402
from cnnlab.train.recipes import FAST_SPEC, get_recipe  # noqa: E402


def test_every_candidate_builds_and_trains_a_step():
    """Each candidate spec is a valid cnnlab spec for 1x28x28 inputs with 10 classes."""
    for label, spec, batch, epochs in bench.CANDIDATES:
        model = build_spec_model(spec, 1, 10, (28, 28))
        assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10), label
        assert batch > 0 and epochs >= 1


def test_the_recipe_is_among_the_candidates():
    specs = {spec for _, spec, _, _ in bench.CANDIDATES}
    assert get_recipe("fast", "fashion-mnist").settings["model"] in specs


def test_mnist_fast_against_itself_costs_about_one():
    """Interleaved timing of MNIST fast's own spec at its own batch: the ratio is near 1."""
    torch.set_num_threads(1)
    (label, epochs, median, q1, q3), = bench.measure([("self", FAST_SPEC, 256, 2)], repeats=3, steps=1)
    assert label == "self" and epochs == 2
    assert 0.5 < median < 2.0 and q1 <= median <= q3


def test_table_multiplies_by_epochs():
    text = bench.table([("x", 3, 1.25, 1.2, 1.3)])
    assert "| x | 1.25 | 1.20-1.30 | 3.75 |" in text
