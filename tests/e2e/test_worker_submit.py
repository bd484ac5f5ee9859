"""Workers submitting jobs with their own credentials: only with submit access granted on the
project, children only under a job they lease or of a project they may submit to."""

import asyncio
from typing import Any

import httpx

from .test_projects import as_user
from .test_workers_api import WorkerClient, register


async def granted(owner: httpx.AsyncClient, project: str, worker: WorkerClient, **access: bool) -> None:
    answer = await owner.put(f"/v1/projects/{project}/workers/{worker.id}", json={"status": "granted", **access})
    assert answer.status_code == 200, answer.text


async def lease_one(worker: WorkerClient, job_id: str) -> str:
    for _ in range(50):
        leases = (await worker.lease(max=1, wait_s=1)).json()["leases"]
        if leases:
            assert leases[0]["job"]["id"] == job_id
            return str(leases[0]["lease_id"])
    raise AssertionError(f"job {job_id} was never leased")


def shape(answer: httpx.Response, name: str) -> tuple[int, Any, Any, Any]:
    body = answer.json()
    return answer.status_code, body["type"], body["title"], body["detail"].replace(repr(name), "<project>")


async def test_a_worker_submits_only_with_granted_submit_access(api: httpx.AsyncClient) -> None:
    alice = await as_user(api, "alice")
    async with alice:
        for name, visibility in (("farm", "private"), ("vault", "hidden"), ("pub", "public")):
            made = await alice.post("/v1/projects", json={"name": name, "visibility": visibility})
            assert made.status_code == 201, made.text
        worker = await register(api)
        job = {"command": "true", "execute": False}

        # no grant: one and the same refusal for a private, hidden, public and missing project
        refusals = [
            await api.post("/v1/jobs", json={**job, "project": name}, auth=worker.auth)
            for name in ("farm", "vault", "pub", "nowhere")
        ]
        shapes = {shape(r, name) for r, name in zip(refusals, ("farm", "vault", "pub", "nowhere"), strict=True)}
        assert len(shapes) == 1 and next(iter(shapes))[0] == 403, shapes
        assert "access-requests" in refusals[0].json()["detail"]

        # assign access alone is not submit access
        await granted(alice, "farm", worker, assign=True)
        assert (await api.post("/v1/jobs", json={**job, "project": "farm"}, auth=worker.auth)).status_code == 403

        await granted(alice, "farm", worker, assign=True, submit=True)
        created = await api.post("/v1/jobs", json={**job, "project": "farm", "title": "mine"}, auth=worker.auth)
        assert created.status_code == 201, created.text
        assert created.json()["owner"] == f"worker:{worker.id}"
        # the project's owner reads it, and finds it by the worker's owner name
        listed = await alice.get("/v1/jobs", params={"owner": f"worker:{worker.id}"})
        assert [j["id"] for j in listed.json()["items"]] == [created.json()["id"]]

        # bulk: all or none, with the same rule for each job
        bulk = {"jobs": [{**job, "project": "farm"}, {**job, "project": "pub"}]}
        assert (await api.post("/v1/jobs/bulk", json=bulk, auth=worker.auth)).status_code == 403
        bulk = {"jobs": [{**job, "project": "farm"}, {**job, "project": "farm"}]}
        stored = await api.post("/v1/jobs/bulk", json=bulk, auth=worker.auth)
        assert stored.status_code == 201 and stored.json()["count"] == 2

        # a wrong secret, or worker credentials anywhere else, are not accepted
        wrong = httpx.BasicAuth(worker.id, "not-the-secret")
        assert (await api.post("/v1/jobs", json={**job, "project": "farm"}, auth=wrong)).status_code == 401
        assert (await api.get("/v1/jobs", auth=worker.auth)).status_code == 401


async def test_a_worker_adds_children_under_its_lease_or_its_projects(api: httpx.AsyncClient) -> None:
    alice = await as_user(api, "alice")
    async with alice:
        assert (await alice.post("/v1/projects", json={"name": "farm"})).status_code == 201
        assert (await alice.post("/v1/projects", json={"name": "other"})).status_code == 201
        worker = await register(api)
        await granted(alice, "farm", worker, submit=True)
        await granted(alice, "other", worker, assign=True)
        parked = (await alice.post("/v1/jobs", json={"project": "other", "command": "x", "execute": False})).json()
        in_farm = (await alice.post("/v1/jobs", json={"project": "farm", "command": "x", "execute": False})).json()
        runnable = (await alice.post("/v1/jobs", json={"project": "other", "command": "x"})).json()
        child = {"project": "farm", "command": "true", "execute": False}

        # a job of a project it may not submit to, not leased: as if there were none
        refused = await api.post("/v1/jobs", json={**child, "parent": parked["id"]}, auth=worker.auth)
        assert (refused.status_code, refused.json()["errors"][0]["pointer"]) == (422, "/parent")
        assert refused.json()["errors"][0]["detail"] == f"no job {parked['id']}"
        # under a job of a project it may submit to
        ok = await api.post("/v1/jobs", json={**child, "parent": in_farm["id"]}, auth=worker.auth)
        assert ok.status_code == 201, ok.text
        # under the job it holds a lease on, though that job's project grants it no submit access
        lease_id = await lease_one(worker, runnable["id"])
        follow_up = await api.post("/v1/jobs", json={**child, "parent": runnable["id"]}, auth=worker.auth)
        assert follow_up.status_code == 201, follow_up.text
        assert follow_up.json()["parent_id"] == runnable["id"]
        bulk = {"jobs": [{**child, "parent": runnable["id"]}, {**child, "parent": parked["id"]}]}
        mixed = await api.post("/v1/jobs/bulk", json=bulk, auth=worker.auth)
        assert (mixed.status_code, mixed.json()["errors"][0]["pointer"]) == (422, "/jobs/1/parent")
        # another worker holds no lease on it
        stranger = await register(api)
        await granted(alice, "farm", stranger, submit=True)
        theirs = await api.post("/v1/jobs", json={**child, "parent": runnable["id"]}, auth=stranger.auth)
        assert theirs.status_code == 422
        # the project's owner sees the follow-up among the job's children
        for _ in range(50):
            children = (await alice.get(f"/v1/jobs/{runnable['id']}/children")).json()["items"]
            if children:
                break
            await asyncio.sleep(0.05)
        assert [c["id"] for c in children] == [follow_up.json()["id"]]
        assert (await worker.finish(lease_id, "succeeded")).status_code == 200
