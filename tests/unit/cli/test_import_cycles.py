"""The CLI's modules import one another without a cycle (``dev`` once imported ``stack``, which
imported ``dev``), counting the imports inside functions too: a late import hides a cycle from
the interpreter, not from a reader."""

import ast
from pathlib import Path

import conveyor_cli

PACKAGE = Path(conveyor_cli.__file__).parent


def _imports(path: Path) -> set[str]:
    """The sibling modules a module imports (``from . import x``, ``from .x import y``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, as the modules along it, or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph.get(module, ())):
            if (cycle := visit(imported, [*path, module])) is not None:
                return cycle
        done.add(module)
        return None

    return next((c for m in sorted(graph) if (c := visit(m, [])) is not None), None)


def test_the_cli_modules_import_each_other_without_a_cycle() -> None:
    graph = {path.stem: _imports(path) for path in PACKAGE.glob("*.py")}
    assert {"dev", "stack", "main"} <= graph.keys()
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def test_a_cycle_is_found() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
