"""A plain install (NumPy and PyYAML only) runs the arithmetic half; every command that needs an
optional extra ends with one ``error:`` line naming it (docs/cli.md, "What a plain install can do").

Two ways of taking the extras away: in-process, a meta-path finder refuses their modules
(fast, default run); and for real, the wheel installed alone into a fresh venv (slow).
"""

from __future__ import annotations

import importlib
import importlib.abc
import io
import os
import subprocess
import sys
import zipfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from cnnlab.cli.extras import MODULE_EXTRAS
from cnnlab.cli.main import COMMANDS

REPO = Path(__file__).resolve().parents[1]
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}  # not the checkout

# what a plain install must run: (argv, exit status)
CORE = [
    (["conv", "--input", "1 2; 3 4", "--kernel", "1 0; 0 -1", "--padding", "1", "--steps"], 0),
    (["conv", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "sobel_x", "--padding", "same", "--json"], 0),
    (["pool", "--input", "1 2; 3 4", "--op", "avg", "--size", "2", "--exact"], 0),
    (["act", "--input", "1 2 3", "--fn", "softmax", "--round", "4"], 0),
    (["solve", "sheet1"], 0),
    (["solve", "examples/problems/sizes.yaml", "--format", "json"], 0),
    (["check", "wrong_key"], 1),
    (["quiz", "--topics", "conv,pool", "--count", "2", "--seed", "1"], 0),
    (["arch", "conv 5x5 6; maxpool 2x2; fc 10", "--input", "1x28x28", "--format", "json"], 0),
    (["arch", "--solve", "padding", "--n-in", "32", "--n-out", "32", "--kernel", "5"], 0),
    (["kernel", "list"], 0),
    (["kernel", "describe", "sobel_x", "--json"], 0),
    (["examples", "list"], 0),
]

# what needs an extra: (argv, the extra named, or extras split by |); {tmp} is a fresh folder that
# must stay empty
NEEDS_EXTRA = [
    (["train", "--list-models"], "train"),
    (["train", "--data", "digits", "--model", "mlp", "--epochs", "1", "--out", "{tmp}/run"], "train"),
    (["evaluate", "{tmp}/run"], "train"),
    (["explain", "{tmp}/run"], "train"),
    (["compare", "--data", "digits", "--out", "{tmp}/compare"], "train"),
    (["tune", "--data", "digits", "--model", "mlp", "--trials", "1", "--out", "{tmp}/tune"], "tune|train"),
    (["kernel", "apply", "camera", "--kernel", "sobel_x", "--out", "{tmp}/edges.png"], "kernels|train"),
    (["kernel", "cost", "--size", "32", "--k", "3,5", "--out", "{tmp}/cost.png"], "kernels|train"),
    (["kernel", "invariance", "--crop", "32", "--out", "{tmp}/inv.png"], "kernels|train"),
    (["data", "info", "digits"], "train"),
    (["arch", "--torchvision", "resnet18", "--input", "3x224x224"], "train"),
    (["arch", "--list-torchvision"], "train"),
]
if "serve" in COMMANDS:  # the page arrives with its own helper; refused like the rest
    NEEDS_EXTRA.append((["serve", "--port", "0"], "serve|train"))  # whichever it imports first

# commands by name: each must be listed above (a new command must say which half it is in)
CORE_NAMES = {argv[0] for argv, _ in CORE} | {"data"}  # data fetch / info of IDX files: NumPy only
EXTRA_NAMES = {argv[0] for argv, _ in NEEDS_EXTRA}


def test_every_command_is_classified():
    missing = sorted(set(COMMANDS) - CORE_NAMES - EXTRA_NAMES)
    assert not missing, f"add these commands to CORE or NEEDS_EXTRA in {__file__}: {missing}"


# -- in-process: the extras' modules refused by a meta-path finder ------------------------
class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, tops):
        self.tops = set(tops)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in self.tops:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


@contextmanager
def _without(tops):
    """Run with ``tops`` uninstallable; cnnlab is imported afresh so that nothing cached leaks in."""
    saved = dict(sys.modules)
    for name in list(sys.modules):
        if name.partition(".")[0] in set(tops) | {"cnnlab"}:
            del sys.modules[name]
    finder = _Refuse(tops)
    sys.meta_path.insert(0, finder)
    try:
        yield importlib.import_module("cnnlab.cli.main").main
    finally:
        sys.meta_path.remove(finder)
        for name in list(sys.modules):  # the fresh cnnlab goes; other new modules stay (a C
            if name not in saved and name.partition(".")[0] in set(tops) | {"cnnlab"}:  # extension
                del sys.modules[name]  # loads only once per process)
        sys.modules.update(saved)


