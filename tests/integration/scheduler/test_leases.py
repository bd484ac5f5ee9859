"""The lease protocol against the real scheduler (its NATS calls, as the gateway makes them)."""

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import nats.errors
import pytest
from msgspec.structs import replace
from nats.aio.client import Client as NatsClient

from conveyor_events import (
    EventAppender,
    WorkerRegistered,
    WorkerStateChanged,
    job_subject,
    new_uuid7,
    scheduler_subject,
    worker_subject,
)
from conveyor_events.scheduler_api import (
    FinishRequest,
    HeartbeatReply,
    HeartbeatRequest,
    LeaseReply,
    LeaseRequest,
    ReportReply,
    ReportResult,
    StartRequest,
)
from conveyor_scheduler.app import serve
from conveyor_scheduler.settings import Settings

from .support import cancel_requested, submitted

Reply = LeaseReply | HeartbeatReply | ReportReply


class Calls:
    """What the gateway sends the scheduler, for one worker."""

    def __init__(self, nc: NatsClient, worker_id: str) -> None:
        self.nc = nc
        self.worker_id = worker_id

    async def _call(self, call: str, body: msgspec.Struct, reply: type[Reply], wait_s: float = 10) -> Any:
        msg = await self.nc.request(scheduler_subject(call), msgspec.json.encode(body), timeout=wait_s)
        return msgspec.json.decode(msg.data, type=reply)

    async def lease(self, max: int = 1, wait_s: float = 0) -> LeaseReply:
        body = LeaseRequest(worker_id=self.worker_id, max=max, wait_s=wait_s)
        reply: LeaseReply = await self._call("lease", body, LeaseReply, wait_s=wait_s + 10)
        return reply

    async def heartbeat(self, *leases: str) -> HeartbeatReply:
        reply: HeartbeatReply = await self._call(
            "heartbeat", HeartbeatRequest(worker_id=self.worker_id, leases=leases), HeartbeatReply
        )
        return reply

    async def start(self, lease_id: str) -> ReportReply:
        reply: ReportReply = await self._call(
            "start", StartRequest(worker_id=self.worker_id, lease_id=lease_id), ReportReply
        )
        return reply

    async def finish(self, lease_id: str, result: ReportResult, exit_code: int | None = None) -> ReportReply:
        body = FinishRequest(worker_id=self.worker_id, lease_id=lease_id, result=result, exit_code=exit_code)
        reply: ReportReply = await self._call("finish", body, ReportReply)
        return reply


class Cluster:
    """A running scheduler plus helpers to register workers and submit jobs."""

    def __init__(self, nc: NatsClient, pool: Any) -> None:
        self.nc = nc
        self.pool = pool
        self.appender = EventAppender(nc)

    async def worker(self, *labels: str, capacity: int = 1) -> Calls:
        worker_id = new_uuid7()
        event = WorkerRegistered(
            event_id=new_uuid7(),
            worker_id=worker_id,
            occurred_at=datetime.now(UTC),
            name=f"w-{worker_id[-4:]}",
            labels=labels,
            capacity=capacity,
            secret_hash=hashlib.sha256(b"secret").hexdigest(),
        )
        await self.appender.append(worker_subject(worker_id), event, expected_last_subject_seq=0)
        calls = Calls(self.nc, worker_id)
        for _ in range(200):  # until the scheduler serves calls and knows this worker
            with contextlib.suppress(nats.errors.NoRespondersError):
                if (await calls.lease()).error is None:
                    return calls
            await asyncio.sleep(0.05)
        raise TimeoutError("worker never became known")

    async def set_mode(self, calls: Calls, mode: str) -> None:
        event = WorkerStateChanged(
            event_id=new_uuid7(), worker_id=calls.worker_id, occurred_at=datetime.now(UTC), mode=mode
        )
        await self.appender.append(worker_subject(calls.worker_id), event)

    async def submit(self, **kw: Any) -> str:
        event = submitted(**kw)
        await self.appender.append(job_subject(event.job_id), event, expected_last_subject_seq=0)
        return event.job_id

    async def state(self, job_id: str) -> dict[str, Any]:
        doc = await self.pool.fetchval("SELECT doc::text FROM scheduler.jobs WHERE id = $1::uuid", job_id)
        return {} if doc is None else msgspec.json.decode(doc)

    async def wait_state(
        self, job_id: str, *states: str, timeout_s: float = 15, after_version: int = 0
    ) -> dict[str, Any]:
        """The job's row once it is in one of ``states`` at a version past ``after_version``."""
        for _ in range(int(timeout_s / 0.05)):
            doc = await self.state(job_id)
            if doc.get("state") in states and doc.get("version", 0) > after_version:
                return doc
            await asyncio.sleep(0.05)
        raise AssertionError(f"{job_id} never reached {states}: {await self.state(job_id)}")


