"""The gateway mounts each surface as its own app: a façade under ``/compat`` answers its errors in
its own shape, while everything else keeps the native problem+json (DESIGN §9, §10).

The façade here is a test double mounted only in this test; production mounts none yet.
"""

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from conveyor_gateway.app import create_app
from conveyor_gateway.errors import GatewayError, JobNotFoundError
from conveyor_gateway.settings import Settings


async def _missing(_: Request) -> Response:
    raise JobNotFoundError("no job 42")


async def _seed_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return JSONResponse({"error": {"message": exc.detail}}, status_code=404 if exc.code == "job_not_found" else 400)


def _client(facades: list[Mount] | None = None) -> httpx.AsyncClient:
    """The gateway app in process; its lifespan does not run (no route here needs NATS or PostgreSQL)."""
    app = create_app(Settings(), facades=facades)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


def _with_a_facade() -> httpx.AsyncClient:
    facade = Starlette(routes=[Route("/jobs/42", _missing)], exception_handlers={GatewayError: _seed_error})
    return _client([Mount("/seed", app=facade)])


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
