"""Celery + Redis: a no-op task. Broker ``BENCH_REDIS_URL``; no result backend (nothing reads one)."""

import os

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
