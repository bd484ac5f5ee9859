"""Building blocks of the OpenAPI document: schema references, bodies, parameters, responses."""

from typing import Any, Final

from ..core.bodies import Problem

REF: Final = "#/components/schemas/{name}"


def ref(cls: type) -> dict[str, str]:
    return {"$ref": REF.format(name=cls.__name__)}


def problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": ref(Problem)}}}


def json_content(cls: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(cls)}}}


def query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def path_id(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {what} id (a UUID).",
        "schema": {"type": "string", "format": "uuid"},
    }


def body(cls: type, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": ref(cls)}}}


SSE_EVENT: Final = {
    "description": "One Server-Sent Event: `id`, `event` (its type) and `data` (a JSON document).",
    "type": "object",
    "properties": {"id": {"type": "string"}, "event": {"type": "string"}, "data": {"type": "string"}},
    "required": ["data"],
}

BAD_BODY: Final = {
    "400": problem("The body is not JSON."),
    "413": problem("The body is too large."),
    "415": problem("The body is not JSON (content-type)."),
}


_METHODS: Final = ("get", "put", "post", "delete", "patch", "options", "head")


def input_problems(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` with the answers to bad input that every operation of a kind has, where missing.

    Added centrally so that no operation forgets one: ``422`` for an operation with a path or
    query parameter (``invalid_id`` for an id that is not a UUID, ``invalid_query``) or a body
    (``validation_failed``), and ``400`` for one with a body (not JSON).
    """
    for item in paths.values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            places = {p.get("in") for p in operation.get("parameters", ())}
            if "requestBody" in operation:
                responses.setdefault("400", problem("The body is not JSON."))
                responses.setdefault("422", problem("Invalid fields; `errors` has a JSON pointer for each."))
            if "path" in places:
                responses.setdefault("422", problem("An id in the path is not a UUID (`invalid_id`)."))
            if "query" in places:
                responses.setdefault("422", problem("A query parameter is invalid (`invalid_query`)."))
    return paths
