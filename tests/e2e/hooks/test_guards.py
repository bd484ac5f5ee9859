"""Who may manage which hook, and targets on private networks refused at delivery."""

from collections.abc import Callable

import httpx

from ..conftest import Service
from ..test_projects import as_user
from .conftest import deliveries, wait_until
from .receiver import Receiver

SCOPES = ["jobs:read", "jobs:write", "projects", "hooks"]


async def test_hooks_are_their_owners_and_project_hooks_need_edit(
    hooks_api: httpx.AsyncClient, receiver: Receiver
) -> None:
    alice, bob = await as_user(hooks_api, "alice", SCOPES), await as_user(hooks_api, "bob", SCOPES)
    plain = await as_user(hooks_api, "carol", ["jobs:read"])
    async with alice, bob, plain:
        mine = await alice.post("/v1/hooks", json={"url": receiver.url(), "events": ["job.*"]})
        assert mine.status_code == 201, mine.text
        hook_id = mine.json()["id"]
        for call in (bob.get, bob.delete, lambda p: bob.patch(p, json={"active": False})):
            answer = await call(f"/v1/hooks/{hook_id}")
            assert answer.status_code == 404 and answer.json()["type"].endswith("hook_not_found")
        assert (await bob.get(f"/v1/hooks/{hook_id}/deliveries")).status_code == 404
        assert (await bob.get("/v1/hooks")).json()["items"] == []
        assert (await plain.get("/v1/hooks")).status_code == 403  # no hooks scope

        assert (await alice.post("/v1/projects", json={"name": "team"})).status_code == 201
        project_hook = {"url": receiver.url("/p"), "events": ["job.succeeded"], "project": "team"}
        assert (await bob.post("/v1/hooks", json=project_hook)).status_code == 403
        assert (await bob.put(f"/v1/projects/team/roles/{bob.user_id}", json={"roles": ["read"]})).status_code == 403
        grant = await alice.put(f"/v1/projects/team/roles/{bob.user_id}", json={"roles": ["edit"]})
        assert grant.status_code == 200
        created = await bob.post("/v1/hooks", json=project_hook)
        assert created.status_code == 201, created.text
        assert (await alice.get(f"/v1/hooks/{created.json()['id']}")).json()["project"] == "team"
        unknown = await bob.post("/v1/hooks", json={**project_hook, "project": "nope"})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/project"
        bad = await alice.post("/v1/hooks", json={"url": "ftp://x", "events": ["build.done"]})
        assert bad.status_code == 422
        assert {e["pointer"] for e in bad.json()["errors"]} >= {"/url"}
        deleted = await alice.delete(f"/v1/hooks/{hook_id}")
        assert deleted.status_code == 204
        assert (await alice.get(f"/v1/hooks/{hook_id}")).status_code == 404


async def test_private_targets_are_refused_at_creation(hooks_api: httpx.AsyncClient) -> None:
    for url in ("http://10.0.0.1/x", "http://169.254.169.254/latest", "http://[fe80::1]/", "http://192.168.1.1:8080/"):
        refused = await hooks_api.post("/v1/hooks", json={"url": url, "events": ["job.*"]})
        assert refused.status_code == 422, url
        assert refused.json()["errors"][0]["pointer"] == "/url"
    unresolvable = await hooks_api.post("/v1/hooks", json={"url": "http://no-such-host.invalid/", "events": ["*"]})
    assert unresolvable.status_code == 422


async def test_a_loopback_target_is_refused_at_delivery_when_not_allowed(
    api: httpx.AsyncClient, start_dispatcher: Callable[..., Service], receiver: Receiver
) -> None:
    # The gateway (test settings) allows loopback, this dispatcher does not: the name resolves to
    # 127.0.0.1 and the request is never sent.
    start_dispatcher(hook_allow_nets="")
    created = await api.post(
        "/v1/hooks", json={"url": f"http://localhost:{receiver.port}/", "events": ["job.submitted"]}
    )
    assert created.status_code == 201, created.text
    await api.post("/v1/jobs", json={"command": "make"})

    async def attempted() -> list[dict[str, object]] | None:
        items = await deliveries(api, created.json()["id"])
        return items if items and items[0]["attempts"] else None

    [delivery] = await wait_until(attempted)
    attempt = delivery["attempts"][0]
    assert attempt["status"] is None and attempt["error"].startswith("refused")
    assert receiver.received == []
