"""``IndexedRouter`` picks the route Starlette's ``Router`` would pick, for every kind of path."""

import itertools
from collections.abc import Awaitable, Callable

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Scope

from conveyor_gateway.app import create_app
from conveyor_gateway.http.route_index import WILD, IndexedRouter, Signature, could_match, signature
from conveyor_gateway.settings import Settings

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")
# Values put in place of each parameter: ordinary, numeric, empty, spanning segments, a literal
# of another route at that place, a UUID.
VALUES = ("x", "42", "", "a/b", "bulk", "lease", "start", "0190e4c2-7d5a-7c41-9d5e-2f6a1b3c4d5e")
EXTRA = (
    Route("/n/{count:int}/items", lambda _: PlainTextResponse("")),
    Route("/f/{name}.txt", lambda _: PlainTextResponse("")),
    Route("/p/{rest:path}", lambda _: PlainTextResponse("")),
    Route("/", lambda _: PlainTextResponse("")),
)


def _echo(template: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{template} {sorted(request.path_params.items())}")

    return endpoint


def _table() -> list[BaseRoute]:
    served = [r for r in create_app(Settings()).routes if isinstance(r, Route)]
    routes: list[BaseRoute] = [Route(r.path, _echo(r.path), methods=sorted(r.methods or ())) for r in served]
    return routes + [Route(r.path, _echo(r.path)) for r in EXTRA]


async def _call(app: Starlette, method: str, path: str) -> list[Message]:
    """What ``app`` sends for ``method path``, called as ASGI directly (no client, to stay fast)."""
    scope: Scope = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"host", b"gw")], "scheme": "http", "server": ("gw", 80),
        "http_version": "1.1", "client": None,
    }  # fmt: skip
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _paths(templates: list[str]) -> list[str]:
    paths: set[str] = {"/", "", "/nope", "/v1", "/v1/", "//v1/jobs", "/v1/jobs//log"}
    for template in templates:
        parts = template.split("/")
        slots = [i for i, p in enumerate(parts) if "{" in p]
        for value in VALUES:
            filled = [(value if "{" in p and p.endswith("}") and p.startswith("{") else p) for p in parts]
            filled = [p.replace("{name}", value) if "{" in p else p for p in filled]
            path = "/".join(filled)
            paths.update({path, path + "/", path.rstrip("/"), path + "/extra"})
        if slots:
            paths.add("/".join(parts[: slots[0]]) + "/" + "/".join(parts[slots[0] + 1 :]))  # a segment gone
    return sorted(paths)


def _methods_of(table: list[BaseRoute], path: str, *, literal: bool = False) -> set[str]:
    """Every method of the routes with the template of the first route matching ``path`` (of the
    literal route that is ``path``, with ``literal``)."""
    routes = [r for r in table if isinstance(r, Route) and r.path_regex.match(path)]
    if literal:
        routes = [r for r in routes if "{" not in r.path]
    return {m for r in routes if r.path == routes[0].path for m in r.methods or ()} if routes else set()


def _with_allow(headers: list[tuple[bytes, bytes]], methods: set[str]) -> list[tuple[bytes, bytes]]:
    allow = ", ".join(sorted(methods)).encode()
    return [(k, allow if k == b"allow" else v) for k, v in headers]


async def test_indexed_router_answers_every_path_and_method_as_starlette_does() -> None:
    """The same answers, except that a 405's ``Allow`` names every method of the path."""
    table = _table()
    plain = Starlette(routes=table)
    indexed = Starlette()
    indexed.router = IndexedRouter(table)
    templates = [r.path for r in table if isinstance(r, Route)]
    checked = 0
    for path, method in itertools.product(_paths(templates), METHODS):
        answers = [await _call(app, method, path) for app in (plain, indexed)]
        literal = _methods_of(table, path, literal=True)
        if literal and method not in literal:  # the literal route owns the path: 405, whatever else matches
            assert answers[1][0]["status"] == 405, (method, path)
            assert dict(answers[1][0]["headers"])[b"allow"] == ", ".join(sorted(literal)).encode()
            continue
        if answers[0][0]["status"] == 405:  # Starlette's Allow names the first route's methods only
            answers[0][0]["headers"] = _with_allow(answers[0][0]["headers"], _methods_of(table, path))
        assert answers[0] == answers[1], (method, path)
        checked += 1
    assert checked > 1000


def test_the_worker_routes_have_one_candidate_each() -> None:
    router = create_app(Settings()).router
    assert isinstance(router, IndexedRouter)
    lease = "0190e4c2-7d5a-7c41-9d5e-2f6a1b3c4d5e"
    for path, template in [
        (f"/v1/leases/{lease}/start", "/v1/leases/{lease_id}/start"),
        (f"/v1/leases/{lease}/finish", "/v1/leases/{lease_id}/finish"),
        (f"/v1/workers/{lease}/lease", "/v1/workers/{worker_id}/lease"),
        (f"/v1/workers/{lease}/heartbeat", "/v1/workers/{worker_id}/heartbeat"),
    ]:
        assert [r.path for r in router.candidates(path) if isinstance(r, Route)] == [template]


def test_ids_in_paths_do_not_grow_the_shape_cache() -> None:
    router = create_app(Settings()).router
    assert isinstance(router, IndexedRouter)
    for n in range(200):
        router.candidates(f"/v1/leases/id-{n}/start")
    assert len(router._shapes) == 1


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("/v1/jobs", Signature(("", "v1", "jobs"), open_end=False)),
        ("/v1/jobs/{job_id}/log", Signature(("", "v1", "jobs", WILD, "log"), open_end=False)),
        ("/n/{count:int}", Signature(("", "n", WILD), open_end=False)),
        ("/p/{rest:path}", Signature(("", "p"), open_end=True)),
        ("/f/{name}.txt", Signature(("", "f"), open_end=True)),
    ],
)
def test_signature_reads_literals_parameters_and_open_ends(template: str, expected: Signature) -> None:
    assert signature(template) == expected


def test_could_match_needs_every_literal_and_the_exact_length_unless_open() -> None:
    closed = signature("/v1/leases/{lease_id}/start")
    assert could_match(closed, ["", "v1", "leases", WILD, "start"], 5)
    assert not could_match(closed, ["", "v1", "leases", WILD, "finish"], 5)
    assert not could_match(closed, ["", "v1", "leases", WILD], 4)
    assert not could_match(closed, ["", "v1", "leases", WILD, "start", WILD], 6)
    assert could_match(signature("/p/{rest:path}"), ["", "p", WILD, WILD], 4)
    assert could_match(None, [], 0)
