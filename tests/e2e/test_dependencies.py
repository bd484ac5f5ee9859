"""Dependencies over HTTP: blocked until they succeed, the failure policy, cycles refused."""

import httpx

from .test_job_commands import lease_one, submit, wait_for
from .test_workers_api import register


async def test_a_dependent_waits_blocked_then_runs(api: httpx.AsyncClient) -> None:
    worker = await register(api, capacity=4)
    build = await submit(api, title="build")
    test = await submit(api, title="test", depends_on=[build])
    deploy = await submit(api, title="deploy", depends_on=[build, test])
    assert (await wait_for(api, test, "blocked"))["depends_on"] == [build]
    await wait_for(api, deploy, "blocked")
    first = await lease_one(worker)
    assert first["job"]["id"] == build  # the blocked ones are not handed out
    assert (await worker.lease()).json()["leases"] == []
    await worker.finish(first["lease_id"], "succeeded")
    second = await lease_one(worker)
    assert second["job"]["id"] == test
    assert (await api.get(f"/v1/jobs/{deploy}")).json()["state"] == "blocked"
    await worker.finish(second["lease_id"], "succeeded")
    third = await lease_one(worker)
    assert third["job"]["id"] == deploy


async def test_dependents_of_a_failed_job_fail_without_running(api: httpx.AsyncClient) -> None:
    worker = await register(api)
    build = await submit(api, max_retries=0)
    test = await submit(api, depends_on=[build])
    deploy = await submit(api, depends_on=[test])  # transitively
    lease = await lease_one(worker)
    await worker.finish(lease["lease_id"], "failed", 2)
    failed = await wait_for(api, test, "failed")
    assert failed["reason"] == f"dependency {build} failed"
    assert (await wait_for(api, deploy, "failed"))["reason"] == f"dependency {test} failed"
    assert (await worker.lease()).json()["leases"] == []


async def test_unknown_dependencies_and_cycles_are_refused(api: httpx.AsyncClient) -> None:
    unknown = await api.post("/v1/jobs", json={"command": "x", "depends_on": ["0190c5a8-7b1e-7000-8000-000000000999"]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["pointer"] == "/depends_on/0"
    a = await submit(api, execute=False)
    b = await submit(api, execute=False, depends_on=[a])
    c = await submit(api, execute=False, depends_on=[b])
    cycle = await api.put(f"/v1/jobs/{a}/dependencies", json={"depends_on": [c]})
    assert cycle.status_code == 422
    assert cycle.json()["type"] == "/problems/dependency_cycle"
    itself = await api.put(f"/v1/jobs/{a}/dependencies", json={"depends_on": [a]})
    assert itself.json()["type"] == "/problems/dependency_cycle"
    cleared = await api.put(f"/v1/jobs/{c}/dependencies", json={"depends_on": []})
    assert cleared.status_code == 200
    assert cleared.json()["depends_on"] == []


async def test_dependencies_set_later_block_a_queued_job(api: httpx.AsyncClient) -> None:
    first = await submit(api, execute=False)
    later = await submit(api)
    await wait_for(api, later, "queued")
    response = await api.put(f"/v1/jobs/{later}/dependencies", json={"depends_on": [first]})
    assert response.status_code == 200
    await wait_for(api, later, "blocked")
    await api.post(f"/v1/jobs/{first}/start")
    await wait_for(api, first, "queued")
    assert (await api.get(f"/v1/jobs/{later}")).json()["state"] == "blocked"
