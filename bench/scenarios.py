"""The foundation's figures: submit throughput, projection catch-up and the raw append ceiling."""

import asyncio
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from conveyor_events import (
    EVENTS_STREAM,
    CommandPayload,
    EventAppender,
    JobSubmitted,
    PendingAppend,
    ensure_streams,
    events_stream_config,
    job_subject,
    new_uuid7,
)
from conveyor_runtime import connect_nats

from .http_load import closed_loop
from .stack import LARGE_BACKLOG_SCHEDULER_ENV, BenchStack

BODY = msgspec.json.encode({"project": "bench", "title": "noop", "command": "true"})


async def submit_throughput(stack: BenchStack, *, requests: int) -> list[dict[str, Any]]:
    """``POST /v1/jobs`` with 1 and 64 concurrent keep-alive clients (read-your-writes included)."""
    stack.start("scheduler")
    port = stack.start("gateway")
    await closed_loop("127.0.0.1", port, "/v1/jobs", lambda _: BODY, clients=8, total=min(500, requests))  # warm-up
    rows = []
    for clients in (1, 64):
        total = requests if clients > 1 else max(requests // 4, 50)
        result = await closed_loop("127.0.0.1", port, "/v1/jobs", lambda _: BODY, clients=clients, total=total)
        rows.append({"scenario": f"POST /v1/jobs, {clients} client(s)", **result})
    prefer = {"Prefer": "respond-async"}
    result = await closed_loop(
        "127.0.0.1", port, "/v1/jobs", lambda _: BODY, clients=64, total=requests, headers=prefer
    )
    rows.append({"scenario": "POST /v1/jobs, 64 clients, Prefer: respond-async", **result})
    stack.stop("gateway")
    # Scale-out on one machine (docs/scaling.md): the same load through two gateway processes.
    port = stack.start("gateway", CONVEYOR_WORKERS="2")
    await closed_loop("127.0.0.1", port, "/v1/jobs", lambda _: BODY, clients=8, total=min(500, requests))  # warm-up
    result = await closed_loop("127.0.0.1", port, "/v1/jobs", lambda _: BODY, clients=64, total=requests)
    rows.append({"scenario": "POST /v1/jobs, 64 clients, 2 gateway processes", **result})
    stack.stop("gateway")
    stack.stop("scheduler")
    return rows


def noop_submitted() -> JobSubmitted:
    """A no-op job's submission in project ``bench``, as the backlog scenarios append it."""
    job_id = new_uuid7()
    return JobSubmitted(
        event_id=new_uuid7(),
        job_id=job_id,
        occurred_at=datetime.now(UTC),
        project="bench",
        owner="bench",
        payload=CommandPayload(command="true"),
    )


async def _append_backlog(appender: EventAppender, n: int, *, guarded: bool) -> float:
    started = time.perf_counter()
    for start in range(0, n, 2000):
        batch = [noop_submitted() for _ in range(min(2000, n - start))]
        await appender.append_batch([PendingAppend(job_subject(e.job_id), e, 0 if guarded else None) for e in batch])
    return time.perf_counter() - started


async def _checkpoint(pool: "asyncpg.Pool[Any]") -> int:
    try:
        return int(
            await pool.fetchval("SELECT stream_seq FROM scheduler.checkpoints WHERE consumer = 'scheduler'") or 0
        )
    except asyncpg.UndefinedTableError:
        return 0


async def catch_up(stack: BenchStack, *, events: int, profile_dir: Path | None = None) -> list[dict[str, Any]]:
    """Append a backlog of ``2 x events`` submissions with the scheduler stopped, then time the
    scheduler catching up, and a fold-only rebuild of the same stream.

    Catching up means folding every ``JobSubmitted`` into a row (a job with nothing to wait on is
    queued by its submission, so there is no decision to append): 1 event per job.
    """
    nc = await connect_nats(stack.nats.url, name="bench")
    js = nc.jetstream()
    await ensure_streams(js, [events_stream_config()])
    appender = EventAppender(nc)
    raw_s = await _append_backlog(appender, events, guarded=False)
    guarded_s = await _append_backlog(appender, events, guarded=True)
    backlog = events * 2
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    started = time.perf_counter()
    stack.start("scheduler", **LARGE_BACKLOG_SCHEDULER_ENV)
    while True:
        last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
        if last >= backlog and await _checkpoint(pool) >= last:
            break
        await asyncio.sleep(0.05)
    live_s = time.perf_counter() - started
    stack.stop("scheduler")
    rebuild_s = await _time_rebuild(stack, profile_dir)
    await pool.close()
    await appender.close()
    await nc.close()
    return [
        {"scenario": "raw append ceiling: pipelined, no OCC header", "events": events, "events_per_s": events / raw_s},
        {"scenario": "pipelined append with expected-sequence 0", "events": events, "events_per_s": events / guarded_s},
        {
            "scenario": "scheduler catch-up (fold submissions into rows)",
            "events": last,
            "jobs_per_s": backlog / live_s,
            "events_per_s": last / live_s,
            "seconds_incl_start": live_s,
        },
        {"scenario": "projection rebuild (fold only)", "events": last, "events_per_s": last / rebuild_s},
    ]


async def _time_rebuild(stack: BenchStack, profile_dir: Path | None = None) -> float:
    """Time ``conveyor-scheduler rebuild --into`` in-process work only (start-up excluded).

    With ``profile_dir``, py-spy records the whole rebuild there (``rebuild.txt``, raw collapsed stacks).
    """
    command = [sys.executable, "-m", "conveyor_scheduler", "rebuild", "--into", "bench_rebuild"]
    if profile_dir is not None:
        py_spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
        if py_spy is None:
            raise RuntimeError("--profile needs py-spy on PATH or in $PY_SPY")
        await asyncio.to_thread(profile_dir.mkdir, parents=True, exist_ok=True)
        profile = str(profile_dir / "rebuild.txt")
        command = [py_spy, "record", "-f", "raw", "--nonblocking", "-o", profile, "--", *command]
    proc = await asyncio.create_subprocess_exec(
        *command,
        env=stack.env(0),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"rebuild failed: {err.decode()[-2000:]}")
    # The command prints how long the replay itself took.
    return float(out.decode().rsplit(" in ", 1)[1].split("s", 1)[0])
