"""Who may call what: one table from (method, path) to the scope it needs, applied to every route.

``secure_routes`` wraps each route's endpoint with the check its table entry names, and refuses
to build the app if a route has no entry (fail closed: a new endpoint without a rule does not
start). Handlers read the caller with ``caller(request)``. To protect a new endpoint, add one
row to ``ROUTE_ACCESS``:

- a scope (``jobs:read``, ``jobs:write``, ``workers``, ``hooks``, ``projects``, ``admin``): a
  bearer token with that scope (or an admin's token with ``admin``);
- ``AUTHENTICATED``: any valid bearer token (the caller's own tokens);
- ``WORKER``: worker credentials, checked by the handler itself (HTTP Basic, ``worker_auth``);
- ``SIGNED``: an HMAC signature over the body, checked by the handler (inbound push hooks);
- ``PUBLIC``: no credentials (health, docs, problem pages, the OpenAPI document).

The rows in ``WORKER_MAY_CALL`` (submitting jobs) also take a worker's HTTP Basic credentials
instead of a token: the handler then sees ``worker_submit.worker_principal`` and applies the
worker's rules (``worker_submit``).

A route under ``/v1/jobs/{job_id}`` with ``jobs:read`` or ``jobs:write`` also gets the job's
access check (``job_access``): logs, artifacts and events of a job are protected by adding
their rows with the right scope, nothing else.
"""

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from conveyor_runtime import get_logger

from .errors import InsufficientScopeError, UnauthenticatedError
from .job_access import check_job_access
from .run_tokens import authenticate_run, is_run_token
from .signed_requests import HEADER as SIGNED_HEADER
from .signed_requests import authenticate_signed
from .token_auth import Principal
from .worker_submit import worker_principal

PUBLIC: Final = "public"
WORKER: Final = "worker"
SIGNED: Final = "signed"
AUTHENTICATED: Final = "authenticated"

_J = "/v1/jobs/{job_id}"
ROUTE_ACCESS: Final[dict[tuple[str, str], str]] = {
    ("POST", "/v1/jobs"): "jobs:write",
    ("POST", "/v1/jobs/bulk"): "jobs:write",
    ("GET", "/v1/jobs"): "jobs:read",
    ("GET", _J): "jobs:read",
    ("GET", f"{_J}/explain"): "jobs:read",
    ("DELETE", _J): "jobs:write",
    ("PUT", f"{_J}/dependencies"): "jobs:write",
    ("GET", f"{_J}/access"): "jobs:read",
    ("PUT", f"{_J}/access"): "jobs:write",
    **{("POST", f"{_J}/{c}"): "jobs:write" for c in ("cancel", "pause", "resume", "start", "reset", "restart")},
    ("PATCH", _J): "jobs:write",
    ("GET", f"{_J}/children"): "jobs:read",
    ("GET", f"{_J}/log"): "jobs:read",
    ("GET", f"{_J}/log/stream"): "jobs:read",
    ("GET", f"{_J}/artifacts"): "jobs:read",
    ("GET", f"{_J}/artifacts/{{path:path}}"): "jobs:read",
    ("POST", "/v1/leases/{lease_id}/tasks/{name}"): WORKER,
    ("POST", "/v1/leases/{lease_id}/log"): WORKER,
    ("POST", "/v1/leases/{lease_id}/progress"): WORKER,
    ("PUT", "/v1/leases/{lease_id}/artifacts/{path:path}"): WORKER,
    ("POST", "/v1/workers/{worker_id}/log/{level}"): WORKER,
    ("GET", "/v1/workers/{worker_id}/log"): "workers",
    ("POST", "/v1/workers"): "workers",
    ("GET", "/v1/workers"): "workers",
    ("GET", "/v1/workers/{worker_id}"): "workers",
    ("DELETE", "/v1/workers/{worker_id}"): "workers",
    **{("POST", f"/v1/workers/{{worker_id}}/{m}"): "workers" for m in ("pause", "resume", "drain")},
    ("POST", "/v1/workers/{worker_id}/lease"): WORKER,
    ("POST", "/v1/workers/{worker_id}/heartbeat"): WORKER,
    ("POST", "/v1/leases/{lease_id}/start"): WORKER,
    ("POST", "/v1/leases/{lease_id}/finish"): WORKER,
    ("GET", "/v1/me"): AUTHENTICATED,
    ("GET", "/v1/tokens"): AUTHENTICATED,
    ("POST", "/v1/tokens"): AUTHENTICATED,
    ("DELETE", "/v1/tokens/{token_id}"): AUTHENTICATED,
    ("POST", "/v1/users"): "admin",
    ("GET", "/v1/users"): "admin",
    ("POST", "/v1/users/{user_id}/tokens"): "admin",
    ("GET", "/v1/users/{user_id}/tokens"): "admin",
    ("POST", "/v1/projects"): "projects",
    ("GET", "/v1/projects"): "projects",
    ("GET", "/v1/projects/{project}"): "projects",
    ("PATCH", "/v1/projects/{project}"): "projects",
    ("GET", "/v1/projects/{project}/roles"): "projects",
    ("PUT", "/v1/projects/{project}/roles/{user_id}"): "projects",
    ("POST", "/v1/workers/{worker_id}/access-requests"): WORKER,
    ("GET", "/v1/workers/{worker_id}/projects"): WORKER,
    ("GET", "/v1/projects/{project}/workers"): "projects",
    ("PUT", "/v1/projects/{project}/workers/{worker_id}"): "projects",
    **{
        ("POST", f"/v1/projects/{{project}}/maintenance/{a}"): "projects"
        for a in ("reset-failed", "reclaim-assigned", "hard-reset")
    },
    ("POST", "/v1/projects/{project}/hooks/push"): SIGNED,
    ("GET", "/v1/events"): "jobs:read",
    ("GET", "/v1/events/stream"): "jobs:read",
    ("POST", "/v1/hooks"): "hooks",
    ("GET", "/v1/hooks"): "hooks",
    ("GET", "/v1/hooks/{hook_id}"): "hooks",
    ("PATCH", "/v1/hooks/{hook_id}"): "hooks",
    ("DELETE", "/v1/hooks/{hook_id}"): "hooks",
    ("GET", "/v1/hooks/{hook_id}/deliveries"): "hooks",
    ("POST", "/v1/hooks/{hook_id}/deliveries/{delivery_id}/redeliver"): "hooks",
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/problems/{code}"): PUBLIC,
}
"""The access rule of every endpoint (see the module docstring)."""

