"""Explain (why a job is not running) and bulk submission, over HTTP through the real gateway and scheduler."""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from .test_workers_api import WorkerClient, register

MISSING_JOB = "0190c5a8-7b1e-7000-8000-000000000999"


async def submit(api: httpx.AsyncClient, **body: Any) -> str:
    response = await api.post("/v1/jobs", json={"command": "true", **body})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


async def explain(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/jobs/{job_id}/explain")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["job_id"] == job_id
    assert body["summary"]
    return body


def codes(explained: dict[str, Any]) -> list[str]:
    return [r["code"] for r in explained["reasons"]]


async def wait_for_job(api: httpx.AsyncClient, job_id: str, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    for _ in range(100):
        job: dict[str, Any] = (await api.get(f"/v1/jobs/{job_id}")).json()
        if until(job):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never got there: {job}")


async def heartbeat(worker: WorkerClient) -> None:
    """A heartbeat, retried while the scheduler is still starting (503: it does not answer yet)."""
    for _ in range(100):
        response = await worker.heartbeat()
        if response.status_code != 503:
            assert response.status_code == 200, response.text
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the scheduler never answered a heartbeat")


async def online_worker(api: httpx.AsyncClient, **body: Any) -> WorkerClient:
    worker = await register(api, **body)
    await heartbeat(worker)
    return worker


async def test_explain_ready_and_behind_higher_priority(api: httpx.AsyncClient) -> None:
    await online_worker(api, labels=["linux"], capacity=1)
    first = await submit(api, labels=["linux"], priority=5, project="a")
    second = await submit(api, labels=["linux"], priority=0, project="b")
    await submit(api, labels=["gpu"], priority=9)  # higher, but no matching worker could run it
    ready = await explain(api, first)
    assert codes(ready) == ["ready"]
    assert ready["state"] == "queued"
    assert "as soon as a matching worker asks for work" in ready["summary"]
    behind = await explain(api, second)
    assert codes(behind) == ["behind_higher_priority"]
    assert behind["reasons"][0]["data"] == {"ahead": 1, "priority": 0}
    assert behind["summary"].startswith("1 queued job that a matching worker would serve first")


async def test_explain_no_matching_worker_registered_offline_or_paused(api: httpx.AsyncClient) -> None:
    job_id = await submit(api, labels=["gpu"])
    await register(api, name="cpu-only", labels=["linux"])
    none = await explain(api, job_id)
    assert codes(none) == ["no_matching_worker"]
    assert none["summary"] == "No worker has labels gpu (1 worker registered in all)."
    gpu = await register(api, name="gpu-1", labels=["gpu", "linux"])  # never heartbeats: offline
    offline = await explain(api, job_id)
    assert codes(offline) == ["no_matching_worker"]
    assert offline["reasons"][0]["data"] == {
        "labels": ["gpu"],
        "matching": 1,
        "registered": 2,
        "offline": 1,
        "paused": 0,
        "draining": 0,
    }
    assert "The only worker with labels gpu is unavailable: 1 offline" in offline["summary"]
    await heartbeat(gpu)
    assert codes(await explain(api, job_id)) == ["ready"]
    assert (await api.post(f"/v1/workers/{gpu.id}/pause")).status_code == 200
    paused = await explain(api, job_id)
    assert paused["reasons"][0]["data"]["paused"] == 1


async def test_explain_no_worker_access_to_a_private_project(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/projects", json={"name": "closed"})).status_code == 201  # private by default
    job_id = await submit(api, labels=["render"], project="closed")
    worker = await online_worker(api, name="renderer", labels=["render"])
    closed = await explain(api, job_id)
    assert codes(closed) == ["no_worker_access"]
    assert closed["reasons"][0]["data"] == {"project": "closed", "matching": 1, "granted": 0}
    assert "none of the 1 worker with labels render has assign access" in closed["summary"]
    grant = {"status": "granted", "assign": True}
    assert (await api.put(f"/v1/projects/closed/workers/{worker.id}", json=grant)).status_code == 200
    assert codes(await explain(api, job_id)) == ["ready"]
    public = await submit(api, labels=["render"], project="open-to-all")  # no such project: any worker
    assert codes(await explain(api, public)) == ["behind_higher_priority"]  # the closed job is first


async def test_explain_workers_busy_then_assigned_and_running(api: httpx.AsyncClient) -> None:
    worker = await online_worker(api, labels=["linux"], capacity=1)
    first = await submit(api, labels=["linux"])
    [lease] = (await worker.lease(wait_s=5)).json()["leases"]
    await wait_for_job(api, first, lambda j: j["state"] == "assigned")
    second = await submit(api, labels=["linux"])
    busy = await explain(api, second)
    assert codes(busy) == ["workers_busy"]
    assert busy["reasons"][0]["data"] == {"workers": 1, "in_use": 1, "capacity": 1}
    assigned = await explain(api, first)
    assert codes(assigned) == ["assigned"]
    assert assigned["reasons"][0]["data"]["worker_id"] == worker.id
    assert f"assigned to worker builder ({worker.id})" in assigned["summary"]
    await worker.start(lease["lease_id"])
    await wait_for_job(api, first, lambda j: j["state"] == "running")
    running = await explain(api, first)
    assert codes(running) == ["running"]
    assert running["reasons"][0]["data"]["worker_online"] is True


async def test_explain_a_held_job(api: httpx.AsyncClient) -> None:
    await online_worker(api)
    job_id = await api.post("/v1/jobs", json={"command": "true", "execute": False})
    held = await explain(api, job_id.json()["id"])
    assert held["state"] == "pending"
    assert codes(held) == ["held"]
    assert f"POST /v1/jobs/{job_id.json()['id']}/start" in held["summary"]


async def test_explain_a_job_waiting_on_its_dependencies(api: httpx.AsyncClient) -> None:
    first = await submit(api, labels=["nowhere"])  # stays queued: no worker has this label
    second = await submit(api, depends_on=[first])
    blocked = await explain(api, second)
    assert blocked["state"] == "blocked"
    assert codes(blocked)[0] == "waiting_on_dependencies"
    assert blocked["reasons"][0]["data"]["waiting"] == [{"id": first, "state": "queued"}]
    assert blocked["summary"].startswith(f"The job waits for its dependency to succeed: {first} (queued)")


async def test_explain_retry_backoff_after_a_failed_attempt(api: httpx.AsyncClient) -> None:
    worker = await online_worker(api)
    job_id = await submit(api, max_retries=2)
    [lease] = (await worker.lease(wait_s=5)).json()["leases"]
    await worker.start(lease["lease_id"])
    assert (await worker.finish(lease["lease_id"], "failed", 1)).json()["state"] == "queued"
    await wait_for_job(api, job_id, lambda j: j["retry_at"] is not None)
    backoff = await explain(api, job_id)  # the first backoff lasts 1 to 2 s
    assert codes(backoff)[0] == "retry_backoff"
    data = backoff["reasons"][0]["data"]
    assert (data["attempt"], data["max_attempts"], data["last_failure"]) == (1, 3, "exit code 1")
    assert backoff["summary"].startswith("Attempt 1 of 3 failed (exit code 1); attempt 2 is eligible at")


async def test_explain_finished_jobs_and_bad_ids(api: httpx.AsyncClient) -> None:
    worker = await online_worker(api)
    job_id = await submit(api)
    [lease] = (await worker.lease(wait_s=5)).json()["leases"]
    await worker.finish(lease["lease_id"], "succeeded", 0)
    await wait_for_job(api, job_id, lambda j: j["state"] == "succeeded")
    done = await explain(api, job_id)
    assert codes(done) == ["finished"]
    assert (done["reasons"][0]["data"]["state"], done["reasons"][0]["data"]["exit_code"]) == ("succeeded", 0)
    assert "The job succeeded at" in done["summary"]
    cancelled = await submit(api, labels=["nowhere"])
    await api.post(f"/v1/jobs/{cancelled}/cancel", json={"reason": "not needed"})
    gone = await explain(api, cancelled)
    assert codes(gone) == ["finished"]
    assert gone["summary"].endswith(": not needed.")
    missing = await api.get(f"/v1/jobs/{MISSING_JOB}/explain")
    assert (missing.status_code, missing.json()["type"]) == (404, "/problems/job_not_found")
    bad = await api.get("/v1/jobs/nope/explain")
    assert (bad.status_code, bad.json()["type"]) == (422, "/problems/invalid_id")


async def test_bulk_submits_500_jobs_in_one_call(api: httpx.AsyncClient) -> None:
    # ~1.6 MB: over the 1 MiB limit of one job, within the bulk limit.
    jobs = [{"command": f"echo {i}", "project": "bulk", "note": "n" * 3000} for i in range(500)]
    response = await api.post("/v1/jobs/bulk", json={"jobs": jobs}, timeout=30)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["count"] == 500
    assert {j["status"] for j in body["jobs"]} == {"created"}
    ids = [j["id"] for j in body["jobs"]]
    assert len(set(ids)) == 500
    listed = (await api.get("/v1/jobs", params={"project": "bulk", "limit": 500})).json()
    assert {j["id"] for j in listed["items"]} == set(ids)
    assert listed["next_cursor"] is None
    assert {j["state"] for j in listed["items"]} == {"queued"}
    first = (await api.get(f"/v1/jobs/{ids[0]}")).json()
    assert (first["payload"]["command"], first["project"]) == ("echo 0", "bulk")


async def test_bulk_with_one_invalid_item_stores_nothing(api: httpx.AsyncClient) -> None:
    jobs: list[dict[str, Any]] = [{"command": "true", "project": "all-or-none"} for _ in range(5)]
    jobs[3]["priority"] = "high"
    response = await api.post("/v1/jobs/bulk", json={"jobs": jobs})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/validation_failed"
    assert [e["pointer"] for e in problem["errors"]] == ["/jobs/3/priority"]
    empty = await api.post("/v1/jobs/bulk", json={"jobs": []})
    assert [e["pointer"] for e in empty.json()["errors"]] == ["/jobs"]
    await asyncio.sleep(0.3)
    listed = (await api.get("/v1/jobs", params={"project": "all-or-none"})).json()
    assert listed["items"] == []


async def test_bulk_checks_dependencies_exist(api: httpx.AsyncClient) -> None:
    known = await submit(api)
    jobs = [
        {"command": "a", "project": "deps", "depends_on": [known]},
        {"command": "b", "project": "deps", "depends_on": [known, MISSING_JOB]},
    ]
    refused = await api.post("/v1/jobs/bulk", json={"jobs": jobs})
    assert refused.status_code == 422
    assert [e["pointer"] for e in refused.json()["errors"]] == ["/jobs/1/depends_on/1"]
    assert (await api.get("/v1/jobs", params={"project": "deps"})).json()["items"] == []
    jobs[1]["depends_on"] = [known]
    accepted = await api.post("/v1/jobs/bulk", json={"jobs": jobs})
    assert accepted.status_code == 201
    states = {(await api.get(f"/v1/jobs/{j['id']}")).json()["state"] for j in accepted.json()["jobs"]}
    assert states == {"blocked"}


async def test_bulk_dedupe_keys_report_existing_jobs(api: httpx.AsyncClient) -> None:
    before = await submit(api, project="d", dedupe_key="k2")
    jobs = [
        {"command": "a", "project": "d", "dedupe_key": "k1"},
        {"command": "b", "project": "d", "dedupe_key": "k1"},  # the same key twice in one call
        {"command": "c", "project": "d", "dedupe_key": "k2"},  # used before the call
        {"command": "d", "project": "d"},
    ]
    response = await api.post("/v1/jobs/bulk", json={"jobs": jobs})
    assert response.status_code == 201, response.text
    items = response.json()["jobs"]
    assert [j["status"] for j in items] == ["created", "existing", "existing", "created"]
    assert items[0]["id"] == items[1]["id"]
    assert items[2]["id"] == before
    first = (await api.get(f"/v1/jobs/{items[0]['id']}")).json()
    assert first["payload"]["command"] == "a"
    again = await api.post("/v1/jobs/bulk", json={"jobs": jobs[:3]})
    assert again.status_code == 201
    assert [j["status"] for j in again.json()["jobs"]] == ["existing"] * 3


async def test_bulk_respond_async(api: httpx.AsyncClient) -> None:
    jobs = [{"command": "true", "project": "async"} for _ in range(20)]
    response = await api.post("/v1/jobs/bulk", json={"jobs": jobs}, headers={"Prefer": "respond-async"})
    assert response.status_code == 202
    assert response.headers["preference-applied"] == "respond-async"
    body = response.json()
    assert (body["count"], {j["status"] for j in body["jobs"]}) == (20, {"created"})
    for item in body["jobs"]:
        await wait_for_job(api, item["id"], lambda j: j.get("state") == "queued")
