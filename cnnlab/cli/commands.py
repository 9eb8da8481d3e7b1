"""``add_command``: one sub-command's parser, as every cnnlab command makes it."""

from __future__ import annotations

import argparse

from cnnlab.cli.argtypes import allow_negative_values

__all__ = ["add_command"]


def add_command(subparsers, name: str, help: str | None = None, description: str | None = None,
                epilog: str | None = None, *, negative_values: bool = False) -> argparse.ArgumentParser:
    """Add the command ``name`` to ``subparsers``: its help line, description and an epilog of
    examples kept as written (line breaks and indents).

    negative_values: read ``-1,2`` as a value, not an option (``--shift -4,5``).

    >>> sub = argparse.ArgumentParser(prog="cnnlab").add_subparsers()
    >>> add_command(sub, "demo", "a demo", epilog="examples:\\n  cnnlab demo").format_help().splitlines()[-1]
    '  cnnlab demo'
    """
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    if negative_values:
        allow_negative_values(parser)
    return parser
