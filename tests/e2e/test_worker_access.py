"""Workers' access to projects: public for every worker, private and hidden by grant only."""

import asyncio

import httpx

from .test_projects import as_user
from .test_workers_api import register


async def test_workers_take_private_jobs_only_once_granted(api: httpx.AsyncClient) -> None:
    alice, bob = await as_user(api, "alice"), await as_user(api, "bob")
    async with alice, bob:
        farm = (await alice.post("/v1/projects", json={"name": "farm"})).json()
        assert (await alice.post("/v1/projects", json={"name": "vault", "visibility": "hidden"})).status_code == 201
        assert (await alice.post("/v1/projects", json={"name": "pub", "visibility": "public"})).status_code == 201
        private_job = (await alice.post("/v1/jobs", json={"project": "farm", "command": "make"})).json()
        worker = await register(api, capacity=5)
        assert (await worker.lease(max=5, wait_s=0)).json() == {"leases": []}  # private: not without a grant
        listed = await api.get(f"/v1/workers/{worker.id}/projects", auth=worker.auth)
        assert [p["name"] for p in listed.json()["items"]] == ["pub"]
        assert "secret" not in listed.json()["items"][0]
        asked = await api.post(f"/v1/workers/{worker.id}/access-requests", json={"project": "farm"}, auth=worker.auth)
        assert asked.status_code == 202
        hidden = await api.post(f"/v1/workers/{worker.id}/access-requests", json={"project": "vault"}, auth=worker.auth)
        assert hidden.status_code == 404
        other = await register(api)
        assert (await api.get(f"/v1/workers/{worker.id}/projects", auth=other.auth)).status_code == 403
        for _ in range(50):  # the request is folded shortly after its 202
            requests = (await alice.get("/v1/projects/farm/workers")).json()["items"]
            if requests:
                break
            await asyncio.sleep(0.05)
        assert [(r["worker_id"], r["status"], r["requested_assign"]) for r in requests] == [
            (worker.id, "requested", True)
        ]
        decide = {"status": "granted", "assign": True}
        assert (await bob.put(f"/v1/projects/farm/workers/{worker.id}", json=decide)).status_code == 403
        waiting = asyncio.create_task(worker.lease(max=5, wait_s=10))
        granted = await alice.put(f"/v1/projects/farm/workers/{worker.id}", json=decide)
        assert granted.status_code == 200 and granted.json()["assign"] is True
        leased = await asyncio.wait_for(waiting, 5)  # woken by the grant
        assert [lease["job"]["id"] for lease in leased.json()["leases"]] == [private_job["id"]]
        mine = (await api.get(f"/v1/workers/{worker.id}/projects", auth=worker.auth)).json()["items"]
        assert {p["name"]: p.get("secret") for p in mine} == {"farm": farm["secret"], "pub": None}
        assert not (await other.lease(max=5, wait_s=0)).json()["leases"]
        rejected = await alice.put(f"/v1/projects/farm/workers/{other.id}", json={"status": "rejected"})
        assert rejected.json() == {"worker_id": other.id, "status": "rejected", "assign": False, "submit": False}
