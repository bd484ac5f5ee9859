"""Celery + Redis: a no-op task and one that starts ``true``. Broker ``BENCH_REDIS_URL``; no result backend."""

import os
import subprocess
import time

from celery import Celery

from .samples import record

app = Celery("bench", broker=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    worker_redirect_stdouts=False,
)


@app.task(name="noop")
def noop(sent: float = 0.0) -> None:
    record(sent)


@app.task(name="run_true")
def run_true(sent: float = 0.0) -> None:
    """The real-worker comparison: the task starts ``true`` as a process (no shell), as Conveyor's worker does."""
    started = time.time()
    subprocess.run(["true"], check=True)
    record(sent, started)  # after the process ended: the line counts a finished job
