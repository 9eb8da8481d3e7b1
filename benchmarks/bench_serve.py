"""`cnnlab serve`: page load times in headless Chromium, API latency, 100 concurrent requests.

Starts a real server (``cnnlab serve --port 0``) on a runs folder holding a tiny trained
run (cnn3 on the 8x8 digits), then measures:

- each page's load (navigation start to the load event) and time until its first result
  is on screen (the page's own first API call answered and drawn), in Chromium;
- the latency of each API route (median and 90th percentile of sequential requests;
  the first, cold call of torch-backed routes reported apart);
- the wall time of 100 concurrent /api/conv requests (all checked);
- 200 mixed requests fired at once, half light (/api/conv) and half heavy (torchvision
  tables and explore predictions, which go through the server's bounded pool): how many
  answered 500 and 503, and the light requests' 95th percentile latency under that load.

and, for /network (its own section, ``<!-- serve-network -->``), on a fast-cnn trained one
epoch on 2,000 MNIST images: the page's load to its first drawn view, the view of one test
image (``POST /api/network/view``; goal 300 ms warm) and one unit's arithmetic
(``POST /api/network/unit``; goal 100 ms) for a convolution, a pooling and a linear unit.

Writes its sections of benchmarks/RESULTS.md between the ``<!-- serve -->`` and
``<!-- serve-network -->`` markers.

Usage: python benchmarks/bench_serve.py [--repeats 20] [--only all|network] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from results import publish  # noqa: E402  benchmarks/results.py
from serve_helpers import ROOT, chrome, serving, train_tiny_run  # noqa: E402

START, END = "<!-- serve -->", "<!-- /serve -->"
NET_START, NET_END = "<!-- serve-network -->", "<!-- /serve-network -->"
FIRST_RESULT = {  # page -> JS condition true once its first result is drawn
    "conv": 'document.querySelectorAll("[data-testid=conv-output] td").length > 0',
    "solve": "true",
    "arch": 'document.querySelectorAll("[data-testid=arch-table] tbody tr").length > 0',
    "explore?run=digits": 'document.querySelectorAll("[data-testid=explore-filters] canvas").length > 0',
    "network?run=digits": 'document.querySelectorAll("[data-testid=net-output] tr[data-class]").length > 0',
}


def post(url: str, path: str, body) -> tuple[float, int]:
    data = json.dumps(body).encode()
    t0 = time.perf_counter()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
        status = response.status
    return time.perf_counter() - t0, status


def get(url: str, path: str) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url + path, timeout=120) as response:
        response.read()
    return time.perf_counter() - t0


def digit_png() -> str:
    import base64
    import io

    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = np.kron(np.round(load_digits().images[0] / 16 * 255).astype(np.uint8), np.ones((35, 35), np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def api_cases() -> dict:
    sheet = (ROOT / "examples" / "problems" / "sheet1.yaml").read_text()
    return {
        "conv 4×4, no steps": ("/api/conv", {"input": "1 2 0 1; 0 1 3 2; 2 1 0 1; 1 0 2 3", "kernel": "sobel_x",
                                              "padding": 1}),
        "conv 4×4 with every step (/conv page)": ("/api/conv", {"input": "1 2 0 1; 0 1 3 2; 2 1 0 1; 1 0 2 3",
                                                                 "kernel": "1 0 -1; 1 1 0; 0 -1 1", "padding": 1,
                                                                 "bias": -1, "steps": True, "max_cells": 4096}),
        "pool 4×4 avg, exact, steps": ("/api/pool", {"input": "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16", "op": "avg",
                                                     "size": 2, "exact": True, "steps": True}),
        "act softmax": ("/api/act", {"input": "1 2 3", "fn": "softmax", "steps": True}),
        "solve sheet1.yaml (JSON + HTML)": ("/api/solve", {"text": sheet, "render": "html"}),
        "arch LeNet spec": ("/api/arch", {"spec": "conv 5x5 6 p2; relu; maxpool 2x2; conv 5x5 16; relu; maxpool 2x2; "
                                                  "fc 120; fc 84; fc 10", "input": "1x28x28"}),
        "arch torchvision resnet18": ("/api/arch", {"torchvision": "resnet18", "input": "3x224x224"}),
        "quiz 3 problems": ("/api/quiz", {"topics": "conv,pool,shapes", "count": 3, "seed": 1}),
        "explore predict (digits cnn3)": ("/api/explore/predict", {"run": "digits", "image": digit_png()}),
    }


def mixed_load(url: str, n: int = 200) -> dict:
    """Fire ``n`` requests at once, alternately light and heavy; statuses and light latencies."""
    import threading

    picture = digit_png()
    heavy = [("/api/arch", {"torchvision": "resnet18", "input": "3x64x64"}),
             ("/api/explore/predict", {"run": "digits", "image": picture})]
    cases = [("light", "/api/conv", {"input": [[(i * j + k) % 9 for k in range(6)] for j in range(6)],
                                     "kernel": "1 0; 0 -1", "padding": 1}) if i % 2 == 0 else
             ("heavy", *heavy[(i // 2) % 2]) for i in range(n)]
    barrier = threading.Barrier(n)

    def one(case):
        kind, path, body = case
        barrier.wait(60)
        try:
            seconds, status = post(url, path, body)
        except urllib.error.HTTPError as exc:
            seconds, status = float("nan"), exc.code
        return kind, status, seconds

    load = open("/proc/loadavg").read().split()[0]
    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(one, cases))
    light = sorted(s for kind, status, s in answers if kind == "light" and status == 200)
    statuses = [status for _, status, _ in answers]
    return {"requests": n, "500": statuses.count(500), "503": statuses.count(503),
            "200": statuses.count(200), "light_p95": light[int(0.95 * (len(light) - 1))], "load": load}


def measure(repeats: int) -> dict:
    out: dict = {"api": {}, "pages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        train_tiny_run(Path(tmp) / "runs" / "digits")
        with serving(Path(tmp) / "runs") as (url, _proc):
            for name, (path, body) in api_cases().items():
                cold, status = post(url, path, body)
                assert status == 200, name
                times = [post(url, path, body)[0] for _ in range(repeats)]
                out["api"][name] = {"cold": cold, "median": statistics.median(times),
                                    "p90": sorted(times)[int(0.9 * (len(times) - 1))]}
            bodies = [{"input": [[(i * j + k) % 9 for k in range(6)] for j in range(6)], "kernel": "1 0; 0 -1",
                       "padding": 1} for i in range(100)]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=100) as pool:
                statuses = list(pool.map(lambda b: post(url, "/api/conv", b)[1], bodies))
            out["concurrent"] = {"requests": 100, "seconds": time.perf_counter() - t0,
                                 "all_ok": all(s == 200 for s in statuses)}
            out["mixed"] = mixed_load(url)
            browser = chrome(Path(tmp) / "profile")
            try:
                for page, ready in FIRST_RESULT.items():
                    loads, firsts = [], []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        browser.get(f"{url}/{page}")
                        while not browser.execute_script(f"return {ready}"):
                            time.sleep(0.02)
                        firsts.append(time.perf_counter() - t0)
                        nav = browser.execute_script("const n = performance.getEntriesByType('navigation')[0];"
                                                     "return n.loadEventEnd - n.startTime;")
                        loads.append(nav / 1000)
                    out["pages"][page.split("?")[0]] = {"load": statistics.median(loads),
                                                        "first_result": statistics.median(firsts)}
            finally:
                browser.quit()
    return out


def page_first_result(browser, url: str, ready: str, times: int = 3) -> tuple[float, float]:
    """Median (load event, first result drawn) of ``times`` loads of ``url``."""
    loads, firsts = [], []
    for _ in range(times):
        t0 = time.perf_counter()
        browser.get(url)
        while not browser.execute_script(f"return {ready}"):
            time.sleep(0.02)
        firsts.append(time.perf_counter() - t0)
        loads.append(browser.execute_script("const n = performance.getEntriesByType('navigation')[0];"
                                            "return n.loadEventEnd - n.startTime;") / 1000)
    return statistics.median(loads), statistics.median(firsts)


def timed(url: str, path: str, body, repeats: int) -> dict:
    cold, status = post(url, path, body)
    assert status == 200, (path, body)
    times = [post(url, path, body)[0] for _ in range(repeats)]
    return {"cold": cold, "median": statistics.median(times), "p90": sorted(times)[int(0.9 * (len(times) - 1))]}


def measure_network(repeats: int) -> dict:
    """/network on a fast-cnn trained one epoch on 2,000 MNIST images."""
    import os

    from cnnlab.train import TrainConfig, fit

    out: dict = {"load": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        fit(TrainConfig(data="mnist", model="fast-cnn", epochs=1, limit=2000, out=str(runs / "mnist"),
                        device="cpu", threads=1))
        with serving(runs) as (url, _proc):
            view = {"run": "mnist", "index": 0}
            out["view"] = timed(url, "/api/network/view", view, repeats)
            with urllib.request.urlopen(urllib.request.Request(
                    url + "/api/network/view", data=json.dumps(view).encode(),
                    headers={"Content-Type": "application/json"})) as response:
                doc = json.loads(response.read())
            cols = {c["type"]: c for c in reversed(doc["columns"])}  # the first column of each type
            out["columns"] = [f"{c['layer']} {c['type']} {'×'.join(map(str, c['shape']))}" for c in doc["columns"]]
            units = {}
            for kind in ("Conv2d", "MaxPool2d", "Linear"):
                if kind in cols:
                    c = cols[kind]
                    unit = {"layer": c["layer"], "channel": 0, "row": 0, "col": 0} if "maps" not in c else \
                        {"layer": c["layer"], "channel": 0, "row": c["shape"][1] // 2, "col": c["shape"][2] // 2}
                    units[f"{kind} {c['layer']} {'×'.join(map(str, c['shape']))}"] = timed(
                        url, "/api/network/unit", {**view, **unit}, repeats)
            out["units"] = units
            browser = chrome(Path(tmp) / "profile")
            try:
                out["page"] = page_first_result(
                    browser, f"{url}/network?run=mnist&index=0",
                    'document.querySelectorAll("[data-testid=net-output] tr[data-class]").length > 0')
            finally:
                browser.quit()
    out["load_after"] = os.getloadavg()
    return out


def network_section(r: dict, repeats: int) -> str:
    from cnnlab.report.machine import machine_info

    m = machine_info()
    ms = lambda s: f"{1000 * s:.0f} ms" if s >= 0.01 else f"{1000 * s:.1f} ms"  # noqa: E731
    load = ", ".join(f"{v:.1f}" for v in r["load"]) + " before; " + ", ".join(f"{v:.1f}" for v in r["load_after"])
    lines = [NET_START, "## `cnnlab serve`: /network (see the network think)", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, torch {m['torch']}; {m['date']}. "
             f"Load average (1, 5, 15 min): {load} after. A fast-cnn trained one epoch on 2,000 MNIST images; "
             "test image 0.", "",
             f"Columns: {'; '.join(r['columns'])}.", "",
             f"The page `/network?run=mnist&index=0` (warm, median of 3 loads in headless Chromium): load event "
             f"{ms(r['page'][0])}, first view drawn {ms(r['page'][1])}.", "",
             "| request | cold | median | p90 | goal |", "|---|---:|---:|---:|---:|",
             f"| view of one test image (`/api/network/view`) | {ms(r['view']['cold'])} | {ms(r['view']['median'])} "
             f"| {ms(r['view']['p90'])} | 300 ms |"]
    for name, v in r["units"].items():
        lines.append(f"| one unit's arithmetic: {name} | {ms(v['cold'])} | {ms(v['median'])} | {ms(v['p90'])} | 100 ms |")
    lines += ["", f"Median and 90th percentile of {repeats} sequential requests from Python; cold = the first, which "
                  "loads the model and reads the test split.", NET_END]
    return "\n".join(lines)


def section(r: dict, repeats: int) -> str:
    from cnnlab.report.machine import machine_info

    m = machine_info()
    ms = lambda s: f"{1000 * s:.0f} ms" if s >= 0.01 else f"{1000 * s:.1f} ms"  # noqa: E731
    lines = [START, "## `cnnlab serve`: page loads, API latency, concurrency", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, torch {m['torch']}; {m['date']}. "
             "Shared machine: other jobs ran at the same time, so read these as orders of magnitude.", "",
             "Page load in headless Chromium (median of 3; the server and browser on this machine):", "",
             "| page | load event | first result drawn |", "|---|---:|---:|"]
    for page, v in r["pages"].items():
        lines.append(f"| /{page} | {ms(v['load'])} | {ms(v['first_result'])} |")
    lines += ["", f"API latency, sequential requests from Python (median and 90th percentile of {repeats}; "
                  "cold = the first call, which imports torch or builds the model):", "",
              "| request | cold | median | p90 |", "|---|---:|---:|---:|"]
    for name, v in r["api"].items():
        lines.append(f"| {name} | {ms(v['cold'])} | {ms(v['median'])} | {ms(v['p90'])} |")
    c = r["concurrent"]
    lines += ["", f"{c['requests']} concurrent /api/conv requests (6×6 input): all answered correctly: "
                  f"{c['all_ok']}; {c['seconds']:.2f} s for all of them."]
    x = r["mixed"]
    lines += ["", f"{x['requests']} mixed requests at once (half /api/conv, half torchvision tables and explore "
                  f"predictions; load {x['load']} before): {x['500']} × 500, {x['503']} × 503 (heavy requests "
                  f"beyond the pool's places), {x['200']} × 200; light requests' p95 latency "
                  f"{ms(x['light_p95'])}.", END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", choices=("all", "network"), default="all")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    texts = []
    if args.only == "all":
        texts.append((section(measure(args.repeats), args.repeats), START, END))
    texts.append((network_section(measure_network(args.repeats), args.repeats), NET_START, NET_END))
    for text, start, end in texts:
        publish(text, start, end, write=not args.no_write)


if __name__ == "__main__":
    main()
