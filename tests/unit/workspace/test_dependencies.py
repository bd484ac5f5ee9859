"""Each workspace member declares every distribution its code imports.

CONVENTIONS §2 wants each member installable alone so a missing dependency fails in CI, not in
production. The shared virtual environment would hide one, so this test reads every import in
each member's ``src/`` and checks the distribution behind it is in that member's pyproject.
"""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MEMBERS = sorted(
    p.parent for p in ROOT.glob("*/*/pyproject.toml") if p.parent.parent.name in ("libs", "services", "clients")
)
DISTRIBUTIONS = packages_distributions()


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(member: Path) -> set[str]:
    project = tomllib.loads((member / "pyproject.toml").read_text())["project"]
    names = {_normalise(re.split(r"[\s\[<>=!~;]", dep, maxsplit=1)[0]) for dep in project.get("dependencies", [])}
    return names | {_normalise(project["name"])}


def _imported_modules(member: Path) -> set[str]:
    modules: set[str] = set()
    for path in (member / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m != "__future__"}


@pytest.mark.parametrize("member", MEMBERS, ids=[m.name for m in MEMBERS])
def test_member_declares_what_it_imports(member: Path) -> None:
    declared = _declared(member)
    missing = {}
    for module in _imported_modules(member):
        dists = {_normalise(d) for d in DISTRIBUTIONS.get(module, [module])}
        if not dists & declared:
            missing[module] = sorted(dists)
    assert not missing, f"{member.relative_to(ROOT)} imports undeclared distributions: {missing}"


def test_every_member_is_found() -> None:
    assert {m.name for m in MEMBERS} >= {"events", "runtime", "api-gateway", "scheduler", "cli"}
