"""Watching a job: its log as it grows, and a live progress bar on a terminal, until it ends."""

import sys
import time
from collections.abc import Callable
from typing import IO

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from conveyor_client import Client, Job, NotFoundError

from .render import console

POLL_S = 0.3


class _LogReader:
    """Reads the job's log by offset; stops asking if the gateway has no log endpoint."""

    def __init__(self, client: Client, job_id: str) -> None:
        self.client = client
        self.job_id = job_id
        self.offset = 0
        self.is_available = True

    def read(self) -> bytes:
        if not self.is_available:
            return b""
        try:
            chunk = self.client.read_log(self.job_id, self.offset)
        except NotFoundError as exc:
            if exc.code == "route_not_found":
                self.is_available = False
            return b""
        self.offset += len(chunk)
        return chunk


def follow(client: Client, job_id: str, *, log_to: IO[str], show_progress: bool) -> Job:
    """Print the log to ``log_to`` as it arrives until the job ends and its log is read; the final job.

    With ``show_progress`` (a terminal on stderr), a live bar shows the state and progress.
    """
    reader = _LogReader(client, job_id)
    if not show_progress:
        return _poll(client, reader, log_to, lambda job: None)
    columns = (
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"job {job_id}", total=100)

        def update(job: Job) -> None:
            percent = job.progress if job.progress is not None else (100.0 if job.state == "succeeded" else 0.0)
            progress.update(task, description=f"job {job_id[-12:]} [bold]{job.state}[/bold]", completed=percent)

        return _poll(client, reader, log_to, update)


def _poll(client: Client, reader: _LogReader, log_to: IO[str], update: Callable[[Job], None]) -> Job:
    while True:
        job = client.job(reader.job_id)
        update(job)
        chunk = reader.read()
        if chunk:
            log_to.write(chunk.decode("utf-8", "replace"))
            log_to.flush()
            continue
        if job.is_finished:
            # One more read: the last output may have landed between the state and the log read.
            tail = reader.read()
            if tail:
                log_to.write(tail.decode("utf-8", "replace"))
                log_to.flush()
                continue
            return job
        time.sleep(POLL_S)


def stderr_is_terminal() -> bool:
    """Whether a live progress display makes sense."""
    return sys.stderr.isatty()
