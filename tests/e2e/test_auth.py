"""API tokens over HTTP: every endpoint needs the right scope; tokens shown once, listed, revoked."""

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from conveyor_gateway.app import create_app
from conveyor_gateway.http import access
from conveyor_gateway.http.access import PUBLIC, SIGNED, WORKER
from conveyor_gateway.native.access import ROUTE_ACCESS
from conveyor_gateway.settings import Settings as GatewaySettings
from conveyor_runtime import serve_http

from .conftest import Service, _ready

SOME_ID = "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6a"
BAD_TOKEN = "cvy_" + "Z" * 43


def _concrete(path: str) -> str:
    return re.sub(r"\{[a-z_]+(:[a-z]+)?\}", SOME_ID, path).replace(f"/problems/{SOME_ID}", "/problems/unauthorized")


async def test_every_protected_endpoint_refuses_a_missing_or_bad_token(anonymous: httpx.AsyncClient) -> None:
    for (method, path), rule in sorted(ROUTE_ACCESS.items()):
        url = _concrete(path)
        for headers in ({}, {"Authorization": f"Bearer {BAD_TOKEN}"}):
            response = await anonymous.request(method, url, headers=headers, json={})
            if rule == PUBLIC:
                assert response.status_code in (200, 503), (method, path)
                continue
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            scheme = {WORKER: "Basic", SIGNED: "HMAC-SHA256"}.get(rule, "Bearer")
            assert response.headers["www-authenticate"].startswith(scheme), (method, path)
            assert BAD_TOKEN not in response.text


class RecordingLog:
    """Stands in for the auth module's logger (structlog caches the real one's output stream)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, dict[str, object]]] = []

    def warning(self, event: str, **kw: object) -> None:
        self.entries.append(("warning", event, kw))

    def info(self, event: str, **kw: object) -> None:
        self.entries.append(("info", event, kw))


async def test_failed_authentication_is_logged_without_the_credential(
    anonymous: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = RecordingLog()
    monkeypatch.setattr(access, "_log", log)
    response = await anonymous.get("/v1/jobs", headers={"Authorization": f"Bearer {BAD_TOKEN}"})
    assert response.status_code == 401
    assert [(level, event) for level, event, _ in log.entries] == [("warning", "authentication_failed")]
    assert log.entries[0][2]["path"] == "/v1/jobs"
    assert BAD_TOKEN not in repr(log.entries) and BAD_TOKEN[4:20] not in repr(log.entries)


async def _user_token(api: httpx.AsyncClient, name: str, scopes: list[str]) -> tuple[str, dict[str, str]]:
    user = await api.post("/v1/users", json={"name": name})
    assert user.status_code == 201, user.text
    issued = await api.post(f"/v1/users/{user.json()['id']}/tokens", json={"name": "t", "scopes": scopes})
    assert issued.status_code == 201, issued.text
    assert issued.headers["cache-control"] == "no-store"
    return user.json()["id"], {"Authorization": f"Bearer {issued.json()['token']}"}


async def test_scopes_decide_what_a_token_may_do(api: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    user_id, reader = await _user_token(api, "alice", ["jobs:read"])
    me = await anonymous.get("/v1/me", headers=reader)
    assert me.json() == {**me.json(), "user_id": user_id, "name": "alice", "is_admin": False, "scopes": ["jobs:read"]}
    assert (await anonymous.get("/v1/jobs", headers=reader)).status_code == 200
    refused = await anonymous.post("/v1/jobs", headers=reader, json={"command": "true"})
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/insufficient_scope"
    assert "insufficient_scope" in refused.headers["www-authenticate"]
    for method, path in (("GET", "/v1/users"), ("POST", "/v1/workers"), ("GET", "/v1/workers")):
        assert (await anonymous.request(method, path, headers=reader, json={"name": "w"})).status_code == 403
    wider = await anonymous.post("/v1/tokens", headers=reader, json={"name": "x", "scopes": ["jobs:read", "admin"]})
    assert wider.status_code == 422
    assert [e["pointer"] for e in wider.json()["errors"]] == ["/scopes/1"]
    bad = await api.post("/v1/tokens", json={"name": "x", "scopes": ["root"], "colour": 1})
    assert bad.status_code == 422
    assert [e["pointer"] for e in bad.json()["errors"]] == ["/colour", "/scopes/0"]


async def test_a_user_lists_and_revokes_their_tokens(api: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    _, writer = await _user_token(api, "bob", ["jobs:read", "jobs:write"])
    second = await anonymous.post("/v1/tokens", headers=writer, json={"name": "ci", "scopes": ["jobs:read"]})
    assert second.status_code == 201, second.text
    token = second.json()["token"]
    ci = {"Authorization": f"Bearer {token}"}
    assert (await anonymous.get("/v1/jobs", headers=ci)).status_code == 200
    listed = await anonymous.get("/v1/tokens", headers=writer)
    assert [t["name"] for t in listed.json()["items"]] == ["ci", "t"]
    assert token not in listed.text and "hash" not in listed.text
    others = await api.get("/v1/tokens")  # the admin's own tokens only
    assert second.json()["id"] not in others.text
    revoked = await anonymous.delete(f"/v1/tokens/{second.json()['id']}", headers=writer)
    assert revoked.status_code == 204
    assert (await anonymous.get("/v1/jobs", headers=ci)).status_code == 401
    assert (await anonymous.get("/v1/jobs", headers=writer)).status_code == 200  # the other token still works
    listed = await anonymous.get("/v1/tokens", headers=writer)
    assert listed.json()["items"][0]["revoked_at"] is not None
    _, stranger = await _user_token(api, "carol", ["jobs:read"])
    foreign = await anonymous.delete(f"/v1/tokens/{listed.json()['items'][1]['id']}", headers=stranger)
    assert foreign.status_code == 404  # another user's token does not exist for you


@pytest.fixture
async def second_gateway(gateway_settings: GatewaySettings, api: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Another gateway process-equivalent on the same NATS and PostgreSQL (its own token cache)."""
    from msgspec.structs import replace

    from conveyor_devstack import free_port

    settings = replace(gateway_settings, http_port=free_port(), token_cache_s=1.0)
    service = Service(
        lambda stop: serve_http(create_app(settings), "127.0.0.1", settings.http_port, stop, lifespan=True)
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.http_port}", timeout=10) as client:
        await _ready(client)
        yield client
    await service.stop()


async def test_revocation_reaches_other_gateways_within_seconds(
    api: httpx.AsyncClient, second_gateway: httpx.AsyncClient
) -> None:
    _, headers = await _user_token(api, "dave", ["jobs:read"])
    assert (await second_gateway.get("/v1/jobs", headers=headers)).status_code == 200  # now cached there
    token_id = (await api.get("/v1/tokens", headers=headers)).json()["items"][0]["id"]
    assert (await api.delete(f"/v1/tokens/{token_id}", headers=headers)).status_code == 204
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await second_gateway.get("/v1/jobs", headers=headers)).status_code == 200:
        assert loop.time() - started < 3, "revoked token still works on the other gateway"
        await asyncio.sleep(0.1)
    assert (await second_gateway.get("/v1/jobs", headers=headers)).status_code == 401