def _run(main, argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


def test_plain_install_in_process(tmp_path, monkeypatch):
    """All extras' modules refused at once: the core commands work, the others refuse cleanly."""
    monkeypatch.chdir(REPO)
    with _without(MODULE_EXTRAS) as main:
        for argv, status in CORE:
            got, out, err = _run(main, argv)
            assert (got, err.count("Traceback")) == (status, 0), (argv, err)
            assert out.strip(), argv
        for argv, extra in NEEDS_EXTRA:
            argv = [a.format(tmp=tmp_path) for a in argv]
            got, out, err = _run(main, argv)
            assert got == 2, (argv, got, err)
            assert err.count("\n") == 1 and err.startswith("error: "), (argv, err)
            assert any(f"pip install 'cnnlab[{e}]'" in err for e in extra.split("|")), (argv, err)
    assert list(tmp_path.iterdir()) == [], "a refused command left files behind"


# -- the extras: what each installs ---------------------------------------------------------
# import name -> the distribution that provides it (for the modules MODULE_EXTRAS lists)
DISTRIBUTIONS = {"torch": "torch", "torchvision": "torchvision", "sklearn": "scikit-learn",
                 "skimage": "scikit-image", "scipy": "scipy", "matplotlib": "matplotlib",
                 "PIL": "pillow", "rich": "rich", "optuna": "optuna", "sqlalchemy": "optuna",
                 "safetensors": "safetensors", "starlette": "starlette", "uvicorn": "uvicorn",
                 "psycopg": "psycopg"}


def _extras() -> dict[str, set[str]]:
    """Each extra of pyproject.toml -> the distributions it installs (nested extras followed)."""
    import re
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]

    def names(extra: str, seen=()) -> set[str]:
        out = set()
        for req in declared[extra]:
            nested = re.fullmatch(r"cnnlab\[([a-z,]+)\]", req)
            if nested:
                for sub in nested.group(1).split(","):
                    if sub not in seen:
                        out |= names(sub, (*seen, extra))
            else:
                out.add(re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0].lower())
        return out

    return {extra: names(extra) for extra in declared}


def test_a_student_who_only_trains_installs_neither_optuna_nor_scikit_image():
    extras = _extras()
    assert {"torch", "torchvision"} <= extras["train"]
    assert not {"optuna", "scikit-image", "psycopg", "psycopg2-binary"} & extras["train"]
    assert "optuna" in extras["tune"] and extras["train"] <= extras["tune"]
    assert "scikit-image" in extras["kernels"] and "torch" not in extras["kernels"]
    assert "psycopg" in extras["distributed"] and extras["tune"] <= extras["distributed"]
    everything = set().union(*(v for k, v in extras.items() if k not in ("all", "dev")))
    assert extras["all"] == everything


def test_every_refusal_names_an_extra_that_installs_the_module():
    extras = _extras()
    for module, (extra, _label) in MODULE_EXTRAS.items():
        assert DISTRIBUTIONS[module] in extras[extra], (module, extra)


def test_train_runs_without_optuna_and_scikit_image_and_tune_names_its_extra(tmp_path):
    """With only the train extra's libraries: train works; tune and kernel apply refuse,
    naming `tune` and `kernels`."""
    with _without({"optuna", "sqlalchemy", "skimage", "psycopg"}) as main:
        got, out, err = _run(main, ["train", "--data", "digits", "--model", "logreg", "--epochs", "1",
                                    "--limit", "200", "--threads", "1", "--out", str(tmp_path / "run"),
                                    "--json"])
        assert got == 0 and (tmp_path / "run" / "summary.json").is_file(), err
        got, _, err = _run(main, ["tune", "--data", "digits", "--model", "mlp", "--trials", "1",
                                  "--out", str(tmp_path / "tune")])
        assert got == 2 and err.count("\n") == 1 and "pip install 'cnnlab[tune]'" in err, err
        got, _, err = _run(main, ["kernel", "apply", "camera", "--kernel", "sobel_x",
                                  "--out", str(tmp_path / "edges.png")])
        assert got == 2 and err.count("\n") == 1 and "pip install 'cnnlab[kernels]'" in err, err
    assert not (tmp_path / "tune").exists() and not (tmp_path / "edges.png").exists()


def test_postgres_storage_names_the_distributed_extra(tmp_path):
    """The database driver is looked for deep inside Optuna (which wraps the ImportError)."""
    with _without({"psycopg"}) as main:
        got, _, err = _run(main, ["tune", "--data", "digits", "--model", "mlp", "--trials", "1",
                                  "--storage", "postgresql+psycopg://me@localhost/optuna",
                                  "--out", str(tmp_path / "tune")])
    assert got == 2 and err.count("\n") == 1, err
    assert "pip install 'cnnlab[distributed]'" in err, err


def test_a_broken_installation_keeps_its_traceback():
    """A missing submodule of an installed package is not a missing extra: no refusal hides it."""
    from cnnlab.cli.extras import refusal

    assert refusal(ModuleNotFoundError(name="torch._C")) is None
    assert refusal(ModuleNotFoundError(name="some_plugin")) is None
    wrapped = ImportError("Failed to import DB access module")
    wrapped.__cause__ = ModuleNotFoundError(name="psycopg")
    assert "cnnlab[distributed]" in refusal(wrapped)


