"""Rebuilding the jobs projection from sequence 1: folded in memory, written while the next events are read.

The live fold (``JobFolder``) reads every touched job's row, decides, appends and upserts a row at
a time; a rebuild needs none of that. It starts from empty tables and is the only writer, so it
knows which jobs already have a row without asking, keeps the states it folded so a job's later
events need no read, and writes what changed as one ``COPY`` of new rows and one set-based
``UPDATE`` per flush, committed with the checkpoint while the next events are folded (issue 8:
a rebuild at half the raw pull-consume rate). The rows are the ones the live fold writes: a
test compares a rebuilt projection with the live one.

Events the live fold quarantined (``conveyor_runtime.quarantine``) come to the same outcome: an
event whose text holds NUL is folded with it replaced (as the live fold does after PostgreSQL
refused it), one the live fold skipped is skipped (the verdicts are read from the live schema's
``quarantine`` table), and both are recorded in the rebuilt schema's table.
"""

import asyncio
import contextlib
import gc
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any, Final

import asyncpg
import msgspec
from nats.aio.msg import Msg

from conveyor_events import JobDependenciesSet, JobEvent, JobSubmitted, WorkerEvent
from conveyor_runtime import DbConnection, Projector, StreamEvent, quote_schema, sanitised
from conveyor_runtime.feed import stream_seq
from conveyor_runtime.quarantine import SANITISED, SKIPPED, record_quarantine

from .decider import JobState, apply
from .handlers import decode_jobs_and_workers
from .projection import JobTable
from .replay_reader import ReaderProcess, ReaderSpec
from .workers import WorkerState, apply_worker

CACHE_JOBS: Final = 200_000
"""Job states kept in memory (least recently folded ones are dropped and read back if needed)."""
FLUSH_EVENTS: Final = 5_000
"""Events folded between two writes (each write is one transaction with the checkpoint)."""
IDLE_TIMEOUT_S: Final = 30.0
NUL_REPLACED: Final = "the text held NUL (\\u0000), which PostgreSQL cannot store: replaced by U+FFFD"


class Quarantined(msgspec.Struct, frozen=True, kw_only=True):
    """An event the replay folded sanitised or skipped, as the live fold recorded it."""

    event: StreamEvent
    outcome: str
    error: str


class Verdicts:
    """What the live fold did with the events it quarantined, by stream sequence.

    Args:
        consumer: The live projector's name (the rows are recorded under it).
        outcomes: ``seq -> (outcome, error)`` read from the live ``quarantine`` table.
    """

    def __init__(self, consumer: str, outcomes: dict[int, tuple[str, str]]) -> None:
        self.consumer = consumer
        self._outcomes = outcomes

    @classmethod
    async def read(cls, conn: DbConnection, schema: str, consumer: str) -> "Verdicts":
        """Read the verdicts of ``consumer`` from ``schema.quarantine`` (none when it has no table)."""
        try:
            rows = await conn.fetch(
                f"SELECT stream_seq, outcome, error FROM {quote_schema(schema)}.quarantine WHERE consumer = $1",
                consumer,
            )
        except asyncpg.UndefinedTableError:
            rows = []
        return cls(consumer, {int(r["stream_seq"]): (r["outcome"], r["error"]) for r in rows})

    def screen(self, events: Sequence[StreamEvent]) -> tuple[list[StreamEvent], list[Quarantined]]:
        """The events to fold (skipped ones left out, NUL replaced) and the ones to record."""
        kept: list[StreamEvent] = []
        noted: list[Quarantined] = []
        for event in events:
            outcome, error = self._outcomes.get(event.seq, ("", NUL_REPLACED))
            if outcome == SKIPPED:
                noted.append(Quarantined(event=event, outcome=SKIPPED, error=error))
                continue
            clean = sanitised(event.data)
            if clean is not None:
                noted.append(Quarantined(event=event, outcome=SANITISED, error=error))
                event = StreamEvent(event.seq, event.subject, clean)
            kept.append(event)
        return kept, noted


