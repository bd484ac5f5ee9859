"""With no allowed networks configured (the default), a hook to a name that resolves to loopback
is refused when it is created."""

import httpx


async def test_a_name_resolving_to_loopback_is_refused_by_default(gateway: httpx.AsyncClient) -> None:
    refused = await gateway.post("/v1/hooks", json={"url": "http://localhost:9/hook", "events": ["job.*"]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["pointer"] == "/url"
    assert "loopback" in refused.json()["errors"][0]["detail"]
