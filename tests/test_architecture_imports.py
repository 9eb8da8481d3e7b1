"""Imports run one way (docs/architecture.md): no layer imports a face, no module circles.

Every module of the package is parsed (``ast``, so imports inside functions count too)
and its imports of cnnlab modules become edges of a graph. Two rules, strict for every
module except the few listed below, which other pieces of work are removing right now
(each entry names what it waits for; delete it when that lands):

1. no module outside ``cnnlab/cli/`` imports ``cnnlab.cli`` and none outside
   ``cnnlab/cli/`` and ``cnnlab/serve/`` imports ``cnnlab.serve`` (the faces are on top;
   ``cnnlab/__main__.py`` is the ``python -m cnnlab`` face itself);
2. no two modules import each other, directly or around a loop (a strongly connected
   component of more than one module). Imports under ``if TYPE_CHECKING:`` never run and
   are not counted (annotations only).

The reference the graph is checked against: an independent reading of the same files
by Python's import system (every module imported in a fresh interpreter succeeds, so
the parsed names are real modules).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cnnlab"

FACES = ("cnnlab.cli", "cnnlab.serve")
ENTRY_POINTS = {"cnnlab.__main__"}  # `python -m cnnlab`: a face of its own

# Nothing runs up and nothing imports in a circle any more (issue 20): both sets stay empty
# unless a change says here, with its reason, what it is waiting for.
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_CIRCLES: set[frozenset[str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The cnnlab modules ``name`` imports anywhere in its file (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    type_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block)
                 for stmt in block.body for n in ast.walk(stmt)}  # never run: annotations only
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "cnnlab"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] != "cnnlab":
                continue
            for alias in node.names:  # `from cnnlab.x import y`: y may be a module itself
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
    return {m for m in found if m in known and m != name}


def _is_type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): its imports never run."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def circles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.add(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def face_of(name: str) -> str | None:
    return next((f for f in FACES if name == f or name.startswith(f + ".")), None)


def upward(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(importer, imported) where a module imports a face it is not part of (the CLI may start
    the server: ``cnnlab serve``)."""
    bad = set()
    for name, targets in edges.items():
        if name in ENTRY_POINTS:
            continue
        own = face_of(name)
        for target in targets:
            face = face_of(target)
            if face is None or face == own:
                continue
            if own == "cnnlab.cli" and face == "cnnlab.serve":
                continue  # `cnnlab serve` starts the server: the CLI sits on top of it
            bad.add((name, target))
    return bad


def test_no_module_below_the_faces_imports_them():
    found = upward(graph())
    assert found - KNOWN_UPWARD == set(), sorted(found - KNOWN_UPWARD)


def test_no_import_circles():
    found = set(circles(graph()))
    assert found - KNOWN_CIRCLES == set(), [sorted(c) for c in found - KNOWN_CIRCLES]


def test_the_checker_finds_what_it_is_meant_to_find():
    """Hand-made graphs: a loop of three, a self-contained chain, an upward import."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(edges) == [frozenset({"a", "b", "c"})]
    assert circles({"a": {"b"}, "b": set()}) == []
    assert upward({"cnnlab.train.loop": {"cnnlab.cli.main"}, "cnnlab.cli.main": {"cnnlab.serve.app"},
                   "cnnlab.serve.app": {"cnnlab.cli.extras"}}) == {
        ("cnnlab.train.loop", "cnnlab.cli.main"), ("cnnlab.serve.app", "cnnlab.cli.extras")}


def test_function_level_imports_are_seen(tmp_path):
    path = tmp_path / "cnnlab" / "x" / "y.py"
    path.parent.mkdir(parents=True)
    path.write_text("def f():\n    from cnnlab.cli import main\n    from . import z\n")
    known = {"cnnlab.cli", "cnnlab.cli.main", "cnnlab.x", "cnnlab.x.z"}
    assert imports_of("cnnlab.x.y", path, known) == {"cnnlab.cli.main", "cnnlab.x.z"}


@pytest.mark.slow
def test_every_parsed_module_imports():
    """The names the graph is built from are modules Python can import."""
    names = sorted(n for n in modules() if not n.endswith("__main__"))
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    done = subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
