"""Restarting the real nats-server and PostgreSQL under a trickle of submissions (issue 13).

Every acknowledged job (201/202) is scheduled and runs once the server is back, no answer is a
500 (a dependency that is away answers 503 with ``Retry-After``), and the gateway's readiness
goes false while it is away, then true again.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import nats
import pytest

from conveyor_devstack import NatsServer, Postgres

from .test_workers_api import WorkerClient

LABEL = "outage"  # only this test's worker takes these jobs
SETTLE_S = 30.0  # bound for everything acknowledged to be queued once the server is back


@pytest.fixture
def database_url(own_database_url: str) -> str:
    """The services of these tests use a PostgreSQL of their own, which the tests restart."""
    return own_database_url


class Trickle:
    """Submits a job every 50 ms until stopped; keeps every answer and the gateway's readiness."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self.answers: list[httpx.Response] = []
        self.readiness: list[int] = []
        self.stop = asyncio.Event()

    async def submit(self) -> None:
        while not self.stop.is_set():
            self.answers.append(await self.api.post("/v1/jobs", json={"command": "true", "labels": [LABEL]}))
            await asyncio.sleep(0.05)  # the pace of the trickle, not a wait for a condition

    async def watch_readiness(self) -> None:
        while not self.stop.is_set():
            status = (await self.api.get("/readyz", timeout=10)).status_code
            if not self.readiness or self.readiness[-1] != status:
                self.readiness.append(status)
            await asyncio.sleep(0.05)

    def acknowledged(self) -> list[str]:
        return [r.json()["id"] for r in self.answers if r.status_code in (201, 202)]


@pytest.fixture
async def trickle(api: httpx.AsyncClient) -> AsyncIterator[Trickle]:
    """A running trickle of submissions through the whole stack (stopped at teardown)."""
    t = Trickle(api)
    tasks = [asyncio.create_task(t.submit()), asyncio.create_task(t.watch_readiness())]
    yield t
    t.stop.set()
    await asyncio.gather(*tasks)


async def wait_until(what: str, condition: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)


async def run_every_acknowledged_job(api: httpx.AsyncClient, trickle: Trickle) -> None:
    """Stop the trickle, then: every acknowledged job is queued, leased once and succeeds."""
    trickle.stop.set()
    await asyncio.sleep(0)
    ids = set(trickle.acknowledged())
    assert ids

    async def all_queued() -> bool:
        page = await api.get("/v1/jobs", params={"state": "queued", "limit": 500})
        return page.status_code == 200 and ids <= {j["id"] for j in page.json()["items"]}

    await wait_until("every acknowledged job queued", all_queued, SETTLE_S)
    registered = await api.post("/v1/workers", json={"name": "outage", "labels": [LABEL], "capacity": len(ids)})
    assert registered.status_code in (201, 202), registered.text  # 202: not folded within the write wait
    worker = WorkerClient(api, registered.json())

    async def worker_known() -> bool:  # a leader that lost its key in the outage leads again first
        return (await api.get(f"/v1/workers/{worker.id}")).status_code == 200

    await wait_until("the worker registered", worker_known, SETTLE_S)
    leased: set[str] = set()
    while leased != ids:
        answer = await worker.lease(max=100, wait_s=2)
        assert answer.status_code == 200, answer.text
        assert answer.json()["leases"], f"{len(ids - leased)} acknowledged jobs are not handed out"
        for lease in answer.json()["leases"]:
            assert lease["job"]["id"] not in leased
            leased.add(lease["job"]["id"])
            assert (await worker.finish(lease["lease_id"], "succeeded")).status_code == 200


def assert_no_server_errors(trickle: Trickle) -> None:
    statuses = {r.status_code for r in trickle.answers}
    assert statuses <= {201, 202, 503}, [(r.status_code, r.text) for r in trickle.answers if r.status_code >= 500]
    for r in trickle.answers:
        if r.status_code == 503:
            assert r.headers["retry-after"].isdigit()
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["dependency"] in ("postgres", "nats")


async def test_a_postgresql_restart_answers_503_and_loses_no_acknowledged_job(
    api: httpx.AsyncClient, trickle: Trickle, own_postgres: Postgres
) -> None:
    await wait_until("a few submissions", lambda: _has(trickle, 5), 10)
    await asyncio.to_thread(own_postgres.stop)
    await wait_until("not ready while PostgreSQL is away", lambda: _readiness_is(trickle, 503), 10)
    # A token not in the gateway's cache cannot be checked: 503, not 500 (nor a false 401).
    unchecked = await api.get("/v1/me", headers={"Authorization": "Bearer cvy_" + "x" * 43})
    assert unchecked.status_code == 503, unchecked.text
    assert unchecked.json()["dependency"] == "postgres"
    assert unchecked.headers["retry-after"].isdigit()
    await asyncio.sleep(1.5)  # the outage: submissions keep coming
    await asyncio.to_thread(own_postgres.start)
    await wait_until("ready again", lambda: _readiness_is(trickle, 200), 15)
    await wait_until("submissions acknowledged again", lambda: _acknowledged_lately(trickle), 15)
    await run_every_acknowledged_job(api, trickle)
    assert_no_server_errors(trickle)


