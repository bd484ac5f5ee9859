"""OpenAPI paths of bulk submission (``POST /v1/jobs/bulk``) and explain (``GET /v1/jobs/{id}/explain``)."""

from typing import Any, Final

from ...core.bodies import BulkResult, JobBatch, JobExplanation
from ..openapi_blocks import BAD_BODY, body, json_content, path_id, problem

BULK_EXPLAIN_SCHEMAS: Final = (JobBatch, BulkResult, JobExplanation)
_PREFER: Final = {
    "name": "Prefer",
    "in": "header",
    "required": False,
    "description": "`respond-async`: answer 202 once stored (RFC 7240).",
    "schema": {"type": "string", "enum": ["respond-async"]},
}


def bulk_explain_paths() -> dict[str, Any]:
    return {
        "/v1/jobs/bulk": {
            "post": {
                "operationId": "submitJobs",
                "summary": "Submit up to 1000 jobs at once",
                "description": (
                    "Validates every job first: if any is invalid nothing is stored, and the 422 lists every "
                    "error with a pointer such as `/jobs/3/priority`. Then appends one `JobSubmitted` per job in "
                    "one pipeline and answers once the scheduler has seen them all. A job whose `dedupe_key` was "
                    "used before is reported as `existing` with the first job's id. The body may be up to "
                    "`CONVEYOR_BULK_MAX_BODY_BYTES` (16 MiB by default). Use dedupe keys to make a retried "
                    "bulk call safe."
                ),
                "parameters": [_PREFER],
                "requestBody": body(JobBatch),
                "responses": {
                    "201": json_content(BulkResult, "Stored and visible: each job's id and status, in order."),
                    "202": json_content(BulkResult, "Stored (asked for, or not yet visible); same body."),
                    **BAD_BODY,
                    "422": problem("Invalid jobs or envelope; nothing was stored; `errors` has a pointer for each."),
                },
            }
        },
        "/v1/jobs/{job_id}/explain": {
            "get": {
                "operationId": "explainJob",
                "summary": "Why a job is not running",
                "description": (
                    "A summary in words and every reason that applies, most important first, each with a stable "
                    "`code` (`finished`, `running`, `assigned`, `submitted`, `held`, `blocked`, `paused`, "
                    "`cancel_requested`, `retry_backoff`, `waiting_on_dependencies`, `no_matching_worker`, "
                    "`workers_busy`, `behind_higher_priority`, `ready`), a sentence and its figures in `data`. "
                    "Read-only, from the scheduler's projections and the workers' heartbeats."
                ),
                "parameters": [path_id("job_id", "job")],
                "responses": {
                    "200": json_content(JobExplanation, "The explanation."),
                    "404": problem("No such job."),
                    "422": problem("The id is not a UUID."),
                },
            }
        },
    }
