"""Constants are imported from their owner module, never re-typed (issue 20, item 5).

Two checks against the source itself:

* no tuple/list/set literal of 3+ strings equal to an owner constant (the same strings, in
  any order: a copy in another order is still a copy) appears outside the owner's module,
  found by parsing every module of cnnlab with ``ast``;
* every ``choices=`` of the CLI (the parser ``cnnlab.cli.main.build_parser`` builds) is one
  of the owner constants, or an owner constant with one extra word in front or behind
  (``all``, ``depth``), so a new choice added to the owner reaches the flag.
"""

from __future__ import annotations

import argparse
import ast
import importlib
from pathlib import Path

import pytest

from cnnlab.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]

# (owner module, attribute): the one place these strings are typed
OWNERS = [
    ("cnnlab.ops.padding", "PADDING_MODES"),
    ("cnnlab.train.config", "OPTIMIZERS"),
    ("cnnlab.train.config", "SCHEDULES"),
    ("cnnlab.train.config", "DEVICES"),
    ("cnnlab.train.config", "LOSSES"),
    ("cnnlab.train.config", "NORMALIZE"),
    ("cnnlab.train.config", "SPLITS"),
    ("cnnlab.tune.study", "SAMPLERS"),
    ("cnnlab.tune.study", "PRUNERS"),
    ("cnnlab.tune.study", "METRICS"),
    ("cnnlab.arch.table", "DTYPE_BYTES"),
    ("cnnlab.arch.input_shape", "LAYOUTS"),
    ("cnnlab.doc", "RESULT_FORMATS"),
    ("cnnlab.problems.render", "STEPS"),
    ("cnnlab.api.problems", "QUIZ_STEPS"),
    ("cnnlab.api.problems", "QUIZ_FORMATS"),
    ("cnnlab.api.ops", "CONV_ACTS"),
    ("cnnlab.api.ops", "ACT_FUNCTIONS"),
    ("cnnlab.ops.activations", "ACTIVATIONS"),
    ("cnnlab.doc", "FORMATS"),
    ("cnnlab.doc", "DOCUMENT_FORMATS"),
    ("cnnlab.steps.trace_pool", "POOL_OPS"),
    ("cnnlab.kernels.invariance", "INVARIANCE_PARTS"),
    ("cnnlab.arch.inverse", "UNKNOWNS"),
    ("cnnlab.data.dataset", "SPLITS"),  # storage order; train.config.SPLITS is the choice order
]


def _owner_values() -> dict[tuple[str, ...], str]:
    """owner tuple (a mapping's keys in order) -> its module."""
    values = {}
    for module, name in OWNERS:
        value = tuple(getattr(importlib.import_module(module), name))
        assert all(isinstance(v, str) for v in value), (module, name)
        values[value] = module
    return values


def _owner_sets() -> dict[frozenset[str], set[str]]:
    """The owners' strings as sets (a copy in another order is found too) -> their modules
    (two owners may keep the same names in two orders on purpose: the splits)."""
    out: dict[frozenset[str], set[str]] = {}
    for module, name in OWNERS:
        out.setdefault(frozenset(getattr(importlib.import_module(module), name)), set()).add(module)
    return out


def _string_literals(tree: ast.AST):
    """(strings, line) of every tuple/list/set literal made only of 3+ string constants."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 3 \
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            yield tuple(e.value for e in node.elts), node.lineno


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def retyped_constants(root: Path = ROOT) -> list[str]:
    """``path:line`` of every owner constant typed again outside its owner module (``root/cnnlab``)."""
    owners = _owner_sets()
    found = []
    for path in sorted((root / "cnnlab").rglob("*.py")):
        module = _module_name(path, root)
        for strings, line in _string_literals(ast.parse(path.read_text(encoding="utf-8"))):
            modules = owners.get(frozenset(strings), set()) if len(set(strings)) == len(strings) else set()
            if modules and module not in modules:
                owner = " or ".join(sorted(modules))
                found.append(f"{path.relative_to(root)}:{line} re-types {owner}: {strings}")
    return found


def test_no_owner_constant_is_retyped():
    assert retyped_constants() == []


def test_the_scan_finds_a_retyped_constant(tmp_path):
    """The scan itself: a copy of a padding-mode tuple in another module is reported, the owner's
    own definition (a dict) and a different tuple are not."""
    package = tmp_path / "cnnlab"
    (package / "ops").mkdir(parents=True)
    (package / "ops" / "padding.py").write_text('PADDING_MODES = {"zeros": "constant"}\n')
    (package / "cli").mkdir()
    (package / "cli" / "x.py").write_text('A = ("zeros", "reflect", "symmetric", "replicate", "circular")\n'
                                          'B = ("zeros", "reflect", "symmetric")\n'
                                          'C = ["sgd", "adam", "adamw"]\n'
                                          'D = ("relu", "sigmoid", "tanh", "leaky_relu", "softmax")\n'
                                          'E = ("text", "markdown", "html", "latex")\n')
    found = retyped_constants(tmp_path)
    assert [f.split(" re-types ")[0] for f in found] == [f"cnnlab/cli/x.py:{n}" for n in (1, 3, 4, 5)]
    assert "cnnlab.ops.padding" in found[0] and "cnnlab.train.config" in found[1]
    assert "cnnlab.ops.activations" in found[2] and "cnnlab.doc" in found[3]  # the same names in another order


def test_the_tracers_cover_every_activation():
    """The worked-step tracer and the ops' registry name the same activations."""
    from cnnlab.ops.activations import ACTIVATIONS
    from cnnlab.steps.trace_act import ACT_FUNCTIONS

    assert sorted(ACT_FUNCTIONS) == sorted(ACTIVATIONS)


def _choices(parser: argparse.ArgumentParser, prefix: str = ""):
    """(command and flag, choices) of every option with choices, through every sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _choices(sub, f"{prefix}{name} ")
        elif action.choices is not None and action.option_strings:
            yield f"{prefix}{action.option_strings[-1]}", tuple(action.choices)


CLI_CHOICES = list(_choices(build_parser()))


def test_the_cli_has_choices_to_check():
    flags = dict(CLI_CHOICES)
    assert len(CLI_CHOICES) >= 25
    assert flags["train --optimizer"] == ("sgd", "adam", "adamw")  # the flag as the docs give it
    assert flags["conv --padding-mode"] == ("zeros", "reflect", "symmetric", "replicate", "circular")


@pytest.mark.parametrize("flag, choices", CLI_CHOICES, ids=[f for f, _ in CLI_CHOICES])
def test_every_cli_choice_is_an_owner_constant(flag, choices):
    owners = set(_owner_values())
    owners |= {("text", "json"), ("table", "text", "markdown", "latex", "json")}  # command-local, typed once
    assert choices in owners or choices[1:] in owners or choices[:-1] in owners, \
        f"{flag}: {choices} is typed in the CLI"
