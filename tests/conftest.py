"""Shared test settings and fixtures.

Hypothesis runs under the ``ci`` profile by default: derandomised (the same examples on
every run, so a failure is reproducible and CI is repeatable), a fixed example budget and
no per-example deadline (timings are not asserted in unit tests; the 2-core machine is
shared). ``HYPOTHESIS_PROFILE=explore`` draws new, random examples for a local hunt.
Tests that pass their own ``settings(max_examples=...)`` keep that budget, and inherit
the rest (derandomisation included) from the loaded profile.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=40, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "explore", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def digits():
    """scikit-learn's 8x8 digits as cnnlab loads them: 1259 train / 179 val / 359 test.

    One copy per test module (modules that need other digits define their own ``digits``).
    """
    from cnnlab.data import load_dataset  # here, so that collecting the tests imports no torch

    return load_dataset("digits")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A one-epoch logistic regression on 100 digits (8x8): a run folder to evaluate, explain
    or compare (one per test module)."""
    from cnnlab.cli.main import main

    out = tmp_path_factory.mktemp("run") / "mine"
    assert main(["train", "--data", "digits", "--model", "logreg", "--epochs", "1", "--limit", "100",
                 "--threads", "1", "--out", str(out), "--json"]) == 0
    return out