class ReplayWrite(msgspec.Struct, frozen=True, kw_only=True):
    """What one flush writes: rows to insert and to update, dependency edges, workers."""

    inserts: list[JobState]
    updates: list[JobState]
    edges: dict[str, tuple[str, ...]]
    workers: list[WorkerState]
    quarantined: list[Quarantined] = []
    consumer: str = ""

    async def write(self, conn: DbConnection, table: JobTable) -> None:
        await table.insert_bulk(conn, self.inserts)
        await table.update_bulk(conn, self.updates)
        await table.save_dependencies(conn, self.edges)
        await table.save_workers(conn, self.workers)
        where = f"{quote_schema(table.schema)}.quarantine"
        for q in self.quarantined:
            e = q.event
            await record_quarantine(conn, where, self.consumer, e.seq, e.subject, e.data, q.outcome, q.error)


class ReplayFolder:
    """Folds events into job and worker states for a projection that started empty.

    Args:
        cache_size: Most job states kept in memory between flushes.
    """

    def __init__(self, cache_size: int = CACHE_JOBS) -> None:
        self._cache_size = cache_size
        self._jobs: dict[str, JobState] = {}  # least recently folded first
        self._stored: set[str] = set()  # jobs with a row (written, or in a write under way)
        self._workers: dict[str, WorkerState] = {}  # all of them: there are few
        self._dirty: dict[str, JobState] = {}
        self._dirty_workers: dict[str, WorkerState] = {}
        self._edges: dict[str, tuple[str, ...]] = {}

    def missing(self, jobs: Sequence[tuple[int, JobEvent]]) -> set[str]:
        """Jobs of these events that have a row but are no longer held: read them first."""
        return {e.job_id for _, e in jobs if e.job_id not in self._jobs and e.job_id in self._stored}

    def remember(self, states: dict[str, JobState]) -> None:
        """Hold states read back from their rows."""
        self._jobs.update(states)

    def fold(self, jobs: Sequence[tuple[int, JobEvent]], workers: Sequence[tuple[int, WorkerEvent]]) -> None:
        """Fold decoded events, as ``JobFolder`` does without an appender."""
        for seq, event in jobs:
            current = self._jobs.get(event.job_id)
            if current is not None and seq <= current.version:
                continue
            new = apply(current or JobState(), event, seq)
            if new.state == "new":
                continue  # an event before the submission: nothing is stored for it
            self._jobs.pop(event.job_id, None)  # to the most recent end
            self._jobs[event.job_id] = self._dirty[event.job_id] = new
            if isinstance(event, JobDependenciesSet) or (isinstance(event, JobSubmitted) and event.depends_on):
                self._edges[event.job_id] = new.depends_on
        for seq, worker_event in workers:
            held = self._workers.get(worker_event.worker_id)
            if held is not None and seq <= held.version:
                continue
            folded = apply_worker(held or WorkerState(), worker_event, seq)
            self._workers[worker_event.worker_id] = folded
            if folded.id:
                self._dirty_workers[worker_event.worker_id] = folded

    def take(self) -> ReplayWrite:
        """Hand out what changed since the last call, and drop the oldest states past the cache size."""
        inserts = [s for i, s in self._dirty.items() if i not in self._stored]
        updates = [s for i, s in self._dirty.items() if i in self._stored]
        self._stored.update(s.id for s in inserts)
        write = ReplayWrite(
            inserts=inserts, updates=updates, edges=self._edges, workers=list(self._dirty_workers.values())
        )
        self._dirty, self._dirty_workers, self._edges = {}, {}, {}
        excess = len(self._jobs) - self._cache_size
        if excess > 0:
            for job_id in list(islice(self._jobs, excess)):
                del self._jobs[job_id]
        return write


