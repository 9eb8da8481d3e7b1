"""Entry point of the ``cnnlab`` command.

Each command lives in its own module with ``register(subparsers)``, which adds the
command's parser and sets ``func`` to its handler. Only the module of the command being
run is imported, so arithmetic commands never pay for torch. Command modules keep heavy
imports (torch, matplotlib, sklearn) inside their handlers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from cnnlab.errors import UsageError

# command name -> module that registers it (a module may register several commands)
COMMANDS: dict[str, str] = {
    "conv": "cnnlab.cli.ops_cmd",
    "pool": "cnnlab.cli.ops_cmd",
    "act": "cnnlab.cli.ops_cmd",
    "solve": "cnnlab.cli.problems_cmd",
    "check": "cnnlab.cli.problems_cmd",
    "quiz": "cnnlab.cli.problems_cmd",
    "arch": "cnnlab.cli.arch_cmd",
    "data": "cnnlab.cli.data_cmd",
    "train": "cnnlab.cli.train_cmd",
    "evaluate": "cnnlab.cli.train_cmd",
    "compare": "cnnlab.cli.train_cmd",
    "kernel": "cnnlab.cli.kernel_cmd",
    "explain": "cnnlab.cli.explain_cmd",
    "tune": "cnnlab.cli.tune_cmd",
    "examples": "cnnlab.cli.examples_cmd",
    "serve": "cnnlab.cli.serve_cmd",
}


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``error:`` line and exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise UsageError(f"{self.prog}: {message} (see --help)")


def build_parser(only: str | None = None) -> ArgumentParser:
    """The full parser, or just the one command ``only`` (faster: imports one module)."""
    parser = ArgumentParser(
        prog="cnnlab",
        description="Exact CNN arithmetic with worked steps, and practical CNN training.",
    )
    from cnnlab import __version__

    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    names = [only] if only in COMMANDS else list(COMMANDS)
    seen: set[str] = set()
    for name in names:
        module_name = COMMANDS[name]
        if module_name in seen:
            continue
        seen.add(module_name)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # command not built yet
                continue
            raise
        module.register(sub)
    return parser


# Set by a command whose results are all written and closed (see run() and skip_teardown()).
_skip_teardown = False


def skip_teardown() -> None:
    """Say that this command's work is finished and on disk: :func:`run` may end the
    process without the interpreter's teardown."""
    global _skip_teardown
    _skip_teardown = True


def run() -> None:
    """The ``cnnlab`` console script and ``python -m cnnlab``: :func:`main`, then exit.

    After a command that called :func:`skip_teardown` (``train``: every file written
    atomically and closed, its threads joined) the process ends with ``os._exit`` once
    stdout and stderr are flushed. Tearing down torch and matplotlib module by module
    took 0.5-0.8 s on the 2-core machine, an eighth of a one-epoch MNIST run, and changes
    nothing on disk (docs/training.md, "Speed"). In-process callers of :func:`main` are
    not affected.
    """
    status = main()
    if _skip_teardown:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, ValueError):  # a closed pipe: nothing left to say
            pass
        os._exit(status)
    sys.exit(status)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 result, 1 a wrong claimed answer, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    from cnnlab.cli.guard import debug, describe_unexpected, library_warnings_hidden

    parser = None
    try:
        with library_warnings_hidden():
            parser = build_parser(first)
            args = parser.parse_args(argv)
            if not getattr(args, "func", None):
                parser.print_help()
                return 0 if not argv else 2
            status = args.func(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional library the command needs is not installed
        from cnnlab.cli.extras import command_words, refusal

        message = refusal(exc, command_words(parser, argv) if parser else "cnnlab")
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (Exception, MemoryError, RecursionError) as exc:  # what slipped past validation
        if debug():
            raise
        print(f"error: {describe_unexpected(exc)}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":
    run()
