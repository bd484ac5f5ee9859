"""The gateway mounts each surface as its own app: a façade under ``/compat`` answers its errors in
its own shape, while everything else keeps the native problem+json (DESIGN §9, §10).

The façade here is a test double mounted only in this test; production mounts none yet.
"""

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from conveyor_gateway.app import create_app
from conveyor_gateway.errors import GatewayError, JobNotFoundError
from conveyor_gateway.settings import Settings


async def _missing(_: Request) -> Response:
    raise JobNotFoundError("no job 42")


async def _seed_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return JSONResponse({"error": {"message": exc.detail}}, status_code=404 if exc.code == "job_not_found" else 400)


def _client(
    facades: dict[str, ASGIApp] | None = None, settings: Settings | None = None, base_url: str = "http://gateway"
) -> httpx.AsyncClient:
    """The gateway app in process; its lifespan does not run (no route here needs NATS or PostgreSQL)."""
    app = create_app(settings or Settings(), facades=facades)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def _seed() -> Starlette:
    return Starlette(routes=[Route("/jobs/42", _missing)], exception_handlers={GatewayError: _seed_error})


def _with_a_facade() -> httpx.AsyncClient:
    return _client({"seed": _seed()})


async def test_a_mounted_facade_answers_errors_in_its_own_shape() -> None:
    async with _with_a_facade() as client:
        answer = await client.get("/compat/seed/jobs/42")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": {"message": "no job 42"}}


async def test_paths_no_surface_serves_stay_native_problems() -> None:
    async with _with_a_facade() as client:
        for path in ("/compat/nothing", "/v1/nothing"):
            answer = await client.get(path)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"] == "application/problem+json", path


async def test_the_dashboard_is_mounted_at_ui_and_asks_to_sign_in() -> None:
    async with _client() as client:
        answer = await client.get("/ui/jobs?state=failed")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=/ui/jobs%3Fstate%3Dfailed"


async def test_production_mounts_no_facade_yet() -> None:
    async with _client() as client:
        answer = await client.get("/compat/seed/jobs/42")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


async def test_a_facade_on_its_own_port_answers_at_the_root() -> None:
    """``CONVEYOR_COMPAT_PORTS``: a request that arrived on the façade's port goes to the façade with
    its path untouched; the API port keeps the native routes and problems."""
    settings = Settings(compat_ports="seed=19211")
    async with _client({"seed": _seed()}, settings, "http://gateway:19211") as own_port:
        answer = await own_port.get("/jobs/42")
        assert (answer.status_code, answer.json()) == (404, {"error": {"message": "no job 42"}})
        assert (await own_port.get("/v1/jobs")).status_code == 404  # the native API is not on this port
    async with _client({"seed": _seed()}, settings, "http://gateway:8080") as api_port:
        answer = await api_port.get("/jobs/42")
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert (await api_port.get("/compat/seed/jobs/42")).json() == {"error": {"message": "no job 42"}}


def test_a_port_for_an_unknown_facade_stops_the_gateway_at_start() -> None:
    with pytest.raises(ValueError, match="there is no façade 'nope'"):
        create_app(Settings(compat_ports="nope=19211"), facades={"seed": _seed()})
