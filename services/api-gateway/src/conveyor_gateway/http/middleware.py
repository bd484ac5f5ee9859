"""ASGI middleware: request id, one canonical log line and metrics per request."""

import time
from typing import Any, Final

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor_events import new_uuid7
from conveyor_runtime import get_logger
from conveyor_runtime.metrics import HTTP_REQUESTS, HTTP_SECONDS

_log = get_logger("http")
_MAX_SERIES: Final = 4096


class _Series:
    """The metric children per label set, looked up once: ``labels()`` costs more than the count."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def record(self, method: str, template: str, status: int, elapsed: float) -> None:
        key = (method, template, status)
        children = self._children.get(key)
        if children is None:
            children = (HTTP_REQUESTS.labels(method, template, str(status)), HTTP_SECONDS.labels(method, template))
            if len(self._children) < _MAX_SERIES:
                self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)


class RequestContext:
    """Binds ``request_id`` (from ``X-Request-Id`` or new) for the request's logs and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._series = _Series()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or new_uuid7()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route: Any = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            self._series.record(method, template, status, elapsed)
            _log.info(
                "http_request",
                method=method,
                route=template,
                status=status,
                outcome="ok" if status < 400 else ("client_error" if status < 500 else "server_error"),
                duration_ms=round(elapsed * 1000, 2),
            )


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = bytes(value).decode("latin-1")
            if 0 < len(text) <= 128 and text.isprintable():
                return text
    return None
