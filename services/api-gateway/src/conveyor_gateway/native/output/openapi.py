"""OpenAPI paths of job output: logs, live tail, progress, worker log lines and artifacts."""

from typing import Any, Final

from ..openapi_blocks import BAD_BODY, body, json_content, path_id, problem, query
from .artifacts import ArtifactPage, ArtifactSaved
from .log_reads import TailEnd, TailEvent, WorkerLogPage
from .log_routes import ProgressReport, WorkerLogPost

OUTPUT_SCHEMAS: Final = [ProgressReport, WorkerLogPost, WorkerLogPage, TailEvent, TailEnd, ArtifactSaved, ArtifactPage]

_JOB: Final = path_id("job_id", "job")
_LEASE: Final = path_id("lease_id", "lease")
_WORKER: Final = path_id("worker_id", "worker")
_AUTH: Final[list[dict[str, list[str]]]] = [{"workerBasic": []}]
_TASK: Final = query("task", "A task's log instead of the job's own (manifest task name).", {"type": "string"})
_ATTEMPT: Final = query(
    "attempt", "Which attempt's log (default: the latest).", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
)
_PATH: Final = {
    "name": "path",
    "in": "path",
    "required": True,
    "description": "Relative '/'-separated path: no '..', '.', empty segments, backslashes or NUL; <= 1024 bytes.",
    "schema": {"type": "string"},
}
_FENCED: Final = {
    "401": problem("Worker credentials missing or wrong."),
    "409": problem("`lease_not_current`: the lease expired, was cancelled or reassigned; nothing was stored."),
}
_RANGE: Final = {
    "name": "Range",
    "in": "header",
    "required": False,
    "description": "`bytes=a-`, `bytes=a-b` or `bytes=-n` (one range).",
    "schema": {"type": "string"},
}
_BYTES: Final = {"schema": {"type": "string", "format": "binary"}}


def _log_paths() -> dict[str, Any]:
    return {
        "/v1/leases/{lease_id}/log": {
            "post": {
                "operationId": "appendLog",
                "summary": "Append output to the job's (or a task's) log",
                "description": (
                    "The body is raw bytes (up to 1 MiB) starting at byte `offset` of this attempt's log. A "
                    "retried chunk (same lease, task and offset) is stored once; an overlapping one stores only "
                    "its new bytes. Send all output before `finish`."
                ),
                "security": _AUTH,
                "parameters": [
                    _LEASE,
                    {"name": "offset", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0}},
                    _TASK,
                ],
                "requestBody": {"required": True, "content": {"application/octet-stream": _BYTES}},
                "responses": {
                    "204": {
                        "description": "Stored (or already had); `Conveyor-Log-Offset` is where the next chunk starts."
                    },
                    **_FENCED,
                    "409": problem("`lease_not_current`, or `log_gap` with `expected_offset`: send from there."),
                    "413": problem("Over 1 MiB."),
                    "422": problem("Bad query parameters."),
                },
            }
        },
        "/v1/leases/{lease_id}/progress": {
            "post": {
                "operationId": "reportProgress",
                "summary": "Report the job's progress directly",
                "security": _AUTH,
                "parameters": [_LEASE],
                "requestBody": body(ProgressReport),
                "responses": {
                    "204": {"description": "Recorded."},
                    **BAD_BODY,
                    **_FENCED,
                    "422": problem("Bad fields."),
                },
            }
        },
        "/v1/jobs/{job_id}/log": {
            "get": {
                "operationId": "getJobLog",
                "summary": "Read a job's log (text; Range for a part; SSE with Accept: text/event-stream)",
                "parameters": [_JOB, _TASK, _ATTEMPT, _RANGE],
                "responses": {
                    "200": {"description": "The whole log.", "content": {"text/plain": _BYTES}},
                    "206": {"description": "The range, with `Content-Range`.", "content": {"text/plain": _BYTES}},
                    "404": problem("No such job."),
                    "416": problem("The range starts at or past the end (`Content-Range: bytes */size`)."),
                    "422": problem("Bad query parameters."),
                },
            }
        },
        "/v1/jobs/{job_id}/log/stream": {
            "get": {
                "operationId": "followJobLog",
                "summary": "Follow a job's log live (Server-Sent Events) until the job ends",
                "description": (
                    "Each message's `data` is a `TailEvent` (text from byte `offset`) and its `id` the byte offset "
                    "after it: reconnect with `Last-Event-ID` (or `?offset=`) to resume without gaps or repeats. "
                    "The last message is `event: end` with a `TailEnd`."
                ),
                "parameters": [
                    _JOB,
                    _TASK,
                    _ATTEMPT,
                    query("offset", "Start at this byte offset.", {"type": "integer", "minimum": 0}),
                ],
                "responses": {
                    "200": {"description": "An event stream.", "content": {"text/event-stream": {}}},
                    "404": problem("No such job."),
                },
            }
        },
    }