@pytest.fixture
async def cluster(nc: NatsClient, pool: Any, scheduler_settings: Settings) -> AsyncIterator[Cluster]:
    """The scheduler running in this loop with fast retries (0.2 s base backoff)."""
    settings = replace(scheduler_settings, retry_base_s=0.2, tick_s=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    yield Cluster(nc, pool)
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_a_job_runs_through_lease_start_finish(cluster: Cluster) -> None:
    worker = await cluster.worker("linux")
    job_id = await cluster.submit(labels=("linux",))
    reply = await worker.lease(wait_s=5)
    [leased] = reply.leases
    assert (leased.job_id, leased.attempt) == (job_id, 1)
    assert msgspec.json.decode(leased.job)["state"] == "assigned"
    assert (await worker.start(leased.lease_id)).state == "running"
    assert (await worker.start(leased.lease_id)).state == "running"  # a retried report is harmless
    assert (await worker.finish(leased.lease_id, "succeeded", 0)).state == "succeeded"
    doc = await cluster.wait_state(job_id, "succeeded")
    assert (doc["exit_code"], doc["attempts"], doc["worker_id"]) == (0, 1, worker.worker_id)
    # The lease is spent: the fencing token refuses any further report.
    assert (await worker.finish(leased.lease_id, "failed", 1)).error == "lease_not_current"


async def test_a_waiting_worker_gets_a_new_job_at_once(cluster: Cluster) -> None:
    worker = await cluster.worker()
    waiting = asyncio.create_task(worker.lease(wait_s=10))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    started = asyncio.get_running_loop().time()
    job_id = await cluster.submit()
    reply = await asyncio.wait_for(waiting, 5)
    assert [leased.job_id for leased in reply.leases] == [job_id]
    assert asyncio.get_running_loop().time() - started < 1.0  # pushed, not found at a later poll


async def test_labels_priorities_and_capacity(cluster: Cluster) -> None:
    gpu_worker = await cluster.worker("linux", "gpu", capacity=3)
    plain_worker = await cluster.worker("linux")
    low = await cluster.submit(labels=("linux",), priority=1)
    high = await cluster.submit(labels=("linux",), priority=9)
    gpu = await cluster.submit(labels=("gpu",), priority=5)
    for job_id in (low, high, gpu):
        await cluster.wait_state(job_id, "queued")
    assert [lease.job_id for lease in (await plain_worker.lease(max=5)).leases] == [high]  # capacity 1
    assert (await plain_worker.lease()).leases == ()  # at capacity
    assert [lease.job_id for lease in (await gpu_worker.lease(max=5)).leases] == [gpu, low]


async def test_failures_retry_with_backoff_then_fail(cluster: Cluster) -> None:
    worker = await cluster.worker(capacity=1)
    job_id = await cluster.submit(max_retries=1)
    first = (await worker.lease(wait_s=5)).leases[0]
    leased = await cluster.wait_state(job_id, "assigned")
    assert (await worker.finish(first.lease_id, "failed", 3)).state == "queued"
    # queued again, not the first queued row (the projection may lag the engine's answers)
    doc = await cluster.wait_state(job_id, "queued", after_version=leased["version"])
    assert doc["reason"] == "exit code 3"
    assert doc["retry_at"] is not None
    assert (await worker.lease()).leases == ()  # backoff: not yet
    second = (await worker.lease(wait_s=5)).leases[0]
    assert second.attempt == 2
    assert second.lease_id != first.lease_id
    assert (await worker.finish(second.lease_id, "failed", 4)).state == "failed"  # attempts = max_retries + 1
    doc = await cluster.wait_state(job_id, "failed")
    assert (doc["attempts"], doc["exit_code"]) == (2, 4)


async def test_skipped_gives_the_job_back_without_counting_an_attempt(cluster: Cluster) -> None:
    worker = await cluster.worker()
    job_id = await cluster.submit(max_retries=0)
    first = (await worker.lease(wait_s=5)).leases[0]
    assert (await worker.finish(first.lease_id, "skipped")).state == "queued"
    again = (await worker.lease(wait_s=5)).leases[0]
    assert (again.job_id, again.attempt) == (job_id, 1)


async def test_a_silent_worker_loses_its_lease_and_the_job_runs_elsewhere(cluster: Cluster) -> None:
    silent = await cluster.worker()
    healthy = await cluster.worker()
    job_id = await cluster.submit(lease_s=5, max_retries=2)
    lost = (await silent.lease(wait_s=5)).leases[0]
    await silent.start(lost.lease_id)
    # The healthy worker waits; the silent one never heartbeats.
    reply = await healthy.lease(wait_s=15)
    [taken] = reply.leases
    assert (taken.job_id, taken.attempt) == (job_id, 2)
    assert (await silent.finish(lost.lease_id, "succeeded")).error == "lease_not_current"
    beat = await silent.heartbeat(lost.lease_id)
    assert [(s.lease_id, s.reason) for s in beat.stop] == [(lost.lease_id, "lease_lost")]


async def test_heartbeats_keep_a_lease_alive(cluster: Cluster) -> None:
    worker = await cluster.worker()
    await cluster.submit(lease_s=5)
    lease = (await worker.lease(wait_s=5)).leases[0]
    await worker.start(lease.lease_id)
    for _ in range(8):  # 8 s of work with a 5 s lease
        beat = await worker.heartbeat(lease.lease_id)
        assert beat.stop == ()
        assert beat.lease_s == 5
        await asyncio.sleep(1)
    assert (await worker.finish(lease.lease_id, "succeeded")).state == "succeeded"


async def test_cancel_of_a_running_job_stops_it_and_fences_its_reports(cluster: Cluster) -> None:
    worker = await cluster.worker()
    job_id = await cluster.submit()
    lease = (await worker.lease(wait_s=5)).leases[0]
    await worker.start(lease.lease_id)
    await cluster.appender.append(job_subject(job_id), cancel_requested(job_id))
    await cluster.wait_state(job_id, "cancelled")
    beat = await worker.heartbeat(lease.lease_id)
    assert [(s.lease_id, s.reason) for s in beat.stop] == [(lease.lease_id, "cancelled")]
    assert (await worker.finish(lease.lease_id, "succeeded")).error == "lease_not_current"


async def test_a_run_past_its_timeout_is_timed_out(cluster: Cluster) -> None:
    worker = await cluster.worker()
    job_id = await cluster.submit(timeout_s=1)
    lease = (await worker.lease(wait_s=5)).leases[0]
    await worker.start(lease.lease_id)
    await cluster.wait_state(job_id, "timed_out", timeout_s=10)
    beat = await worker.heartbeat(lease.lease_id)
    assert [(s.lease_id, s.reason) for s in beat.stop] == [(lease.lease_id, "timed_out")]


async def test_paused_and_draining_workers_take_no_work(cluster: Cluster) -> None:
    worker = await cluster.worker(capacity=2)
    await cluster.submit()
    await cluster.set_mode(worker, "paused")
    for _ in range(100):
        if (await worker.lease()).error == "worker_paused":
            break
        await asyncio.sleep(0.05)
    assert (await worker.lease()).error == "worker_paused"
    await cluster.set_mode(worker, "draining")
    await asyncio.sleep(0.5)
    assert (await worker.lease()) == LeaseReply()
    await cluster.set_mode(worker, "active")
    await asyncio.sleep(0.5)
    assert len((await worker.lease(wait_s=5)).leases) == 1


async def test_unknown_workers_and_foreign_leases_are_refused(cluster: Cluster) -> None:
    owner = await cluster.worker()
    stranger = Calls(cluster.nc, new_uuid7())
    assert (await stranger.lease()).error == "unknown_worker"
    other = await cluster.worker()
    await cluster.submit()
    lease = (await owner.lease(wait_s=5)).leases[0]
    assert (await other.start(lease.lease_id)).error == "lease_not_current"
    assert (await other.finish(lease.lease_id, "succeeded")).error == "lease_not_current"
    assert (await owner.start(lease.lease_id)).state == "running"


async def test_a_flood_from_one_project_cannot_starve_another(cluster: Cluster) -> None:
    """Weighted fair share: recent assignments cost priority, so the quiet project gets a turn."""
    worker = await cluster.worker(capacity=1)
    flood = [await cluster.submit(project="flood", priority=100) for _ in range(30)]
    quiet = await cluster.submit(project="quiet", priority=0)
    for job_id in [*flood, quiet]:
        await cluster.wait_state(job_id, "queued")
    order: list[str] = []
    while quiet not in order:
        reply = await worker.lease(wait_s=5)
        assert len(reply.leases) == 1, (reply, len(order))
        lease = reply.leases[0]
        order.append(lease.job_id)
        assert (await worker.finish(lease.lease_id, "succeeded")).state == "succeeded"
        assert len(order) <= 15, "the quiet project was starved"
    assert order[0] in flood  # priority still leads while usage is even
    assert 10 <= order.index(quiet) <= 12  # ten recent assignments cost the flood its 100 points
