"""``cnnlab examples``: the example files that ship with cnnlab (list, show, copy).

The repository's ``examples/`` folder is installed inside the package as ``cnnlab/examples``
(setup.py), so the README's commands work after a plain ``pip install``: ``cnnlab solve
sheet1`` finds ``examples/problems/sheet1.yaml`` by name (docs/cli.md, "examples").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnlab.api.examples import find_example, examples_root, list_examples, resolve_example
from cnnlab.cli.commands import add_command
from cnnlab.errors import UsageError
from cnnlab.userfiles import read_bytes, write_atomic

__all__ = ["register", "examples_root", "list_examples", "resolve_example"]

MAX_EXAMPLE_BYTES = 1_000_000  # the largest example that ships is a few kB

EXAMPLES = """examples:
  cnnlab examples list
  cnnlab examples show sheet1
  cnnlab examples copy my-examples          # then: cnnlab solve my-examples/problems/sheet1.yaml
  cnnlab solve sheet1                        # an example's name works wherever a problem file does
"""


def _title(path: Path) -> str:
    if path.suffix not in (".yaml", ".yml"):
        return ""
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("title:"):
            return line.partition(":")[2].strip().strip("'\"")
    return ""


def register(subparsers) -> None:
    """Add ``examples`` with ``list``, ``show`` and ``copy``."""
    parser = add_command(subparsers, "examples", EXAMPLES)
    actions = parser.add_subparsers(dest="examples_action", metavar="ACTION", required=True,
                                    parser_class=type(parser))
    p = add_command(actions, "examples list", EXAMPLES)
    p.set_defaults(func=run_list)
    p = add_command(actions, "examples show", EXAMPLES)
    p.add_argument("name", metavar="NAME", help="an example name from 'cnnlab examples list'")
    p.set_defaults(func=run_show)
    p = add_command(actions, "examples copy", EXAMPLES)
    p.add_argument("dir", metavar="DIR", help="target folder (created if missing)")
    p.add_argument("--force", action="store_true", help="overwrite files that already exist there")
    p.set_defaults(func=run_copy)


def _require() -> dict[str, Path]:
    examples = list_examples()
    if not examples:
        raise UsageError("no examples found: this installation of cnnlab was built without "
                         "its examples/ folder")
    return examples


def run_list(args: argparse.Namespace) -> int:
    examples = _require()
    width = max(map(len, examples))
    for name, path in examples.items():
        sys.stdout.write(f"{name:<{width}}  {_title(path)}".rstrip() + "\n")
    return 0


def run_show(args: argparse.Namespace) -> int:
    _require()
    path = find_example(args.name)
    if path is None:
        raise UsageError(f"no example named {args.name!r}; 'cnnlab examples list' shows them")
    sys.stdout.write(path.read_text(encoding="utf-8"))
    return 0


def run_copy(args: argparse.Namespace) -> int:
    examples = _require()
    root = examples_root()
    if not args.dir.strip():
        raise UsageError("examples copy: DIR is empty; name the folder to copy into "
                         "(e.g. cnnlab examples copy my-examples)")
    target = Path(args.dir)
    if target.exists() and not target.is_dir():
        raise UsageError(f"cannot copy into {target}: it is a file, not a folder")
    pairs = [(src, target / src.relative_to(root)) for src in examples.values()]
    for _, dst in pairs:  # checked before anything is written
        _refuse_linked_folders(dst, target)
    clashes = [str(dst) for _, dst in pairs if dst.exists() or dst.is_symlink()]
    if clashes and not args.force:  # a dangling link counts: it would be written through
        raise UsageError(f"{clashes[0]} already exists ({len(clashes)} file(s) in all); "
                         "use --force to overwrite")
    for src, dst in pairs:
        data = read_bytes(src, "example file", MAX_EXAMPLE_BYTES)
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create folder {dst.parent}: {exc.strerror}") from None
        # a link at dst is replaced by the file, never written through (--force)
        write_atomic(dst, data, "example file", inside=target)
    print(f"copied {len(pairs)} example file(s) to {target}", file=sys.stderr)
    return 0


def _refuse_linked_folders(dst: Path, target: Path) -> None:
    """Refuse ``dst`` when a folder between ``target`` and it is a symbolic link (or not a folder)."""
    for folder in reversed(dst.relative_to(target).parents):
        if folder == Path("."):
            continue
        where = target / folder
        if where.is_symlink():
            raise UsageError(f"cannot copy into {where}: it is a symbolic link; cnnlab does not "
                             f"write through links (remove it, or copy into another DIR)")
        if where.exists() and not where.is_dir():
            raise UsageError(f"cannot copy into {where}: it is a file, not a folder")
