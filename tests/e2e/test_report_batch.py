"""The batched worker protocol (issue 21): several leases in one call, several starts, task states
and finishes in one ``POST /v1/workers/{id}/reports``, each fenced by its own lease."""

import asyncio
from typing import Any

import httpx

from .test_workers_api import register

STRAY_LEASE = "0190c5a8-7b1e-7000-8000-00000000abcd"
RUN_CONTEXT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # a report's own W3C trace context


async def _job_state(api: httpx.AsyncClient, job_id: str, want: str) -> dict[str, Any]:
    job: dict[str, Any] = {}
    for _ in range(200):
        job = (await api.get(f"/v1/jobs/{job_id}")).json()
        if job["state"] == want:
            return job
        await asyncio.sleep(0.025)
    raise AssertionError(f"job {job_id} is {job.get('state')}, not {want}")


async def test_one_call_reports_several_runs_each_fenced_by_its_own_lease(api: httpx.AsyncClient) -> None:
    worker = await register(api, capacity=4)
    manifest = {"tasks": [{"name": "build", "script": "make"}]}
    ids = [(await api.post("/v1/jobs", json={"command": f"job {n}", "max_retries": 0})).json()["id"] for n in range(3)]
    ids.append((await api.post("/v1/jobs", json={"manifest": manifest, "max_retries": 0})).json()["id"])
    leases: list[dict[str, Any]] = []
    for _ in range(50):  # one call hands out several jobs once the scheduler has them all
        leases += (await worker.lease(max=4 - len(leases), wait_s=2)).json()["leases"]
        if len(leases) == 4:
            break
    by_job = {lease["job"]["id"]: lease["lease_id"] for lease in leases}
    assert sorted(by_job) == sorted(ids)
    first, second, third, built = (by_job[i] for i in ids)
    reports = [
        {"type": "start", "lease_id": first, "traceparent": RUN_CONTEXT, "tracestate": "run=1"},  # its run's
        {"type": "finish", "lease_id": first, "result": "succeeded", "exit_code": 0},  # after its start
        {"type": "finish", "lease_id": second, "result": "failed", "exit_code": 2,
         "started_at": "2026-12-06T08:00:00Z"},  # a short run's start travels with its finish
        {"type": "start", "lease_id": STRAY_LEASE},  # refused on its own: the others still apply
        {"type": "task", "lease_id": built, "name": "build", "state": "running"},
        {"type": "task", "lease_id": built, "name": "nope", "state": "running"},
        {"type": "finish", "lease_id": third, "result": "skipped"},  # given back unrun
    ]  # fmt: skip
    answer = await api.post(f"/v1/workers/{worker.id}/reports", json={"reports": reports}, auth=worker.auth)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["lease_id"] for r in results] == [r["lease_id"] for r in reports]
    assert [r.get("state") for r in results] == ["running", "succeeded", "failed", None, "assigned", None, "queued"]
    assert results[3]["error"]["code"] == "lease_not_current"
    assert results[5]["error"]["code"] == "unknown_task"
    await _job_state(api, ids[0], "succeeded")
    failed = await _job_state(api, ids[1], "failed")
    assert failed["started_at"] is not None  # recorded as started (no earlier than its lease), then failed
    built_job = await _job_state(api, ids[3], "assigned")
    assert [(t["name"], t["state"]) for t in built_job["tasks"]] == [("build", "running")]

    # The same finish again is answered, not applied twice; a finish carrying its tasks' states.
    again = [
        {"type": "finish", "lease_id": first, "result": "succeeded", "exit_code": 0},
        {"type": "finish", "lease_id": built, "result": "succeeded", "exit_code": 0,
         "tasks": [{"name": "build", "state": "succeeded", "exit_code": 0}]},
    ]  # fmt: skip
    answer = await api.post(f"/v1/workers/{worker.id}/reports", json={"reports": again}, auth=worker.auth)
    assert answer.status_code == 200, answer.text
    assert [r.get("error", {}).get("code") for r in answer.json()["results"]] == ["lease_not_current", None]
    built_job = await _job_state(api, ids[3], "succeeded")
    assert [(t["name"], t["state"]) for t in built_job["tasks"]] == [("build", "succeeded")]

    # The path's worker must be the credentials' one; the batch is validated as a whole.
    other = await register(api, name="other")
    stolen = await api.post(f"/v1/workers/{worker.id}/reports", json={"reports": again}, auth=other.auth)
    assert stolen.status_code == 403
    bad_batches: list[dict[str, Any]] = [
        {"reports": []},
        {"reports": [{"type": "launch", "lease_id": first}]},
        {"reports": [{"type": "start"}]},
        {"reports": [{"type": "start", "lease_id": first, "traceparent": "not a trace context"}]},
    ]
    for bad in bad_batches:
        refused = await api.post(f"/v1/workers/{worker.id}/reports", json=bad, auth=worker.auth)
        assert refused.status_code == 422, (bad, refused.text)
