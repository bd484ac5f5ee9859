"""The builds.sr.ht façade (issue 17): the legacy REST API, hut's GraphQL at ``/query``, logs
served with ``Range`` as the runners served them, and sourcehut's error envelope on every answer.

Mounted at ``/compat/builds`` on the gateway's port (and at the root of a port of its own when
configured); every URL it hands out is built from the request, so it never assumes its prefix.
"""

from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from conveyor_runtime import load_settings

from ...errors import (
    ConflictError,
    ForbiddenError,
    GatewayError,
    NotFoundError,
    RateLimitedError,
    TooLargeError,
    UnauthenticatedError,
    UnavailableError,
)
from ...http.outage import OUTAGE_HANDLERS
from ...http.plumbing import json_response
from ...settings import Settings
from . import graphql_route, output, rest, rest_groups
from .builds import BuildSettings
from .errors import BuildsError
from .keys import public_key

_STATUS_BY_KIND: Final[tuple[tuple[type[GatewayError], int], ...]] = (
    (NotFoundError, 404),
    (ConflictError, 400),  # sourcehut answers a state conflict ("already queued") with 400
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (TooLargeError, 413),
    (RateLimitedError, 429),
    (UnavailableError, 503),
)


async def webhook_key(request: Request) -> Response:
    """``GET /webhook-key``: the base64 Ed25519 public key trigger webhooks are signed with."""
    key = request.app.state.builds.webhook_public_key
    if not key:
        return json_response({"errors": [{"reason": "no webhook key is configured: webhooks are unsigned"}]}, 404)
    return PlainTextResponse(key + "\n")


async def builds_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BuildsError)
    return json_response(exc.body(), exc.status)


async def gateway_error(request: Request, exc: Exception) -> Response:
    """A use case's refusal in sourcehut's envelope; field errors keep their field."""
    assert isinstance(exc, GatewayError)
    status = next((s for kind, s in _STATUS_BY_KIND if isinstance(exc, kind)), 400)
    errors = [{"field": e.pointer.lstrip("/").replace("/", ".") or None, "reason": e.detail} for e in exc.errors or []]
    body = {"errors": [{k: v for k, v in e.items() if v} for e in errors] or [{"reason": exc.detail}]}
    return json_response(body, status, dict(exc.headers) if exc.headers else None)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return json_response({"errors": [{"reason": exc.detail}]}, exc.status_code, dict(exc.headers or {}))


def settings_of(gateway: Settings) -> BuildSettings:
    """The façade's settings from the gateway's (``CONVEYOR_BUILDS_*``, the webhook key, SMTP)."""
    return BuildSettings(
        project=gateway.builds_project,
        timeout_s=gateway.builds_timeout_s,
        email_enabled=bool(gateway.smtp_host),
        webhook_public_key=public_key(gateway.webhook_ed25519_key),
    )


def create_app(settings: BuildSettings | None = None) -> Starlette:
    """The façade's app; ``settings`` default to builds.sr.ht's (45 min timeout, project ``default``)."""
    app = Starlette(
        routes=[
            *rest.ROUTES,
            *rest_groups.ROUTES,
            *output.ROUTES,
            *graphql_route.ROUTES,
            Route("/webhook-key", webhook_key, methods=["GET"]),
        ],
        exception_handlers={
            BuildsError: builds_error,
            GatewayError: gateway_error,
            HTTPException: http_error,
            **OUTAGE_HANDLERS,
        },
    )
    app.state.builds = settings or BuildSettings()
    return app


class _FromEnvironment:
    """The façade configured from the gateway's ``CONVEYOR_*`` variables (as ``app.main`` reads
    them), built at its first request: importing it reads nothing. Tests that need other settings
    pass ``create_app(settings_of(...))`` to the gateway's ``create_app(facades=...)``."""

    def __init__(self) -> None:
        self._app: Starlette | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._app is None:
            self._app = create_app(settings_of(load_settings(Settings)))
        await self._app(scope, receive, send)


app: Final = _FromEnvironment()
