"""Watching a job: its log as it grows (server-sent events), a live progress bar on a terminal."""

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from conveyor_client import Client, Job, NotFoundError
from conveyor_client.models import LogEnd

from .render import console

POLL_S = 1.0


def follow(
    client: Client, job_id: str, *, log_to: IO[str], show_progress: bool, task: str | None = None, offset: int = 0
) -> Job:
    """Print the log to ``log_to`` as it arrives until the job ends and its log is complete; the final job.

    With ``show_progress`` (a terminal on stderr), a live bar shows the state and progress.
    """
    if not show_progress:
        _stream(client, job_id, log_to, task, offset)
        return client.job(job_id)
    columns = (
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )  # fmt: skip
    done = threading.Event()
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        bar = progress.add_task(f"job {job_id}", total=100)

        def update(job: Job) -> None:
            percent = job.progress if job.progress is not None else (100.0 if job.state == "succeeded" else 0.0)
            progress.update(bar, description=f"job {job_id[-12:]} [bold]{job.state}[/bold]", completed=percent)

        watcher = threading.Thread(target=_watch, args=(client, job_id, update, done), daemon=True)
        watcher.start()
        try:
            _stream(client, job_id, log_to, task, offset)
        finally:
            done.set()
            watcher.join(timeout=POLL_S * 2)
    return client.job(job_id)


def _stream(client: Client, job_id: str, log_to: IO[str], task: str | None, offset: int) -> None:
    try:
        for piece in client.follow_log(job_id, task=task, offset=offset):
            if isinstance(piece, LogEnd):
                if piece.truncated:
                    log_to.write("\n[the log was cut at its size limit]\n")
                break
            log_to.write(piece.text)
            log_to.flush()
    except NotFoundError as exc:
        if exc.code != "route_not_found":
            raise
        # A gateway without logs: wait for the end without them.
        while not client.job(job_id).is_finished:
            time.sleep(POLL_S)


def _watch(client: Client, job_id: str, update: Callable[[Job], None], done: threading.Event) -> None:
    while not done.is_set():
        # The bar is decoration: a failed poll must not stop the log.
        with contextlib.suppress(Exception):
            update(client.job(job_id))
        done.wait(POLL_S)


def stderr_is_terminal() -> bool:
    """Whether a live progress display makes sense."""
    return sys.stderr.isatty()
