"""The gateway's imports point one way (DESIGN §9): surfaces -> ``http/`` -> ``core/`` -> ``errors.py``.

A surface is ``native/``, one ``compat/<system>/`` or ``web/``; it never imports another surface.
``core/`` and ``errors.py`` never import Starlette. ``app.py``, ``__main__.py`` and ``settings.py``
are the composition root and may import anything. The test reads every module's imports with
``ast``, as ``tests/unit/workspace/test_dependencies.py`` does for the workspace.
"""

import ast
from pathlib import Path

import pytest

import conveyor_gateway

PACKAGE = Path(conveyor_gateway.__file__).parent
ROOT_MODULES = frozenset({"app", "__main__", "settings", "__init__"})
RANK = {"errors": 0, "core": 1, "http": 2, "native": 3, "compat": 3, "web": 3}
"""A module may import its own layer or a lower one; the root modules stand above every layer."""


def _module(path: Path) -> tuple[str, ...]:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    """``(line, module parts under the package)`` of each import of the package; ``("starlette",)``
    for Starlette."""
    own = _module(path)
    package = own if path.name == "__init__.py" else own[:-1]
    found: list[tuple[int, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top, *rest = alias.name.split(".")
                if top == "starlette":
                    found.append((node.lineno, ("starlette",)))
                elif top == "conveyor_gateway":
                    found.append((node.lineno, tuple(rest)))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                top, *rest = (node.module or "").split(".")
                if top == "starlette":
                    found.append((node.lineno, ("starlette",)))
                elif top == "conveyor_gateway":
                    found.append((node.lineno, tuple(rest) or tuple(a.name for a in node.names[:1])))
                continue
            base = package[: len(package) - (node.level - 1)]
            target = (*base, *(node.module.split(".") if node.module else ()))
            if not node.module:  # ``from . import a, b``: each name is a module or a package
                found.extend((node.lineno, (*base, a.name)) for a in node.names)
            else:
                found.append((node.lineno, target))
    return found


def _surface(parts: tuple[str, ...]) -> tuple[str, ...]:
    """What counts as one surface: ``native``, ``web``, or ``compat/<system>`` (``compat`` alone is
    the mount point, which may import each system's package)."""
    return parts[:2] if parts[0] == "compat" else parts[:1]


def _violation(importer: tuple[str, ...], imported: tuple[str, ...]) -> str | None:
    layer = importer[0]
    if layer in ROOT_MODULES:
        return None
    if imported == ("starlette",):
        return "imports Starlette" if layer in ("core", "errors") else None
    if not imported or imported[0] in ROOT_MODULES:
        return None if imported and imported[0] == "settings" and layer != "errors" else "imports the composition root"
    target = imported[0]
    if RANK[target] > RANK[layer]:
        return f"imports {'/'.join(imported)} from a higher layer"
    if RANK[target] == RANK[layer] == 3 and _surface(importer) != _surface(imported):
        if importer == ("compat",) and target == "compat":
            return None
        return f"imports another surface, {'/'.join(_surface(imported))}"
    return None


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] in RANK or p.stem == "errors")


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_imports_point_one_way(path: Path) -> None:
    importer = _module(path)
    wrong = [
        f"line {line}: {why}"
        for line, imported in _imports(path)
        if (why := _violation(importer, imported)) is not None
    ]
    assert wrong == [], f"{path.relative_to(PACKAGE)}: {wrong}"


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        (("core", "submit"), ("http", "plumbing"), False),
        (("core", "submit"), ("starlette",), False),
        (("errors",), ("core", "bodies"), False),
        (("http", "access"), ("native", "access"), False),
        (("native", "jobs", "routes"), ("compat", "coalition", "app"), False),
        (("compat", "coalition", "app"), ("compat", "buildsrht", "states"), False),
        (("web", "routes"), ("native", "jobs", "routes"), False),
        (("native", "jobs", "routes"), ("native", "workers", "leases"), True),
        (("compat", "coalition", "app"), ("core", "submit"), True),
        (("compat",), ("compat", "coalition"), True),
        (("http", "access"), ("core", "job_access"), True),
        (("core", "submit"), ("errors",), True),
    ],
)
def test_the_rule_itself(importer: tuple[str, ...], imported: tuple[str, ...], allowed: bool) -> None:
    assert (_violation(importer, imported) is None) is allowed


def test_every_layer_is_there() -> None:
    assert {p.relative_to(PACKAGE).parts[0] for p in MODULES} >= {
        "core",
        "http",
        "native",
        "compat",
        "web",
        "errors.py",
    }


def test_every_module_sits_in_a_layer() -> None:
    """A new module goes where its imports place it, not beside the composition root."""
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.stem not in ROOT_MODULES and p.stem != "errors")
    assert flat == [], f"put these in core/, http/ or a surface (DESIGN §9): {flat}"
