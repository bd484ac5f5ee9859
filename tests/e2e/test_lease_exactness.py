"""Leases stay exact while operators delete, cancel, pause, edit and reset jobs (issue 13).

A command on one job never breaks a lease call that picks another, and a job the command leaves
ready is handed out to the next matching worker: nothing raises in the scheduler, nothing strands.
"""

import asyncio
import random
from typing import Any

import httpx
import pytest

from .test_job_commands import submit, wait_for
from .test_workers_api import WorkerClient, register

# command -> (HTTP method, path after /v1/jobs/{id}, JSON body)
COMMANDS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "delete": ("DELETE", "", None),
    "cancel": ("POST", "/cancel", None),
    "pause": ("POST", "/pause", None),
    "edit": ("PATCH", "", {"labels": ["gpu"], "priority": 9}),
    "reset": ("POST", "/reset", None),
}


async def command(api: httpx.AsyncClient, name: str, job_id: str) -> None:
    method, suffix, body = COMMANDS[name]
    response = await api.request(method, f"/v1/jobs/{job_id}{suffix}", json=body)
    assert response.status_code in (200, 202, 204), response.text


async def leased_ids(worker: WorkerClient, n: int, wait_s: float) -> list[str]:
    response = await worker.lease(max=n, wait_s=wait_s)
    assert response.status_code == 200, response.text
    return [lease["job"]["id"] for lease in response.json()["leases"]]


async def test_a_deleted_queued_job_does_not_break_the_next_lease(api: httpx.AsyncClient) -> None:
    worker = await register(api, capacity=2)
    gone = await submit(api)
    kept = await submit(api)
    await wait_for(api, gone, "queued")
    await wait_for(api, kept, "queued")
    assert (await api.delete(f"/v1/jobs/{gone}")).status_code == 204
    assert await leased_ids(worker, 2, wait_s=2) == [kept]  # was 500 (KeyError), and ``kept`` stranded
    await wait_for(api, kept, "assigned")


@pytest.mark.parametrize("name", list(COMMANDS))
async def test_a_command_on_a_queued_job_leaves_the_queue_exact(api: httpx.AsyncClient, name: str) -> None:
    worker = await register(api, capacity=3)  # no labels: an edited job wanting "gpu" is not for it
    other = await submit(api)
    kept = await submit(api)
    await wait_for(api, other, "queued")
    await command(api, name, other)
    if name == "reset":
        await wait_for(api, other, "queued")
    still_ready = name == "reset"
    expected = {kept, other} if still_ready else {kept}
    got: set[str] = set()
    while len(got) < len(expected):  # a lease call may come back before every ready job is queued
        batch = await leased_ids(worker, 3, wait_s=2)
        assert batch, f"{expected - got} never handed out"
        got |= set(batch)
    assert got == expected
    assert await leased_ids(worker, 3, wait_s=0.3) == []
    if name == "edit":  # the edited job is ready for a worker that has its new label
        gpu = await register(api, labels=["gpu"])
        assert await leased_ids(gpu, 1, wait_s=2) == [other]


async def ended(api: httpx.AsyncClient, name: str, job_id: str) -> None:
    """Wait until the command has taken the job's lease (what the scheduler committed is what
    the API reads)."""
    if name != "delete":
        await wait_for(api, job_id, {"cancel": "cancelled"}.get(name, "queued"))
        return
    for _ in range(200):
        if (await api.get(f"/v1/jobs/{job_id}")).status_code == 404:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{job_id} was never deleted")


STOP_REASONS = {"delete": "deleted", "cancel": "cancelled", "pause": "paused", "reset": "reset"}


@pytest.mark.parametrize("name", list(STOP_REASONS))
async def test_a_command_on_a_running_job_ends_its_lease_alone(api: httpx.AsyncClient, name: str) -> None:
    worker = await register(api, capacity=2)
    first = await submit(api)
    second = await submit(api)
    await wait_for(api, first, "queued")
    await wait_for(api, second, "queued")
    response = await worker.lease(max=2, wait_s=2)
    leases = {lease["job"]["id"]: lease["lease_id"] for lease in response.json()["leases"]}
    if len(leases) < 2:
        extra = (await worker.lease(max=1, wait_s=2)).json()["leases"]
        leases |= {lease["job"]["id"]: lease["lease_id"] for lease in extra}
    assert leases.keys() == {first, second}
    assert (await worker.start(leases[first])).status_code == 200
    await command(api, name, first)
    await ended(api, name, first)
    beat = (await worker.heartbeat(leases[first], leases[second])).json()
    assert beat["stop"] == [{"lease_id": leases[first], "reason": STOP_REASONS[name]}]
    assert (await worker.finish(leases[first], "succeeded")).status_code == 409
    finished = await worker.finish(leases[second], "succeeded")
    assert finished.status_code == 200, finished.text
    if name == "reset":  # queued again: the next lease hands it out, as a first attempt
        again = (await worker.lease(max=2, wait_s=5)).json()["leases"]
        assert [(lease["job"]["id"], lease["attempt"]) for lease in again] == [(first, 1)]
    else:
        assert await leased_ids(worker, 2, wait_s=0.3) == []


async def test_commands_racing_a_busy_worker_strand_nothing(api: httpx.AsyncClient) -> None:
    """A worker leases and runs jobs as fast as it can while an operator deletes, cancels,
    pauses, edits and resets them at random: every lease call answers, and every job ends
    deleted, finished, or paused (none left queued with the worker polling)."""
    rng = random.Random(13)
    worker = await register(api, capacity=4)
    jobs = [await submit(api, max_retries=0) for _ in range(16)]
    operator_done, warmed_up = asyncio.Event(), asyncio.Event()

    async def operator() -> None:
        for count in range(30):
            if count == 10:
                warmed_up.set()  # the first commands land on queued jobs, the rest race the worker
            name = rng.choice(list(COMMANDS))
            response = await api.request(
                COMMANDS[name][0], f"/v1/jobs/{rng.choice(jobs)}{COMMANDS[name][1]}", json=COMMANDS[name][2]
            )
            assert response.status_code < 500, response.text
            await asyncio.sleep(0)  # let the worker's calls interleave
        operator_done.set()

    async def settled() -> bool:
        for job_id in jobs:
            response = await api.get(f"/v1/jobs/{job_id}")
            if response.status_code == 404:
                continue
            doc = response.json()
            if doc["state"] in ("succeeded", "failed", "cancelled") or (doc["paused"] and doc["state"] == "queued"):
                continue
            if "gpu" in doc["labels"] and doc["state"] == "queued":
                continue  # edited for a worker this test does not run
            return False
        return True

    running = asyncio.create_task(operator())
    await warmed_up.wait()
    for _ in range(400):
        response = await worker.lease(max=4, wait_s=0.2)
        assert response.status_code == 200, response.text
        for lease in response.json()["leases"]:
            assert (await worker.start(lease["lease_id"])).status_code in (200, 409)
            assert (await worker.finish(lease["lease_id"], "succeeded")).status_code in (200, 409)
        if operator_done.is_set() and not response.json()["leases"] and await settled():
            break
    else:
        raise AssertionError("jobs stranded: " + str([(await api.get(f"/v1/jobs/{j}")).json() for j in jobs]))
    await running