# -- the wheel --------------------------------------------------------------------------
def _setuptools_major() -> int:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return 0


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """cnnlab's wheel, built offline from a copy of the tracked and new files (not the tests)."""
    root = tmp_path_factory.mktemp("wheel")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()
    src = root / "src"
    for name in files:
        if name.startswith("tests/") or not (REPO / name).is_file():
            continue
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes((REPO / name).read_bytes())
    # offline with this venv's setuptools when it is new enough for pyproject.toml (>= 77: the SPDX
    # license string), else in pip's isolated build environment (fetched from the package index)
    isolation = [] if _setuptools_major() >= 77 else ["--use-pep517"]
    offline = [] if isolation else ["--no-build-isolation"]
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *offline, *isolation,
                        "-w", str(root / "dist"), str(src)], capture_output=True, text=True, env=CLEAN_ENV)
    assert r.returncode == 0, r.stderr[-3000:]
    (found,) = (root / "dist").glob("cnnlab-*.whl")
    return found


def test_wheel_ships_examples_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    examples = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "examples").rglob("*")
                      if p.is_file() and "__pycache__" not in p.parts)
    assert examples, "the repository has no examples to ship"
    missing = [p for p in examples if f"cnnlab/{p}" not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert "cnnlab/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "examples/"))], "stray top-level folders"


@pytest.mark.slow
def test_plain_install_in_a_fresh_venv(wheel, tmp_path):
    """The wheel alone (no extras) in a new venv; NumPy and PyYAML are this interpreter's copies
    (the versions constraints.txt pins), linked in so that no network is needed."""
    import numpy
    import yaml

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    for module in (numpy, yaml):
        top = Path(module.__file__).parent  # the package, its compiled helpers and its metadata
        for entry in top.parent.iterdir():
            name = entry.name.lower()
            if name in (top.name, "_" + top.name) or name.startswith((f"{top.name}.", f"{top.name}-", f"py{top.name}-")):
                (site / entry.name).symlink_to(entry)
    env = CLEAN_ENV
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, env=env)
    cnnlab = str(venv / "bin" / "cnnlab")
    work = tmp_path / "work"
    work.mkdir()  # outside the repository: examples/problems/sizes.yaml must come from the package
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    probe = subprocess.run([str(venv / "bin" / "python"), "-c", "import torch"], capture_output=True, env=env)
    assert probe.returncode != 0, "the fresh venv must not see torch"
    for argv, status in CORE:
        r = subprocess.run([cnnlab, *argv], cwd=work, capture_output=True, text=True, env=env)
        assert (r.returncode, r.stderr.count("Traceback")) == (status, 0), (argv, r.stderr)
    r = subprocess.run([cnnlab, "examples", "copy", "mine"], cwd=work, capture_output=True, text=True, env=env)
    assert r.returncode == 0 and (work / "mine" / "problems" / "sheet1.yaml").is_file(), r.stderr
    for argv, extra in NEEDS_EXTRA:
        argv = [a.format(tmp=out_dir) for a in argv]
        r = subprocess.run([cnnlab, *argv], cwd=work, capture_output=True, text=True, env=env)
        assert r.returncode == 2, (argv, r.returncode, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), (argv, r.stderr)
        assert any(f"pip install 'cnnlab[{e}]'" in r.stderr for e in extra.split("|")), (argv, r.stderr)
    assert list(out_dir.iterdir()) == [], "a refused command left files behind"


# -- cnnlab examples ------------------------------------------------------------------------
def test_examples_list_show_copy(tmp_path, capsys):
    from cnnlab.cli.examples_cmd import list_examples
    from cnnlab.cli.main import main

    shipped = list_examples()
    assert "problems/sheet1" in shipped and shipped["problems/sheet1"].is_file()
    assert main(["examples", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(shipped)
    assert main(["examples", "show", "sheet1"]) == 0
    assert capsys.readouterr().out == shipped["problems/sheet1"].read_text(encoding="utf-8")
    target = tmp_path / "mine"
    assert main(["examples", "copy", str(target)]) == 0
    copied = sorted(p.relative_to(target).with_suffix("").as_posix() for p in target.rglob("*") if p.is_file())
    assert copied == sorted(shipped)
    (target / "problems" / "sheet1.yaml").write_text("edited")
    capsys.readouterr()
    assert main(["examples", "copy", str(target)]) == 2  # refused before writing anything
    assert "already exists" in capsys.readouterr().err
    assert (target / "problems" / "sheet1.yaml").read_text() == "edited"
    assert main(["examples", "copy", str(target), "--force"]) == 0
    assert (target / "problems" / "sheet1.yaml").read_bytes() == shipped["problems/sheet1"].read_bytes()
    assert main(["examples", "show", "no-such-example"]) == 2


def test_solve_takes_an_example_name_or_a_path(tmp_path, monkeypatch, capsys):
    """By name, by the README's path from any folder, and a real file of that name wins."""
    from cnnlab.cli.main import main

    monkeypatch.chdir(tmp_path)
    outputs = []
    for name in ("sizes", "problems/sizes", "examples/problems/sizes.yaml"):
        assert main(["solve", name, "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2]
    (tmp_path / "sizes").write_text("parts:\n  - {id: z, ask: 1 + 1}\n")
    assert main(["solve", "sizes", "--json"]) == 0
    assert '"id": "z"' in capsys.readouterr().out
