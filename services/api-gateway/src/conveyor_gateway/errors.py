"""Gateway errors: domain kinds (not HTTP codes) with stable codes; problems.py maps them."""

import math
from typing import Final

import msgspec

BASIC_REALM: Final = "conveyor-workers"


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid part of a request: a JSON pointer into the body (or the parameter name)."""

    pointer: str
    detail: str


class GatewayError(Exception):
    """Root of the gateway's errors. ``code`` is stable and names the problem type; ``headers``
    go out with the problem (a challenge, a retry hint)."""

    code = "gateway_error"
    title = "Request failed"
    headers: tuple[tuple[str, str], ...] = ()

    def __init__(self, detail: str = "", *, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors


class NotFoundError(GatewayError):
    code = "not_found"
    title = "Not found"


class ConflictError(GatewayError):
    code = "conflict"
    title = "Conflict"


class UnauthenticatedError(GatewayError):
    """The caller did not prove who it is (HTTP 401, with a challenge)."""

    code = "unauthorized"
    title = "Credentials are missing or wrong"
    headers = (("WWW-Authenticate", f'Basic realm="{BASIC_REALM}"'),)


class ForbiddenError(GatewayError):
    """The caller is known but may not do this (HTTP 403)."""

    code = "forbidden"
    title = "Not allowed for these credentials"


class UnavailableError(GatewayError):
    """A dependency did not answer; retrying soon may work (HTTP 503)."""

    code = "unavailable"
    title = "Temporarily unavailable"
    headers = (("Retry-After", "1"),)


class RejectedError(GatewayError):
    """The request is well-formed JSON but breaks a rule (HTTP 422)."""

    code = "invalid_request"
    title = "The request is invalid"


class MalformedError(GatewayError):
    """The request cannot be parsed at all (HTTP 400)."""

    code = "malformed_request"
    title = "The request body is not valid JSON"


class TooLargeError(GatewayError):
    code = "body_too_large"
    title = "The request body is too large"


class UnsupportedMediaError(GatewayError):
    code = "unsupported_media_type"
    title = "The request body must be JSON"


class JobNotFoundError(NotFoundError):
    code = "job_not_found"
    title = "No such job"


class InvalidIdError(RejectedError):
    code = "invalid_id"
    title = "Not a valid id"


class ValidationFailedError(RejectedError):
    code = "validation_failed"
    title = "The request body is invalid"


class InvalidQueryError(RejectedError):
    code = "invalid_query"
    title = "A query parameter is invalid"


class WorkerNotFoundError(NotFoundError):
    code = "worker_not_found"
    title = "No such worker"


class WorkerPausedError(ConflictError):
    code = "worker_paused"
    title = "The worker is paused"


class LeaseNotCurrentError(ConflictError):
    code = "lease_not_current"
    title = "The lease is no longer the job's"


class JobFinishedError(ConflictError):
    code = "job_finished"
    title = "The job has already finished"


class JobNotHeldError(ConflictError):
    code = "job_not_held"
    title = "The job is not held"


class JobNotFinishedError(ConflictError):
    code = "job_not_finished"
    title = "The job has not finished"


class SchedulerUnavailableError(UnavailableError):
    code = "scheduler_unavailable"
    title = "The scheduler did not answer"


class UnknownTaskError(RejectedError):
    code = "unknown_task"


class VerificationRequiredError(RejectedError):
    code = "verification_required"


class ParentFinishedError(ConflictError):
    code = "parent_finished"


class LogGapError(ConflictError):
    """A log chunk starts past the end of what is stored: bytes before it are missing."""

    code = "log_gap"
    title = "The chunk leaves a gap in the log"

    def __init__(self, detail: str, *, expected_offset: int) -> None:
        super().__init__(detail)
        self.expected_offset = expected_offset


class RangeNotSatisfiableError(GatewayError):
    """``Range`` asks for bytes past the end (HTTP 416, with ``Content-Range: bytes */size``)."""

    code = "range_not_satisfiable"
    title = "The requested range is not satisfiable"

    def __init__(self, detail: str, *, size: int) -> None:
        super().__init__(detail)
        self.size = size


class ArtifactNotFoundError(NotFoundError):
    code = "artifact_not_found"
    title = "No such artifact"


class InvalidArtifactPathError(RejectedError):
    code = "invalid_artifact_path"
    title = "The artifact path is not allowed"


class RouteNotFoundError(NotFoundError):
    code = "route_not_found"
    title = "No such endpoint"


TOKEN_REALM: Final = "conveyor"


class TokenRequiredError(UnauthenticatedError):
    """No valid API token (HTTP 401 with a Bearer challenge, RFC 6750)."""

    code = "unauthorized"
    title = "Credentials are missing or wrong"
    headers = (("WWW-Authenticate", f'Bearer realm="{TOKEN_REALM}"'),)


class InsufficientScopeError(ForbiddenError):
    """A valid token without the scope the endpoint needs (HTTP 403)."""

    code = "insufficient_scope"
    title = "The token lacks the scope this needs"

    headers = (("WWW-Authenticate", f'Bearer realm="{TOKEN_REALM}", error="insufficient_scope"'),)

    def __init__(self, scope: str) -> None:
        super().__init__(f"this needs a token with the {scope!r} scope")


class TokenNotFoundError(NotFoundError):
    code = "token_not_found"
    title = "No such token"


class UserNotFoundError(NotFoundError):
    code = "user_not_found"
    title = "No such user"


class UserExistsError(ConflictError):
    code = "user_exists"
    title = "A user with this name exists"


class ProjectNotFoundError(NotFoundError):
    code = "project_not_found"
    title = "No such project"


class ProjectExistsError(ConflictError):
    code = "project_exists"
    title = "A project has this name"


class ProjectChangedError(ConflictError):
    code = "project_changed"
    title = "The project changed meanwhile"


class MissingRoleError(ForbiddenError):
    """The caller sees the project but lacks the role this needs (HTTP 403)."""

    code = "missing_role"
    title = "This needs a role on the project that you do not hold"


class RateLimitedError(GatewayError):
    """Over a project's rate limit (HTTP 429 with ``Retry-After``)."""

    code = "rate_limited"
    title = "Over the project's rate limit"

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s
        self.headers = (("Retry-After", str(max(1, math.ceil(retry_after_s)))),)


class HookNotFoundError(NotFoundError):
    code = "hook_not_found"
    title = "No such hook"


class HookChangedError(ConflictError):
    code = "hook_changed"
    title = "The hook changed meanwhile"


class DeliveryNotFoundError(NotFoundError):
    code = "delivery_not_found"
    title = "No such delivery"
