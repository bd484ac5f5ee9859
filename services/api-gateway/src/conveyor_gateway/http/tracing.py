"""A server span per HTTP request, continuing the caller's W3C trace context (issue 22).

Mounted only when tracing is on. The span is current while the request is served, so the events
the request appends and the calls it makes to the scheduler carry its ``traceparent``.
"""

from typing import Any

from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor_runtime import Tracing, trace_headers


class TraceRequests:
    """ASGI middleware: one ``SERVER`` span per request, named ``METHOD /route/{template}``."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self._tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        incoming = trace_headers(_lower_headers(scope))
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self._tracing.span(
            method,
            parent=incoming,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                if span is not None:
                    route: Any = scope.get("route")
                    template = getattr(route, "path", None)
                    if template is not None:
                        span.update_name(f"{method} {template}")
                        span.set_attribute("http.route", template)
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(StatusCode.ERROR)


def _lower_headers(scope: Scope) -> dict[str, str]:
    """The trace headers of the request (ASGI header names are already lower-case bytes)."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in (b"traceparent", b"tracestate"):
            found[name.decode()] = value.decode("latin-1")
    return found
