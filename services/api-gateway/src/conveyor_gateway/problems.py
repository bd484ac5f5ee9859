"""Errors as RFC 9457 ``application/problem+json``: the one table from error kind to status."""

from typing import Final

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from conveyor_runtime import get_logger

from .bodies import Problem
from .errors import (
    ConflictError,
    ForbiddenError,
    GatewayError,
    LogGapError,
    MalformedError,
    NotFoundError,
    RangeNotSatisfiableError,
    RateLimitedError,
    RejectedError,
    TooLargeError,
    UnauthenticatedError,
    UnavailableError,
    UnsupportedMediaError,
)

PROBLEM_BASE: Final = "/problems"
MEDIA_TYPE: Final = "application/problem+json"

_STATUS_BY_KIND: Final[tuple[tuple[type[GatewayError], int], ...]] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (RejectedError, 422),
    (MalformedError, 400),
    (TooLargeError, 413),
    (UnsupportedMediaError, 415),
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (UnavailableError, 503),
    (RangeNotSatisfiableError, 416),
    (RateLimitedError, 429),
)
_encoder: Final = msgspec.json.Encoder()
_log = get_logger("gateway")


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    return Response(_encoder.encode(problem), status_code=problem.status, media_type=MEDIA_TYPE, headers=headers)


async def gateway_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    status = next((s for kind, s in _STATUS_BY_KIND if isinstance(exc, kind)), 400)
    problem = Problem(
        type=f"{PROBLEM_BASE}/{exc.code}",
        title=exc.title,
        status=status,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        expected_offset=exc.expected_offset if isinstance(exc, LogGapError) else None,
    )
    headers = dict(exc.headers)
    if isinstance(exc, RangeNotSatisfiableError):
        headers["Content-Range"] = f"bytes */{exc.size}"
    return problem_response(problem, headers or None)


async def http_problem(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, wrong method) in the same shape."""
    assert isinstance(exc, HTTPException)
    code = {404: "route_not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    problem = Problem(
        type=f"{PROBLEM_BASE}/{code}",
        title=str(exc.detail),
        status=exc.status_code,
        instance=request.url.path,
    )
    return problem_response(problem, dict(exc.headers or {}))


async def unexpected_problem(request: Request, exc: Exception) -> Response:
    """Anything unmapped: logged with the request id, never echoed to the client."""
    _log.exception("unhandled_error", path=request.url.path)
    problem = Problem(
        type=f"{PROBLEM_BASE}/internal_error",
        title="Internal error",
        status=500,
        detail="The server failed; the error is logged. Retry later or report it with the request id.",
        instance=request.url.path,
    )
    return problem_response(problem)


PROBLEM_DOCS: Final[dict[str, str]] = {
    "dependency_cycle": "A job cannot depend on itself, directly or through other jobs.",
    "job_started": "Dependencies can only change while the job is pending, blocked or queued.",
    "job_not_held": "Only a job submitted with execute=false (state pending) can be started.",
    "job_not_finished": "Restart re-runs a finished job; for a job still in flight use reset.",
    "job_not_found": "No job has this id (or it is not visible to you). Check the id from the submit response.",
    "job_finished": "The job already ended (succeeded, failed, timed_out or cancelled); there is nothing to cancel.",
    "worker_not_found": "No worker has this id, or it was deleted. Check the id from the registration response.",
    "worker_paused": "The worker is paused and gets no jobs; resume it with POST /v1/workers/{id}/resume.",
    "lease_not_current": (
        "This lease is no longer the job's: it expired, was cancelled or reassigned; stop the run and lease again."
    ),
    "unauthorized": (
        "Send the worker's credentials as HTTP Basic: user = worker id, password = the secret from registration."
    ),
    "forbidden": "These credentials are valid but belong to another worker than the one in the path.",
    "dependency_unavailable": (
        "NATS or PostgreSQL (named in `dependency`) is restarting or unreachable; retry after `Retry-After` seconds."
    ),
    "scheduler_unavailable": "The scheduler did not answer in time (restarting or failing over). Retry after a second.",
    "invalid_id": "An id in the path is not a UUID. Ids look like 0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6a.",
    "validation_failed": "The body has invalid fields; `errors` lists each with a JSON pointer. See /openapi.json.",
    "malformed_request": "The body is not valid JSON. Send a JSON object with content-type application/json.",
    "body_too_large": (
        "The body exceeds the gateway's limit (CONVEYOR_MAX_BODY_BYTES, 1 MiB by default; for POST /v1/jobs/bulk "
        "CONVEYOR_BULK_MAX_BODY_BYTES, 16 MiB)."
    ),
    "unsupported_media_type": "Send the body with `content-type: application/json`.",
    "invalid_query": "A query parameter is unknown or has a bad value; `errors` names it.",
    "route_not_found": "No endpoint at this path. The API lives under /v1; see /docs.",
    "method_not_allowed": "This path does not accept this method; see /docs.",
    "rate_limited": "The project's submission rate limit is spent; retry after `Retry-After` seconds.",
    "insufficient_scope": "The API token is valid but lacks the scope this endpoint needs (see the README).",
    "missing_role": "You see the project but lack the role this needs (read, edit, manage_access, secret, ...).",
    "project_not_found": "No project has this name, or it is hidden from you.",
    "project_exists": "A project with this name exists already; names are unique.",
    "project_changed": "The project changed since you read it; read it again and retry.",
    "token_not_found": "No such token, or it is not yours.",
    "user_not_found": "No user has this id.",
    "user_exists": "A user with this name exists already.",
    "invalid_signature": "The push hook's X-Hub-Signature-256 / X-Gogs-Signature is missing or does not match.",
    "hook_not_found": "No hook has this id, or it is neither yours nor of a project where you hold edit.",
    "hook_changed": "The hook changed since you read it (an edit, or the dispatcher disabled it); read it and retry.",
    "delivery_not_found": "This hook has no delivery with this id (see GET /v1/hooks/{id}/deliveries).",
    "internal_error": "The server failed. The error is logged with the request id.",
    "unknown_task": "The job has no task of this name: only a manifest job has tasks, named as in its manifest.",
    "verification_required": (
        "The job needs a verification quorum: report the run's result hash in `verification` when it succeeded."
    ),
    "parent_finished": "A child can only be added to a parent that has not ended; submit it without `parent`.",
    "log_gap": (
        "The chunk's offset is past the end of the log as stored: send the bytes from `expected_offset` "
        "(in the problem body) first."
    ),
    "range_not_satisfiable": "The Range starts at or past the end; Content-Range: bytes */<size> gives the size.",
    "artifact_not_found": "The job has no artifact at this path (never uploaded, expired or deleted with the job).",
    "invalid_artifact_path": (
        "Artifact paths are relative, '/'-separated, without '..', '.', empty segments, backslashes or NUL, "
        "at most 1024 bytes."
    ),
}
