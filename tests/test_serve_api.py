"""The JSON API of `cnnlab serve`, through a real server process, against the CLI and torch."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from cnnlab.cli.main import main as cli_main
from serve_helpers import ROOT, serving

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    (root / "fake").mkdir()
    (root / "fake" / "model.json").write_text("{}")  # looks like a run: enough for the path checks
    outside = tmp_path_factory.mktemp("outside")
    (outside / "model.json").write_text("{}")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    return root


@pytest.fixture(scope="module")
def server(runs_dir):
    with serving(runs_dir) as (url, _proc):
        yield url


def call(url: str, path: str, body=None, raw: bytes | None = None, timeout: float = 60):
    """(status, JSON answer) of GET (body None) or POST."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def cli_json(argv: list[str], capsys) -> tuple[int, dict | str]:
    """What `cnnlab ARGV` prints: (0, JSON object) or (2, the error message without 'error: ')."""
    capsys.readouterr()
    status = cli_main(argv)
    out, err = capsys.readouterr()
    if status == 0:
        return 0, json.loads(out)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return status, err[len("error: "):].strip()


# request body (JSON values and text forms) -> the same command line
SAME_AS_CLI = [
    ("conv", {"input": [[0, 1, 2], [3, 4, 5], [6, 7, 8]], "kernel": [[1, 0], [0, -1]], "padding": 1, "flip": True},
     ["--input", "[[0,1,2],[3,4,5],[6,7,8]]", "--kernel", "1 0; 0 -1", "--padding", "1", "--flip"]),
    ("conv", {"input": "1 2 0 1; 0 1 3 2; 2 1 0 1; 1 0 2 3", "kernel": "sobel_x", "padding": "same",
              "padding_mode": "reflect", "bias": -1, "act": "relu", "steps": True, "max_cells": 3},
     ["--input", "1 2 0 1; 0 1 3 2; 2 1 0 1; 1 0 2 3", "--kernel", "sobel_x", "--padding", "same",
      "--padding-mode", "reflect", "--bias=-1", "--act", "relu", "--steps", "--max-cells", "3"]),
    ("conv", {"input": "1 2 3; 4 5 6; 7 8 9 | 9 8 7; 6 5 4; 3 2 1", "kernel": [[[[1, 0], [0, 1]], [[1, 1], [1, 1]]]],
              "stride": [2, 1], "dilation": 1, "exact": True, "bias": "1/2"},
     ["--input", "1 2 3; 4 5 6; 7 8 9 | 9 8 7; 6 5 4; 3 2 1", "--kernel", "[[[[1,0],[0,1]],[[1,1],[1,1]]]]",
      "--stride", "2,1", "--exact", "--bias", "1/2"]),
    ("pool", {"input": "1 2 3; 4 5 6; 7 8 9", "op": "avg", "size": 2, "stride": 2, "ceil_mode": True, "exact": True,
              "steps": True},
     ["--input", "1 2 3; 4 5 6; 7 8 9", "--op", "avg", "--size", "2", "--stride", "2", "--ceil-mode", "--exact",
      "--steps"]),
    ("pool", {"input": [[1, 2], [3, 4]], "op": "max", "size": 2, "padding": 1, "stride": 1, "steps": True},
     ["--input", "1 2; 3 4", "--op", "max", "--size", "2", "--padding", "1", "--stride", "1", "--steps"]),
    ("act", {"input": [1, 2, 3], "fn": "softmax", "round": 4, "steps": True},
     ["--input", "1 2 3", "--fn", "softmax", "--round", "4", "--steps"]),
    ("act", {"input": "-2 0.5; 3 -1", "fn": "leaky_relu", "slope": 0.1},
     ["--input", "-2 0.5; 3 -1", "--fn", "leaky_relu", "--slope", "0.1"]),
    ("arch", {"spec": "conv 11x11/4 96; relu; maxpool 3x3/2; conv 5x5 256 p2", "input": "3x227x227"},
     ["conv 11x11/4 96; relu; maxpool 3x3/2; conv 5x5 256 p2", "--input", "3x227x227"]),
    ("arch", {"spec": "conv 3x3 16 same; bn; gap; fc 10", "input": [3, 32, 32], "dtype": "fp16", "steps": True},
     ["conv 3x3 16 same; bn; gap; fc 10", "--input", "3x32x32", "--dtype", "fp16", "--steps"]),
]


