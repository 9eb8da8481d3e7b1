"""The example files that ship with cnnlab, found by name (``sheet1``) wherever a file is taken.

The repository's ``examples/`` folder is installed inside the package as ``cnnlab/examples``
(setup.py), so ``cnnlab.solve("sheet1")`` and ``cnnlab solve sheet1`` work after a plain
``pip install`` (docs/cli.md, "examples").
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["shipped_folder", "examples_root", "list_examples", "resolve_example", "find_example"]


_PACKAGE = Path(__file__).resolve().parent.parent  # cnnlab/ (this file is cnnlab/api/examples.py)


def shipped_folder(name: str, package: Path = _PACKAGE) -> Path | None:
    """A folder of files cnnlab ships (``examples``, ``docs``): ``cnnlab/NAME`` inside the
    package when installed from a wheel or an sdist, else ``NAME/`` beside the package in the
    source checkout it is imported from (the folder holding ``pyproject.toml``), else None —
    never a ``NAME/`` folder of someone else's ``site-packages``.

    >>> shipped_folder("examples").name
    'examples'
    >>> shipped_folder("no-such-folder") is None
    True
    """
    installed = package / name
    if installed.is_dir():
        return installed
    checkout = package.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / name).is_dir():
        return checkout / name
    return None


def examples_root() -> Path | None:
    """The folder holding the examples: ``cnnlab/examples`` when installed from a wheel, else
    the ``examples/`` folder of the source checkout the package is imported from."""
    return shipped_folder("examples")


def list_examples() -> dict[str, Path]:
    """Example name -> file, for every file under the examples folder (``problems/sheet1``).

    A file is also reachable by its bare stem (``sheet1``) when no other example shares it.
    """
    root = examples_root()
    if root is None:
        return {}
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in files}


def resolve_example(text: str) -> str:
    """``text`` itself when it names an existing path, else the example it names, else ``text``.

    >>> Path(resolve_example("sheet1")).name
    'sheet1.yaml'
    >>> resolve_example("no/such/file.yaml")
    'no/such/file.yaml'
    """
    if Path(text).exists():
        return text
    found = find_example(text)
    return str(found) if found is not None else text


def find_example(name: str) -> Path | None:
    examples = list_examples()
    key = name.strip().removeprefix("examples/")
    key = key[: -len(Path(key).suffix)] if Path(key).suffix else key
    if key in examples:
        return examples[key]
    by_stem = [p for k, p in examples.items() if k.rsplit("/", 1)[-1] == key]
    return by_stem[0] if len(by_stem) == 1 else None


