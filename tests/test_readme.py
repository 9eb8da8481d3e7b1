"""The README and the docs run as written (issue 24 item 7)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd), "CNNLAB_DATA": str(cwd / "data")}
    return subprocess.run([sys.executable, "-m", "cnnlab", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


# ---------------------------------------------------------------- the README's tour, run as written

# Lines the test does not run, each with its reason; every other `cnnlab` line of the README's
# bash blocks runs from a folder that has the repository's examples/, as the tour says.
SKIPPED = {
    r"^make ": "sets up a virtual environment (make demo / make test are CI's own jobs)",
    r"^(createdb|torchrun) ": "needs PostgreSQL on another host, or several processes/GPUs",
    r"^cnnlab data fetch ": "downloads a dataset",
    r"^cnnlab data info (mnist|fashion-mnist)": "needs the downloaded dataset",
    r"--data (mnist|fashion-mnist)\b": "downloads MNIST / Fashion-MNIST and trains on it (make demo, make test-all)",
    r"^cnnlab (evaluate|explain) runs/(mnist|logreg)": "needs the MNIST run an earlier (skipped) line trains",
    r"--weights resnet18\.pth": "needs ImageNet weights the user downloads",
    r"^cnnlab train --data digits --model (cnn3 --epochs 20|\"conv)":
        "trains for a minute (tests/test_train_*.py train digits)",
    r"^cnnlab tune --data digits": "trains 20 models (tests/test_tune_*.py and this file run small studies)",
    r"^cnnlab serve": "a server that runs until Ctrl-C (tests/test_serve*.py start it)",
}


def _tour_lines() -> list[str]:
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        lines += [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return lines


def _reason(line: str) -> str | None:
    return next((why for pattern, why in SKIPPED.items() if re.search(pattern, line)), None)


TOUR = [line for line in _tour_lines() if _reason(line) is None]


def test_every_pen_and_paper_tour_line_runs():
    pen = re.compile(r"^cnnlab (conv|pool|act|solve|check|quiz|arch|kernel|examples|data info) ")
    lines = _tour_lines()
    assert all(line in TOUR for line in lines if pen.match(line) and "mnist" not in line)
    assert len(TOUR) >= 35 and all(line.startswith("cnnlab ") for line in TOUR)


@pytest.mark.parametrize("line", TOUR)
def test_readme_tour_line_runs_as_written(line, tmp_path):
    import shlex

    (tmp_path / "examples").symlink_to(ROOT / "examples")
    comment = line.partition(" #")[2]
    expected = int(m.group(1)) if (m := re.search(r"\bexit (\d)", comment)) else 0
    for command in line.split(" && "):
        argv = shlex.split(command, comments=True)
        assert argv[0] == "cnnlab"
        out = _run(*argv[1:], cwd=tmp_path, timeout=300)
        assert out.returncode == expected, (command, out.stderr[-1500:])
        assert "Traceback" not in out.stderr


# ---------------------------------------------------------------- docs that other helpers' code backs

def test_serve_curl_examples_send_json():
    text = (ROOT / "docs" / "serve.md").read_text()
    posts = [line for line in text.splitlines() if line.lstrip().startswith("curl") and " -d " in line]
    assert posts
    for line in posts:
        assert "-H 'Content-Type: application/json'" in line, line


def test_train_help_and_docs_list_every_augmentation():
    from cnnlab.train.augment import AUGMENTS

    helped = " ".join(_run("train", "--help").stdout.split())
    cli_row = next(line for line in (ROOT / "docs" / "cli.md").read_text().splitlines()
                   if line.startswith("| `--augment LIST`"))
    training = (ROOT / "docs" / "training.md").read_text()
    for name in AUGMENTS:
        assert re.search(rf"\b{re.escape(name)}\b", helped), name
        assert f"`{name}" in cli_row, name
        assert f"| `{name}" in training or f"`{name}`" in training, name


def test_yaml_depthwise_layer_matches_torch():
    from cnnlab.arch import arch_table
    from cnnlab.arch.spec import parse_spec

    for word in ("dw", "DW", "depthwise"):
        spec = [{"type": "conv", "k": 3, "out": 8}, {"type": "conv", "k": 3, "out": 8, "groups": word}]
        layers = parse_spec(spec)
        assert layers[1].text.endswith(word.lower())
        table = arch_table(spec, [3, 16, 16])
        ref = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 8, 3, groups=8))
        assert table["total_params"] == sum(p.numel() for p in ref.parameters())


@pytest.mark.parametrize("mode, side, refused", [
    ("reflect", 2, True), ("reflect", 1, False), ("symmetric", 3, True), ("symmetric", 2, False),
    ("circular", 3, True), ("circular", 2, False), ("replicate", 5, False), ("zeros", 5, False)])
def test_limits_doc_states_the_padding_modes_refused_wider_than_the_input(mode, side, refused):
    row = next(line for line in (ROOT / "docs" / "limits.md").read_text().splitlines()
               if line.startswith("| reflect / symmetric / circular padding"))
    assert "below the input side (reflect)" in row and "at most the input side (symmetric, circular)" in row
    out = _run("conv", "--input", "1 2; 3 4", "--kernel", "1", "--padding", str(side), "--padding-mode", mode)
    assert (out.returncode == 2) == refused, out.stderr
    if refused:
        assert out.stderr.startswith("error:") and "Traceback" not in out.stderr


def test_training_doc_states_torchvisions_rotate_fill_the_right_way_round():
    """torchvision's bilinear rotate with a fill is mask·S + (1 − mask)·fill (S the zero-padded
    sample, already mask-weighted); cnnlab's is S + (1 − mask)·fill."""
    import torch.nn.functional as F
    from torchvision.transforms.v2 import functional as TF

    from cnnlab.train.augment import apply_rotate

    torch.manual_seed(0)
    x = torch.rand(1, 1, 9, 9, dtype=torch.float64)
    fill = 0.7
    tv = TF.rotate(x, 30.0, interpolation=TF.InterpolationMode.BILINEAR, fill=[fill])
    ours = apply_rotate(x, torch.tensor([30.0], dtype=torch.float64), torch.tensor(fill, dtype=torch.float64))
    # the same sampling grid as ours, so S and the mask come from it
    ones = torch.ones_like(x)
    diff = ours - fill  # S - mask·fill = ours - fill  =>  S = ours - fill + mask·fill
    mask = apply_rotate(ones, torch.tensor([30.0], dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64))
    S = diff + mask * fill
    np_tv, formula = tv.numpy(), (mask * S + (1 - mask) * fill).numpy()
    assert abs(np_tv - formula).max() < 1e-6
    assert abs(ours - (S + (1 - mask) * fill)).max() < 1e-12
    assert abs(np_tv - ours.numpy()).max() > 1e-3  # they differ at the rim
    text = " ".join((ROOT / "docs" / "training.md").read_text().split())
    assert "torchvision weights the image by its mask twice" in text
    assert "`mask·S + (1 − mask)·fill`" in text


def test_tune_out_is_laid_out_as_documented_and_a_spec_study_has_a_short_name(tmp_path):
    import json

    from cnnlab.tune.study import model_label

    spec = "conv 3x3 4; relu; maxpool 2; fc 10"
    assert model_label("cnn3") == "cnn3" and model_label("nets/net.yaml") == "net"
    assert re.fullmatch(r"spec-[0-9a-f]{8}", model_label(spec)) and model_label(spec) != model_label(spec + " ")
    row = next(line for line in (ROOT / "docs" / "cli.md").read_text().splitlines()
               if line.startswith("| `--out DIR` | where the study is kept"))
    assert "`DIR/study.db`" in row and "`DIR/<study>/`" in row
    out = _run("tune", "--data", "digits", "--model", spec, "--trials", "1", "--epochs", "1", "--limit", "200",
               "--out", "t", "--json", cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    study = f"{model_label(spec)}-digits"
    assert result["study"] == study and Path(result["out"]) == Path("t") / study
    folder = tmp_path / "t" / study
    assert (tmp_path / "t" / "study.db").is_file() and (folder / "report.html").is_file()
    assert (folder / "results.json").is_file() and (folder / "trial-0000").is_dir()
