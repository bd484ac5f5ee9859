"""Chaos with workers: jobs run through lease/start/finish while the scheduler is SIGKILLed (or,
once, stopped with SIGTERM so that the standby takes over the released leader key).

Every job ends exactly once, and no job is ever leased while another of its leases is live. A
lease granted by a scheduler that died before replying is lost to the worker; it expires after
the job's lease length and the job runs again, so leases are short here.
"""

import asyncio
import contextlib
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_events import JobAssigned, JobReleased, JobRetryScheduled, JobSucceeded, PendingAppend, job_subject
from conveyor_scheduler.settings import Settings

from .support import read_stream, submitted
from .test_chaos import SchedulerProcess, kill_the_leader, wait_for_leader_terms, wait_until_applying
from .test_leases import Calls, Cluster

JOBS = 2000
WORKERS = 4


async def work(calls: Calls, done: set[str], stop: asyncio.Event) -> None:
    """A worker loop that survives scheduler outages: every call is retried until answered."""
    while not stop.is_set():
        try:
            reply = await calls.lease(max=20, wait_s=0.5)
            for lease in reply.leases:
                await calls.start(lease.lease_id)
                finished = await calls.finish(lease.lease_id, "succeeded", 0)
                if finished.state == "succeeded":
                    done.add(lease.job_id)
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError, TimeoutError):
            await asyncio.sleep(0.1)  # the scheduler is down or failing over: try again


async def wait_succeeded(pool: Any, count: int, *, timeout_s: float) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if await pool.fetchval("SELECT count(*) FROM scheduler.jobs WHERE state = 'succeeded'") >= count:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"fewer than {count} jobs succeeded in {timeout_s} s")


def assert_one_live_lease_at_a_time(events: list[tuple[int, Any]]) -> dict[str, int]:
    live: dict[str, str | None] = defaultdict(lambda: None)
    succeeded: dict[str, int] = defaultdict(int)
    for _, event in events:
        match event:
            case JobAssigned():
                assert live[event.job_id] is None, f"{event.job_id} leased twice"
                live[event.job_id] = event.lease_id
            case JobSucceeded() | JobReleased() | JobRetryScheduled():
                live[event.job_id] = None
                if isinstance(event, JobSucceeded):
                    succeeded[event.job_id] += 1
    return succeeded


@pytest.mark.parametrize(
    ("with_standby", "sig"),
    [(False, signal.SIGKILL), (True, signal.SIGKILL), (True, signal.SIGTERM)],
    ids=["restart", "standby-takeover", "standby-handover-on-sigterm"],
)
async def test_workers_finish_every_job_exactly_once_through_scheduler_kills(
    nc: NatsClient,
    js: JetStreamContext,
    pool: Any,
    scheduler_settings: Settings,
    tmp_path: Path,
    with_standby: bool,
    sig: signal.Signals,
) -> None:
    schedulers = [SchedulerProcess(scheduler_settings, tmp_path / f"{n}.log") for n in ("a", "b")[: 1 + with_standby]]
    for scheduler in schedulers:
        scheduler.start()
    stop = asyncio.Event()
    try:
        await wait_until_applying(pool)
        cluster = Cluster(nc, pool)
        workers = [await cluster.worker(capacity=20) for _ in range(WORKERS)]
        events = [submitted(lease_s=5) for _ in range(JOBS)]
        await cluster.appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in events])
        done: set[str] = set()
        loops = [asyncio.create_task(work(w, done, stop)) for w in workers]
        previous = 0
        for fraction in (4, 2):  # kill the leader at a quarter and at half of the work
            await wait_succeeded(pool, JOBS // fraction, timeout_s=120)
            previous = await kill_the_leader(schedulers, js, pool, previous, sig)
        await wait_for_leader_terms(tmp_path, 3)
        await wait_succeeded(pool, JOBS, timeout_s=120)
        stop.set()
        for loop in loops:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(loop, 10)
    finally:
        stop.set()
        for scheduler in schedulers:
            scheduler.stop()
    assert done <= {e.job_id for e in events}  # a worker may miss a reply, never get a foreign job
    succeeded = assert_one_live_lease_at_a_time(await read_stream(js))
    assert set(succeeded) == {e.job_id for e in events}
    assert set(succeeded.values()) == {1}  # every job ended exactly once
