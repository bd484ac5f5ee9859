"""The OpenAPI 3.1 document, generated from the same msgspec types that validate requests."""

from typing import Any, Final

import msgspec

from .bodies import JOB_STATES, JobAccepted, JobPage, JobSubmission, JobView, Problem

_REF: Final = "#/components/schemas/{name}"


def _ref(cls: type) -> dict[str, str]:
    return {"$ref": _REF.format(name=cls.__name__)}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref(Problem)}}}


def _json(cls: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(cls)}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


_JOB_ID_PARAM: Final = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "description": "The job id (a UUID).",
    "schema": {"type": "string", "format": "uuid"},
}


def _paths() -> dict[str, Any]:
    return {
        "/v1/jobs": {
            "post": {
                "operationId": "submitJob",
                "summary": "Submit a job",
                "description": (
                    "Validates the body and appends `JobSubmitted`. Answers once the scheduler has seen it "
                    "(read-your-writes). With a `dedupe_key` already used in the project, answers 200 with "
                    "the existing job, forever (no time window). Send `Prefer: respond-async` to get 202 "
                    "as soon as the job is stored, without waiting to read it back (for bulk producers)."
                ),
                "parameters": [
                    {
                        "name": "Prefer",
                        "in": "header",
                        "required": False,
                        "description": "`respond-async`: answer 202 once stored (RFC 7240).",
                        "schema": {"type": "string", "enum": ["respond-async"]},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(JobSubmission)}},
                },
                "responses": {
                    "201": _json(JobView, "Created; `Location` names the job."),
                    "200": _json(JobView, "The dedupe key was used before: the existing job."),
                    "202": _json(JobAccepted, "Stored (asked for, or not yet visible); poll `Location`."),
                    "400": _problem("The body is not JSON."),
                    "413": _problem("The body is too large."),
                    "415": _problem("The body is not JSON (content-type)."),
                    "422": _problem("Invalid fields; `errors` has a JSON pointer for each."),
                },
            },
            "get": {
                "operationId": "listJobs",
                "summary": "List jobs, newest first",
                "parameters": [
                    _query("state", "Only jobs in this state.", {"type": "string", "enum": list(JOB_STATES)}),
                    _query("project", "Only jobs of this project.", {"type": "string"}),
                    _query("tag", "Only jobs carrying this tag.", {"type": "string"}),
                    _query("owner", "Only jobs of this owner.", {"type": "string"}),
                    _query(
                        "limit",
                        "Page size.",
                        {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    ),
                    _query("cursor", "`next_cursor` of the previous page.", {"type": "string"}),
                ],
                "responses": {"200": _json(JobPage, "One page."), "422": _problem("A parameter is invalid.")},
            },
        },
        "/v1/jobs/{job_id}": {
            "get": {
                "operationId": "getJob",
                "summary": "Read a job",
                "parameters": [_JOB_ID_PARAM],
                "responses": {
                    "200": _json(JobView, "The job."),
                    "404": _problem("No such job."),
                    "422": _problem("The id is not a UUID."),
                },
            }
        },
    }


def _health() -> dict[str, Any]:
    ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/healthz": {"get": {"operationId": "healthz", "summary": "The process is alive", "responses": {"200": ok}}},
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "NATS and PostgreSQL are reachable",
                "responses": {
                    "200": ok,
                    "503": {"description": "Not ready; `checks` says which dependency fails."},
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "Text exposition format"}},
            }
        },
    }


def build_openapi(version: str) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the native API."""
    _, components = msgspec.json.schema_components(
        [JobSubmission, JobView, JobPage, JobAccepted, Problem], ref_template=_REF
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Conveyor API",
            "version": version,
            "description": "Event-sourced job scheduler. Errors are RFC 9457 problem+json documents.",
        },
        "paths": {**_paths(), **_health()},
        "components": {"schemas": components},
    }
