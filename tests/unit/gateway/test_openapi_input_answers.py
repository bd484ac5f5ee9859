"""The OpenAPI document lists the answers to bad input, and its links name real operations."""

from typing import Any

from conveyor_gateway.native.openapi import build_openapi

_METHODS = ("get", "put", "post", "delete", "patch")


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    paths = build_openapi("test")["paths"]
    return [(m, p, op) for p, item in paths.items() for m, op in item.items() if m in _METHODS]


def test_every_operation_with_an_id_a_query_or_a_body_documents_422() -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, op in _operations()
        if ({p["in"] for p in op.get("parameters", ())} & {"path", "query"} or "requestBody" in op)
        and "422" not in op["responses"]
    ]
    assert missing == []


def test_every_operation_with_a_body_documents_400() -> None:
    missing = [f"{m.upper()} {p}" for m, p, op in _operations() if "requestBody" in op and "400" not in op["responses"]]
    assert missing == []


def test_links_name_operations_and_their_parameters() -> None:
    by_id = {op["operationId"]: op for _, _, op in _operations()}
    links = [
        (op["operationId"], link)
        for _, _, op in _operations()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert {source for source, _ in links} >= {"submitJob", "registerWorker", "leaseJobs", "createHook"}
    for source, link in links:
        target = by_id[link["operationId"]]
        names = {p["name"] for p in target.get("parameters", ())}
        assert set(link["parameters"]) <= names, (source, link)
