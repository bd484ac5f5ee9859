"""The checkpointed projector: a durable pull consumer whose position lives in PostgreSQL.

Each fetched batch is applied and its last stream sequence stored in one transaction, then
acknowledged. Events at or below the stored checkpoint are skipped, so redelivery (after a crash
between commit and ack, or an expired ack wait) never applies an event twice. At start the
consumer is recreated at ``checkpoint + 1``: the database, not the consumer's ack state, is the
source of truth, and a dropped projection rebuilds from sequence 1 (DESIGN §3).

A batch that fails because of an event's content (``quarantine.is_poison``) is applied again
one event at a time; the event that fails alone is applied with its text sanitised, or else set
aside, and recorded in the ``quarantine`` table either way (``quarantine``): one event never
stops the fold. A rebuild meets the same events and comes to the same outcome.

A projector rides through outages of its dependencies (issue 13): a batch that fails on
PostgreSQL or NATS is retried with backoff, a consumer that vanished (or a JetStream that did not
answer) is re-created from the stored checkpoint, and ``step`` never raises for such an error.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import asyncpg
import msgspec
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from conveyor_events import AppendError

from .connections import DEPENDENCY_ERRORS
from .db import DbConnection
from .feed import ConsumerFeed, stream_seq
from .logging import get_logger
from .metrics import (
    PROJECTOR_APPLIED,
    PROJECTOR_BATCH_SECONDS,
    PROJECTOR_COMMIT_SECONDS,
    PROJECTOR_POSITION,
    PROJECTOR_QUARANTINED,
)
from .migrations import Migration, quote_schema
from .quarantine import SANITISED, SKIPPED, describe, is_poison, record_quarantine, sanitised

__all__ = ["CHECKPOINT_MIGRATION", "BatchHandler", "Projector", "ProjectorFencedError", "StreamEvent"]

CHECKPOINT_MIGRATION: Final[Migration] = (
    1,
    "CREATE TABLE IF NOT EXISTS {schema}.checkpoints ("
    " consumer text PRIMARY KEY,"
    " stream_seq bigint NOT NULL DEFAULT 0,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
)
"""The checkpoint table every projecting service includes among its migrations."""

_log = get_logger("projector")
_FIRST_RETRY_S: Final = 0.1
_RETRY_CAP_S: Final = 2.0


class ProjectorFencedError(RuntimeError):
    """The stored checkpoint changed behind this projector's back; it must stop, not retry."""


class StreamEvent(msgspec.Struct, frozen=True):
    """A message read from a stream: its sequence, subject, raw payload and headers.

    The headers carry the trace context when tracing is on (``tracing``).
    """

    seq: int
    subject: str
    data: bytes
    headers: dict[str, str] | None = None


BatchHandler = Callable[[DbConnection, Sequence[StreamEvent]], Awaitable[None]]
"""Applies events inside the projector's open transaction; must not commit or ack."""