async def replay_jobs(
    projector: Projector,
    pool: "asyncpg.Pool[Any]",
    table: JobTable,
    last: int,
    *,
    cache_size: int = CACHE_JOBS,
    flush_events: int = FLUSH_EVENTS,
    verdicts: Verdicts | None = None,
    reader: ReaderSpec | None = None,
) -> None:
    """Fold the stream up to ``last`` into a projection that ``projector.reset`` emptied.

    One write is under way at a time, on one connection, while the next events are folded: a
    job evicted from the cache is read back only after the write before it committed.
    ``verdicts`` says what the live fold quarantined (none: NUL is still replaced). With
    ``reader`` a second process pulls the stream (``replay_reader``) and the projector's own
    feed is stopped; without it the projector's feed is read here.
    """
    folder = ReplayFolder(cache_size)
    source: _Source = _FeedSource(projector)
    if reader is not None and last > projector.position:
        feed = projector.feed
        if feed is not None:
            await feed.stop()
        source = _ProcessSource(ReaderProcess(reader, projector.position, last))
    with _fewer_collections():
        try:
            await _replay(
                projector, pool, table, last, folder, flush_events, verdicts or Verdicts(projector.name, {}), source
            )
        finally:
            source.close()


class _Source:
    """Batches of events in stream order, and the message that acknowledges a batch (if any)."""

    async def next(self) -> tuple[list[StreamEvent], Msg | None]:
        raise NotImplementedError

    def close(self) -> None:
        return None


class _FeedSource(_Source):
    def __init__(self, projector: Projector) -> None:
        self._projector = projector

    async def next(self) -> tuple[list[StreamEvent], Msg | None]:
        msgs = await _fetch(self._projector)
        return [StreamEvent(stream_seq(m), m.subject, m.data) for m in msgs], msgs[-1]


class _ProcessSource(_Source):
    def __init__(self, reader: ReaderProcess) -> None:
        self._reader = reader
        reader.start()

    async def next(self) -> tuple[list[StreamEvent], Msg | None]:
        return await self._reader.next(), None  # the reader's consumer takes no acknowledgements

    def close(self) -> None:
        self._reader.close()


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """The replay allocates millions of short-lived objects beside a large, long-lived cache: the
    garbage collector's default (a young collection every 700 allocations) cost a tenth of the
    rebuild's time in the profile, attributed to msgspec's decoding."""
    threshold = gc.get_threshold()
    gc.freeze()  # what the process holds before the replay is never scanned during it
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


async def _replay(
    projector: Projector,
    pool: "asyncpg.Pool[Any]",
    table: JobTable,
    last: int,
    folder: ReplayFolder,
    flush_events: int,
    verdicts: Verdicts,
    source: _Source,
) -> None:
    async with pool.acquire() as conn:
        await table.prepare_bulk(conn)
        writing: asyncio.Task[None] | None = None
        noted: list[Quarantined] = []
        try:
            folded = 0
            position = projector.position  # folded; the projector's moves when a write commits
            last_msg: Msg | None = None
            while position < last:
                events, last_msg = await source.next()
                fresh = [e for e in events if e.seq > position]
                if not fresh:
                    continue
                kept, screened = verdicts.screen(fresh)
                noted += screened
                jobs, workers = decode_jobs_and_workers(kept)
                missing = folder.missing(jobs)
                if missing:
                    await _finished(writing)
                    writing = None
                    folder.remember(await table.load(conn, missing))
                folder.fold(jobs, workers)
                position = fresh[-1].seq
                folded += len(fresh)
                if folded >= flush_events or position >= last:
                    await _finished(writing)
                    write = msgspec.structs.replace(folder.take(), quarantined=noted, consumer=verdicts.consumer)
                    noted = []
                    commit = _commit(projector, conn, table, write, position, last_msg)
                    writing = asyncio.create_task(commit)
                    folded = 0
            await _finished(writing)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writing


async def _fetch(projector: Projector) -> list[Msg]:
    deadline = asyncio.get_running_loop().time() + IDLE_TIMEOUT_S
    while not (msgs := await projector.fetch()):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{projector.name}: no events for {IDLE_TIMEOUT_S}s at {projector.position}")
    return msgs


async def _finished(writing: "asyncio.Task[None] | None") -> None:
    if writing is not None:
        await writing


async def _commit(
    projector: Projector, conn: DbConnection, table: JobTable, write: ReplayWrite, seq: int, last_msg: Msg | None
) -> None:
    await projector.commit_batch(conn, seq, lambda c: write.write(c, table))
    if last_msg is not None:
        await projector.ack([last_msg])
