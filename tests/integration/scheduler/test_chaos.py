"""Chaos: scheduler processes are SIGKILLed while events flow; every job ends exactly once."""

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from conveyor_devstack import free_port
from conveyor_events import EventAppender, PendingAppend, job_subject
from conveyor_runtime.leadership import current_holder
from conveyor_scheduler.app import rebuild
from conveyor_scheduler.settings import Settings

from .support import cancel_requested, decisions_per_job, gate, read_stream, submitted, table_rows
from .test_projection import scheduler_checkpoint, wait_quiet

JOBS = 3000
BURST = 100


class SchedulerProcess:
    """``python -m conveyor_scheduler`` as a real child process."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.env = {
            **os.environ,
            "CONVEYOR_NATS_URL": settings.nats_url,
            "CONVEYOR_DATABASE_URL": settings.database_url,
            "CONVEYOR_HTTP_PORT": str(free_port()),
            "CONVEYOR_LOG_JSON": "1",
            "CONVEYOR_LEADER_POLL_S": "0.2",
            "CONVEYOR_LEADER_TTL_S": str(settings.leader_ttl_s),
            "CONVEYOR_EVENTS_DUPLICATE_WINDOW_S": "1",
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self._log_start = out.tell()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "conveyor_scheduler"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def is_alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(15)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def the_leader(
    schedulers: list[SchedulerProcess], js: JetStreamContext, timeout_s: float = 60
) -> SchedulerProcess:
    """The live scheduler process whose pid is in the leader key (waits until there is one)."""
    for _ in range(int(timeout_s / 0.02)):
        held = await current_holder(js)
        leaders = [s for s in schedulers if held and s.is_alive() and s.proc and s.proc.pid == held[0].pid]
        if leaders:
            return leaders[0]
        await asyncio.sleep(0.02)
    raise TimeoutError("no scheduler took the lead")


async def kill_the_leader(
    schedulers: list[SchedulerProcess],
    js: JetStreamContext,
    pool: Any,
    beyond: int,
    sig: signal.Signals = signal.SIGKILL,
) -> int:
    """SIGKILL (or ``sig``) whichever scheduler holds the leader key once it is applying events,
    then start it again (with a standby beside it, it comes back as the standby). Returns the
    checkpoint it was killed at."""
    checkpoint = await wait_until_applying(pool, beyond=beyond)
    leader = await the_leader(schedulers, js)
    await asyncio.to_thread(leader.kill, sig)
    leader.start()
    return checkpoint


async def submit_all(appender: EventAppender, submitted_ids: list[str], milestones: dict[int, asyncio.Event]) -> None:
    held = gate()  # every job waits on it: each needs one decision (blocked), which must not double
    await appender.append(job_subject(held.job_id), held, expected_last_subject_seq=0)
    for start in range(0, JOBS, BURST):
        events = [submitted(depends_on=(held.job_id,)) for _ in range(BURST)]
        await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0) for e in events])
        submitted_ids.extend(e.job_id for e in events)
        for count, reached in milestones.items():
            if len(submitted_ids) >= count:
                reached.set()
        if start % (BURST * 5) == 0:  # some cancels race with the blocking decisions
            victims = [e.job_id for e in events[::7]]
            await appender.append_batch([PendingAppend(job_subject(j), cancel_requested(j)) for j in victims])
        await asyncio.sleep(0.03)


def started_checkpoints(logs: Path) -> list[int]:
    """Where each leader resumed: the checkpoint its projector was prepared at (a leader may be
    killed while catching up, before it logs that it serves workers)."""
    found = []
    for log in logs.glob("*.log"):
        for line in log.read_text().splitlines():
            if '"projector_prepared"' in line:
                found.append(int(json.loads(line)["checkpoint"]))
    return found


async def wait_for_leader_terms(logs: Path, count: int) -> None:
    for _ in range(3000):  # up to 60 s: a restarted process boots slowly on a loaded 2-core machine
        if len(started_checkpoints(logs)) >= count:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"fewer than {count} schedulers took the lead")


async def wait_until_applying(pool: "asyncpg.Pool[Any]", beyond: int = -1) -> int:
    """Wait until a scheduler has moved its checkpoint past ``beyond``; return the checkpoint."""
    for _ in range(600):
        checkpoint = await scheduler_checkpoint(pool)
        if checkpoint is not None and checkpoint > beyond:
            return checkpoint
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no scheduler applied anything beyond {beyond}")


@pytest.mark.parametrize("with_standby", [False, True], ids=["restart", "standby-takeover"])
async def test_sigkill_while_events_flow_loses_and_doubles_nothing(
    nc: NatsClient,
    js: JetStreamContext,
    pool: "asyncpg.Pool[Any]",
    scheduler_settings: Settings,
    tmp_path: Path,
    with_standby: bool,
) -> None:
    schedulers = [SchedulerProcess(scheduler_settings, tmp_path / f"{n}.log") for n in ("a", "b")[: 1 + with_standby]]
    for scheduler in schedulers:
        scheduler.start()
    try:
        await wait_until_applying(pool)
        appender = EventAppender(nc)
        ids: list[str] = []
        milestones = {JOBS // 3: asyncio.Event(), 2 * JOBS // 3: asyncio.Event()}
        producer = asyncio.create_task(submit_all(appender, ids, milestones))
        previous = 0
        for reached in milestones.values():
            await asyncio.wait_for(reached.wait(), 60)
            previous = await kill_the_leader(schedulers, js, pool, previous)
        await producer
        await wait_for_leader_terms(tmp_path, 3)  # the last restarted or standby scheduler took over
        last = await wait_quiet(js, pool, timeout_s=120)
    finally:
        for scheduler in schedulers:
            scheduler.stop()

    events = await read_stream(js)
    assert events[-1][0] == last
    # The kills landed while work was flowing: later leaders resumed from inside the stream.
    starts = started_checkpoints(tmp_path)
    assert len(starts) >= 3  # a standby may also take over while the test stops the leader
    assert [cp for cp in starts if 0 < cp < last], starts
    counts = decisions_per_job(events)
    # Every job was decided, and no decision was ever made twice (a blocked job may later be
    # cancelled: that is a second, different decision).
    assert {job for job, _ in counts} == set(ids)
    assert set(counts.values()) == {1}
    cancelled = {job for job, tag in counts if tag == "job.cancelled"}
    states = dict(await pool.fetch("SELECT id::text, state FROM scheduler.jobs"))
    assert len(states) == JOBS + 1  # and the held gate
    assert {j for j, st in states.items() if st == "cancelled"} == cancelled
    assert {j for j, st in states.items() if st == "blocked"} == set(ids) - cancelled
    assert cancelled  # the cancels really raced with the scheduler
    # The projection built through crashes equals a clean replay.
    await rebuild(scheduler_settings, into="replayed")
    assert await table_rows(pool, "replayed") == await table_rows(pool, "scheduler")
