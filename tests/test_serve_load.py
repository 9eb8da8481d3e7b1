"""`cnnlab serve` under concurrent heavy work, and connections that misbehave (issue 23 items 1, 4).

The reference for every answer is independent of the server: torchvision's own models
(``sum(p.numel())``), numpy for the light routes, and the tracer's effect on torch's
global state checked directly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from serve_helpers import serving, train_tiny_run

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

SMALL_TORCHVISION = ["resnet18", "mobilenet_v2", "squeezenet1_0", "densenet121", "shufflenet_v2_x0_5"]


def call(url: str, method_path: str, body=None, timeout: float = 300):
    """(status, JSON answer, headers, seconds) of a GET (body None) or a JSON POST."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + method_path, data=data, headers={"Content-Type": "application/json"})
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), response.headers, time.monotonic() - start
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null"), exc.headers, time.monotonic() - start


def png_data_url(array: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory) -> Path:
    """A tiny trained run, and a copy whose weights are finite but overflow in the forward pass."""
    torch = pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("runs")
    train_tiny_run(root / "tiny")
    shutil.copytree(root / "tiny", root / "huge")
    best = root / "huge" / "best.pt"
    state = torch.load(best, weights_only=True)
    state = {k: v * 1e30 if v.is_floating_point() else v for k, v in state.items()}
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    torch.save(state, best)
    digest = hashlib.sha256(best.read_bytes()).hexdigest()
    (root / "huge" / "best.pt.sha256").write_text(f"{digest}  best.pt\n")
    return root


@pytest.fixture(scope="module")
def server(runs_dir):
    with serving(runs_dir) as (url, proc):
        yield url, proc


@pytest.fixture(scope="module")
def torchvision_params() -> dict[str, int]:
    """Parameter counts of real torchvision models: the reference for /api/arch."""
    torchvision = pytest.importorskip("torchvision")
    return {n: sum(p.numel() for p in torchvision.models.get_model(n, weights=None).parameters())
            for n in SMALL_TORCHVISION}


# ------------------------------------------------------------------ the root: tracing is exclusive

