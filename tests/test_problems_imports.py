"""The problems package imports in one direction: no circle, nothing from the layers above it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cnnlab" / "problems"
UPWARD = ("cnnlab.serve", "cnnlab.cli", "cnnlab.train", "cnnlab.explain")


def _imports(path: Path) -> set[str]:
    """Modules imported at run time anywhere in the file (inside functions too), not the
    ``if TYPE_CHECKING:`` imports that annotations use."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and getattr(node.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _graph() -> dict[str, set[str]]:
    mods = {f"cnnlab.problems.{p.stem}": p for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    return {m: {d for d in _imports(p) if d in mods and d != m} for m, p in mods.items()}


def test_no_import_circle_in_problems():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph[m]:
            assert state.get(d) != 1, "import circle: " + " -> ".join(path + [m, d])
            if d not in state:
                visit(d, path + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_problems_import_nothing_from_the_layers_above():
    for path in PACKAGE.glob("*.py"):
        upward = sorted(d for d in _imports(path) if d.startswith(UPWARD))
        assert not upward, f"{path.name} imports {upward}"
