"""`cnnlab serve` is a thin face: its API calls the Python functions (no argv, no captured
stdout, no argparse under serve/), and one table maps exceptions to HTTP."""

from __future__ import annotations

from pathlib import Path

from ast_helpers import module_imports

import cnnlab
from cnnlab.serve import api
from cnnlab.serve.app import EXCEPTION_HANDLERS, create_app

SERVE = Path(__file__).resolve().parents[1] / "cnnlab" / "serve"


def test_serve_builds_no_argv_and_reads_no_stdout():
    assert not (SERVE / "capture.py").exists()
    for path in SERVE.glob("*.py"):
        mods = module_imports(path)
        assert "argparse" not in mods, path
        assert not any(m.startswith("cnnlab.serve.capture") for m in mods), path
        assert "sys.stdout" not in path.read_text(), path
    assert not any(m.startswith("cnnlab.cli") for m in module_imports(SERVE / "api.py"))


def test_run_command_is_the_python_function():
    body = {"input": [[0, 1, 2], [3, 4, 5]], "kernel": "1 -1", "stride": [1, 2], "steps": True, "max_cells": 2}
    assert api.run_command("conv", body) == cnnlab.conv(**body).to_json()
    assert api.run_command("pool", {"input": "1 2; 3 4", "op": "avg", "size": 2, "padding": 1, "stride": 1,
                                    "no_count_include_pad": True}) == \
        cnnlab.pool("1 2; 3 4", "avg", 2, padding=1, stride=1, count_include_pad=False).to_json()
    assert api.command_fields("pool")[-3:] == ["round", "steps", "max_cells"]
    assert "no_count_include_pad" in api.command_fields("pool")


def test_one_exception_table_maps_errors_to_http():
    app = create_app("runs")
    assert app.exception_handlers[cnnlab.UsageError] is EXCEPTION_HANDLERS[cnnlab.UsageError]
    response = EXCEPTION_HANDLERS[cnnlab.UsageError](None, cnnlab.UsageError("input is empty"))
    assert response.status_code == 400 and response.body == b'{"error": "input is empty"}'