def test_concurrent_traces_leave_torch_as_they_found_it(torchvision_params):
    """Threads tracing at once (torch.fx patches nn.Module.__call__ process-wide) all succeed."""
    torch = pytest.importorskip("torch")
    from cnnlab.arch.torch_analyze import analyze_torchvision

    original = torch.nn.Module.__call__
    rng = np.random.default_rng(23)
    names = [SMALL_TORCHVISION[i] for i in rng.integers(0, len(SMALL_TORCHVISION), 12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        tables = list(pool.map(lambda n: analyze_torchvision(n, (3, 64, 64)), names))
    assert torch.nn.Module.__call__ is original
    for name, table in zip(names, tables):
        assert table["total_params"] == torchvision_params[name] and table["unattributed_params"] == 0, name
        assert not any("could not trace" in note for note in table["notes"]), (name, table["notes"])


def test_huge_torchvision_model_is_built_without_its_weights():
    """regnet_y_128gf (644,812,894 parameters, 2.6 GB in float32) is analysed on the meta device."""
    torch = pytest.importorskip("torch")
    from cnnlab.arch.torch_analyze import build_torchvision

    model = build_torchvision("regnet_y_128gf")
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert sum(p.numel() for p in model.parameters()) == 644_812_894  # torchvision's documented count
    assert all(b.device.type == "meta" for b in model.buffers())
    del torch


def test_every_torchvision_model_is_built_on_meta():
    """No /api/arch table allocates a model's weights (80 models in torchvision 0.29)."""
    pytest.importorskip("torchvision")
    from cnnlab.arch.torch_analyze import build_torchvision, torchvision_names

    real = {}
    for name in torchvision_names():
        model = build_torchvision(name)
        devices = {t.device.type for t in [*model.parameters(), *model.buffers()]}
        if devices != {"meta"}:
            real[name] = devices
    assert not real, real


# ------------------------------------------------------------------ the pool: bounded, refuses beyond

@settings(max_examples=12, derandomize=True, deadline=None, database=None)
@given(workers=st.integers(1, 3), queue=st.integers(0, 4), extra=st.integers(1, 6))
def test_pool_admits_its_capacity_and_refuses_the_rest(workers, queue, extra):
    from cnnlab.serve.admission import AdmissionConfig, Busy, HeavyPool

    pool = HeavyPool(AdmissionConfig(workers=workers, queue=queue, retry_after_s=3))
    gate = threading.Event()
    running, most = [0], [0]
    lock = threading.Lock()

    def work():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        gate.wait(10)
        with lock:
            running[0] -= 1
        return "done"

    async def main():
        async def one():
            try:
                return await pool.run(work)
            except Busy as exc:
                return exc.retry_after_s
        tasks = [asyncio.ensure_future(one()) for _ in range(workers + queue + extra)]
        await asyncio.sleep(0.2)
        gate.set()
        return await asyncio.gather(*tasks)

    answers = asyncio.run(main())
    assert answers.count("done") == workers + queue and answers.count(3) == extra
    assert most[0] <= workers and pool.admitted == 0


async def _asgi_post(app, path: str, body: bytes) -> tuple[int, dict, dict]:
    """(status, headers, JSON) of one POST straight into the ASGI app (no server, no client library)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())],
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000)}
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


@settings(max_examples=8, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(["conv", "act", "arch"]), torchvision=st.booleans(), retry=st.integers(1, 30))
def test_running_out_of_memory_is_503_not_500(monkeypatch, tmp_path_factory, route, torchvision, retry):
    """Memory the budgets did not foresee: 503 with Retry-After (the request may pass later)."""
    from cnnlab.serve import api
    from cnnlab.serve.admission import AdmissionConfig
    from cnnlab.serve.app import create_app

    def out_of_memory(command, body):
        raise MemoryError()

    monkeypatch.setattr(api, "run_command", out_of_memory)
    app = create_app(tmp_path_factory.mktemp("runs"), admission=AdmissionConfig(retry_after_s=retry))
    body = {"torchvision": "resnet18"} if torchvision else {"input": "1", "kernel": "1"}
    status, headers, doc = asyncio.run(_asgi_post(app, f"/api/{route}", json.dumps(body).encode()))
    assert status == 503 and "memory" in doc["error"]
    assert int(headers["retry-after"]) == retry


# ------------------------------------------------------------------ 200 mixed requests at a real server

def _light_case(rng):
    kind = rng.choice(["conv", "act", "pool"])
    x = rng.integers(-9, 10, (int(rng.integers(3, 7)), int(rng.integers(3, 7))))
    if kind == "conv":
        k = rng.integers(-2, 3, (2, 2))
        ref = [[int((x[i:i + 2, j:j + 2] * k).sum()) for j in range(x.shape[1] - 1)] for i in range(x.shape[0] - 1)]
        return "/api/conv", {"input": x.tolist(), "kernel": k.tolist()}, ref
    if kind == "act":
        return "/api/act", {"input": x.tolist(), "fn": "relu"}, np.maximum(x, 0).tolist()
    ref = [[int(x[i:i + 2, j:j + 2].max()) for j in range(x.shape[1] - 1)] for i in range(x.shape[0] - 1)]
    return "/api/pool", {"input": x.tolist(), "op": "max", "size": 2, "stride": 1}, ref


def _heavy_case(rng):
    kind = rng.choice(["arch", "info", "predict", "bomb", "huge"])
    if kind == "arch":
        name = SMALL_TORCHVISION[int(rng.integers(0, len(SMALL_TORCHVISION)))]
        return "arch", "/api/arch", {"torchvision": name, "input": "3x64x64"}, name
    if kind == "info":
        return "info", "/api/explore/info?run=tiny", None, None
    if kind == "predict":
        picture = rng.integers(0, 256, (int(rng.choice([8, 16, 32])),) * 2, dtype=np.uint8)
        return "predict", "/api/explore/predict", {"run": "tiny", "image": png_data_url(picture)}, None
    if kind == "bomb":  # a 4096x4096 picture: small as PNG, 64 MiB decoded
        return "bomb", "/api/explore/predict", {"run": "tiny", "image": _BOMB}, None
    picture = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    return "huge", "/api/explore/predict", {"run": "huge", "image": png_data_url(picture)}, None


_BOMB = png_data_url(np.zeros((4096, 4096), np.uint8))


def test_200_mixed_requests_no_500_and_healthy_after(server, torchvision_params, capsys):
    url, proc = server
    rng = np.random.default_rng(2023)
    cases = [("light", *_light_case(rng)) if rng.random() < 0.5 else _heavy_case(rng) for _ in range(200)]
    barrier = threading.Barrier(len(cases))

    def one(case):
        barrier.wait(60)
        return call(url, case[1], case[2])

    load_before = open("/proc/loadavg").read().split()[0]
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        answers = list(pool.map(one, cases))
    statuses = [a[0] for a in answers]
    assert 500 not in statuses, [(c[:2], a[:2]) for c, a in zip(cases, answers) if a[0] == 500][:3]
    light_seconds = []
    for case, (status, doc, headers, seconds) in zip(cases, answers):
        kind = case[0]
        if status == 503:
            assert kind != "light" and int(headers["Retry-After"]) > 0 and "busy" in doc["error"]
            continue
        if kind == "light":
            light_seconds.append(seconds)
            assert status == 200 and doc["output"] == case[3], (case, doc)
        elif kind == "arch":
            assert status == 200 and doc["total_params"] == torchvision_params[case[3]], doc
        elif kind == "info":
            assert status == 200 and doc["run"] == "tiny" and doc["input"] == [1, 8, 8]
        elif kind == "predict":
            assert status == 200 and abs(sum(doc["probabilities"]) - 1) < 1e-5
        elif kind == "bomb":
            assert status == 400 and "4096x4096" in doc["error"] and "/tmp" not in doc["error"], doc
        else:
            assert status == 400 and "'huge'" in doc["error"] and "not finite" in doc["error"], doc
    # healthy afterwards: every torch route and a light one answer
    assert call(url, "/api/arch", {"torchvision": "resnet18", "input": "3x64x64"})[0] == 200
    assert call(url, "/api/explore/info?run=tiny")[0] == 200
    picture = png_data_url(np.full((8, 8), 200, np.uint8))
    assert call(url, "/api/explore/predict", {"run": "tiny", "image": picture})[0] == 200
    assert call(url, "/api/act", {"input": "-1 1", "fn": "relu"})[:2] == (200, {"output": [0.0, 1.0], "shape": [2]})
    assert proc.poll() is None
    p95 = float(np.percentile(light_seconds, 95))
    with capsys.disabled():
        print(f"\n200 mixed requests: {statuses.count(500)} x 500, {statuses.count(503)} x 503, "
              f"{statuses.count(400)} x 400, light p95 {p95:.3f} s over {len(light_seconds)} "
              f"(load {load_before} before)")


@settings(max_examples=12, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["corrupt", "aspect", "jpeg"]), seed=st.integers(0, 2**32 - 1))
def test_upload_errors_name_the_picture_not_the_servers_files(server, kind, seed):
    import tempfile

    url, _ = server
    rng = np.random.default_rng(seed)
    if kind == "corrupt":  # PNG's signature, then noise
        raw = b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8).tobytes()
        image = "data:image/png;base64," + base64.b64encode(raw).decode()
    elif kind == "aspect":  # the run takes 8x8: a 8x24 picture would be distorted
        image = png_data_url(rng.integers(0, 256, (8, 8 * int(rng.integers(2, 5))), dtype=np.uint8))
    else:  # JPEG's start-of-image marker, then noise
        raw = b"\xff\xd8\xff" + rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8).tobytes()
        image = "data:image/jpeg;base64," + base64.b64encode(raw).decode()
    status, doc, _, _ = call(url, "/api/explore/predict", {"run": "tiny", "image": image})
    assert status == 400, doc
    for leak in (tempfile.gettempdir(), "cnnlab-serve-", "drawing.", "--image"):
        assert leak not in doc["error"], doc


# ------------------------------------------------------------------ connections

def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@settings(max_examples=3, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stall=st.sampled_from(["head", "body"]), sent=st.integers(1, 40))
def test_slow_requests_time_out(server, stall, sent):
    """A request that stops arriving (head or body) is closed, with 408, within the deadline."""
    from cnnlab.serve.connections import REQUEST_TIMEOUT_S

    url, _ = server
    head = b"POST /api/act HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    with _connect(url) as sock:
        start = time.monotonic()
        sock.sendall(head[:sent] if stall == "head" else head + b'{"input": '[: sent % 10 + 1])
        answer = _read_all(sock)
        waited = time.monotonic() - start
    assert REQUEST_TIMEOUT_S - 1 <= waited <= REQUEST_TIMEOUT_S + 10, waited
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]


@settings(max_examples=10, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(declared=st.integers(50, 1_000_000), fraction=st.floats(0.0, 0.9),
       route=st.sampled_from(["/api/conv", "/api/solve", "/api/explore/predict"]))
def test_a_client_leaving_mid_body_leaves_no_traceback(server, declared, fraction, route):
    """The server's log (checked for tracebacks when the module's server stops) stays clean."""
    url, proc = server
    with _connect(url) as sock:
        sock.sendall(f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {declared}\r\n\r\n".encode() + b"x" * int(declared * fraction))
    assert call(url, "/api/act", {"input": "2", "fn": "relu"})[0] == 200
    assert proc.poll() is None
