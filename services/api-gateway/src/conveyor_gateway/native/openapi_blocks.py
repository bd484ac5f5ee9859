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


BAD_BODY: Final = {
    "400": problem("The body is not JSON."),
    "413": problem("The body is too large."),
    "415": problem("The body is not JSON (content-type)."),
}
