"""Output written under a lease, once for every surface: log chunks, progress and artifacts,
fenced by the lease (it must still be the job's current one), and a worker's leveled log lines."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.js.api import ObjectMeta

from conveyor_events import (
    ArtifactStored,
    JobProgressed,
    LogChunk,
    WorkerLogLine,
    artifact_subject,
    encode_event,
    encode_record,
    new_uuid7,
    progress_subject,
    worker_log_subject,
)

from ..errors import UnknownTaskError
from .artifact_io import BodyReader
from .context import State
from .lease_check import CurrentLease, current_lease


async def fence(state: State, worker_id: str, lease_id: str) -> CurrentLease:
    """The job and attempt of ``lease_id``, once every event appended so far is folded.

    Raises:
        LeaseNotCurrentError: The lease is not ``worker_id``'s current one on its job (nothing
            may be stored for it).
    """
    return await current_lease(
        state["reader"].pool, state["js"], state["watcher"], worker_id, lease_id, state["write_wait_s"]
    )


async def append_log(
    state: State, lease_id: str, lease: CurrentLease, offset: int, task: str, data: bytes
) -> int | None:
    """Store ``data`` at byte ``offset`` of the run's log (of task ``task``'s when not empty); the
    log's next offset, or None for an empty chunk (nothing stored).

    Raises:
        UnknownTaskError: The job has no task ``task`` (nothing is stored).
        LogGapError: ``offset`` is past the log's end (``expected_offset`` says where it is).
    """
    if task and task not in lease.tasks:
        raise UnknownTaskError(
            f"the job has no task {task!r}" + (f"; its tasks: {', '.join(lease.tasks)}" if lease.tasks else "")
        )
    if not data:
        return None
    chunk = LogChunk(job_id=lease.job_id, lease_id=lease_id, attempt=lease.attempt, task=task, offset=offset, data=data)
    return await state["log_writer"].append(chunk)


async def report_progress(state: State, lease: CurrentLease, percent: float, task: str | None) -> None:
    """Append the worker's own progress figure for the run (or its task)."""
    event = JobProgressed(
        event_id=new_uuid7(),
        job_id=lease.job_id,
        occurred_at=datetime.now(UTC),
        percent=percent,
        task=task,
        source="worker",
    )
    await state["js"].publish(
        progress_subject(lease.job_id), encode_event(event), headers={"Nats-Msg-Id": event.event_id}
    )


async def append_worker_log(
    state: State, worker_id: str, level: str, message: str, scope: str, logged_at: datetime | None
) -> None:
    """Store a leveled line about the worker itself (``level`` one of ``WORKER_LOG_LEVELS``)."""
    line = WorkerLogLine(
        worker_id=worker_id, level=level, message=message, scope=scope, logged_at=logged_at or datetime.now(UTC)
    )
    await state["js"].publish(worker_log_subject(worker_id), encode_record(line))


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """An artifact as stored: its size and SHA-256 (hex)."""

    size: int
    sha256: str


async def put_artifact(state: State, lease: CurrentLease, path: str, body: AsyncIterator[bytes]) -> StoredArtifact:
    """Stream ``body`` into the job's artifact ``path`` (already checked: ``check_artifact_path``),
    at most ``artifact_max_bytes``, record it for the collector and wait (bounded) until it is
    listed, so a listing right after shows it.

    Raises:
        TooLargeError: The body exceeds the limit (nothing is recorded).
    """
    source = BodyReader(body, asyncio.get_running_loop(), state["artifact_max_bytes"])
    name = f"{lease.job_id}/{path}"
    await state["bucket"].put(name, source, meta=ObjectMeta(name=name))  # type: ignore[arg-type]  # duck-typed reader
    record = ArtifactStored(
        job_id=lease.job_id,
        path=path,
        size=source.size,
        sha256=source.sha256.hexdigest(),
        attempt=lease.attempt,
        stored_at=datetime.now(UTC),
    )
    ack = await state["js"].publish(artifact_subject(lease.job_id), encode_record(record))
    await state["collector"].wait_for(ack.seq, state["write_wait_s"])
    return StoredArtifact(size=record.size, sha256=record.sha256)