WORKER_MAY_CALL: Final = frozenset({("POST", "/v1/jobs"), ("POST", "/v1/jobs/bulk")})
"""Token-protected rows a worker may also call with its own credentials (``worker_submit``)."""

# The same table keyed by OpenAPI path templates: Starlette's ``{path:path}`` is ``{path}`` there.
RULE_BY_TEMPLATE: Final = {(m, re.sub(r"\{(\w+):\w+\}", r"{\1}", p)): rule for (m, p), rule in ROUTE_ACCESS.items()}

Endpoint = Callable[[Request], Awaitable[Response]]
_log = get_logger("auth")


def caller(request: Request) -> Principal:
    """The authenticated user of a token-protected request (set by the route's guard)."""
    principal: Principal = request.scope["principal"]
    return principal


def caller_id(request: Request) -> str:
    """The user id recorded as owner or requester of what this request does."""
    return caller(request).user_id


def _is_basic(authorization: str | None) -> bool:
    return authorization is not None and authorization.strip()[:6].lower() == "basic "


async def authenticate_worker(request: Request) -> Principal:
    """The worker whose Basic credentials ``request`` carries, as the caller of a submit endpoint.

    Raises:
        UnauthenticatedError: Wrong worker id or secret (logged without the credential).
    """
    try:
        worker_id = await request.scope["state"]["auth"].authenticate(request.headers.get("authorization"))
    except UnauthenticatedError as exc:
        client = request.client.host if request.client else ""
        _log.warning("worker_authentication_failed", path=request.url.path, reason=exc.detail, client=client)
        raise
    return worker_principal(worker_id)


async def authenticate(request: Request, rule: str) -> Principal:
    """The caller of ``request`` if it holds what ``rule`` needs.

    Raises:
        UnauthenticatedError: No valid token (logged without the credential).
        InsufficientScopeError: A valid token without the scope.
    """
    state = request.scope["state"]
    try:
        if state["signed_requests"] and SIGNED_HEADER in request.headers:
            principal: Principal = await authenticate_signed(request, state["identity"])
        else:
            principal = await state["tokens"].authenticate(request.headers.get("authorization"))
    except UnauthenticatedError as exc:
        client = request.client.host if request.client else ""
        _log.warning("authentication_failed", path=request.url.path, reason=exc.detail, client=client)
        raise
    if rule != AUTHENTICATED and not principal.has_scope(rule):
        _log.info("scope_refused", user_id=principal.user_id, token_id=principal.token_id, scope=rule)
        raise InsufficientScopeError(rule)
    return principal


def guard(endpoint: Endpoint, rule: str, path: str = "", *, worker_may: bool = False) -> Endpoint:
    """``endpoint`` behind the check ``rule`` names; under ``/v1/jobs/{job_id}`` also the job's access
    (read for ``jobs:read``, write for ``jobs:write``), so every job endpoint gets it from its row.
    With ``worker_may``, Basic credentials are checked as a worker's instead of a token."""
    if rule in (PUBLIC, WORKER, SIGNED):
        return endpoint
    job_check = "{job_id}" in path and rule in ("jobs:read", "jobs:write")

    async def guarded(request: Request) -> Response:
        authorization = request.headers.get("authorization")
        if worker_may and _is_basic(authorization):
            principal = await authenticate_worker(request)
        elif worker_may and is_run_token(authorization):
            assert authorization is not None
            principal = await authenticate_run(request.scope["state"], authorization)
        else:
            principal = await authenticate(request, rule)
        request.scope["principal"] = principal
        if job_check:
            await check_job_access(request, principal, write=rule == "jobs:write")
        return await endpoint(request)

    guarded.__doc__ = endpoint.__doc__
    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    return guarded


def _rule_of(route: Route, table: dict[tuple[str, str], str]) -> str:
    methods = sorted((route.methods or {"GET"}) - {"HEAD"})
    rules = {table.get((m, route.path)) for m in methods}
    if None in rules or len(rules) != 1:
        missing = [f"{m} {route.path}" for m in methods if (m, route.path) not in table]
        raise ValueError(f"no access rule for {', '.join(missing) or route.path} in access.ROUTE_ACCESS")
    rule = rules.pop()
    assert rule is not None
    return rule


def secure_routes(routes: Iterable[BaseRoute], table: dict[tuple[str, str], str] = ROUTE_ACCESS) -> list[BaseRoute]:
    """Every route with its access check; raises ``ValueError`` for a route the table lacks."""
    secured: list[BaseRoute] = []
    for route in routes:
        if not isinstance(route, Route):
            raise ValueError(f"cannot secure {route!r}: only plain routes are supported")
        rule = _rule_of(route, table)
        endpoint: Any = route.endpoint
        methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        worker_may = all((m, route.path) in WORKER_MAY_CALL for m in methods)
        guarded = guard(endpoint, rule, route.path, worker_may=worker_may)
        secured.append(Route(route.path, guarded, methods=methods, name=route.name))
    return secured
