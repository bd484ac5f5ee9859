"""Operator commands on jobs over HTTP: start a held job, pause/resume, reset, restart, delete."""

import asyncio
from typing import Any

import httpx

from .test_workers_api import WorkerClient, register


async def submit(api: httpx.AsyncClient, **body: Any) -> str:
    response = await api.post("/v1/jobs", json={"command": "true", **body})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


async def job(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = (await api.get(f"/v1/jobs/{job_id}")).json()
    return doc


async def wait_for(api: httpx.AsyncClient, job_id: str, state: str) -> dict[str, Any]:
    for _ in range(200):
        doc = await job(api, job_id)
        if doc.get("state") == state:
            return doc
        await asyncio.sleep(0.05)
    raise AssertionError(f"{job_id} never became {state}: {doc}")


async def lease_one(worker: WorkerClient) -> dict[str, Any]:
    response = await worker.lease(wait_s=5)
    [lease] = response.json()["leases"]
    return dict(lease)


async def test_a_held_job_starts_on_command(api: httpx.AsyncClient) -> None:
    job_id = await submit(api, execute=False)
    assert (await job(api, job_id))["state"] == "pending"
    started = await api.post(f"/v1/jobs/{job_id}/start")
    assert started.status_code == 200
    assert started.json()["state"] == "queued"
    again = await api.post(f"/v1/jobs/{job_id}/start")
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/job_not_held"


async def test_pause_stops_a_running_job_and_resume_runs_it_again(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    job_id = await submit(api)
    lease = await lease_one(worker)
    await worker.start(lease["lease_id"])
    paused = await api.post(f"/v1/jobs/{job_id}/pause")
    assert paused.json()["paused"] is True
    doc = await wait_for(api, job_id, "queued")
    assert doc["paused"] is True
    beat = (await worker.heartbeat(lease["lease_id"])).json()
    assert beat["stop"] == [{"lease_id": lease["lease_id"], "reason": "paused"}]
    assert (await worker.finish(lease["lease_id"], "succeeded")).status_code == 409
    assert (await worker.lease()).json()["leases"] == []  # paused jobs are not handed out
    assert (await api.post(f"/v1/jobs/{job_id}/resume")).json()["paused"] is False
    again = await lease_one(worker)
    assert (again["job"]["id"], again["attempt"]) == (job_id, 1)  # a paused run does not count


async def test_reset_and_restart(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    job_id = await submit(api, max_retries=0)
    lease = await lease_one(worker)
    busy = await api.post(f"/v1/jobs/{job_id}/restart")
    assert busy.status_code == 409
    assert busy.json()["type"] == "/problems/job_not_finished"
    await worker.finish(lease["lease_id"], "failed", 2)
    failed = await wait_for(api, job_id, "failed")
    assert failed["attempts"] == 1
    restarted = await api.post(f"/v1/jobs/{job_id}/restart")
    assert restarted.status_code == 200
    doc = await wait_for(api, job_id, "queued")
    assert (doc["attempts"], doc["exit_code"], doc["reason"]) == (0, None, "")
    second = await lease_one(worker)
    assert second["attempt"] == 1
    await worker.start(second["lease_id"])
    reset = await api.post(f"/v1/jobs/{job_id}/reset")  # reset also takes a job in flight
    assert reset.status_code == 200
    await wait_for(api, job_id, "queued")
    beat = (await worker.heartbeat(second["lease_id"])).json()
    assert beat["stop"] == [{"lease_id": second["lease_id"], "reason": "reset"}]


async def test_delete_hides_a_job_and_stops_its_run(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    job_id = await submit(api, project="to-delete")
    lease = await lease_one(worker)
    assert (await api.delete(f"/v1/jobs/{job_id}")).status_code == 204
    assert (await api.get(f"/v1/jobs/{job_id}")).status_code == 404
    listed = (await api.get("/v1/jobs", params={"project": "to-delete"})).json()
    assert listed["items"] == []
    beat = (await worker.heartbeat(lease["lease_id"])).json()
    assert beat["stop"] == [{"lease_id": lease["lease_id"], "reason": "deleted"}]
    assert (await api.delete(f"/v1/jobs/{job_id}")).status_code == 404
    assert (await api.post(f"/v1/jobs/{job_id}/pause")).status_code == 404
