"""The docs in docs/ stay true: their `console` examples run and print what they show, every
flag of every command is documented, and JSON is asked the same way on every command.

Console blocks (```console) hold lines ``$ cnnlab ARGS`` followed by the exact lines the
command prints on stdout. In the shown output, a line ``...`` stands for any number of
lines and a line ending in ``...`` for any line starting with the text before it. A
comment ``# exit N`` on the command line gives the expected exit status (default 0).
Commands run in-process, in a fresh folder, with every warning turned into an error.
"""

from __future__ import annotations

import argparse
import io
import re
import shlex
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from cnnlab.cli.argtypes import _FormatAction, _JsonAction
from cnnlab.cli.extras import _subcommands
from cnnlab.cli.main import build_parser, main

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
DOC_FILES = sorted(DOCS.glob("*.md"))
_BLOCK = re.compile(r"^```console[ \t]*\n(.*?)^```", re.M | re.S)


# -- console blocks ----------------------------------------------------------------------
def console_examples() -> list[tuple[str, str, list[str], int]]:
    """(where, command line, expected stdout lines, exit status) for every `$ cnnlab` line."""
    found = []
    for path in DOC_FILES + [REPO / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for block in _BLOCK.finditer(text):
            line_no = text[: block.start()].count("\n") + 2
            current = None
            for i, line in enumerate(block.group(1).splitlines()):
                if line.startswith("$ "):
                    command, _, comment = line[2:].partition("  # ")
                    status = re.search(r"exit (?:status )?(\d+)", comment)
                    current = (f"{path.name}:{line_no + i}", command.strip(), [],
                               int(status.group(1)) if status else 0)
                    found.append(current)
                elif current is None:
                    raise AssertionError(f"{path.name}:{line_no + i}: console block must start with '$ '")
                else:
                    current[2].append(line.rstrip())
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line-glob match: ``...`` = any lines; ``text...`` = a line starting with text.

    >>> matches(["a", "...", "z"], ["a", "b", "c", "z"]), matches(["{x..."], ["{xyz}"])
    (True, True)
    >>> matches(["a"], ["a", "b"])
    False
    """
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    if head.endswith("...") and actual[0].startswith(head[:-3]):
        return matches(rest, actual[1:])
    return head == actual[0] and matches(rest, actual[1:])


EXAMPLES = console_examples()


def test_docs_have_console_examples():
    assert len(EXAMPLES) >= 20, "the docs lost their runnable examples"


@pytest.mark.parametrize("where,command,expected,status", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_console_example(where, command, expected, status, tmp_path, monkeypatch):
    argv = shlex.split(command)
    assert argv[0] == "cnnlab", f"{where}: console lines run cnnlab only"
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(out), redirect_stderr(err):
        warnings.simplefilter("error")  # no library warning may reach the user
        got = main(argv[1:])
    assert got == status, f"{where}: `{command}` exited {got}, the docs say {status}\n{err.getvalue()}"
    assert "Warning" not in err.getvalue(), f"{where}: `{command}` printed a warning:\n{err.getvalue()}"
    actual = [line.rstrip() for line in out.getvalue().rstrip("\n").split("\n")] if out.getvalue() else []
    assert matches(expected, actual), (f"{where}: `{command}` printed\n" + "\n".join(actual)
                                       + "\n--- the docs show ---\n" + "\n".join(expected))


# -- every flag documented ------------------------------------------------------------------
def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """``"cnnlab kernel apply"`` -> its parser, for every command and sub-command."""
    found = {}

    def walk(parser, path):
        found[path] = parser
        for name, sub in _subcommands(parser).items():
            walk(sub, f"{path} {name}")

    walk(build_parser(), "cnnlab")
    return found


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, body up to the next heading of the same or a higher level) of a Markdown file."""
    heads = [(m.start(), len(m.group(1)), m.group(2)) for m in re.finditer(r"^(#{1,6})\s+(.*)$", text, re.M)]
    out = []
    for i, (start, level, title) in enumerate(heads):
        end = next((s for s, lv, _ in heads[i + 1:] if lv <= level), len(text))
        out.append((title, text[start:end]))
    return out


def test_every_flag_is_documented():
    """Each flag appears in a docs/*.md section whose heading names its command, e.g. a
    ``## `cnnlab kernel apply` `` section for ``--kernel2``."""
    sections = [s for path in DOC_FILES for s in _sections(path.read_text(encoding="utf-8"))]
    missing = []
    for path, parser in command_parsers().items():
        heading = re.compile(re.escape(path) + r"(?![\w-])")
        bodies = "\n".join(body for title, body in sections if heading.search(title))
        for action in parser._actions:
            for flag in action.option_strings:
                if flag in ("-h", "--help"):
                    continue
                if not re.search(re.escape(flag) + r"(?![\w-])", bodies):
                    missing.append(f"{path} {flag}")
    assert not missing, ("not documented in a docs/*.md section headed by its command "
                         "(add them to docs/cli.md): " + ", ".join(missing))


def test_doc_links_resolve():
    """Links between docs pages point at files in docs/ (pages other helpers write included)."""
    broken = []
    for path in DOC_FILES:
        for target in re.findall(r"\]\(([\w-]+\.md)(?:#[\w-]+)?\)", path.read_text(encoding="utf-8")):
            if not (DOCS / target).is_file():
                broken.append(f"{path.name} -> {target}")
    expected_later = {"problems.md", "limits.md", "kernels.md", "arch.md", "runs.md", "training.md",
                      "models.md", "serve.md", "distributed.md"}  # written by the helpers who build them
    broken = [b for b in broken if b.rsplit(" -> ", 1)[1] not in expected_later]
    assert not broken, broken


# -- --json and --format json ---------------------------------------------------------------
def test_json_is_asked_the_same_way_everywhere():
    """A command that offers JSON offers both spellings, through the shared helper."""
    wrong = []
    for path, parser in command_parsers().items():
        actions = {flag: a for a in parser._actions for flag in a.option_strings}
        fmt, js = actions.get("--format"), actions.get("--json")
        offers_json = js is not None or (fmt is not None and "json" in (fmt.choices or ()))
        if not offers_json:
            continue
        if not (isinstance(fmt, _FormatAction) and isinstance(js, _JsonAction)):
            wrong.append(path)
    assert not wrong, f"use cnnlab.cli.argtypes.add_output_format in: {wrong}"


SAME_JSON = [
    ["conv", "--input", "1 2; 3 4", "--kernel", "1 1; 1 1", "--padding", "1"],
    ["pool", "--input", "1 2; 3 4", "--op", "max", "--size", "2"],
    ["act", "--input", "1 2", "--fn", "sigmoid"],
    ["solve", "sizes"],
    ["check", "wrong_key"],
    ["arch", "conv 3x3 4; relu; fc 2", "--input", "1x8x8"],
    ["kernel", "list"],
    ["kernel", "describe", "box:3"],
    ["train", "--list-models"],
]


@pytest.mark.parametrize("argv", SAME_JSON, ids=[" ".join(a[:2]) for a in SAME_JSON])
def test_json_and_format_json_print_the_same(argv):
    import json

    printed = []
    for flags in (["--json"], ["--format", "json"]):
        out = io.StringIO()
        with redirect_stdout(out), redirect_stderr(io.StringIO()):
            main(argv + flags)
        printed.append(out.getvalue())
    assert printed[0] == printed[1]
    json.loads(printed[0])
