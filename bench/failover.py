"""Scheduler failover: how long after the leader goes until a standby holds the leader key, and
until the first job submitted at that moment is decided (queued) by the new leader.

Two scheduler processes run side by side; the leader is stopped with SIGKILL (its key must
expire: about the TTL) or SIGTERM (it releases the key: one standby poll), and started again
as the next standby.
"""

import asyncio
import signal
import statistics
import time
from typing import Any, Final

import asyncpg
from nats.js import JetStreamContext

from conveyor_events import EventAppender, PendingAppend, job_subject
from conveyor_runtime import connect_nats
from conveyor_runtime.leadership import current_holder

from .scenarios import noop_submitted
from .stack import BenchStack

TTL_S: Final = 5
POLL_S: Final = 0.5
SCHEDULERS: Final = ("scheduler", "scheduler-b")


async def _holder_pid(js: JetStreamContext) -> int | None:
    held = await current_holder(js)
    return None if held is None else held[0].pid


async def _wait(condition: Any, timeout_s: float = 60.0) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await condition():
            return time.monotonic()
        await asyncio.sleep(0.005)
    raise TimeoutError("failover did not complete")


async def _one(
    stack: BenchStack, js: JetStreamContext, pool: Any, appender: EventAppender, sig: signal.Signals
) -> dict[str, float]:
    leader_pid = await _holder_pid(js)
    [leader] = [n for n in SCHEDULERS if stack.procs[n].pid == leader_pid]
    [standby] = [n for n in SCHEDULERS if n != leader]
    standby_pid = stack.procs[standby].pid
    job = noop_submitted()
    gone = time.monotonic()
    stack.procs[leader].send_signal(sig)
    await appender.append_batch([PendingAppend(job_subject(job.job_id), job, 0)])

    async def standby_holds() -> bool:
        return await _holder_pid(js) == standby_pid

    async def decided() -> bool:
        state: str | None = await pool.fetchval("SELECT state FROM scheduler.jobs WHERE id = $1::uuid", job.job_id)
        return state == "queued"

    holds = await _wait(standby_holds, TTL_S + 30)
    queued = await _wait(decided)
    stack.stop(leader)
    stack.start(leader, CONVEYOR_LEADER_TTL_S=str(TTL_S), CONVEYOR_LEADER_POLL_S=str(POLL_S))
    return {"key_ms": 1000 * (holds - gone), "first_decision_ms": 1000 * (queued - gone)}


async def failover(stack: BenchStack, *, repeats: int) -> list[dict[str, Any]]:
    """SIGKILL and SIGTERM the leader ``repeats`` times each; rows of median/max seconds."""
    for name in SCHEDULERS:
        stack.start(name, CONVEYOR_LEADER_TTL_S=str(TTL_S), CONVEYOR_LEADER_POLL_S=str(POLL_S))
    nc = await connect_nats(stack.nats.url, name="bench-failover", timeout_s=10)
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    appender = EventAppender(nc)
    rows = []
    try:
        js = nc.jetstream()
        await _wait(lambda: _holder_pid(js))
        for sig in (signal.SIGKILL, signal.SIGTERM):
            runs = [await _one(stack, js, pool, appender, sig) for _ in range(repeats)]
            row: dict[str, Any] = {"scenario": f"standby takes over after {sig.name} (TTL {TTL_S} s, poll {POLL_S} s)"}
            for key in ("key_ms", "first_decision_ms"):
                values = [r[key] for r in runs]
                row[f"{key}_median"] = statistics.median(values)
                row[f"{key}_max"] = max(values)
            row["runs"] = repeats
            rows.append(row)
    finally:
        await appender.close()
        await pool.close()
        await nc.close()
    return rows
