"""PATCH /v1/jobs/{id}: edit a job's spec, optionally restarting a finished one."""

import httpx

from .test_job_commands import lease_one, submit, wait_for
from .test_workers_api import register


async def test_an_edit_changes_the_next_run_and_restart_runs_it(api: httpx.AsyncClient) -> None:
    worker = await register(api, labels=["gpu"])
    job_id = await submit(api, command="make", title="old", timeout_s=60)
    edited = await api.patch(f"/v1/jobs/{job_id}", json={"title": "new", "priority": 7, "timeout_s": None})
    assert edited.status_code == 200, edited.text
    doc = edited.json()
    assert (doc["title"], doc["priority"], doc["timeout_s"], doc["state"]) == ("new", 7, None, "queued")
    lease = await lease_one(worker)
    await worker.finish(lease["lease_id"], "failed", 1)
    await api.post(f"/v1/jobs/{job_id}/cancel")
    await wait_for(api, job_id, "cancelled")
    restarted = await api.patch(
        f"/v1/jobs/{job_id}?restart=true", json={"command": "make test", "labels": ["gpu"], "env": {"A": "1"}}
    )
    assert restarted.status_code == 200, restarted.text
    doc = restarted.json()
    assert doc["payload"] == {"kind": "command", "command": "make test", "workdir": None, "env": {"A": "1"}}
    assert (doc["state"], doc["attempts"], doc["labels"]) == ("queued", 0, ["gpu"])
    again = await lease_one(worker)
    assert again["job"]["payload"]["command"] == "make test"


async def test_bad_edits_are_refused(api: httpx.AsyncClient) -> None:
    job_id = await submit(api)
    empty = await api.patch(f"/v1/jobs/{job_id}", json={})
    assert empty.status_code == 422
    two = await api.patch(
        f"/v1/jobs/{job_id}", json={"command": "a", "manifest": {"tasks": [{"name": "x", "script": "y"}]}}
    )
    assert two.status_code == 422
    env_only = await api.patch(f"/v1/jobs/{job_id}", json={"env": {"A": "1"}})
    assert env_only.json()["errors"][0]["pointer"] == "/command"
    bad = await api.patch(f"/v1/jobs/{job_id}", json={"priority": 5000, "state": "succeeded"})
    assert bad.status_code == 422
    not_finished = await api.patch(f"/v1/jobs/{job_id}?restart=true", json={"title": "x"})
    assert not_finished.status_code == 409
    assert not_finished.json()["type"] == "/problems/job_not_finished"
    query = await api.patch(f"/v1/jobs/{job_id}?restart=maybe", json={"title": "x"})
    assert query.status_code == 422
    group = (await api.post("/v1/jobs", json={"group": True})).json()["id"]
    payload_for_group = await api.patch(f"/v1/jobs/{group}", json={"command": "make"})
    assert payload_for_group.status_code == 422
    missing = await api.patch("/v1/jobs/0190c5a8-7b1e-7000-8000-00000000dead", json={"title": "x"})
    assert missing.status_code == 404
