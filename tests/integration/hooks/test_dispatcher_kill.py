"""The hook dispatcher is SIGKILLed (a real child process) while deliveries are in flight: once
it runs again, every matched event reaches the receiver, each with its one webhook-id
(duplicates allowed, losses not)."""

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from nats.aio.client import Client as NatsClient

from conveyor_devstack import free_port
from conveyor_events import (
    CommandPayload,
    EventAppender,
    HookCreated,
    JobQueued,
    JobSubmitted,
    PendingAppend,
    hook_subject,
    job_subject,
    new_uuid7,
)

from ...e2e.hooks.receiver import Receiver

JOBS = 40
SECRET = "whsec_" + "a2lsbC10ZXN0LXNlY3JldC1rZXk="


def _start(env: dict[str, str], log: Path) -> "subprocess.Popen[bytes]":
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "conveyor_hooks"], env=env, stdout=out, stderr=subprocess.STDOUT)


async def _events(nc: NatsClient, receiver: Receiver) -> None:
    appender = EventAppender(nc)
    await appender.start()
    now = datetime.now(UTC)
    hook_id = new_uuid7()
    hook = HookCreated(
        event_id=new_uuid7(),
        hook_id=hook_id,
        occurred_at=now,
        owner="kill-test",
        url=receiver.url(),
        event_types=("job.queued",),
        secret=SECRET,
    )
    await appender.append(hook_subject(hook_id), hook)
    batch = []
    for _ in range(JOBS):
        job = new_uuid7()
        batch.append(
            PendingAppend(
                job_subject(job),
                JobSubmitted(
                    event_id=new_uuid7(),
                    job_id=job,
                    occurred_at=now,
                    project="p",
                    owner="kill-test",
                    payload=CommandPayload(command="true"),
                ),
            )
        )
        batch.append(PendingAppend(job_subject(job), JobQueued(event_id=new_uuid7(), job_id=job, occurred_at=now)))
    await appender.append_batch(batch)
    await appender.close()


async def test_a_killed_dispatcher_delivers_every_matched_event_after_restart(
    nc: NatsClient, pool: "asyncpg.Pool[Any]", nats_url: str, database_url: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    receiver.delay_s = 0.3  # slow answers: the kill lands while requests are in flight
    await receiver.start()
    env = {
        **os.environ,
        "CONVEYOR_NATS_URL": nats_url,
        "CONVEYOR_DATABASE_URL": database_url,
        "CONVEYOR_HTTP_PORT": str(free_port()),
        "CONVEYOR_LOG_JSON": "1",
        "CONVEYOR_HOOK_ALLOW_NETS": "127.0.0.0/8",
        "CONVEYOR_HOOK_TIMEOUT_S": "1",
        "CONVEYOR_HOOK_CONCURRENCY": "4",
        "CONVEYOR_HOOK_BACKOFF_BASE_S": "0.2",
    }
    log = tmp_path / "dispatcher.log"
    proc = _start(env, log)
    try:
        await _events(nc, receiver)
        await receiver.wait_for(lambda r: len(r) >= 6, within_s=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        before = {r.webhook_id for r in receiver.received}
        assert len(before) < JOBS
        proc = _start(env, log)
        await receiver.wait_for(lambda r: len({x.webhook_id for x in r}) >= JOBS, within_s=60)
        for got in receiver.received:
            got.verify(SECRET)
        assert {r.json()["type"] for r in receiver.received} == {"job.queued"}
        jobs = {r.json()["data"]["job"]["id"] for r in receiver.received}
        assert len(jobs) == JOBS
        delivered = 0
        for _ in range(150):
            delivered = await pool.fetchval("SELECT count(*) FROM hooks.deliveries WHERE status = 'delivered'")
            if delivered >= JOBS:
                break
            await asyncio.sleep(0.1)
        assert delivered == JOBS
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        await receiver.stop()
