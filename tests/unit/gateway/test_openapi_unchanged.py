"""The gateway's reorganisation keeps the API: same paths and operations as before the move.

``fixtures/openapi-before.json`` is the document ``main`` generated before the gateway was sorted
into ``core/``, ``http/`` and ``native/<area>/`` (issue 14). Paths and methods must match exactly;
each operation may gain response codes (other work adds some) but must keep every one it had, and
every schema it named still exists.
"""

import json
from pathlib import Path
from typing import Any

from conveyor_gateway.native.openapi import build_openapi

BEFORE = Path(__file__).parent / "fixtures" / "openapi-before.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_same_paths_and_operations_as_before() -> None:
    before = _operations(json.loads(BEFORE.read_text()))
    now = _operations(build_openapi("fixture"))
    assert sorted(now) == sorted(before)


def test_every_operation_keeps_its_responses() -> None:
    before = _operations(json.loads(BEFORE.read_text()))
    now = _operations(build_openapi("fixture"))
    lost = {
        op: sorted(set(old.get("responses", {})) - set(now[op].get("responses", {})))
        for op, old in before.items()
        if op in now and set(old.get("responses", {})) - set(now[op].get("responses", {}))
    }
    assert lost == {}


def test_every_schema_is_still_there() -> None:
    before = json.loads(BEFORE.read_text())["components"]["schemas"]
    now = build_openapi("fixture")["components"]["schemas"]
    assert set(before) - set(now) == set()
