"""The route -> scope table: every route of the app has a rule, and an unlisted route fails the build."""

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conveyor_gateway.access import (
    PUBLIC,
    ROUTE_ACCESS,
    RULE_BY_TEMPLATE,
    SIGNED,
    WORKER,
    WORKER_MAY_CALL,
    secure_routes,
)
from conveyor_gateway.app import create_app
from conveyor_gateway.openapi import build_openapi
from conveyor_gateway.settings import Settings
from conveyor_identity import SCOPES


async def endpoint(_: Request) -> Response:
    return Response()


def test_every_route_of_the_app_has_a_rule_and_every_rule_a_route() -> None:
    app = create_app(Settings())
    served = {(m, r.path) for r in app.routes if isinstance(r, Route) for m in (r.methods or set()) if m != "HEAD"}
    assert served == set(ROUTE_ACCESS)


def test_rules_are_known_scopes_or_markers() -> None:
    assert set(ROUTE_ACCESS.values()) <= {*SCOPES, PUBLIC, WORKER, SIGNED, "authenticated"}


def test_only_health_docs_and_problem_pages_are_public() -> None:
    public = {path for (_, path), rule in ROUTE_ACCESS.items() if rule == PUBLIC}
    assert public == {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/problems/{code}"}


def test_a_route_without_a_rule_does_not_build() -> None:
    with pytest.raises(ValueError, match="GET /v1/secret"):
        secure_routes([Route("/v1/secret", endpoint, methods=["GET"])])


def test_public_and_worker_routes_keep_their_endpoint() -> None:
    table = {("GET", "/a"): PUBLIC, ("POST", "/b"): WORKER, ("GET", "/c"): "jobs:read"}
    routes = secure_routes(
        [Route("/a", endpoint, methods=["GET"]), Route("/b", endpoint, methods=["POST"]), Route("/c", endpoint)],
        table,
    )
    kept = [r.endpoint is endpoint for r in routes if isinstance(r, Route)]
    assert kept == [True, True, False]


def test_the_openapi_document_has_every_endpoint_with_its_security() -> None:
    paths = build_openapi("test")["paths"]
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    assert documented <= set(RULE_BY_TEMPLATE)
    assert {
        k for k in ROUTE_ACCESS if k[1].startswith(("/v1/users", "/v1/tokens", "/v1/me", "/v1/projects"))
    } <= documented
    for method, path in documented:
        rule = RULE_BY_TEMPLATE[(method, path)]
        if rule in (PUBLIC, WORKER, SIGNED):
            continue
        op = paths[path][method.lower()]
        token = {"apiToken": [] if rule == "authenticated" else [rule]}
        worker: list[dict[str, list[str]]] = [{"workerBasic": []}] if (method, path) in WORKER_MAY_CALL else []
        assert op["security"] == [token, *worker], (method, path)
        assert "401" in op["responses"]
        assert op["parameters"][0]["name"] == "Authorization"  # so the /docs page's "Try it" can send it


def test_workers_may_call_only_the_submit_endpoints() -> None:
    assert {("POST", "/v1/jobs"), ("POST", "/v1/jobs/bulk")} == WORKER_MAY_CALL
    assert all(ROUTE_ACCESS[k] == "jobs:write" for k in WORKER_MAY_CALL)
