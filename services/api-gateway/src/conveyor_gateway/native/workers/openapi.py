"""OpenAPI paths of workers and leases (``/v1/workers``, ``/v1/leases``)."""

from typing import Any, Final

from ...core.worker_bodies import (
    Heartbeat,
    HeartbeatAnswer,
    LeaseAsk,
    LeaseBatch,
    ReportBatch,
    ReportOutcomes,
    RunFinish,
    RunReported,
    WorkerAccepted,
    WorkerCreated,
    WorkerPage,
    WorkerRegistration,
    WorkerView,
)
from ..openapi_blocks import BAD_BODY, body, json_content, path_id, problem, query

WORKER_SCHEMAS: Final = (
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
    ReportBatch,
    ReportOutcomes,
)
WORKER_SECURITY_SCHEMES: Final = {
    "workerBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "A worker's credentials: user = worker id, password = its secret.",
    }
}
_WORKER_ID_PARAM: Final = path_id("worker_id", "worker")
_LEASE_ID_PARAM: Final = path_id("lease_id", "lease")
_WORKER_AUTH: Final[list[dict[str, list[str]]]] = [{"workerBasic": []}]
# What every call a worker makes with its credentials can answer besides success.
_WORKER_CALL_ERRORS: Final = {
    **BAD_BODY,
    "401": problem("Credentials missing or wrong, or the worker was deleted (`WWW-Authenticate: Basic`)."),
    "422": problem("Invalid fields or path id."),
    "503": problem("The scheduler did not answer (`Retry-After: 1`)."),
}


_NOT_YOURS = "Someone else's worker: only who registered it (`owner`), or an admin, may change it."


def _mode_change(op_id: str, summary: str, description: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": op_id,
            "summary": summary,
            "description": description + " The body is optional (`{}`).",
            "parameters": [_WORKER_ID_PARAM],
            "responses": {
                "200": json_content(WorkerView, "The worker after the change."),
                "202": json_content(WorkerAccepted, "Stored, not yet applied; poll `Location`."),
                "403": problem(_NOT_YOURS),
                "404": problem("No such worker (or it was deleted)."),
                "422": problem("The id is not a UUID, or the body has fields."),
            },
        }
    }


def worker_paths() -> dict[str, Any]:
    return {
        "/v1/workers": {
            "post": {
                "operationId": "registerWorker",
                "summary": "Register a worker",
                "description": (
                    "Appends `WorkerRegistered` and answers with the worker's id and secret: the worker "
                    "authenticates with HTTP Basic `id:secret`. The secret is shown only in this response. "
                    "Registration is open for now; identities and permissions come in a later issue. "
                    "202 (same body) when the scheduler has not applied it within the write wait."
                ),
                "requestBody": body(WorkerRegistration),
                "responses": {
                    "201": json_content(WorkerCreated, "Registered; `Location` names the worker."),
                    "202": json_content(WorkerCreated, "Registered; the credentials work once applied."),
                    **BAD_BODY,
                    "422": problem("Invalid fields; `errors` has a JSON pointer for each."),
                },
            },
            "get": {
                "operationId": "listWorkers",
                "summary": "List workers, newest first",
                "parameters": [
                    query("include_deleted", "Also list deleted workers.", {"type": "boolean", "default": False}),
                    query("limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
                    query("cursor", "`next_cursor` of the previous page.", {"type": "string"}),
                ],
                "responses": {"200": json_content(WorkerPage, "One page."), "422": problem("A parameter is invalid.")},
            },
        },
        "/v1/workers/{worker_id}": {
            "get": {
                "operationId": "getWorker",
                "summary": "Read a worker (deleted ones too)",
                "description": (
                    "`state` is derived: `offline` when no heartbeat came for 30 s (or ever), else `paused`, "
                    "`draining` (draining and still holding jobs), `busy` (holding jobs) or `idle`."
                ),
                "parameters": [_WORKER_ID_PARAM],
                "responses": {
                    "200": json_content(WorkerView, "The worker."),
                    "404": problem("No such worker."),
                    "422": problem("The id is not a UUID."),
                },
            },
            "delete": {
                "operationId": "deleteWorker",
                "summary": "Delete a worker",
                "description": "Appends `WorkerDeleted`; its credentials stop working within seconds.",
                "parameters": [_WORKER_ID_PARAM],
                "responses": {
                    "204": {"description": "Deleted."},
                    "202": json_content(WorkerAccepted, "Stored, not yet applied."),
                    "403": problem(_NOT_YOURS),
                    "404": problem("No such worker (or already deleted)."),
                    "422": problem("The id is not a UUID."),
                },
            },
        },
        "/v1/workers/{worker_id}/pause": _mode_change(
            "pauseWorker", "Pause a worker", "It gets no jobs, and its running jobs are told to stop."
        ),
        "/v1/workers/{worker_id}/resume": _mode_change("resumeWorker", "Resume a worker", "It takes jobs again."),
        "/v1/workers/{worker_id}/drain": _mode_change(
            "drainWorker", "Drain a worker", "It finishes the jobs it holds and takes no more."
        ),
    }


def _worker_call(op_id: str, summary: str, description: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "operationId": op_id,
            "summary": summary,
            "description": description,
            "security": _WORKER_AUTH,
            **extra,
        }
    }