@pytest.mark.parametrize("command,body,argv", SAME_AS_CLI, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(SAME_AS_CLI)])
def test_api_answers_what_the_cli_prints(server, capsys, command, body, argv):
    status, expected = cli_json([command, *argv, "--format", "json"], capsys)
    assert status == 0
    assert call(server, f"/api/{command}", body) == (200, expected)


def test_conv_matches_torch(server):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    x, k = rng.integers(-5, 6, (2, 7, 6)), rng.integers(-3, 4, (3, 2, 3, 3))
    status, doc = call(server, "/api/conv", {"input": x.tolist(), "kernel": k.tolist(), "stride": 2, "padding": 1,
                                             "bias": [1, -1, 0.5]})
    ref = F.conv2d(torch.tensor(x[None], dtype=torch.float64), torch.tensor(k, dtype=torch.float64),
                   torch.tensor([1, -1, 0.5], dtype=torch.float64), stride=2, padding=1)[0]
    assert status == 200 and doc["shape"] == list(ref.shape)
    np.testing.assert_allclose(doc["output"], ref.numpy())


BAD = [
    ("conv", {"input": "1 2; 3", "kernel": "1"}, ["--input", "1 2; 3", "--kernel", "1"]),
    ("conv", {"input": "1 x", "kernel": "1"}, ["--input", "1 x", "--kernel", "1"]),
    ("conv", {"input": "1 2; 3 4", "kernel": "1 1 1; 1 1 1; 1 1 1"},
     ["--input", "1 2; 3 4", "--kernel", "1 1 1; 1 1 1; 1 1 1"]),
    ("conv", {"input": "1 2", "kernel": "1", "padding_mode": "mirror"},
     ["--input", "1 2", "--kernel", "1", "--padding-mode", "mirror"]),
    ("conv", {"input": " ".join(["0"] * 4097), "kernel": "1"}, ["--input", " ".join(["0"] * 4097), "--kernel", "1"]),
    ("pool", {"input": "1 2; 3 4", "op": "avg", "size": 2, "dilation": 2},
     ["--input", "1 2; 3 4", "--op", "avg", "--size", "2", "--dilation", "2"]),
    ("act", {"input": "1 2", "fn": "gelu"}, ["--input", "1 2", "--fn", "gelu"]),
    ("arch", {"spec": "conv 3x3 16; fc", "input": "3x8x8"}, ["conv 3x3 16; fc", "--input", "3x8x8"]),
    ("arch", {"spec": "conv 9x9 4", "input": "1x4x4"}, ["conv 9x9 4", "--input", "1x4x4"]),
]


@pytest.mark.parametrize("command,body,argv", BAD, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BAD)])
def test_bad_input_is_400_with_the_cli_message(server, capsys, command, body, argv):
    status, message = cli_json([command, *argv, "--format", "json"], capsys)
    assert status == 2
    assert call(server, f"/api/{command}", body) == (400, {"error": message})


@pytest.mark.parametrize("body,pattern", [
    ({"input": "1", "kernel": "1", "colour": 1}, r"unknown field 'colour'"),
    ({"input": "1", "kernel": "1", "flip": "yes"}, r"flip: expected true or false"),
    ({"input": "/etc/passwd", "kernel": "1"}, r"reads no files"),
    ({"input": "secret.npy", "kernel": "1"}, r"reads no files"),
    ({"input": "1", "kernel": "1", "steps": True, "max_cells": 10**6}, r"at most 4096"),
    ([1, 2], r"JSON object"),
])
def test_refusals(server, body, pattern):
    status, doc = call(server, "/api/conv", body)
    assert status == 400 and re.search(pattern, doc["error"]), doc


def test_malformed_and_oversized_bodies(server):
    assert call(server, "/api/conv", raw=b"{not json")[0] == 400
    assert call(server, "/api/conv", raw=b"[" * 100_000 + b"]" * 100_000)[0] == 400
    # refused on its declared length, before the server reads (let alone parses) the body
    host, port = server.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.putrequest("POST", "/api/solve")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(3_000_000))
    conn.endheaders()
    conn.send(b'{"text": "' + b"x" * 1000)
    response = conn.getresponse()
    assert response.status == 413 and "limit" in json.loads(response.read())["error"]
    conn.close()
    status, doc = call(server, "/api/arch", {"spec": str(ROOT / "README.md"), "input": "1x8x8"})
    assert status == 400 and "reads no files" in doc["error"]


