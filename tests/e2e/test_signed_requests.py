"""VirtShell-style signed requests: off by default; when on, a signature made with a token's hash works."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from msgspec.structs import replace

from conveyor_devstack import free_port
from conveyor_gateway.app import create_app
from conveyor_gateway.http.signed_requests import sign, string_to_sign
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_identity import hash_token
from conveyor_runtime import serve_http

from .conftest import Service, _ready


@pytest.fixture
async def signing_gateway(
    gateway_settings: GatewaySettings, api: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway with CONVEYOR_SIGNED_REQUESTS on, and no credentials in the client."""
    settings = replace(gateway_settings, http_port=free_port(), signed_requests=True)
    service = Service(
        lambda stop: serve_http(create_app(settings), "127.0.0.1", settings.http_port, stop, lifespan=True)
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10) as client:
        await _ready(client)
        yield client
    await service.stop()


def _signed(client: httpx.AsyncClient, token_id: str, token: str, path: str, date: datetime) -> dict[str, str]:
    host = f"{client.base_url.host}:{client.base_url.port}"
    when = format_datetime(date, usegmt=True)
    canonical = string_to_sign("GET", host, "", "", when, path)
    return {"Date": when, "X-VirtShell-Authorization": f"{token_id}:{sign(hash_token(token), canonical)}"}


async def test_signed_requests_prove_a_token_without_sending_it(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, signing_gateway: httpx.AsyncClient
) -> None:
    issued = (await api.post("/v1/tokens", json={"name": "signing", "scopes": ["jobs:read"]})).json()
    token_id, token = issued["id"], issued["token"]
    now = datetime.now(UTC)
    good = await signing_gateway.get("/v1/me", headers=_signed(signing_gateway, token_id, token, "/v1/me", now))
    assert good.status_code == 200 and good.json()["token_id"] == token_id
    assert (
        await signing_gateway.get("/v1/jobs", headers=_signed(signing_gateway, token_id, token, "/v1/jobs", now))
    ).status_code == 200
    other_path = _signed(signing_gateway, token_id, token, "/v1/jobs", now)
    assert (await signing_gateway.get("/v1/me", headers=other_path)).status_code == 401
    stale = _signed(signing_gateway, token_id, token, "/v1/me", now - timedelta(minutes=16))
    assert (await signing_gateway.get("/v1/me", headers=stale)).status_code == 401
    wrong_key = _signed(signing_gateway, token_id, "cvy_wrong", "/v1/me", now)
    assert (await signing_gateway.get("/v1/me", headers=wrong_key)).status_code == 401
    off = await anonymous.get("/v1/me", headers=_signed(anonymous, token_id, token, "/v1/me", now))
    assert off.status_code == 401  # the default gateway ignores signatures
    assert (await api.delete(f"/v1/tokens/{token_id}")).status_code == 204
    revoked = await signing_gateway.get("/v1/me", headers=_signed(signing_gateway, token_id, token, "/v1/me", now))
    assert revoked.status_code == 401
