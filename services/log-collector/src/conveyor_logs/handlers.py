"""Batch handlers of the collector's two projectors: LOGS (chunks, worker lines, artifact
records) and EVENTS (patterns, deletions, progress). Both run inside the projector's transaction,
so the stored bytes and the checkpoint commit together: a SIGKILL loses and doubles nothing."""

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import msgspec
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore
from opentelemetry.trace import SpanKind

from conveyor_events import (
    DEFAULT_PROGRESS_PATTERN,
    WORKER_LOG_LEVELS,
    JobDeleteRequested,
    JobSubmitted,
    UnknownEventError,
    decode_artifact,
    decode_chunk,
    decode_job_event,
    decode_progress_event,
    decode_worker_log,
    log_kind,
)
from conveyor_events.subjects import aggregate_of
from conveyor_runtime import OFF, DbConnection, StreamEvent, Tracing, get_logger, trace_headers

from . import store
from .ingest import LogState, Piece, plan_append
from .progress import Throttle, last_progress
from .store import LogKey

_log = get_logger("log-collector")
_LEVELS: Final = {name: i for i, name in enumerate(WORKER_LOG_LEVELS)}


class LogsHandler:
    """Stores chunks at their offsets under the cap, worker log lines and artifact records.

    ``touched`` collects the jobs whose logs grew (for the live-tail hint sent after commit);
    progress parsed from new output goes to ``throttle``. With tracing on, storing a job's output
    is a ``CONSUMER`` span under the trace its chunks carry (the worker's run).
    """

    def __init__(self, *, cap: int, throttle: Throttle, tracing: Tracing = OFF) -> None:
        self._cap = cap
        self._throttle = throttle
        self._tracing = tracing
        self.touched: set[str] = set()

    async def __call__(self, conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
        if not self._tracing.is_on:
            await self._store(conn, batch)
            return
        spans = [
            span
            for subject, parent in _traced_logs(batch).items()
            if (span := self._tracing.start_span(
                "log-collector store", parent=parent, kind=SpanKind.CONSUMER,
                attributes={"messaging.destination.name": subject},
            )) is not None
        ]  # fmt: skip
        try:
            await self._store(conn, batch)
        finally:
            for span in spans:
                span.end()

    async def _store(self, conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
        now = datetime.now(UTC)
        chunks = []
        lines: list[tuple[str, int, str, str, datetime]] = []
        for item in batch:
            kind = log_kind(item.subject)
            try:
                if kind == "job":
                    chunks.append(decode_chunk(item.data))
                elif kind == "worker":
                    line = decode_worker_log(item.data)
                    lines.append((line.worker_id, _LEVELS.get(line.level, 1), line.scope, line.message, line.logged_at))
                elif kind == "artifact":
                    a = decode_artifact(item.data)
                    await store.save_artifact(conn, (a.job_id, a.path, a.size, a.sha256, a.attempt, a.stored_at))
                else:
                    _log.warning("log_message_skipped", stream_seq=item.seq, subject=item.subject)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                _log.warning("log_message_skipped", stream_seq=item.seq, subject=item.subject, error=str(exc))
        await store.save_worker_logs(conn, lines)
        if not chunks:
            return
        keys = {(c.job_id, c.attempt, c.task) for c in chunks}
        states = await store.load_states(conn, keys)
        patterns = await store.load_patterns(conn, {c.job_id for c in chunks})
        changed: dict[LogKey, tuple[LogState, str]] = {}
        pieces: list[tuple[LogKey, Piece]] = []
        for c in chunks:
            key = (c.job_id, c.attempt, c.task)
            state, new_pieces, new = plan_append(states.get(key, LogState()), c.offset, c.data, self._cap)
            if not new:
                continue
            states[key] = state
            changed[key] = (state, c.lease_id)
            pieces.extend((key, p) for p in new_pieces)
            pattern = patterns.get(c.job_id) or DEFAULT_PROGRESS_PATTERN
            percent = last_progress(pattern, new.decode("utf-8", "replace"))
            if percent is not None:
                self._throttle.offer(c.job_id, percent, c.task or None)
        if changed:
            await store.save_logs(conn, changed, pieces, now)
            self.touched.update(k[0] for k in changed)


def _traced_logs(batch: Sequence[StreamEvent]) -> dict[str, dict[str, str]]:
    """Each log subject's latest trace context in the batch."""
    return {e.subject: found for e in batch if (found := trace_headers(e.headers)) is not None}


class EventsHandler:
    """Folds what the collector needs from EVENTS: each job's progress pattern, deletions (logs,
    progress and artifacts go), and progress events into ``logs.progress``."""

    def __init__(self, *, bucket: ObjectStore) -> None:
        self._bucket = bucket

    async def __call__(self, conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
        submitted: list[tuple[str, str | None, datetime]] = []  # written in one statement, before deletes
        for item in batch:
            try:
                aggregate, _ = aggregate_of(item.subject)
                if aggregate == "progress":
                    p = decode_progress_event(item.data)
                    await store.save_progress(conn, p.job_id, p.percent, p.task, p.source, p.occurred_at)
                elif aggregate == "job":
                    event = decode_job_event(item.data)
                    if isinstance(event, JobSubmitted):
                        submitted.append((event.job_id, event.progress_pattern, event.occurred_at))
                    elif isinstance(event, JobDeleteRequested):
                        await store.save_jobs(conn, submitted)
                        submitted = []
                        await self._forget(conn, event.job_id)
            except (UnknownEventError, ValueError) as exc:
                _log.warning("event_skipped", stream_seq=item.seq, subject=item.subject, error=str(exc))
        await store.save_jobs(conn, submitted)

    async def _forget(self, conn: DbConnection, job_id: str) -> None:
        paths = await store.forget_job(conn, job_id)
        for path in paths:  # deleted before commit: a replay after a crash finds them gone
            with contextlib.suppress(NotFoundError):
                await self._bucket.delete(f"{job_id}/{path}")
        _log.info("job_logs_deleted", job_id=job_id, artifacts=len(paths))