def test_fuzzed_bodies_never_500(server):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from cnnlab.serve.api import command_fields

    values = st.recursive(st.none() | st.booleans() | st.integers(-10**30, 10**30) |
                          st.floats(allow_nan=False, allow_infinity=False) |
                          st.sampled_from(["1 2; 3 4", "same", "2,1", "sobel_x", "-1", "1/0", "[[1,[2]]]", "nan",
                                           "1e999", "", "|", "x", "1 2 | 3"]),
                          lambda inner: st.lists(inner, max_size=4), max_leaves=12)

    @st.composite
    def requests(draw):
        command = draw(st.sampled_from(["conv", "pool", "act", "arch"]))
        keys = command_fields(command) + ["bogus"]
        body = draw(st.dictionaries(st.sampled_from(keys), values, max_size=6))
        return command, body

    @settings(max_examples=80, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(requests())
    def check(request):
        command, body = request
        status, doc = call(server, f"/api/{command}", body)
        assert status in (200, 400), (command, body, status, doc)
        assert ("error" in doc) == (status == 400), doc

    check()


def test_solve_and_quiz_html_is_the_notebook_html():
    """/api/solve's and /api/quiz's html is the doc HTML writer's (what a notebook shows):
    tensors as tables with a td per value, maths as MathML; no Markdown converted to HTML."""
    import cnnlab
    from cnnlab.serve.api import quiz, solve

    text = (ROOT / "examples" / "problems" / "sizes.yaml").read_text()
    html = solve({"text": text, "render": "html", "max_cells": 16})["rendered"]
    assert html == cnnlab.solve("sizes", max_cells=16)._repr_html_()
    assert "<pre" not in html and '<table class="cnn-table">' in html and "<mo>⌊</mo>" in html
    conv = solve({"text": (ROOT / "examples" / "problems" / "convolution.yaml").read_text(), "render": "html"})
    assert '<table class="cnn-grid">' in conv["rendered"] and "<pre" not in conv["rendered"]
    q = quiz({"topics": "conv,pool", "count": 2, "seed": 5, "steps": True})
    built = cnnlab.quiz(topics="conv,pool", count=2, seed=5, steps="compact")  # the page's "worked" box
    assert q["yaml"] == built.to_yaml()
    assert q["key"]["html"] == built.render("html") and q["key"]["markdown"] == built.render("markdown")
    assert "<pre" not in q["questions"]["html"] and "<math" in q["key"]["html"]


def test_solve_and_quiz_answer_as_the_cli(server, capsys):
    path = ROOT / "examples" / "problems" / "wrong_key.yaml"
    status, expected = cli_json(["solve", str(path), "--format", "json"], capsys)
    got_status, doc = call(server, "/api/solve", {"text": path.read_text(), "render": "html"})
    assert got_status == 200
    html = doc.pop("rendered")
    assert doc == expected and any(p["correct"] is False for p in doc["parts"])
    assert all(f"({p['id']})" in html for p in doc["parts"])
    capsys.readouterr()
    assert cli_main(["quiz", "--topics", "conv,pool", "--count", "2", "--seed", "5", "--format", "yaml"]) == 0
    quiz_yaml = capsys.readouterr().out
    status, quiz = call(server, "/api/quiz", {"topics": "conv,pool", "count": 2, "seed": 5})
    assert status == 200 and quiz["yaml"] == quiz_yaml
    assert "Answer" not in quiz["questions"]["markdown"] or quiz["questions"]["markdown"] != quiz["key"]["markdown"]
    assert call(server, "/api/solve", {"text": "parts: [{id: a, ask: __import__('os')}]"})[0] == 400


def test_run_paths_stay_inside_the_runs_folder(server, runs_dir):
    for name in ("../outside", "/etc", str(runs_dir.parent), "escape", "fake/../../x"):
        status, doc = call(server, "/api/explore/info?run=" + urllib.request.quote(name))
        assert status == 403 and "outside the runs folder" in doc["error"], (name, doc)
    assert call(server, "/api/explore/info?run=nothing")[0] == 400
    status, doc = call(server, "/api/runs")
    assert status == 200 and doc["runs"] == ["fake"]  # the escaping link is not listed


def test_100_concurrent_requests(server):
    rng = np.random.default_rng(0)
    cases = [(rng.integers(-9, 10, (5, 5)), rng.integers(-2, 3, (2, 2))) for _ in range(100)]

    def one(case):
        x, k = case
        return call(server, "/api/conv", {"input": x.tolist(), "kernel": k.tolist(), "padding": 1})

    with ThreadPoolExecutor(max_workers=100) as pool:
        answers = list(pool.map(one, cases))
    for (x, k), (status, doc) in zip(cases, answers):
        xp = np.pad(x, 1)
        ref = [[int((xp[i:i + 2, j:j + 2] * k).sum()) for j in range(6)] for i in range(6)]
        assert status == 200 and doc["output"] == ref


def test_long_work_does_not_block_other_requests(server):
    n = 150
    big = "; ".join(" ".join(str((i * 7 + j * 3) % 11 - 5) for j in range(n)) for i in range(n))
    slow_body = {"input": big, "kernel": "1/3 1/5 1/7; 1 2 3; 1/2 1/9 1/11", "exact": True, "steps": True,
                 "max_cells": 4096}
    finished: dict[str, float] = {}

    def slow():
        assert call(server, "/api/conv", slow_body)[0] == 200
        finished["slow"] = time.monotonic()

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.3)  # let the slow request reach the server first
    assert call(server, "/api/act", {"input": "-1 1", "fn": "relu"}) == (200, {"output": [0.0, 1.0], "shape": [2]})
    finished["quick"] = time.monotonic()
    worker.join()
    assert finished["quick"] < finished["slow"]


