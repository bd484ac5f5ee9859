"""Typed errors of the Conveyor API, each with the fix in its message.

`error_from_response` is pure: it maps a status and an RFC 9457 problem document to one exception.
"""

import msgspec


class FieldError(msgspec.Struct, kw_only=True):
    """One invalid part of a request: a JSON pointer and what is wrong there."""

    pointer: str
    detail: str


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem document as the gateway sends it."""

    type: str = "about:blank"
    title: str = ""
    status: int = 0
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    expected_offset: int | None = None  # 409 log_gap: where the log really ends

    @property
    def code(self) -> str:
        """The stable code: the last segment of ``type`` (``/problems/job_not_found`` → ``job_not_found``)."""
        return self.type.rsplit("/", 1)[-1]


class ConveyorError(Exception):
    """Root of every error this client raises."""


class ConnectionFailedError(ConveyorError):
    """The gateway could not be reached (wrong URL, stack not running, network down)."""


class ApiError(ConveyorError):
    """The gateway answered with an error status; ``problem`` holds its problem document."""

    def __init__(self, message: str, *, status: int, problem: Problem) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem

    @property
    def code(self) -> str:
        """The problem's stable code, e.g. ``lease_not_current``."""
        return self.problem.code


class AuthenticationError(ApiError):
    """401: no token, a wrong one, or worker credentials that no longer work."""


class PermissionDeniedError(ApiError):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundError(ApiError):
    """404: no such job, worker or endpoint."""


class ConflictError(ApiError):
    """409: the request does not fit the current state (job finished, lease no longer current, ...)."""


class InvalidRequestError(ApiError):
    """400, 413, 415 or 422: the request itself is wrong; ``problem.errors`` points at each field."""


class UnavailableError(ApiError):
    """5xx: the gateway or the scheduler behind it cannot answer now; retry later."""


_HINTS: dict[str, str] = {
    "job_not_found": "check the job id (`conveyor jobs ls` lists jobs)",
    "worker_not_found": "check the worker id (`conveyor workers ls` lists workers)",
    "project_not_found": "check the project name (`conveyor projects ls` lists those you may see)",
    "token_not_found": "check the token id (`conveyor tokens ls` lists your tokens)",
    "route_not_found": "this endpoint does not exist: is the URL the Conveyor API (e.g. http://127.0.0.1:8080)?",
    "unauthorized": "set a valid token with --token, CONVEYOR_TOKEN or `token` in the config file",
    "forbidden": "the token is valid but lacks the permission for this; ask an admin for a token with it",
    "lease_not_current": "the job's lease expired or was given to another worker: stop this run",
    "scheduler_unavailable": "the scheduler is not answering; retry in a moment",
}


def _decode_problem(status: int, body: bytes) -> Problem:
    try:
        problem = msgspec.json.decode(body, type=Problem)
    except msgspec.DecodeError:
        text = body[:200].decode("utf-8", "replace").strip()
        return Problem(title=f"HTTP {status}", status=status, detail=text or None)
    return problem


def _class_for(status: int) -> type[ApiError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status >= 500:
        return UnavailableError
    return InvalidRequestError


def error_from_response(status: int, body: bytes, *, method: str, url: str) -> ApiError:
    """The typed error for an error response, its message saying what happened and how to fix it."""
    problem = _decode_problem(status, body)
    cls = _class_for(status)
    if status == 404 and not problem.type.startswith("/problems/"):
        problem = msgspec.structs.replace(problem, type="/problems/route_not_found")
    lines = [f"{method} {url}: {status} {problem.title or 'error'}"]
    if problem.detail:
        lines[0] += f": {problem.detail}"
    for field in problem.errors or ():
        lines.append(f"  {field.pointer or '/'}: {field.detail}")
    hint = _HINTS.get(problem.code)
    if hint is None and status == 401:
        hint = _HINTS["unauthorized"]
    if hint is not None:
        lines.append(f"  fix: {hint}")
    return cls("\n".join(lines), status=status, problem=problem)


def connection_error(url: str, exc: Exception) -> ConnectionFailedError:
    """The error for a gateway that did not answer, with the likely fixes."""
    return ConnectionFailedError(
        f"cannot reach the Conveyor API at {url} ({type(exc).__name__}: {exc}).\n"
        "  fix: start the stack (`make run`), or point --url / CONVEYOR_URL / `url` in the config file at the API"
    )
