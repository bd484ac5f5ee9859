"""Two scheduler processes: the standby takes over after the leader is SIGKILLed (once the key's
TTL ran out) or SIGTERMed (at once: the leader deletes its key on the way out)."""

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Any

import msgspec
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_devstack import free_port
from conveyor_events import EventAppender, PendingAppend, job_subject
from conveyor_runtime.leadership import current_holder
from conveyor_scheduler.app import serve
from conveyor_scheduler.settings import Settings

from .support import decisions_per_job, gate, read_stream, submitted
from .test_chaos import SchedulerProcess, the_leader, wait_until_applying
from .test_leases import Cluster
from .test_projection import wait_quiet


async def logged(process: SchedulerProcess, event: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if f'"{event}"'.encode() in process.log.read_bytes():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{process.log.name}: no {event} in {timeout_s} s")


async def taken_over_by(js: JetStreamContext, process: SchedulerProcess, timeout_s: float) -> float:
    """Wait until ``process`` holds the leader key; return when it was seen to."""
    assert process.proc is not None
    for _ in range(int(timeout_s / 0.01)):
        held = await current_holder(js)
        if held is not None and held[0].pid == process.proc.pid:
            return time.monotonic()
        await asyncio.sleep(0.01)
    raise TimeoutError(f"the standby did not take the lead within {timeout_s} s")


@pytest.mark.parametrize(
    ("sig", "ttl_s"),
    [(signal.SIGKILL, 2), (signal.SIGTERM, 5)],
    ids=["sigkill", "sigterm"],
)
async def test_the_standby_takes_over_when_the_leader_goes(
    js: JetStreamContext, pool: Any, scheduler_settings: Settings, tmp_path: Path, sig: signal.Signals, ttl_s: int
) -> None:
    settings = msgspec.structs.replace(scheduler_settings, leader_ttl_s=ttl_s)
    schedulers = [SchedulerProcess(settings, tmp_path / f"{n}.log") for n in ("a", "b")]
    for scheduler in schedulers:
        scheduler.start()
    try:
        await wait_until_applying(pool)
        leader = await the_leader(schedulers, js)
        [standby] = [s for s in schedulers if s is not leader]
        await logged(standby, "standby_waiting_for_leadership")
        assert leader.proc is not None
        gone = time.monotonic()
        leader.proc.send_signal(sig)
        took_over = await taken_over_by(js, standby, timeout_s=ttl_s + 5) - gone
        await logged(standby, "scheduler_started")
        serving = time.monotonic() - gone
        leader.proc.wait(15)
    finally:
        for scheduler in schedulers:
            scheduler.stop()
    print(f"{sig.name}: standby holds the key after {took_over:.2f} s, serves after {serving:.2f} s (TTL {ttl_s} s)")  # noqa: T201
    if sig == signal.SIGKILL:
        assert took_over < ttl_s + 3  # the killed leader's key expired on its own
    else:
        assert took_over < ttl_s - 2  # released at once, long before the TTL could run out


async def test_a_stopping_leader_answers_long_polls_at_once_and_hands_over(
    nc: NatsClient, js: JetStreamContext, pool: Any, scheduler_settings: Settings
) -> None:
    settings = msgspec.structs.replace(scheduler_settings, leader_ttl_s=10, tick_s=0.05)
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(serve(settings, stop_a))
    cluster = Cluster(nc, pool)
    worker = await cluster.worker()
    first = await current_holder(js)
    assert first is not None
    b = asyncio.create_task(serve(msgspec.structs.replace(settings, http_port=free_port()), stop_b))
    try:
        polling = asyncio.create_task(worker.lease(wait_s=50))
        await asyncio.sleep(0.5)
        stopped = time.monotonic()
        stop_a.set()
        assert (await asyncio.wait_for(polling, 5)).leases == ()  # answered, not held for 50 s
        await asyncio.wait_for(a, 5)

        async def handed_over() -> bool:
            held = await current_holder(js)
            return held is not None and held[1] != first[1]

        for _ in range(300):
            if await handed_over():
                break
            await asyncio.sleep(0.01)
        took_over = time.monotonic() - stopped
        assert await handed_over()
        assert took_over < settings.leader_ttl_s / 2  # released, not expired
        job_id = await cluster.submit()
        leased: list[str] = []
        for _ in range(100):  # the new leader serves the same worker once it has caught up
            with contextlib.suppress(nats.errors.NoRespondersError):
                leased = [lease.job_id for lease in (await worker.lease(wait_s=5)).leases]
                break
            await asyncio.sleep(0.05)
        assert leased == [job_id]
    finally:
        stop_a.set()
        stop_b.set()
        await asyncio.wait_for(asyncio.gather(a, b, return_exceptions=True), 15)


async def test_a_checkpoint_moved_under_the_leader_ends_its_term_not_the_process(
    nc: NatsClient, js: JetStreamContext, pool: Any, scheduler_settings: Settings
) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(serve(scheduler_settings, stop))
    try:
        appender = EventAppender(nc)
        held = gate()
        jobs = [submitted(depends_on=(held.job_id,)) for _ in range(50)]
        await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in [held, *jobs]])
        await wait_quiet(js, pool)
        # A deposed leader's transaction commits late and writes its own position.
        await pool.execute("UPDATE scheduler.checkpoints SET stream_seq = stream_seq - 1 WHERE consumer = 'scheduler'")
        late = submitted(depends_on=(held.job_id,))
        await appender.append(job_subject(late.job_id), late, expected_last_subject_seq=0)
        for _ in range(300):
            if await pool.fetchval("SELECT state FROM scheduler.jobs WHERE id = $1::uuid", late.job_id) == "blocked":
                break
            await asyncio.sleep(0.05)
        assert not task.done(), "the scheduler process ended"
        assert await pool.fetchval("SELECT state FROM scheduler.jobs WHERE id = $1::uuid", late.job_id) == "blocked"
        await wait_quiet(js, pool)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    counts = decisions_per_job(await read_stream(js))
    assert set(counts.values()) == {1}  # the new term decided nothing twice
    assert {job for job, _ in counts} == {e.job_id for e in [*jobs, late]}
