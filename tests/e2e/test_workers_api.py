"""Workers and the lease protocol over HTTP, through the real gateway and scheduler."""

import asyncio
from typing import Any

import httpx


class WorkerClient:
    """A small worker loop's HTTP calls, with its credentials."""

    def __init__(self, api: httpx.AsyncClient, registered: dict[str, Any]) -> None:
        self.api = api
        self.id = registered["id"]
        self.auth = httpx.BasicAuth(self.id, registered["secret"])

    async def lease(self, max: int = 1, wait_s: float = 0) -> httpx.Response:
        return await self.api.post(
            f"/v1/workers/{self.id}/lease", json={"max": max, "wait_s": wait_s}, auth=self.auth, timeout=wait_s + 10
        )

    async def heartbeat(self, *leases: str) -> httpx.Response:
        body = {"leases": list(leases), "load": 0.5, "memory_free_mb": 1000, "memory_total_mb": 2000}
        return await self.api.post(f"/v1/workers/{self.id}/heartbeat", json=body, auth=self.auth)

    async def start(self, lease_id: str) -> httpx.Response:
        return await self.api.post(f"/v1/leases/{lease_id}/start", auth=self.auth)

    async def finish(self, lease_id: str, result: str, exit_code: int | None = 0) -> httpx.Response:
        body = {"result": result, "exit_code": exit_code}
        return await self.api.post(f"/v1/leases/{lease_id}/finish", json=body, auth=self.auth)


async def register(api: httpx.AsyncClient, **body: Any) -> WorkerClient:
    response = await api.post("/v1/workers", json={"name": "builder", **body})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/workers/{response.json()['id']}"
    return WorkerClient(api, response.json())


