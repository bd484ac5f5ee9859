"""The OpenAPI 3.1 document, generated from the same msgspec types that validate requests."""

from typing import Any, Final

import msgspec

from conveyor_events.states import JOB_STATES

from .bodies import (
    CancelRequest,
    Heartbeat,
    HeartbeatAnswer,
    JobAccepted,
    JobPage,
    JobSubmission,
    JobView,
    LeaseAsk,
    LeaseBatch,
    Problem,
    RunFinish,
    RunReported,
    WorkerAccepted,
    WorkerCreated,
    WorkerPage,
    WorkerRegistration,
    WorkerView,
)
from .openapi_blocks import BAD_BODY, REF, body, input_problems, json_content, path_id, problem, query
from .openapi_bulk_explain import BULK_EXPLAIN_SCHEMAS, bulk_explain_paths
from .openapi_hooks import HOOK_SCHEMAS, event_paths, hook_paths
from .openapi_identity import IDENTITY_SCHEMAS, TOKEN_SECURITY_SCHEME, identity_paths, secure_paths
from .openapi_jobs import JOB_SCHEMAS, job_item_methods, job_paths
from .openapi_links import add_links
from .openapi_output import OUTPUT_SCHEMAS, output_paths
from .openapi_projects import PROJECT_SCHEMAS, job_acl_paths, maintenance_and_hook_paths, project_paths
from .openapi_workers import WORKER_SECURITY_SCHEMES, lease_paths, worker_paths

_JOB_ID_PARAM: Final = path_id("job_id", "job")


def _paths() -> dict[str, Any]:
    return {
        "/v1/jobs": {
            "post": {
                "operationId": "submitJob",
                "summary": "Submit a job",
                "description": (
                    "Validates the body and appends `JobSubmitted`. Answers once the scheduler has seen it "
                    "(read-your-writes). With a `dedupe_key` you already used in the project (keys are per "
                    "owner), answers 200 with the existing job, forever (no time window). Send "
                    "`Prefer: respond-async` to get 202 as soon as the job is stored, without waiting to "
                    "read it back (for bulk producers)."
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
                "requestBody": body(JobSubmission),
                "responses": {
                    "201": json_content(JobView, "Created; `Location` names the job."),
                    "200": json_content(JobView, "The dedupe key was used before: the existing job."),
                    "202": json_content(JobAccepted, "Stored (asked for, or not yet visible); poll `Location`."),
                    "400": problem("The body is not JSON."),
                    "413": problem("The body is too large."),
                    "415": problem("The body is not JSON (content-type)."),
                    "422": problem("Invalid fields; `errors` has a JSON pointer for each."),
                },
            },
            "get": {
                "operationId": "listJobs",
                "summary": "List jobs, newest first",
                "parameters": [
                    query("state", "Only jobs in this state.", {"type": "string", "enum": list(JOB_STATES)}),
                    query("project", "Only jobs of this project.", {"type": "string"}),
                    query("tag", "Only jobs carrying this tag.", {"type": "string"}),
                    query("owner", "Only jobs of this owner.", {"type": "string"}),
                    query("parent", "Only the children of this job.", {"type": "string", "format": "uuid"}),
                    query(
                        "limit",
                        "Page size.",
                        {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    ),
                    query("cursor", "`next_cursor` of the previous page.", {"type": "string"}),
                ],
                "responses": {"200": json_content(JobPage, "One page."), "422": problem("A parameter is invalid.")},
            },
        },
        "/v1/jobs/{job_id}": {
            "get": {
                "operationId": "getJob",
                "summary": "Read a job",
                "parameters": [_JOB_ID_PARAM],
                "responses": {
                    "200": json_content(JobView, "The job."),
                    "404": problem("No such job."),
                    "422": problem("The id is not a UUID."),
                },
            },
            **job_item_methods(),
        },
        "/v1/jobs/{job_id}/cancel": {
            "post": {
                "operationId": "cancelJob",
                "summary": "Cancel a job",
                "description": (
                    "Appends `JobCancelRequested` for the job and every descendant not yet finished, and "
                    "answers with the job once the scheduler has seen it: `cancel_requested` is true, and the "
                    "state is `cancelled` unless a worker is running it (the worker is told to stop at its "
                    "next heartbeat). The body is optional."
                ),
                "parameters": [_JOB_ID_PARAM],
                "requestBody": body(CancelRequest, required=False),
                "responses": {
                    "200": json_content(JobView, "The job after the request."),
                    "202": json_content(JobAccepted, "Stored, not yet visible; poll `Location`."),
                    **BAD_BODY,
                    "404": problem("No such job."),
                    "409": problem("The job already ended (`job_finished`)."),
                    "422": problem("Invalid fields or id."),
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
        [
            JobSubmission,
            JobView,
            JobPage,
            JobAccepted,
            CancelRequest,
            WorkerRegistration,
            WorkerCreated,
            WorkerView,
            WorkerPage,
            WorkerAccepted,
            LeaseAsk,
            LeaseBatch,
            Heartbeat,
            HeartbeatAnswer,
            RunFinish,
            RunReported,
            Problem,
            *BULK_EXPLAIN_SCHEMAS,
            *JOB_SCHEMAS,
            *OUTPUT_SCHEMAS,
            *IDENTITY_SCHEMAS,
            *PROJECT_SCHEMAS,
            *HOOK_SCHEMAS,
        ],
        ref_template=REF,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Conveyor API",
            "version": version,
            "description": "Event-sourced job scheduler. Errors are RFC 9457 problem+json documents.",
        },
        "paths": secure_paths(
            add_links(
                input_problems(
                    {
                        **_paths(),
                        **job_paths(),
                        **bulk_explain_paths(),
                        **worker_paths(),
                        **lease_paths(),
                        **output_paths(),
                        **identity_paths(),
                        **project_paths(),
                        **maintenance_and_hook_paths(),
                        **job_acl_paths(),
                        **hook_paths(),
                        **event_paths(),
                        **_health(),
                    }
                )
            )
        ),
        "components": {
            "schemas": components,
            "securitySchemes": {**WORKER_SECURITY_SCHEMES, **TOKEN_SECURITY_SCHEME},
        },
    }