class Projector:
    """Folds a stream into PostgreSQL through a handler, exactly once per event.

    Args:
        name: Durable consumer name, also the checkpoint key.
        schema: The owning service's schema (holds ``checkpoints``).
        js: JetStream context.
        pool: PostgreSQL pool.
        stream: Stream to consume.
        filter_subject: Subjects of interest.
        handler: Applies a batch inside the transaction.
        batch_size: Most messages fetched at once.
        fetch_timeout_s: Longest wait for a batch; also how quickly a stop is noticed.
        ack_wait_s: Redelivery delay for unacknowledged messages.
        on_commit: Called with the new position after each batch (e.g. to announce it).
        is_applied: Tells events whose effects are already stored (skipped without a transaction).
        on_applied: Called after each commit (e.g. to trust what the handler did in it).
    """

    def __init__(
        self,
        *,
        name: str,
        schema: str,
        js: JetStreamContext,
        pool: "asyncpg.Pool[Any]",
        stream: str,
        filter_subject: str,
        handler: BatchHandler,
        batch_size: int = 500,
        fetch_timeout_s: float = 0.5,
        ack_wait_s: float = 30.0,
        on_commit: Callable[[int], Awaitable[None]] | None = None,
        is_applied: Callable[[StreamEvent], bool] | None = None,
        on_applied: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._table = f"{quote_schema(schema)}.checkpoints"
        self._quarantine_table = f"{quote_schema(schema)}.quarantine"
        self._js = js
        self._pool = pool
        self._stream = stream
        self._filter = filter_subject
        self._handler = handler
        self._batch_size = batch_size
        self._fetch_timeout_s = fetch_timeout_s
        self._ack_wait_s = ack_wait_s
        self._on_commit = on_commit
        self._is_applied = is_applied
        self._on_applied = on_applied
        self._stored = 0  # the checkpoint as stored; ``position`` may run ahead of it
        self._feed: ConsumerFeed | None = None
        self._outage_delay_s = _FIRST_RETRY_S
        self.position = 0

    @property
    def stream(self) -> str:
        """The stream this projector consumes."""
        return self._stream

    async def read_checkpoint(self) -> int:
        """Return the last applied stream sequence (0 when nothing was applied)."""
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(f"SELECT stream_seq FROM {self._table} WHERE consumer = $1", self.name)
        return int(value or 0)

    async def prepare(self) -> int:
        """Create the checkpoint row and (re)create the consumer just after it.

        Returns:
            The checkpoint the projector resumes from.
        """
        async with self._pool.acquire() as conn:
            await conn.execute(f"INSERT INTO {self._table} (consumer) VALUES ($1) ON CONFLICT DO NOTHING", self.name)
        self.position = self._stored = await self.read_checkpoint()
        await self._delete_consumer()
        await self._js.add_consumer(self._stream, self._consumer_config(self.position))
        nc: NatsClient = self._js._nc  # the context's connection; nats-py has no public accessor
        self._feed = ConsumerFeed(nc, self._stream, self.name, batch=self._batch_size)
        await self._feed.start()
        PROJECTOR_POSITION.labels(self.name).set(self.position)
        _log.info("projector_prepared", consumer=self.name, checkpoint=self.position)
        return self.position

    def _consumer_config(self, after: int) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if after else DeliverPolicy.ALL,
            opt_start_seq=after + 1 if after else None,
            ack_policy=AckPolicy.ALL,
            ack_wait=self._ack_wait_s,
            max_ack_pending=20 * self._batch_size,
            filter_subject=self._filter,
        )

    async def _restore_consumer(self, feed: ConsumerFeed) -> None:
        """Re-create the durable consumer after the stored checkpoint if the server lost it.

        Events between the stored checkpoint and the position come again and are skipped.
        """
        try:
            await self._js.consumer_info(self._stream, self.name)
        except NotFoundError:
            await self._js.add_consumer(self._stream, self._consumer_config(self._stored))
            _log.warning("projector_consumer_recreated", consumer=self.name, checkpoint=self._stored)
        feed.resume()

    @property
    def feed(self) -> ConsumerFeed | None:
        """The pulling feed (None before ``prepare`` and after ``close``)."""
        return self._feed

    async def _delete_consumer(self) -> None:
        with contextlib.suppress(NotFoundError):
            await self._js.delete_consumer(self._stream, self.name)

    async def reset(self, truncate: Callable[[DbConnection], Awaitable[None]]) -> None:
        """Drop the projection: ``truncate`` and a zero checkpoint in one transaction.

        Call ``prepare`` afterwards to replay from sequence 1.

        Args:
            truncate: Empties the projection's tables inside the transaction.
        """
        await self.close()
        async with self._pool.acquire() as conn, conn.transaction():
            await truncate(conn)
            await conn.execute(
                f"INSERT INTO {self._table} (consumer, stream_seq) VALUES ($1, 0) "
                "ON CONFLICT (consumer) DO UPDATE SET stream_seq = 0, updated_at = now()",
                self.name,
            )
        await self._delete_consumer()
        self.position = self._stored = 0

    async def fetch(self) -> list[Msg]:
        """Take the next batch; empty when nothing arrived within the fetch timeout."""
        assert self._feed is not None, "call prepare() first"
        if self._feed.is_consumer_missing:
            await self._restore_consumer(self._feed)
        return await self._feed.next_batch(self._fetch_timeout_s)

    async def apply(self, msgs: Sequence[Msg]) -> int:
        """Apply a fetched batch and store the checkpoint in one transaction (no ack).

        Events at or below the position are skipped. Events the handler reports as already
        applied (``is_applied``: e.g. the scheduler's own decisions coming back) need no
        transaction: the position moves in memory and is stored with the next commit.

        Returns:
            How many events were applied by this call.

        Raises:
            ProjectorFencedError: The stored checkpoint moved under us: another projector with
                the same name is running, or the projection was reset.
        """
        started = time.perf_counter()
        events = [StreamEvent(stream_seq(m), m.subject, m.data, m.headers) for m in msgs]
        fresh = [e for e in events if e.seq > self.position]
        if not fresh:
            return 0
        needed = [e for e in fresh if not (self._is_applied and self._is_applied(e))]
        if needed:
            async with self._pool.acquire() as conn:
                await self.commit_batch(conn, fresh[-1].seq, lambda c: self._handler(c, needed))
            if self._on_applied is not None:
                self._on_applied()
        self.position = fresh[-1].seq
        PROJECTOR_APPLIED.labels(self.name).inc(len(fresh))
        PROJECTOR_POSITION.labels(self.name).set(self.position)
        PROJECTOR_BATCH_SECONDS.labels(self.name).observe(time.perf_counter() - started)
        return len(needed)

    async def commit_batch(
        self, conn: DbConnection, seq: int, write: Callable[[DbConnection], Awaitable[None]]
    ) -> None:
        """Run ``write`` and store ``seq`` as the checkpoint, in one transaction on ``conn``.

        ``apply`` commits through it; a caller that folds in its own way (the scheduler's
        rebuild, which writes a batch while it reads the next) uses it directly, then ``ack``.

        Args:
            conn: A connection outside any transaction.
            seq: The last stream sequence the write covers (not below the position).
            write: Writes the batch's effects inside the transaction.

        Raises:
            ProjectorFencedError: The stored checkpoint moved under us.
        """
        transaction = conn.transaction()
        await transaction.start()
        try:
            await write(conn)
            status = await conn.execute(
                f"UPDATE {self._table} SET stream_seq = $2, updated_at = now() WHERE consumer = $1 AND stream_seq = $3",
                self.name,
                seq,
                self._stored,
            )
            if status != "UPDATE 1":
                raise ProjectorFencedError(f"{self.name}: checkpoint is no longer {self._stored}")
        except BaseException:
            await transaction.rollback()
            raise
        committing = time.perf_counter()
        await transaction.commit()
        PROJECTOR_COMMIT_SECONDS.labels(self.name).observe(time.perf_counter() - committing)
        self._stored = seq
        self.position = max(self.position, seq)

    async def flush_position(self) -> None:
        """Store the in-memory position if it ran ahead of the stored checkpoint."""
        if self.position <= self._stored:
            return
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                f"UPDATE {self._table} SET stream_seq = $2, updated_at = now() WHERE consumer = $1 AND stream_seq = $3",
                self.name,
                self.position,
                self._stored,
            )
        if status != "UPDATE 1":
            raise ProjectorFencedError(f"{self.name}: checkpoint is no longer {self._stored}")
        self._stored = self.position

    async def ack(self, msgs: Sequence[Msg]) -> None:
        """Acknowledge a committed batch (the consumer acks all up to the last message)."""
        if msgs:
            await msgs[-1].ack()

    async def step(self) -> int:
        """Fetch, apply, ack and announce one batch.

        A dependency that is away (NATS or PostgreSQL restarting) makes the step wait with
        backoff and apply nothing; the loop that calls it resumes by itself once it is back.

        Returns:
            How many events were applied.
        """
        try:
            applied = await self._step()
        except DEPENDENCY_ERRORS as exc:
            _log.warning(
                "projector_dependency_unavailable", consumer=self.name, error=repr(exc), retry_in_s=self._outage_delay_s
            )
            await asyncio.sleep(self._outage_delay_s)
            self._outage_delay_s = min(self._outage_delay_s * 2, _RETRY_CAP_S)
            return 0
        self._outage_delay_s = _FIRST_RETRY_S
        return applied

    async def _step(self) -> int:
        msgs = await self.fetch()
        if not msgs:
            await self.flush_position()  # idle: store what echo-only batches moved in memory
            return 0
        before = self.position
        first = stream_seq(msgs[0])
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(consumer=self.name, stream_seq=first, batch=len(msgs))
        applied = await self._apply_with_retry(msgs)
        await self.ack(msgs)
        if self.position > before and self._on_commit is not None:
            await self._on_commit(self.position)
        return applied

    async def _apply_with_retry(self, msgs: Sequence[Msg]) -> int:
        delay = 0.1
        while True:
            try:
                return await self.apply(msgs)
            except Exception as exc:
                if is_poison(exc):
                    return await self._apply_one_by_one(msgs, exc)
                if not isinstance(exc, (*DEPENDENCY_ERRORS, AppendError)):
                    raise
                # Never skip a batch: a projection with a hole is worse than a stalled one.
                _log.error("projection_batch_failed", consumer=self.name, error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_CAP_S)

    async def _apply_one_by_one(self, msgs: Sequence[Msg], exc: BaseException) -> int:
        """Isolate what failed a batch: its events one at a time, each in its own transaction."""
        _log.warning("projection_batch_isolating", consumer=self.name, events=len(msgs), error=str(exc))
        applied = 0
        for msg in msgs:
            applied += await self._apply_alone(msg)
        return applied

    async def _apply_alone(self, msg: Msg) -> int:
        delay = 0.1
        while True:
            try:
                try:
                    return await self.apply([msg])
                except Exception as exc:
                    if not is_poison(exc):
                        raise
                    return await self._quarantine(StreamEvent(stream_seq(msg), msg.subject, msg.data), exc)
            except (*DEPENDENCY_ERRORS, AppendError) as exc:
                _log.error("projection_event_failed", consumer=self.name, error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _quarantine(self, event: StreamEvent, exc: BaseException) -> int:
        """Apply ``event`` with its text sanitised, or skip it; record it and move past it.

        Returns:
            1 when the sanitised event was applied, else 0.
        """
        error = f"{type(exc).__name__}: {exc}"
        clean = sanitised(event.data)
        outcome = SKIPPED
        if clean is not None:
            fixed = StreamEvent(event.seq, event.subject, clean)

            async def apply_fixed(conn: DbConnection) -> None:
                await self._handler(conn, [fixed])
                await record_quarantine(
                    conn, self._quarantine_table, self.name, event.seq, event.subject, event.data, SANITISED, error
                )

            try:
                async with self._pool.acquire() as conn:
                    await self.commit_batch(conn, event.seq, apply_fixed)
                outcome = SANITISED
                if self._on_applied is not None:
                    self._on_applied()
            except Exception as again:
                if not is_poison(again):
                    raise
                error = f"{error}; sanitised: {type(again).__name__}: {again}"
        if outcome == SKIPPED:

            async def record(conn: DbConnection) -> None:
                await record_quarantine(
                    conn, self._quarantine_table, self.name, event.seq, event.subject, event.data, SKIPPED, error
                )

            async with self._pool.acquire() as conn:
                await self.commit_batch(conn, event.seq, record)
        event_type, job_id = describe(event.data)
        PROJECTOR_QUARANTINED.labels(self.name, outcome).inc()
        PROJECTOR_POSITION.labels(self.name).set(self.position)
        _log.error(
            "event_quarantined",
            consumer=self.name,
            stream_seq=event.seq,
            subject=event.subject,
            event_type=event_type,
            job_id=job_id,
            outcome=outcome,
            error=error,
            hint=f"SELECT * FROM {self._quarantine_table} WHERE consumer = '{self.name}'",
        )
        return 1 if outcome == SANITISED else 0

    async def run(self, stop: asyncio.Event) -> None:
        """Apply batches until ``stop`` is set; the batch in hand is finished first."""
        while not stop.is_set():
            await self.step()

    async def catch_up(self, until_seq: int, *, timeout_s: float = 600.0) -> None:
        """Apply batches until the checkpoint reaches ``until_seq`` (used by rebuild and tests).

        Raises:
            TimeoutError: When the position is not reached in time.
        """
        deadline = time.monotonic() + timeout_s
        while self.position < until_seq:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} stuck at {self.position} < {until_seq}")
            await self.step()

    async def close(self) -> None:
        """Store the position and stop pulling (the durable consumer stays on the server)."""
        if self._feed is not None:
            with contextlib.suppress(asyncpg.PostgresError, OSError, ProjectorFencedError):
                await self.flush_position()
            try:
                await self._feed.stop()
            except Exception as exc:  # closing must not fail shutdown
                _log.warning("projector_feed_stop_failed", consumer=self.name, error=str(exc))
            self._feed = None
