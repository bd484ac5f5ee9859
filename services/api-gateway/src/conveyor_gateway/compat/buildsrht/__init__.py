"""The builds.sr.ht façade (issue 17): the legacy REST API, hut's GraphQL at ``/query``, logs
served with ``Range`` as the runners served them, and sourcehut's error envelope on every answer.

Mounted at ``/compat/builds`` on the gateway's port (and at the root of a port of its own when
configured); every URL it hands out is built from the request, so it never assumes its prefix.
"""

from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

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
from . import graphql, output, rest
from .builds import BuildSettings
from .errors import BuildsError

_STATUS_BY_KIND: Final[tuple[tuple[type[GatewayError], int], ...]] = (
    (NotFoundError, 404),
    (ConflictError, 400),  # sourcehut answers a state conflict ("already queued") with 400
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (TooLargeError, 413),
    (RateLimitedError, 429),
    (UnavailableError, 503),
)


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


def create_app(settings: BuildSettings | None = None) -> Starlette:
    """The façade's app; ``settings`` default to builds.sr.ht's (45 min timeout, project ``default``)."""
    app = Starlette(
        routes=[*rest.ROUTES, *output.ROUTES, *graphql.ROUTES],
        exception_handlers={
            BuildsError: builds_error,
            GatewayError: gateway_error,
            HTTPException: http_error,
            **OUTAGE_HANDLERS,
        },
    )
    app.state.builds = settings or BuildSettings()
    return app


app: Final = create_app()
