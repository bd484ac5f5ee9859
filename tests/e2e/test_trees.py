"""Parent/child trees over HTTP: a group's state and counters follow its children; commands on a
parent reach the whole tree; the children endpoint lists them."""

import asyncio
from typing import Any

import httpx

from .test_job_commands import job, lease_one, submit, wait_for
from .test_workers_api import register


async def group(api: httpx.AsyncClient, **body: Any) -> str:
    response = await api.post("/v1/jobs", json={"group": True, "title": "render", **body})
    assert response.status_code == 201, response.text
    assert response.json()["payload"] is None
    job_id: str = response.json()["id"]
    return job_id


async def wait_until(api: httpx.AsyncClient, job_id: str, check: Any) -> dict[str, Any]:
    for _ in range(200):
        doc = await job(api, job_id)
        if check(doc):
            return doc
        await asyncio.sleep(0.05)
    raise AssertionError(f"{job_id} never got there: {doc}")


async def test_a_group_follows_its_children_to_success(api: httpx.AsyncClient) -> None:
    worker = await register(api, capacity=3)
    parent = await group(api)
    assert (await wait_for(api, parent, "queued"))["children"] == {}
    kids = [await submit(api, parent=parent, title=f"shot {i}") for i in range(3)]
    doc = await wait_until(api, parent, lambda d: d["children"] == {"queued": 3})
    assert (doc["state"], doc["progress"]) == ("queued", 0.0)
    leases = [await lease_one(worker) for _ in kids]
    assert {lease["job"]["id"] for lease in leases} == set(kids)  # the group itself is never handed out
    assert (await worker.lease()).json()["leases"] == []
    await worker.start(leases[0]["lease_id"])
    doc = await wait_until(api, parent, lambda d: d["children"] == {"running": 1, "assigned": 2})
    assert doc["state"] == "running"
    for lease in leases:
        assert (await worker.finish(lease["lease_id"], "succeeded")).status_code == 200
    doc = await wait_for(api, parent, "succeeded")
    assert (doc["children"], doc["progress"]) == ({"succeeded": 3}, 100.0)
    # A finished tree does not grow.
    late = await api.post("/v1/jobs", json={"command": "true", "parent": parent})
    assert late.status_code == 409
    assert late.json()["type"] == "/problems/parent_finished"


async def test_counters_roll_up_through_nested_groups_and_a_failure_fails_the_group(api: httpx.AsyncClient) -> None:
    worker = await register(api, capacity=4)
    top = await group(api)
    inner = await group(api, parent=top)
    ok = await submit(api, parent=top)
    bad = await submit(api, parent=inner, max_retries=0)
    await wait_until(api, top, lambda d: d["children"] == {"queued": 2})
    for _ in range(2):
        lease = await lease_one(worker)
        result = "failed" if lease["job"]["id"] == bad else "succeeded"
        await worker.finish(lease["lease_id"], result, 1 if result == "failed" else 0)
    assert (await wait_for(api, inner, "failed"))["children"] == {"failed": 1}
    doc = await wait_for(api, top, "failed")
    assert doc["children"] == {"failed": 1, "succeeded": 1}
    assert doc["reason"] == "1 of 2 children failed"
    assert (await job(api, ok))["state"] == "succeeded"


async def test_children_endpoint_lists_direct_children_with_filters(api: httpx.AsyncClient) -> None:
    parent = await submit(api, title="build")  # any job may have children; only a group's state follows them
    kids = [await submit(api, parent=parent, title=f"part {i}") for i in range(3)]
    grandchild = await submit(api, parent=kids[0])
    page = (await api.get(f"/v1/jobs/{parent}/children", params={"limit": 2})).json()
    assert [j["id"] for j in page["items"]] == [kids[2], kids[1]]
    rest = (await api.get(f"/v1/jobs/{parent}/children", params={"cursor": page["next_cursor"]})).json()
    assert [j["id"] for j in rest["items"]] == [kids[0]]
    assert [j["id"] for j in (await api.get(f"/v1/jobs?parent={kids[0]}")).json()["items"]] == [grandchild]
    doc = await wait_until(api, parent, lambda d: d["children"] == {"queued": 3})
    assert doc["state"] == "queued"  # its own run, not its children's
    missing = await api.get("/v1/jobs/0190c5a8-7b1e-7000-8000-00000000dead/children")
    assert missing.status_code == 404
    bad = await api.get(f"/v1/jobs/{parent}/children", params={"state": "nope"})
    assert bad.status_code == 422


async def test_cancel_pause_reset_and_delete_reach_the_whole_tree(api: httpx.AsyncClient) -> None:
    worker = await register(api, capacity=2)
    top = await group(api)
    kids = [await submit(api, parent=top) for _ in range(2)]
    grandkid = await submit(api, parent=kids[0])
    await wait_until(api, top, lambda d: d["children"] == {"queued": 2})
    paused = await api.post(f"/v1/jobs/{top}/pause")
    assert paused.status_code == 200
    for k in (*kids, grandkid):
        assert (await wait_until(api, k, lambda d: d["paused"]))["paused"]
    assert (await worker.lease()).json()["leases"] == []  # nothing of a paused tree is handed out
    assert (await api.post(f"/v1/jobs/{top}/resume")).status_code == 200
    lease = await lease_one(worker)
    await worker.start(lease["lease_id"])
    cancelled = await api.post(f"/v1/jobs/{top}/cancel", json={"reason": "wrong scene"})
    assert cancelled.status_code == 200
    for k in (*kids, grandkid):
        await wait_for(api, k, "cancelled")
    doc = await wait_for(api, top, "cancelled")
    assert doc["children"] == {"cancelled": 2}
    beat = (await worker.heartbeat(lease["lease_id"])).json()
    assert beat["stop"] == [{"lease_id": lease["lease_id"], "reason": "cancelled"}]
    assert (await api.post(f"/v1/jobs/{top}/reset")).status_code == 200
    for k in (*kids, grandkid):
        await wait_for(api, k, "queued")
    await wait_until(api, top, lambda d: d["state"] == "queued" and d["children"] == {"queued": 2})
    deleted = await api.delete(f"/v1/jobs/{top}")
    assert deleted.status_code == 204
    for k in (top, *kids, grandkid):
        assert (await api.get(f"/v1/jobs/{k}")).status_code == 404


async def test_bad_trees_are_refused(api: httpx.AsyncClient) -> None:
    both = await api.post("/v1/jobs", json={"group": True, "command": "make"})
    assert both.status_code == 422
    assert [e["pointer"] for e in both.json()["errors"]] == ["/command"]
    unknown = await api.post("/v1/jobs", json={"command": "true", "parent": "0190c5a8-7b1e-7000-8000-00000000beef"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/parent"
    jobs = [{"command": "a"}, {"group": True}, {"command": "b", "parent": "0190c5a8-7b1e-7000-8000-00000000beef"}]
    bulk = await api.post("/v1/jobs/bulk", json={"jobs": jobs})
    assert bulk.status_code == 422
    assert [e["pointer"] for e in bulk.json()["errors"]] == ["/jobs/2/parent"]


async def test_explain_says_a_group_follows_its_children(api: httpx.AsyncClient) -> None:
    parent = await group(api)
    await submit(api, parent=parent)
    await wait_until(api, parent, lambda d: d["children"] == {"queued": 1})
    explained = (await api.get(f"/v1/jobs/{parent}/explain")).json()
    assert [r["code"] for r in explained["reasons"]] == ["group"]
    assert explained["reasons"][0]["data"] == {"children": {"queued": 1}}
    assert "1 child (1 queued)" in explained["summary"]
