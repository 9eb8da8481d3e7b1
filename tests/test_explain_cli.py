"""`cnnlab explain`: the files it writes, the page that embeds them, and its errors."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnlab.cli.main import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A cnn3 and a logreg run on the 8x8 digits, one epoch each (a few seconds)."""
    from cnnlab.data import load_dataset
    from cnnlab.train import TrainConfig, fit

    ds = load_dataset("digits")
    root = tmp_path_factory.mktemp("explain_cli")
    cnn = fit(TrainConfig(data="digits", model="cnn3", epochs=1, lr=3e-3, out=str(root / "cnn3")), ds)
    logreg = fit(TrainConfig(data="digits", model="logreg", epochs=1, lr=1e-2, out=str(root / "lr")), ds)
    return {"cnn3": cnn.run_dir, "logreg": logreg.run_dir, "digits": ds}


def _json_line(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _pictures(summary: dict) -> list[Path]:
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, v in value.items():
                if key in ("picture", "input_picture"):
                    found.append(Path(v))
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(summary)
    return found


def _check_page(summary: dict, expected: set[str]) -> None:
    pictures = _pictures(summary)
    assert {p.name for p in pictures} == expected
    page = Path(summary["html"]).read_text(encoding="utf-8")
    assert Path(summary["html"]).name == "explain.html"
    for path in pictures:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert base64.b64encode(data).decode("ascii") in page, path.name
    assert 'src="http' not in page and "<script" not in page


def test_cnn_run_all_parts(runs, capsys):
    run = runs["cnn3"]
    assert main(["explain", str(run), "--steps", "8", "--count", "3", "--max-shift", "2",
                 "--limit", "60", "--json"]) == 0
    s = _json_line(capsys)
    assert s["parts"] == ["filters", "maps", "gradcam", "maximize", "shift"]
    assert Path(s["out"]) == run / "explain"
    _check_page(s, {"filters.png", "input.png", "maps_features.0.png", "maps_features.3.png",
                    "maps_features.6.png", "gradcam.png", "maximize_classes.png",
                    "maximize_features.6.png", "shift.png"})
    assert len(s["filters"]["filters"]) == 32 and s["filters"]["layer"] == "features.0"
    assert s["gradcam"]["layer"] == "features.6" and len(s["gradcam"]["images"]) == 3
    assert [g["layer"] for g in s["maximize"]["groups"]] == [None, "features.6"]
    assert len(s["maximize"]["groups"][1]["objectives"]) == 16
    zero = s["shift"]["shifts"].index(0)
    assert s["shift"]["horizontal"]["consistency"][zero] == 1.0 and s["shift"]["n"] == 60
    assert "explain.html" in {p.name for p in (run / "explain").iterdir()}


def test_logreg_run_gets_coefficients(runs, tmp_path, capsys):
    out = tmp_path / "pictures"
    assert main(["explain", str(runs["logreg"]), "--out", str(out), "--steps", "4",
                 "--max-shift", "1", "--limit", "30", "--json"]) == 0
    s = _json_line(capsys)
    assert s["parts"] == ["coef", "maximize", "shift"] and s["coef"]["shape"] == [10, 1, 8, 8]
    _check_page(s, {"coefficients.png", "maximize_classes.png", "shift.png"})
    assert Path(s["html"]).parent == out


def test_feature_maps_and_gradcam_of_an_image_file(runs, tmp_path, capsys):
    from PIL import Image

    digit = (runs["digits"].x_test[5, 0] * 255).astype(np.uint8)  # (8, 8)
    Image.fromarray(np.kron(digit, np.ones((4, 4), np.uint8))).save(tmp_path / "d.png")  # 32x32
    assert main(["explain", str(runs["cnn3"]), "--what", "maps,gradcam", "--image", str(tmp_path / "d.png"),
                 "--layer", "features.3", "--target-class", "4", "--out", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    assert "Grad-CAM on features.3 for 1 image(s)" in text
    names = sorted(p.name for p in (tmp_path / "o").iterdir())
    assert names == ["explain.html", "gradcam.png", "input.png", "maps_features.3.png"]


def test_maximize_spec_and_text_output(runs, tmp_path, capsys):
    assert main(["explain", str(runs["cnn3"]), "--what", "maximize", "--steps", "4", "--out", str(tmp_path),
                 "--maximize", "class:3+features.0:2@4,4", "--json"]) == 0
    groups = _json_line(capsys)["maximize"]["groups"]
    assert [o["target"] for g in groups for o in g["objectives"]] == ["class 3", "features.0 channel 2 at 4,4"]


def test_list_layers(runs, capsys):
    assert main(["explain", str(runs["cnn3"]), "--list-layers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the table name (kind counted from 1), then the module path: --layer takes either
    assert any(line.split()[:4] == ["conv1", "features.0", "Conv2d", "32x8x8"] and line.endswith("conv")
               for line in lines)
    assert main(["explain", str(runs["cnn3"]), "--list-layers", "--json"]) == 0
    assert _json_line(capsys)["layers"][-1] == {"name": "classifier.3", "label": "fc2", "type": "Linear",
                                                 "shape": [10], "conv": False, "leaf": True}


@pytest.mark.parametrize("args,message", [
    (["--what", "filters"], "does not hold a cnnlab run"),
    (["--what", "maps", "--layer", "conv9"], "no layer named 'conv9' in this model; layers: features, conv1 (features.0)"),
    (["--what", "gradcam", "--layer", "features.1"], "Grad-CAM needs a convolution layer"),
    (["--what", "gradcam", "--target-class", "10"], "class 10 is out of range"),
    (["--what", "gradcam", "--target-class", "cat"], "unknown class 'cat'"),
    (["--what", "maps", "--image", "BAD"], "cannot be read"),
    (["--what", "maps", "--index", "100000"], "--index 100000 is out of range"),
    (["--what", "bogus"], "unknown part 'bogus'"),
    (["--what", "coef"], "coefficient images need a logreg run"),
    (["--what", "maximize", "--maximize", "features.0:99"], "index 99 is out of range"),
    (["--what", "shift", "--max-shift", "8"], "--max-shift must be between 0 and 7"),
    (["--steps", "0"], "--steps: expected a whole number >= 1"),
])
def test_errors_are_one_line_and_exit_2(runs, tmp_path, capsys, args, message):
    (tmp_path / "bad.png").write_text("not an image")
    run = tmp_path if message.startswith("does not hold") else runs["cnn3"]
    args = [str(tmp_path / "bad.png") if a == "BAD" else a for a in args]
    assert main(["explain", str(run), "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err


def test_filters_of_a_logreg_run_is_a_usage_error(runs, tmp_path, capsys):
    assert main(["explain", str(runs["logreg"]), "--what", "filters", "--out", str(tmp_path)]) == 2
    assert "no convolution layer" in capsys.readouterr().err


def test_cli_module_does_not_import_torch_and_help_has_examples():
    code = ("import sys, cnnlab.cli.explain_cmd; "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "cnnlab.cli.main", "explain", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "cnnlab explain runs/mnist --what gradcam" in done.stdout


def test_layer_given_by_its_table_name_is_the_module_path(runs, tmp_path, capsys):
    """--layer conv2 (as --list-layers names it) explains features.3, and the page says both."""
    assert main(["explain", str(runs["cnn3"]), "--what", "maps,gradcam,filters", "--layer", "conv2",
                 "--out", str(tmp_path / "o"), "--json"]) == 0
    s = _json_line(capsys)
    assert s["gradcam"]["layer"] == "features.3" and s["gradcam"]["layer_name"] == "conv2 (features.3)"
    assert [m["layer_name"] for m in s["maps"]["layers"]] == ["conv2 (features.3)"]
    assert s["filters"]["layer_name"] == "conv1 (features.0)"
    assert [r["number"] for r in s["filters"]["filters"]][:3] == [1, 2, 3]
    html = (tmp_path / "o" / "explain.html").read_text()
    assert "conv2 (features.3)" in html and "conv1 (features.0)" in html


# --------------------------------------------------------------------- speed and work bounds

@pytest.mark.parametrize("args,message", [
    (["--what", "filters,maximize", "--steps", "10000"], "explain maximize: 300,000 image passes"),
    (["--what", "maps,shift", "--max-shift", "3"], "explain shift: "),
])
def test_over_budget_parts_are_refused_before_any_part_runs(runs, tmp_path, capsys, monkeypatch, args,
                                                            message):
    import cnnlab.explain.budget as budget
    from cnnlab.train.evaluate import load_run

    if "shift" in message:  # digits' test split is small: lower the bound to reach it
        monkeypatch.setattr(budget, "MAX_WORK", 1e8)
    out = tmp_path / "o"
    assert main(["explain", str(runs["cnn3"]), "--out", str(out), "--maximize", "classes", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert "over the limit of" in err[0] and "(docs/limits.md)" in err[0]
    assert not out.exists() or not any(out.iterdir())  # nothing written, not even filters
    # the advice is exact: the largest count that fits (10 classes, forward + backward)
    macs = budget.model_macs(load_run(runs["cnn3"]).model, (1, 8, 8))
    most = int(err[0].split("at most ")[1].split(" ")[0].replace(",", ""))
    if "maximize" in message:
        fits = budget.part_work(most * 3 * 10, macs, most), budget.part_work((most + 1) * 30, macs, most + 1)
    else:
        per = 512 // 13  # images per pass at 13 shifts
        fits = budget.part_work(most * 13, macs, most / per), budget.part_work((most + 1) * 13, macs, (most + 1) / per)
    assert fits[0] <= budget.MAX_WORK < fits[1], (err[0], macs, most)


def test_shift_curves_default_to_an_evenly_spaced_sample(runs, tmp_path, capsys, monkeypatch):
    import cnnlab.explain.context as explain_context

    monkeypatch.setattr(explain_context, "SHIFT_SAMPLE", 50)
    assert main(["explain", str(runs["cnn3"]), "--what", "shift", "--max-shift", "1",
                 "--out", str(tmp_path / "a"), "--json"]) == 0
    sample = _json_line(capsys)
    total = sample["shift"]["of"]
    assert total > 50 and sample["shift"]["n"] == 50 and sample["shift"]["sampled"] is True
    assert "evenly spaced, of" in Path(sample["html"]).read_text(encoding="utf-8")
    # the same curves as the evenly spaced images computed directly
    ds = runs["digits"]
    keep = np.arange(50) * total // 50
    from cnnlab.explain import shift_robustness
    from cnnlab.train.evaluate import load_run

    model = load_run(runs["cnn3"]).model
    direct = shift_robustness(model, ds.x_test[keep], ds.y_test[keep], ds.mean, ds.std, max_shift=1)
    assert direct["horizontal"] == sample["shift"]["horizontal"]
    assert main(["explain", str(runs["cnn3"]), "--what", "shift", "--max-shift", "1", "--limit", "70",
                 "--out", str(tmp_path / "b"), "--json"]) == 0
    first = _json_line(capsys)["shift"]
    assert first["n"] == 70 and first["sampled"] is False


def test_tiles_place_each_image_and_the_log_names_the_threads(runs, tmp_path, capsys):
    from cnnlab.explain.plots import as_display, tile_array

    images = np.random.default_rng(0).random((5, 3, 6, 4))
    out, (gx, gy) = tile_array(images, ncols=2)
    assert out.shape == (3 * (6 + gy), 2 * (4 + gx) - gx, 3)
    for k in range(5):
        r, c = divmod(k, 2)
        top, left = r * (6 + gy) + gy, c * (4 + gx)
        assert np.array_equal(out[top:top + 6, left:left + 4], as_display(images[k]))
    assert (out[:gy] == 1).all()  # the title strip is white
    assert main(["explain", str(runs["cnn3"]), "--what", "filters", "--out", str(tmp_path)]) == 0
    assert "cpu: " in capsys.readouterr().out
