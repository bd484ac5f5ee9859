"""Procrastinate on PostgreSQL (``BENCH_PG_DSN``): async tasks (no thread hop per job), a no-op and ``true``."""

import asyncio
import os
import time

import procrastinate

from .samples import record

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=os.environ.get("BENCH_PG_DSN", "")))


@app.task(name="noop")
async def noop(sent: float = 0.0) -> None:
    record(sent)


@app.task(name="run_true")
async def run_true(sent: float = 0.0) -> None:
    """The real-worker comparison: the task starts ``true`` as a process (no shell)."""
    started = time.time()
    proc = await asyncio.create_subprocess_exec("true")
    if await proc.wait() != 0:
        raise RuntimeError("true failed")
    record(sent, started)  # after the process ended: the line counts a finished job
