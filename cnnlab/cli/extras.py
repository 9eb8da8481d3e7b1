"""The CLI's side of the optional extras: the command words of a refused call.

Which extra provides a missing module is :mod:`cnnlab.extras` (re-exported here).
"""

from __future__ import annotations

import argparse
from typing import Sequence

from cnnlab.extras import MODULE_EXTRAS, missing_module, refusal

__all__ = ["MODULE_EXTRAS", "missing_module", "refusal", "command_words"]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps sub-commands in a private list
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def command_words(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """``cnnlab kernel apply`` for ``["kernel", "apply", "camera", ...]``: the command path."""
    words = [parser.prog]
    for word in argv:
        choices = _subcommands(parser)
        if word not in choices:
            break
        words.append(word)
        parser = choices[word]
    return " ".join(words)
