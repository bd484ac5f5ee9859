"""Manifest tasks reported by the worker, and verification quorums, over HTTP."""

import httpx

from .test_job_commands import job, lease_one, submit, wait_for
from .test_trees import wait_until
from .test_workers_api import register

MANIFEST = {"tasks": [{"name": "setup", "script": "true"}, {"name": "build", "script": "make"}]}


async def test_a_manifest_job_reports_each_task(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    job_id = await submit(api, command=None, manifest=MANIFEST)
    doc = await job(api, job_id)
    assert [(t["name"], t["state"]) for t in doc["tasks"]] == [("setup", "pending"), ("build", "pending")]
    lease = await lease_one(worker)
    lid = lease["lease_id"]
    assert [t["name"] for t in lease["job"]["tasks"]] == ["setup", "build"]
    await worker.start(lid)
    url = f"/v1/leases/{lid}/tasks"
    running = await api.post(f"{url}/setup", json={"state": "running"}, auth=worker.auth)
    assert (running.status_code, running.json()["state"]) == (200, "running")
    await api.post(f"{url}/setup", json={"state": "succeeded", "exit_code": 0}, auth=worker.auth)
    doc = await wait_until(api, job_id, lambda d: d["tasks"][0]["state"] == "succeeded")
    assert doc["tasks"][0]["exit_code"] == 0
    unknown = await api.post(f"{url}/deploy", json={"state": "running"}, auth=worker.auth)
    assert unknown.status_code == 422
    assert unknown.json()["type"] == "/problems/unknown_task"
    assert "setup, build" in unknown.json()["detail"]
    bad_state = await api.post(f"{url}/build", json={"state": "exploded"}, auth=worker.auth)
    assert bad_state.status_code == 422
    bad_name = await api.post(f"{url}/..%2Fetc", json={"state": "running"}, auth=worker.auth)
    assert bad_name.status_code in (404, 422)
    no_auth = await api.post(f"{url}/build", json={"state": "running"})
    assert no_auth.status_code == 401
    body = {"result": "failed", "exit_code": 2, "tasks": [{"name": "build", "state": "failed", "exit_code": 2}]}
    finished = await api.post(f"/v1/leases/{lid}/finish", json=body, auth=worker.auth)
    assert finished.status_code == 200
    assert finished.json()["state"] == "queued"  # retried
    doc = await wait_until(api, job_id, lambda d: d["state"] == "queued")
    assert (doc["tasks"][1]["state"], doc["tasks"][1]["exit_code"]) == ("failed", 2)
    stale = await api.post(f"{url}/build", json={"state": "running"}, auth=worker.auth)
    assert stale.status_code == 409  # the lease is a fencing token for task reports too
    again = await lease_one(worker)
    assert [t["state"] for t in again["job"]["tasks"]] == ["succeeded", "failed"]
    reset = await api.post(f"/v1/jobs/{job_id}/reset")
    assert [t["state"] for t in reset.json()["tasks"]] == ["pending", "pending"]


async def test_a_job_closes_only_when_enough_different_workers_agree(api: httpx.AsyncClient) -> None:
    one, two, three = [await register(api, name=f"w{i}") for i in range(3)]
    job_id = await submit(api, verification=2, max_retries=1)
    first = await lease_one(one)
    need_hash = await one.api.post(
        f"/v1/leases/{first['lease_id']}/finish", json={"result": "succeeded"}, auth=one.auth
    )
    assert need_hash.status_code == 422
    assert need_hash.json()["type"] == "/problems/verification_required"
    done = await one.api.post(
        f"/v1/leases/{first['lease_id']}/finish", json={"result": "succeeded", "verification": "h1"}, auth=one.auth
    )
    assert done.json()["state"] == "awaiting_verification"
    assert (await one.lease()).json()["leases"] == []  # the same worker may not vote twice
    second = await lease_one(two)
    assert second["attempt"] == 2
    disagree = await two.api.post(
        f"/v1/leases/{second['lease_id']}/finish", json={"result": "succeeded", "verification": "h2"}, auth=two.auth
    )
    assert disagree.json()["state"] == "awaiting_verification"
    third = await lease_one(three)
    agree = await three.api.post(
        f"/v1/leases/{third['lease_id']}/finish", json={"result": "succeeded", "verification": "h1"}, auth=three.auth
    )
    assert agree.json()["state"] == "succeeded"
    doc = await wait_for(api, job_id, "succeeded")
    assert doc["verified"] == "h1"
    assert [v["hash"] for v in doc["votes"]] == ["h1", "h2"]


async def test_a_quorum_that_never_forms_fails(api: httpx.AsyncClient) -> None:
    workers = [await register(api, name=f"w{i}") for i in range(2)]
    job_id = await submit(api, verification=2, max_retries=0)
    for i, w in enumerate(workers):
        lease = await lease_one(w)
        body = {"result": "succeeded", "verification": f"h{i}"}
        await w.api.post(f"/v1/leases/{lease['lease_id']}/finish", json=body, auth=w.auth)
    doc = await wait_for(api, job_id, "failed")
    assert doc["reason"].startswith("no verification quorum")


async def test_explain_says_whose_vote_a_quorum_job_waits_for(api: httpx.AsyncClient) -> None:
    worker = await register(api, name="only")
    job_id = await submit(api, verification=3)
    lease = await lease_one(worker)
    body = {"result": "succeeded", "verification": "abc"}
    await api.post(f"/v1/leases/{lease['lease_id']}/finish", json=body, auth=worker.auth)
    await wait_for(api, job_id, "awaiting_verification")
    explained = (await api.get(f"/v1/jobs/{job_id}/explain")).json()
    codes = [r["code"] for r in explained["reasons"]]
    assert codes[0] == "awaiting_verification"
    assert explained["reasons"][0]["data"] == {"needed": 3, "agreeing": 1, "voters": [worker.id]}