async def test_a_worker_runs_a_job_from_lease_to_success(api: httpx.AsyncClient) -> None:
    worker = await register(api, labels=["linux"], capacity=2)
    waiting = asyncio.create_task(worker.lease(wait_s=10))
    await asyncio.sleep(0.3)
    submitted = await api.post("/v1/jobs", json={"command": "make", "labels": ["linux"]})
    job_id = submitted.json()["id"]
    leased = await asyncio.wait_for(waiting, 5)  # pushed to the waiting worker
    assert leased.status_code == 200
    [lease] = leased.json()["leases"]
    assert lease["job"]["id"] == job_id
    assert lease["job"]["payload"]["command"] == "make"
    assert lease["attempt"] == 1
    assert (await worker.start(lease["lease_id"])).json()["state"] == "running"
    beat = await worker.heartbeat(lease["lease_id"])
    assert beat.status_code == 200
    assert beat.json()["stop"] == []
    assert (await worker.finish(lease["lease_id"], "succeeded")).json()["state"] == "succeeded"
    for _ in range(100):
        job = (await api.get(f"/v1/jobs/{job_id}")).json()
        if job["state"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert (job["state"], job["worker_id"], job["exit_code"]) == ("succeeded", worker.id, 0)
    again = await worker.finish(lease["lease_id"], "failed", 1)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/lease_not_current"
    shown = (await api.get(f"/v1/workers/{worker.id}")).json()
    assert (shown["state"], shown["finished_count"], shown["load"]) == ("idle", 1, 0.5)
    assert shown["last_seen_at"] is not None
    assert "secret" not in shown and "secret_hash" not in shown


async def test_wrong_credentials_get_401_and_change_nothing(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    other = await register(api, name="other")
    await api.post("/v1/jobs", json={"command": "true"})
    wrong = httpx.BasicAuth(worker.id, "not-the-secret")
    refused = await api.post(f"/v1/workers/{worker.id}/lease", json={}, auth=wrong)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    assert "not-the-secret" not in refused.text
    assert (await api.post(f"/v1/workers/{worker.id}/lease", json={})).status_code == 401
    foreign = await api.post(f"/v1/workers/{worker.id}/lease", json={}, auth=other.auth)
    assert foreign.status_code == 403
    # Nothing was leased by the refused calls: the real worker still gets the job.
    [lease] = (await worker.lease(wait_s=5)).json()["leases"]
    stolen = await api.post(f"/v1/leases/{lease['lease_id']}/finish", json={"result": "succeeded"}, auth=other.auth)
    assert stolen.status_code == 409


async def test_cancel_reaches_the_running_worker_through_its_heartbeat(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    job_id = (await api.post("/v1/jobs", json={"command": "sleep 600"})).json()["id"]
    [lease] = (await worker.lease(wait_s=5)).json()["leases"]
    await worker.start(lease["lease_id"])
    cancelled = await api.post(f"/v1/jobs/{job_id}/cancel", json={"reason": "not needed"})
    assert cancelled.status_code == 200
    for _ in range(100):
        if (await api.get(f"/v1/jobs/{job_id}")).json()["state"] == "cancelled":
            break
        await asyncio.sleep(0.05)
    beat = (await worker.heartbeat(lease["lease_id"])).json()
    assert beat["stop"] == [{"lease_id": lease["lease_id"], "reason": "cancelled"}]
    assert (await worker.finish(lease["lease_id"], "succeeded")).status_code == 409
    finished = await api.post(f"/v1/jobs/{job_id}/cancel", json={})
    assert finished.status_code == 409
    assert finished.json()["type"] == "/problems/job_finished"


async def test_pause_drain_and_delete_a_worker(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    await api.post("/v1/jobs", json={"command": "true"})
    paused = await api.post(f"/v1/workers/{worker.id}/pause")
    assert paused.json()["mode"] == "paused"
    for _ in range(50):
        refused = await worker.lease()
        if refused.status_code == 409:
            break
        await asyncio.sleep(0.05)
    assert refused.json()["type"] == "/problems/worker_paused"
    assert (await api.post(f"/v1/workers/{worker.id}/drain")).json()["mode"] == "draining"
    await asyncio.sleep(0.3)
    assert (await worker.lease()).json() == {"leases": []}
    assert (await api.post(f"/v1/workers/{worker.id}/resume")).json()["mode"] == "active"
    await asyncio.sleep(0.3)
    assert len((await worker.lease(wait_s=5)).json()["leases"]) == 1
    assert (await api.delete(f"/v1/workers/{worker.id}")).status_code == 204
    assert (await worker.lease()).status_code == 401
    listed = (await api.get("/v1/workers")).json()["items"]
    assert worker.id not in [w["id"] for w in listed]


async def test_worker_inputs_are_validated(api: httpx.AsyncClient) -> None:
    bad = await api.post("/v1/workers", json={"name": "x y", "capacity": 0, "extra": 1})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/name", "/capacity", "/extra"}
    worker = await register(api)
    too_many = await api.post(f"/v1/workers/{worker.id}/lease", json={"max": 1000}, auth=worker.auth)
    assert too_many.status_code == 422
    bad_result = await api.post(
        "/v1/leases/0190c5a8-7b1e-7000-8000-000000000001/finish", json={"result": "meh"}, auth=worker.auth
    )
    assert bad_result.status_code == 422
    assert (await api.get("/v1/workers/nope")).status_code == 422
    assert (await api.get("/v1/workers/0190c5a8-7b1e-7000-8000-000000000999")).status_code == 404


async def test_pausing_a_worker_stops_its_runs_and_they_run_elsewhere(api: httpx.AsyncClient) -> None:
    first = await register(api, name="first")
    job_id = (await api.post("/v1/jobs", json={"command": "sleep 60"})).json()["id"]
    [lease] = (await first.lease(wait_s=5)).json()["leases"]
    await first.start(lease["lease_id"])
    assert (await api.post(f"/v1/workers/{first.id}/pause")).status_code == 200
    for _ in range(100):
        beat = (await first.heartbeat(lease["lease_id"])).json()
        if beat["stop"]:
            break
        await asyncio.sleep(0.05)
    assert beat["stop"] == [{"lease_id": lease["lease_id"], "reason": "worker_paused"}]
    second = await register(api, name="second")
    [again] = (await second.lease(wait_s=5)).json()["leases"]
    assert (again["job"]["id"], again["attempt"]) == (job_id, 1)  # the paused run did not count
    late = await first.finish(lease["lease_id"], "succeeded")
    assert late.status_code == 409
