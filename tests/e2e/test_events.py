"""The event history (GET /v1/events) and its live stream (SSE): filters, paging, resuming with
Last-Event-ID, and nothing a caller may not read."""

import asyncio
from typing import Any

import httpx
import msgspec

from .logs.sse import SseMessage, sse_messages
from .test_projects import as_user


async def _all(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(50):
        page = await client.get("/v1/events", params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if not page.json()["more"]:
            return items
    raise AssertionError("too many pages")


async def test_events_are_filtered_and_paged(api: httpx.AsyncClient) -> None:
    jobs = [(await api.post("/v1/jobs", json={"command": "true", "title": f"j{i}"})).json()["id"] for i in range(5)]
    first = await api.get("/v1/events", params={"type": "job.submitted", "limit": 2})
    assert first.status_code == 200 and len(first.json()["items"]) == 2 and first.json()["more"] is True
    submitted = await _all(api, type="job.submitted", limit=2)
    assert [e["aggregate_id"] for e in submitted] == jobs
    seqs = [e["seq"] for e in submitted]
    assert seqs == sorted(seqs)
    one = await _all(api, job=jobs[2])
    assert [e["type"] for e in one] == ["job.submitted"]  # nothing to wait on: queued by its submission
    assert all(e["event"]["job_id"] == jobs[2] for e in one)
    either = await _all(api, type="job.queued,job.submitted,worker.*")
    assert [e["aggregate_id"] for e in either] == jobs
    later = await api.get("/v1/events", params={"since": "2999-01-01T00:00:00Z"})
    assert later.json()["items"] == []
    bad = await api.get("/v1/events", params={"job": "nope", "limit": "0", "since": "yesterday", "x": "1"})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"job", "limit", "since", "x"}


async def test_events_show_only_what_the_caller_may_read(api: httpx.AsyncClient) -> None:
    alice = await as_user(api, "alice", ["jobs:read", "jobs:write", "projects"])
    bob = await as_user(api, "bob", ["jobs:read", "jobs:write"])
    async with alice, bob:
        worker = await api.post("/v1/workers", json={"name": "w1"})
        assert worker.status_code == 201
        secret = "whsec_" + "c2VjcmV0LXRyaWdnZXI="
        trigger = [{"on": "always", "url": "https://example.com/hook", "secret": secret}]
        # non-admins submit into projects they may edit, or into the unclaimed "default" (issue 7)
        bob_job = {"project": "default", "command": "true", "triggers": trigger}
        bobs = (await bob.post("/v1/jobs", json=bob_job)).json()
        assert (await alice.post("/v1/projects", json={"name": "a"})).status_code == 201
        alices = (await alice.post("/v1/jobs", json={"project": "a", "command": "true"})).json()

        seen_by_alice = await _all(alice)
        assert {e["aggregate_id"] for e in seen_by_alice} == {alices["id"]}
        assert await _all(alice, job=bobs["id"]) == []
        assert await _all(alice, worker=worker.json()["id"]) == []  # no workers scope: no worker events
        seen_by_bob = await _all(bob)
        assert {e["aggregate_id"] for e in seen_by_bob} == {bobs["id"]}
        assert secret not in msgspec.json.encode(seen_by_bob).decode()  # the trigger's secret is not shown
        admin = await _all(api, worker=worker.json()["id"])
        assert [e["type"] for e in admin] == ["worker.registered"] and "secret_hash" not in admin[0]["event"]
        # granting read on the project shows its jobs' events
        assert (await alice.post("/v1/projects", json={"name": "shared"})).status_code == 201
        shared = (await alice.post("/v1/jobs", json={"project": "shared", "command": "true"})).json()
        assert await _all(bob, job=shared["id"]) == []
        await alice.put(f"/v1/projects/shared/roles/{bob.user_id}", json={"roles": ["read"]})
        for _ in range(100):
            if await _all(bob, job=shared["id"]):
                break
            await asyncio.sleep(0.05)
        assert [e["type"] for e in await _all(bob, job=shared["id"])] == ["job.submitted"]


async def _until(response: httpx.Response, job_id: str, kind: str) -> list[SseMessage]:
    got: list[SseMessage] = []
    async with asyncio.timeout(10):
        async for message in sse_messages(response):
            got.append(message)
            if message.event == kind and msgspec.json.decode(message.data)["aggregate_id"] == job_id:
                return got
    raise AssertionError("the stream ended")


async def test_the_stream_resumes_after_last_event_id(api: httpx.AsyncClient) -> None:
    async with api.stream("GET", "/v1/events/stream", params={"type": "job.*"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        first = (await api.post("/v1/jobs", json={"command": "true"})).json()
        got = await _until(response, first["id"], "job.submitted")
        last_id = got[-1].id
    assert last_id is not None and all(m.id is not None for m in got)
    missed = (await api.post("/v1/jobs", json={"command": "true"})).json()  # while disconnected
    headers = {"Last-Event-ID": last_id}
    async with api.stream("GET", "/v1/events/stream", params={"type": "job.*"}, headers=headers) as response:
        again = await _until(response, missed["id"], "job.submitted")
    ids = [int(m.id or 0) for m in again]
    assert ids == sorted(ids) and ids[0] == min(i for i in ids) and min(ids) > int(last_id)
    docs = [msgspec.json.decode(m.data) for m in again]
    assert [d["type"] for d in docs if d["aggregate_id"] == missed["id"]] == ["job.submitted"]
    assert all(d["aggregate_id"] != first["id"] for d in docs)
