"""A façade on a port of its own, over real sockets, and its callers admitted by network (DESIGN §10)."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conveyor_devstack import free_port
from conveyor_gateway.app import create_app
from conveyor_gateway.http.trusted_networks import trusted_principal
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_runtime import serve_http

from .conftest import _ready


def _facade(name: str) -> Starlette:
    async def whoami(request: Request) -> Response:
        principal = await trusted_principal(request, name, frozenset({"jobs:read"}))
        if principal is None:
            return JSONResponse({"error": "who are you?"}, status_code=401)
        return JSONResponse({"name": principal.name, "scopes": sorted(principal.scopes), "path": request.url.path})

    endpoint: Callable[[Request], Awaitable[Response]] = whoami
    return Starlette(routes=[Route("/whoami", endpoint)])


async def test_an_own_port_serves_the_facade_at_its_root_and_trusts_only_listed_networks(
    gateway_settings: GatewaySettings, admin_token: str
) -> None:
    seed_port = free_port()
    settings = msgspec.structs.replace(
        gateway_settings,
        compat_ports=f"seed={seed_port}",
        compat_trust="seed:127.0.0.1/32@admin; elsewhere:10.0.0.0/8@admin; ghost:127.0.0.1/32@no-such-user",
    )
    names = ("seed", "elsewhere", "ghost", "unlisted")
    app = create_app(settings, facades={name: _facade(name) for name in names})
    stop = asyncio.Event()
    served = serve_http(app, "127.0.0.1", settings.http_port, stop, lifespan=True, extra_ports=[seed_port])
    task = asyncio.create_task(served)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10) as api:
            await _ready(api)
            own = await api.get(f"http://127.0.0.1:{seed_port}/whoami")
            # Loopback is listed for ``seed``: the call acts as the named user, with the façade's scopes only.
            assert own.json() == {"name": "admin", "scopes": ["jobs:read"], "path": "/whoami"}
            assert (await api.get("/compat/seed/whoami")).json()["name"] == "admin"
            # The native API is not served on a façade's port.
            assert (await api.get(f"http://127.0.0.1:{seed_port}/v1/jobs")).status_code == 404
            # Another network listed, a user that does not exist, nothing listed: nobody gets in.
            for name in ("elsewhere", "ghost", "unlisted"):
                assert (await api.get(f"/compat/{name}/whoami")).status_code == 401, name
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
