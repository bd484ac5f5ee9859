"""task_tracker's reply envelope ``{"ok", "message", "rate_limit_delay", "content"}`` (empty fields
left out, as Go's ``omitempty`` did) and its error answers.

Every error of the façade, Conveyor's own included, answers in this shape with task_tracker's
status codes: a client that only reads ``ok`` and ``message`` understands all of them.
"""

from typing import Any, Final

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from conveyor_runtime import get_logger

from ...errors import (
    ConflictError,
    ForbiddenError,
    GatewayError,
    MalformedError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    TooLargeError,
    UnauthenticatedError,
    UnavailableError,
)

_log = get_logger("task_tracker")
_encoder: Final = msgspec.json.Encoder()


class TtError(Exception):
    """An answer with ``ok: false``: ``message`` and HTTP ``status`` as task_tracker gave them."""

    def __init__(self, message: str, status: int = 400, *, rate_limit_delay: float = 0.0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.rate_limit_delay = rate_limit_delay


def envelope(ok: bool, *, message: str = "", content: Any = None, rate_limit_delay: float = 0.0) -> dict[str, Any]:
    """The envelope's fields, the empty ones left out."""
    body: dict[str, Any] = {"ok": ok}
    if message:
        body["message"] = message
    if rate_limit_delay:
        body["rate_limit_delay"] = rate_limit_delay
    if content is not None:
        body["content"] = content
    return body


def reply(content: Any = None, *, ok: bool = True, message: str = "", status: int = 200) -> Response:
    """A JSON answer in the envelope."""
    body = envelope(ok, message=message, content=content)
    return Response(_encoder.encode(body), status, media_type="application/json")


def _error(message: str, status: int, delay: float = 0.0, headers: dict[str, str] | None = None) -> Response:
    body = _encoder.encode(envelope(False, message=message, rate_limit_delay=delay))
    return Response(body, status, media_type="application/json", headers=headers)


async def tt_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, TtError)
    return _error(exc.message, exc.status, exc.rate_limit_delay)


_STATUS: Final[tuple[tuple[type[GatewayError], int], ...]] = (
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (TooLargeError, 413),
    (MalformedError, 400),
    (RejectedError, 400),
    (ConflictError, 409),
    (UnavailableError, 503),
)


async def gateway_error(_: Request, exc: Exception) -> Response:
    """Conveyor's own errors, in the envelope (its detail as the message)."""
    assert isinstance(exc, GatewayError)
    if isinstance(exc, RateLimitedError):
        return _error("Too many requests", 429, max(exc.retry_after_s, 0.001))
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
    headers = {k: v for k, v in getattr(exc, "headers", ())}
    return _error(exc.detail or exc.title, status, headers=headers or None)


async def http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "Not found" if exc.status_code == 404 else str(exc.detail)
    return _error(message, exc.status_code, headers=dict(exc.headers or {}) or None)


async def unexpected_error(_: Request, exc: Exception) -> Response:
    _log.exception("task_tracker_unexpected_error", exc_info=exc)
    return _error("Internal error", 500)


HANDLERS: Final = {
    TtError: tt_error,
    GatewayError: gateway_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