@pytest.mark.parametrize("down_s", [0.4, 3.0], ids=["blip", "stop"])
async def test_a_nats_restart_loses_no_acknowledged_job_and_the_scheduler_resumes(
    api: httpx.AsyncClient, trickle: Trickle, nats_server: NatsServer, down_s: float
) -> None:
    await wait_until("a few submissions", lambda: _has(trickle, 5), 10)
    await asyncio.to_thread(nats_server.kill)
    await asyncio.sleep(down_s)
    await asyncio.to_thread(nats_server.start)
    await wait_until("ready again", lambda: _readiness_is(trickle, 200), 15)
    await wait_until("submissions acknowledged again", lambda: _acknowledged_lately(trickle), 15)
    await run_every_acknowledged_job(api, trickle)
    assert_no_server_errors(trickle)
    if down_s >= 3:
        assert 503 in trickle.readiness  # readiness said so while NATS was away


async def _has(trickle: Trickle, n: int) -> bool:
    return len(trickle.acknowledged()) >= n


async def _readiness_is(trickle: Trickle, status: int) -> bool:
    return bool(trickle.readiness) and trickle.readiness[-1] == status


async def _acknowledged_lately(trickle: Trickle) -> bool:
    return any(r.status_code in (201, 202) for r in trickle.answers[-3:])


async def test_a_submission_nats_does_not_confirm_answers_503_with_the_id_it_may_have(
    api: httpx.AsyncClient, nats_server: NatsServer
) -> None:
    await asyncio.to_thread(nats_server.kill)
    try:
        answer = await api.post("/v1/jobs", json={"command": "true", "labels": [LABEL]}, timeout=30)
    finally:
        await asyncio.to_thread(nats_server.start)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"].isdigit()
    problem = answer.json()
    assert (problem["dependency"], problem["stored"]) == ("nats", "unknown")
    job_id = problem["id"]

    async def answered() -> bool:  # readable or missing, never a server error
        status = (await api.get(f"/v1/jobs/{job_id}")).status_code
        assert status in (200, 404, 503)
        return status != 503

    await wait_until("the job's id answers", answered, SETTLE_S)


async def test_a_submission_postgresql_fails_after_storing_answers_202_with_its_id(
    gateway: httpx.AsyncClient, own_postgres: Postgres, nats_url: str
) -> None:
    """No scheduler runs, so the gateway waits (2 s) for the job to be folded; PostgreSQL stops
    after the event is stored and before the read that would follow. Was a 500, which a client
    retries into a second job."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        before = (await js.stream_info("EVENTS")).state.last_seq
        submitting = asyncio.create_task(gateway.post("/v1/jobs", json={"command": "true"}, timeout=30))

        async def stored() -> bool:
            return (await js.stream_info("EVENTS")).state.last_seq > before

        await wait_until("the submission stored", stored, 10)
        await asyncio.to_thread(own_postgres.stop)
        try:
            answer = await submitting
        finally:
            await asyncio.to_thread(own_postgres.start)
    finally:
        await nc.close()
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status"] == "accepted"
    assert "stored" in accepted["detail"]
    assert answer.headers["location"] == f"/v1/jobs/{accepted['id']}"


async def test_a_submission_refused_before_storing_answers_503_and_stores_nothing(
    api: httpx.AsyncClient, own_postgres: Postgres, nats_url: str
) -> None:
    nc = await nats.connect(nats_url)
    try:
        before = (await nc.jetstream().stream_info("EVENTS")).state.last_seq
        await asyncio.to_thread(own_postgres.stop)
        try:
            answer = await api.post("/v1/jobs", json={"command": "true", "labels": [LABEL]}, timeout=30)
            after = (await nc.jetstream().stream_info("EVENTS")).state.last_seq
        finally:
            await asyncio.to_thread(own_postgres.start)
    finally:
        await nc.close()
    assert answer.status_code == 503, answer.text
    assert answer.json()["dependency"] == "postgres"
    assert after == before  # nothing stored: a retry makes exactly one job