def test_pages_and_assets_are_all_local(server):
    for page in ("conv", "solve", "arch", "explore", "network"):
        with urllib.request.urlopen(f"{server}/{page}", timeout=30) as response:
            html = response.read().decode()
        refs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert refs and all(r.startswith(("/", "#")) for r in refs), refs  # "#term-…": the page's glossary
        for ref in refs:
            if ref.startswith("/static/"):
                with urllib.request.urlopen(server + ref, timeout=30) as response:
                    assert response.status == 200
    static = ROOT / "cnnlab" / "serve" / "static"
    for path in static.iterdir():
        fetched = (r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//"""
                   r"""|@import|fetch\(\s*["'`](?:https?:)?//""")
        assert not re.search(fetched, path.read_text()), path  # nothing loaded from another host


def test_ctrl_c_stops_the_server_cleanly(tmp_path):
    """SIGINT here; every module's server is stopped with SIGTERM and checked the same way."""
    with serving(tmp_path) as (url, proc):
        assert call(url, "/api/act", {"input": "1", "fn": "relu"})[0] == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert proc.stderr.read().strip() == "stopped"


def test_static_files_ship_in_the_wheel():
    """Every file the pages load is package data (setup.py's package_data)."""
    import ast
    import fnmatch

    call_ = next(n for n in ast.walk(ast.parse((ROOT / "setup.py").read_text()))
                 if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "setup")
    data = next(k.value for k in call_.keywords if k.arg == "package_data")
    patterns = next(ast.literal_eval(v) for k, v in zip(data.keys, data.values)
                    if k is not None and ast.literal_eval(k) == "cnnlab.serve")
    static = ROOT / "cnnlab" / "serve" / "static"
    files = [p.relative_to(static.parent).as_posix() for p in static.iterdir()]
    assert files and all(any(fnmatch.fnmatch(f, pat) for pat in patterns) for f in files)


def test_serve_refuses_a_bad_port_or_host(capsys):
    import socket

    assert cli_main(["serve", "--port", "70000"]) == 2
    assert capsys.readouterr().err == "error: --port must be from 0 to 65535, got 70000\n"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli_main(["serve", "--port", str(port)]) == 2
        assert capsys.readouterr().err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    assert cli_main(["serve", "--host", "no-such-host.invalid"]) == 2
    assert capsys.readouterr().err.startswith("error: --host no-such-host.invalid: cannot resolve it")