def lease_paths() -> dict[str, Any]:
    lease_lost = problem("The lease is no longer the job's (`lease_not_current`): stop the run, lease again.")
    return {
        "/v1/workers/{worker_id}/lease": _worker_call(
            "leaseJobs",
            "Lease jobs (worker credentials)",
            "Up to `max` jobs the worker can run, waiting up to `wait_s` seconds for one (long poll). "
            "Send each `lease_id` with start, finish and heartbeats.",
            {
                "parameters": [_WORKER_ID_PARAM],
                "requestBody": body(LeaseAsk, required=False),
                "responses": {
                    "200": json_content(LeaseBatch, "The leases; empty when nothing was ready within `wait_s`."),
                    **_WORKER_CALL_ERRORS,
                    "403": problem("The credentials are another worker's."),
                    "409": problem("The worker is paused (`worker_paused`)."),
                },
            },
        ),
        "/v1/workers/{worker_id}/heartbeat": _worker_call(
            "heartbeat",
            "Heartbeat (worker credentials)",
            "Renews the leases listed, records the worker's load and memory, and says which runs to stop. "
            "Send one every 10 s; a worker silent for 30 s shows as offline.",
            {
                "parameters": [_WORKER_ID_PARAM],
                "requestBody": body(Heartbeat, required=False),
                "responses": {
                    "200": json_content(HeartbeatAnswer, "What to stop, and how long the leases now last."),
                    **_WORKER_CALL_ERRORS,
                    "403": problem("The credentials are another worker's."),
                },
            },
        ),
        "/v1/workers/{worker_id}/reports": _worker_call(
            "reportRuns",
            "Report several runs' starts, task states and finishes at once (worker credentials)",
            "Up to 100 reports in one call, each `start`, `task` or `finish` (the bodies of the single "
            "calls, with `type` and `lease_id`). Each is fenced by its own lease and accepted or refused "
            "on its own: `results` holds one outcome per report, in order, with the job's `state` or an "
            "`error` whose `code` is the one its single call's problem would carry (`lease_not_current`: "
            "stop that run). Reports on the same lease are applied in the order given. A report may "
            "carry its run's W3C `traceparent` (and `tracestate`): its events continue that run's trace "
            "whichever run's the request's own header is.",
            {
                "parameters": [_WORKER_ID_PARAM],
                "requestBody": body(ReportBatch),
                "responses": {
                    "200": json_content(ReportOutcomes, "One outcome per report, in order."),
                    **_WORKER_CALL_ERRORS,
                    "403": problem("The credentials are another worker's."),
                },
            },
        ),
        "/v1/leases/{lease_id}/start": _worker_call(
            "startRun",
            "Report a run started (worker credentials)",
            "The body is optional (`{}`).",
            {
                "parameters": [_LEASE_ID_PARAM],
                "responses": {
                    "200": json_content(RunReported, "The job's state now."),
                    **_WORKER_CALL_ERRORS,
                    "409": lease_lost,
                },
            },
        ),
        "/v1/leases/{lease_id}/finish": _worker_call(
            "finishRun",
            "Report a run ended (worker credentials)",
            "`succeeded`, `failed` (retried while retries remain) or `skipped` (given back unrun).",
            {
                "parameters": [_LEASE_ID_PARAM],
                "requestBody": body(RunFinish),
                "responses": {
                    "200": json_content(RunReported, "The job's state now."),
                    **_WORKER_CALL_ERRORS,
                    "409": lease_lost,
                },
            },
        ),
    }
