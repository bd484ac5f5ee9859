"""The fail-closed route guard: a table from (method, path) to the rule it needs, applied to every route.

``secure_routes`` wraps each route's endpoint with the check its table entry names, and refuses
to build the app if a route has no entry (fail closed: a new endpoint without a rule does not
start). Each surface hands in its own table: the native API's rows live beside its endpoints, in
``native/<area>/access.py``, gathered in ``native.access.ROUTE_ACCESS``. Handlers read the caller
with ``caller(request)``. A rule is:

- a scope (``jobs:read``, ``jobs:write``, ``workers``, ``hooks``, ``projects``, ``admin``): a
  bearer token with that scope (or an admin's token with ``admin``);
- ``AUTHENTICATED``: any valid bearer token (the caller's own tokens);
- ``WORKER``: worker credentials, checked by the handler itself (HTTP Basic, ``worker_auth``);
- ``SIGNED``: an HMAC signature over the body, checked by the handler (inbound push hooks);
- ``PUBLIC``: no credentials (health, docs, problem pages, the OpenAPI document).

The rows handed in as ``worker_may_call`` (submitting jobs) also take a worker's HTTP Basic credentials
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

from ..core.job_access import check_job_access
from ..core.run_tokens import authenticate_run, is_run_token
from ..core.token_auth import Principal
from ..core.worker_submit import worker_principal
from ..errors import InsufficientScopeError, UnauthenticatedError

PUBLIC: Final = "public"
WORKER: Final = "worker"
SIGNED: Final = "signed"
AUTHENTICATED: Final = "authenticated"

Rules = dict[tuple[str, str], str]
"""A surface's access table: ``(method, route path)`` to the rule its endpoint needs."""


def templated(table: Rules) -> Rules:
    """The same table keyed by OpenAPI path templates: Starlette's ``{path:path}`` is ``{path}`` there."""
    return {(m, re.sub(r"\{(\w+):\w+\}", r"{\1}", p)): rule for (m, p), rule in table.items()}


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
        principal: Principal = await state["tokens"].authenticate(request.headers.get("authorization"))
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
            await check_job_access(
                request.scope["state"], principal, request.path_params.get("job_id", ""), write=rule == "jobs:write"
            )
        return await endpoint(request)

    guarded.__doc__ = endpoint.__doc__
    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    return guarded


def _rule_of(route: Route, table: Rules) -> str:
    methods = sorted((route.methods or {"GET"}) - {"HEAD"})
    rules = {table.get((m, route.path)) for m in methods}
    if None in rules or len(rules) != 1:
        missing = [f"{m} {route.path}" for m in methods if (m, route.path) not in table]
        raise ValueError(f"no access rule for {', '.join(missing) or route.path} in the access table")
    rule = rules.pop()
    assert rule is not None
    return rule


def secure_routes(
    routes: Iterable[BaseRoute], table: Rules, worker_may_call: frozenset[tuple[str, str]] = frozenset()
) -> list[BaseRoute]:
    """Every route with its access check from ``table``; raises ``ValueError`` for a route the table
    lacks. The rows in ``worker_may_call`` also take a worker's Basic credentials (``worker_submit``)."""
    secured: list[BaseRoute] = []
    for route in routes:
        if not isinstance(route, Route):
            raise ValueError(f"cannot secure {route!r}: only plain routes are supported")
        rule = _rule_of(route, table)
        endpoint: Any = route.endpoint
        methods = sorted((route.methods or {"GET"}) - {"HEAD"})
        worker_may = all((m, route.path) in worker_may_call for m in methods)
        guarded = guard(endpoint, rule, route.path, worker_may=worker_may)
        secured.append(Route(route.path, guarded, methods=methods, name=route.name))
    return secured
