"""Procrastinate on PostgreSQL (``BENCH_PG_DSN``): a no-op async task (no thread hop per job)."""

import os

import procrastinate

from .samples import record

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=os.environ.get("BENCH_PG_DSN", "")))


@app.task(name="noop")
async def noop(sent: float = 0.0) -> None:
    record(sent)