def test_other_sites_cannot_use_the_local_server(server):
    host, port = server.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/api/act", body=b'{"input": "1", "fn": "relu"}',
                 headers={"Host": f"attacker.example:{port}", "Content-Type": "application/json"})
    assert conn.getresponse().status == 400  # a DNS-rebinding page names its own host
    conn.close()
    # a form on another site can post text/plain without a preflight; JSON it cannot
    request = urllib.request.Request(server + "/api/act", data=b'{"input": "1", "fn": "relu"}',
                                     headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=30)
    assert info.value.code == 415
    with urllib.request.urlopen(server.replace("127.0.0.1", "localhost") + "/conv", timeout=30) as response:
        assert response.status == 200


# ------------------------------------------------------------------ smaller slips (issue 23 item 7), drawn

def _post_raw(url: str, path: str, raw: bytes, content_type: str = "application/json"):
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("POST", path, body=raw, headers={"Content-Type": content_type})
    response = conn.getresponse()
    status, data = response.status, response.read()
    conn.close()
    return status, response.getheader("content-type", ""), data


def test_lone_surrogates_in_bodies_are_400_json(server):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(code=st.integers(0xD800, 0xDFFF), key=st.sampled_from(["input", "kernel", "fn", "text", "bogus"]),
           route=st.sampled_from(["/api/conv", "/api/act", "/api/solve", "/api/quiz", "/api/arch"]))
    def check(code, key, route):
        raw = ('{"%s": "1 \\u%04x 2"}' % (key, code)).encode()
        status, ctype, data = _post_raw(server, route, raw)
        assert status == 400 and ctype.startswith("application/json"), (route, key, status, data)
        assert "error" in json.loads(data)

    check()


def test_media_types_are_case_insensitive(server):
    import random

    rng = random.Random(23)
    body = b'{"input": "-1 2", "fn": "relu"}'
    for _ in range(20):
        media = "".join(c.upper() if rng.random() < 0.5 else c for c in "application/json")
        suffix = rng.choice(["", "; charset=utf-8", ";CHARSET=UTF-8", " ; charset=\"utf-8\""])
        status, _, data = _post_raw(server, "/api/act", body, media + suffix)
        assert status == 200 and json.loads(data)["output"] == [0.0, 2.0], (media + suffix, data)
    for media in ("text/plain", "application/jsonx", "APPLICATION/X-WWW-FORM-URLENCODED"):
        assert _post_raw(server, "/api/act", body, media)[0] == 415


def test_quiz_refuses_the_seeds_the_cli_refuses(server, capsys):
    rng = np.random.default_rng(7)
    seeds = [int(s) for s in rng.integers(2**32, 2**62, 4)] + [-int(s) for s in rng.integers(1, 2**62, 4)]
    for seed in seeds:
        status, message = cli_json(["quiz", "--seed", str(seed), "--count", "1"], capsys)
        assert status == 2
        got, doc = call(server, "/api/quiz", {"seed": seed, "count": 1})
        assert got == 400 and "seed" in doc["error"], (seed, doc)
    for seed in (0, 2**32 - 1, int(rng.integers(0, 2**32))):
        assert call(server, "/api/quiz", {"seed": seed, "count": 1})[0] == 200


def test_nested_bias_over_http_is_400(server):
    for bias in ([1, [2]], [[1], [2]], [[1, [2]]], [3, [[4]]]):
        status, doc = call(server, "/api/conv", {"input": [[1, 2], [3, 4]], "kernel": [[[[1]]], [[[1]]]], "bias": bias})
        assert status == 400 and "bias" in doc["error"], (bias, doc)


def test_serve_on_another_loopback_address_accepts_its_own_url(tmp_path):
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for host in ("127.0.0.2", "127.3.4.5"):
        proc = subprocess.Popen([sys.executable, "-m", "cnnlab.cli.main", "serve", "--host", host, "--port", "0",
                                 "--runs", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=ROOT)
        try:
            line = proc.stdout.readline()
            match = re.fullmatch(rf"serving on (http://{re.escape(host)}:\d+)/\n", line)
            assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
            url = match.group(1)
            with urllib.request.urlopen(url + "/conv", timeout=30) as response:  # Host: the printed name
                assert response.status == 200
            assert call(url, "/api/act", {"input": "1", "fn": "relu"})[0] == 200
            conn = http.client.HTTPConnection(host, int(url.rsplit(":", 1)[1]), timeout=30)
            conn.request("GET", "/conv", headers={"Host": "attacker.example"})
            assert conn.getresponse().status == 400  # other names are still refused
            conn.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