def _worker_log_paths() -> dict[str, Any]:
    return {
        "/v1/workers/{worker_id}/log/{level}": {
            "post": {
                "operationId": "postWorkerLog",
                "summary": "Log a leveled line about the worker (trace, info, warn, error)",
                "security": _AUTH,
                "parameters": [
                    _WORKER,
                    {
                        "name": "level",
                        "in": "path",
                        "required": True,
                        "schema": {"enum": ["trace", "info", "warn", "error"]},
                    },
                ],
                "requestBody": body(WorkerLogPost),
                "responses": {
                    "204": {"description": "Kept."},
                    **BAD_BODY,
                    "401": problem("Credentials missing or wrong."),
                    "403": problem("Credentials of another worker."),
                    "404": problem("Unknown level."),
                    "422": problem("Bad fields."),
                },
            }
        },
        "/v1/workers/{worker_id}/log": {
            "get": {
                "operationId": "getWorkerLog",
                "summary": "A worker's log lines at a level or above, oldest first",
                "parameters": [
                    _WORKER,
                    query("level", "Minimum level (default trace).", {"enum": ["trace", "info", "warn", "error"]}),
                    query("since", "From this time (RFC 3339).", {"type": "string", "format": "date-time"}),
                    query("until", "Before this time (RFC 3339).", {"type": "string", "format": "date-time"}),
                    query(
                        "limit", "At most this many (default 100).", {"type": "integer", "minimum": 1, "maximum": 1000}
                    ),
                ],
                "responses": {"200": json_content(WorkerLogPage, "The lines."), "422": problem("Bad query.")},
            }
        },
    }


def _artifact_paths() -> dict[str, Any]:
    return {
        "/v1/leases/{lease_id}/artifacts/{path}": {
            "put": {
                "operationId": "putArtifact",
                "summary": "Upload an artifact of the job (raw bytes, streamed)",
                "security": _AUTH,
                "parameters": [_LEASE, _PATH],
                "requestBody": {"required": True, "content": {"application/octet-stream": _BYTES}},
                "responses": {
                    "201": json_content(ArtifactSaved, "Stored; `Location` is the download URL."),
                    **_FENCED,
                    "413": problem("Over the artifact limit (`CONVEYOR_ARTIFACT_MAX_BYTES`)."),
                    "422": problem("`invalid_artifact_path`."),
                },
            }
        },
        "/v1/jobs/{job_id}/artifacts": {
            "get": {
                "operationId": "listArtifacts",
                "summary": "List a job's artifacts",
                "parameters": [_JOB],
                "responses": {"200": json_content(ArtifactPage, "By path."), "404": problem("No such job.")},
            }
        },
        "/v1/jobs/{job_id}/artifacts/{path}": {
            "get": {
                "operationId": "getArtifact",
                "summary": "Download an artifact (ETag = its SHA-256; Range; If-None-Match)",
                "parameters": [_JOB, _PATH, _RANGE],
                "responses": {
                    "200": {"description": "The bytes.", "content": {"application/octet-stream": _BYTES}},
                    "206": {"description": "The range.", "content": {"application/octet-stream": _BYTES}},
                    "304": {"description": "Not modified (`If-None-Match`)."},
                    "404": problem("No such job or artifact."),
                    "416": problem("The range starts at or past the end."),
                    "422": problem("`invalid_artifact_path`."),
                },
            }
        },
    }


def output_paths() -> dict[str, Any]:
    return {**_log_paths(), **_worker_log_paths(), **_artifact_paths()}
