"""docs/cli.md's flag tables of the config-driven commands, written from their parsers.

The parser of ``train``, ``evaluate``, ``compare``, ``tune`` and ``explain`` is built from
its config's fields (:mod:`cnnlab.cli.config_flags`), so a table written from it says what
``--help`` says: one row per flag, its placeholder, its help with bounds and default. A
field's ``FlagSpec.doc`` gives its row in Markdown where that says more than ``--help``
(code, links); a help object with a ``markdown()`` method (``--augment``'s, listed from the
registry) gives its own. Each table sits between markers in docs/cli.md; the prose around
them is written by hand::

    python -m cnnlab.cli.flag_tables            # rewrite the tables of docs/cli.md
    python -m cnnlab.cli.flag_tables --check    # exit 1 when docs/cli.md is out of date

``tests/test_config_flags.py`` fails when docs/cli.md differs from what this writes.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from cnnlab.cli.config_flags import flag_fields
from cnnlab.cli.extras import _subcommands
from cnnlab.compare.config import CompareConfig
from cnnlab.explain.config import ExplainConfig
from cnnlab.train.config import TrainConfig
from cnnlab.train.evaluate_config import EvaluateConfig
from cnnlab.tune.study import TuneConfig

__all__ = ["CONFIGS", "FIX_COMMAND", "flag_rows", "markdown_table", "update_tables", "main"]

# the commands whose flags their config declares (the tables this module writes)
CONFIGS: dict[str, type] = {"train": TrainConfig, "evaluate": EvaluateConfig, "compare": CompareConfig,
                            "tune": TuneConfig, "explain": ExplainConfig}
FIX_COMMAND = "python -m cnnlab.cli.flag_tables"
_BEGIN = "<!-- flags of cnnlab {command}: written by " + FIX_COMMAND + ", do not edit -->"
_END = "<!-- end of the flags of cnnlab {command} -->"


def _parser(command: str) -> argparse.ArgumentParser:
    from cnnlab.cli.main import build_parser

    return _subcommands(build_parser(command))[command]


def _markdown(text: str) -> str:
    """Plain help text as a table cell: ``|`` escaped, ``<name>`` not taken for HTML, a
    mention of docs/NAME.md a link.

    >>> _markdown("runs/<model> (docs/models.md)")
    'runs/\\\\<model> ([models](models.md))'
    """
    text = text.replace("%%", "%").replace("|", "\\|")
    text = re.sub(r"<(?=[A-Za-z/!])", r"\\<", text)
    return re.sub(r"\bdocs/([\w-]+)\.md\b", r"[\1](\1.md)", text)


def _flag_text(action: argparse.Action) -> str:
    """``--epochs N``, ``--amp``, ``--channels-last``, ``--no-channels-last``, ``RUN_DIR``."""
    formatter = argparse.HelpFormatter("cnnlab")
    if not action.option_strings:
        return f"`{formatter._metavar_formatter(action, action.dest)(1)[0]}`"
    if action.nargs == 0:
        return ", ".join(f"`{flag}`" for flag in action.option_strings)
    placeholder = formatter._format_args(action, action.dest.upper())
    return ", ".join(f"`{flag} {placeholder}`" for flag in action.option_strings)


def flag_rows(command: str) -> list[tuple[str, str]]:
    """(flag, meaning) of each argument of ``command`` in the order ``--help`` lists them."""
    from cnnlab.cli.config_flags import _help, default_text
    from cnnlab.settings import range_text

    specs = {field.name: (field, spec) for field, spec, _ in flag_fields(CONFIGS[command])}
    formatter = argparse.HelpFormatter("cnnlab")
    rows = []
    for action in _parser(command)._actions:
        if "--help" in action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if hasattr(action.help, "markdown"):
            meaning = action.help.markdown()
        elif action.dest in specs and specs[action.dest][1].doc is not None:
            field, spec = specs[action.dest]
            meaning = _help(spec.doc, default_text(field, spec) if action.default is None else
                            default_text(field, spec, action.default), range_text(spec))
        else:
            meaning = _markdown(formatter._expand_help(action) if action.help else "")
        rows.append((_flag_text(action).replace("|", "\\|"), meaning))
    return rows


def markdown_table(command: str) -> str:
    """The table of ``command``'s flags, between its markers."""
    lines = [_BEGIN.format(command=command), "| flag | meaning |", "|---|---|"]
    lines += [f"| {flag} | {meaning} |" for flag, meaning in flag_rows(command)]
    return "\n".join(lines + [_END.format(command=command)])


def update_tables(text: str) -> str:
    """``text`` (docs/cli.md) with each command's table, from its begin marker to its end
    marker, written afresh; ValueError when a marker is missing."""
    for command in CONFIGS:
        begin, end = _BEGIN.format(command=command), _END.format(command=command)
        start = text.find(begin)
        stop = text.find(end, start)
        if start < 0 or stop < 0:
            raise ValueError(f"docs/cli.md lacks the markers of cnnlab {command}'s table: {begin!r} ... {end!r}")
        text = text[:start] + markdown_table(command) + text[stop + len(end):]
    return text


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` compare) the tables of docs/cli.md."""
    parser = argparse.ArgumentParser(prog=FIX_COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="docs/cli.md", help="the file (default docs/cli.md)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when the file is out of date")
    args = parser.parse_args(argv)
    path = Path(args.path)
    text = path.read_text(encoding="utf-8")
    new = update_tables(text)
    if args.check:
        if new != text:
            print(f"{path}: the flag tables are out of date; run: {FIX_COMMAND}", file=sys.stderr)
            return 1
        return 0
    if new != text:
        from cnnlab.userfiles import write_atomic

        write_atomic(path, new)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
