"""`subscribe`: Conveyor's events read straight from ``EVENTS`` through a durable JetStream consumer
that the subscriber names and owns.

The consumer keeps the subscriber's position: an event counts as handled when the subscriber calls
`ReceivedEvent.ack`; one it received but did not acknowledge (it crashed) is delivered again after
``ack_wait_s``. So delivery is at least once, and a restarted subscriber misses nothing after its
last acknowledged event. ``start`` says where a new consumer begins (the first event, new events,
after a sequence, or at a time); ``reset=True`` replays from ``start`` by making the consumer again.
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import msgspec
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from conveyor_events import EVENTS_FILTER, EVENTS_STREAM, job_subject
from conveyor_events.subjects import EVENTS_PREFIX, aggregate_of

from .received import ReceivedEvent, aggregates_of, occurred_at, type_matches, typed

__all__ = ["EventSubscription", "Start", "subscribe"]

_decoder: Final = msgspec.json.Decoder(dict[str, Any])
_JOB_AGGREGATES: Final = ("job", "progress", "access")  # aggregates whose id is a job id
_KNOWN_JOBS: Final = 100_000  # job -> project entries kept before the oldest are forgotten


@dataclass(frozen=True)
class Start:
    """Where a new consumer begins. Build one with `beginning`, `new`, `after` or `at`."""

    policy: Literal["all", "new", "after", "at"] = "all"
    seq: int = 0
    time: datetime | None = None

    @classmethod
    def beginning(cls) -> "Start":
        """The first event the stream still holds."""
        return cls("all")

    @classmethod
    def new(cls) -> "Start":
        """Only events appended from now on."""
        return cls("new")

    @classmethod
    def after(cls, seq: int) -> "Start":
        """The event after stream sequence ``seq`` (a position kept elsewhere, e.g. from SSE)."""
        return cls("after", seq=seq)

    @classmethod
    def at(cls, time: datetime) -> "Start":
        """The first event stored at or after ``time``."""
        return cls("at", time=time)

    def config(self) -> dict[str, Any]:
        """The consumer settings that say this."""
        if self.policy == "new":
            return {"deliver_policy": DeliverPolicy.NEW}
        if self.policy == "after":
            return {"deliver_policy": DeliverPolicy.BY_START_SEQUENCE, "opt_start_seq": self.seq + 1}
        if self.policy == "at":
            when = self.time or datetime.now(UTC)
            return {"deliver_policy": DeliverPolicy.BY_START_TIME, "opt_start_time": when}
        return {"deliver_policy": DeliverPolicy.ALL}


class _Projects:
    """Which project each job belongs to: learnt from ``job.submitted`` events as they pass, and
    for a job submitted before the subscriber looked, read from the first event on its subject."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._known: dict[str, str] = {}

    def learn(self, job_id: str, doc: dict[str, Any]) -> None:
        if doc.get("type") == "job.submitted" and isinstance(doc.get("project"), str):
            self._remember(job_id, doc["project"])

    def _remember(self, job_id: str, project: str) -> None:
        if len(self._known) >= _KNOWN_JOBS:
            self._known.pop(next(iter(self._known)))
        self._known[job_id] = project

    async def of(self, job_id: str) -> str | None:
        if job_id in self._known:
            return self._known[job_id]
        try:  # a job's first event is its submission
            first = await self._js.get_msg(EVENTS_STREAM, seq=1, subject=job_subject(job_id), next=True)
        except nats.js.errors.NotFoundError:
            return None  # the job's events are gone from the stream
        self.learn(job_id, _decoder.decode(first.data or b"{}"))
        return self._known.get(job_id)


class EventSubscription:
    """The events of one durable consumer, as an async iterator; see `subscribe`.

    Use it as ``async with subscribe(...) as events: async for event in events: ...; await
    event.ack()``. Leaving the block stops fetching; the consumer and its position stay on the
    server for the next run (``unsubscribe`` deletes them).
    """

    def __init__(
        self,
        nc: NatsClient,
        name: str,
        *,
        types: tuple[str, ...],
        projects: tuple[str, ...],
        start: Start,
        reset: bool,
        ack_wait_s: float,
        batch: int,
    ) -> None:
        self.name = name
        self._nc = nc
        self._js = nc.jetstream()
        self._types = types
        self._projects = frozenset(projects)
        self._start = start
        self._reset = reset
        self._ack_wait_s = ack_wait_s
        self._batch = batch
        self._sub: Any = None
        self._index = _Projects(self._js)
        self.subjects = self._filters()  # the consumer's filter; checked now, so a contradiction fails at the call

    def _filters(self) -> list[str]:
        aggregates = aggregates_of(self._types)
        if self._projects:
            aggregates = tuple(a for a in (aggregates or _JOB_AGGREGATES) if a in _JOB_AGGREGATES)
            if not aggregates:
                raise ValueError("projects select job, progress and access events: the types asked for hold none")
        return [f"{EVENTS_PREFIX}.{a}.>" for a in aggregates] or [EVENTS_FILTER]

    async def open(self) -> None:
        """Create (or update the filters of) the durable consumer and start fetching from it."""
        if self._sub is not None:
            return
        existing = None
        with contextlib.suppress(nats.js.errors.NotFoundError):
            existing = await self._js.consumer_info(EVENTS_STREAM, self.name)
        if existing is not None and self._reset:
            await self._js.delete_consumer(EVENTS_STREAM, self.name)
            existing = None
        filters = self.subjects
        where = {"filter_subject": filters[0]} if len(filters) == 1 else {"filter_subjects": filters}
        if existing is not None:
            # The start of an existing consumer cannot change (that is what `reset` is for): keep it.
            start = {k: getattr(existing.config, k) for k in ("deliver_policy", "opt_start_seq", "opt_start_time")}
        else:
            start = self._start.config()
        config_ = ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait_s,
            max_ack_pending=max(self._batch * 4, 256),
            **start,
            **where,
        )
        await self._js.add_consumer(EVENTS_STREAM, config_)
        self._sub = await self._js.pull_subscribe_bind(durable=self.name, stream=EVENTS_STREAM)

    async def close(self) -> None:
        """Stop fetching; the consumer and its position stay."""
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._sub.unsubscribe()
            self._sub = None

    async def unsubscribe(self) -> None:
        """Stop, and delete the consumer: a later subscription of this name starts afresh."""
        await self.close()
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await self._js.delete_consumer(EVENTS_STREAM, self.name)

    async def __aenter__(self) -> "EventSubscription":
        await self.open()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[ReceivedEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[ReceivedEvent]:
        await self.open()
        while self._sub is not None:
            try:
                msgs: list[Msg] = await self._sub.fetch(self._batch, timeout=5.0)
            except nats.errors.TimeoutError:
                continue
            for msg in msgs:
                received = await self._received(msg)
                if received is None:
                    await msg.ack_sync()  # not asked for: it is handled by being skipped
                else:
                    yield received

    async def _received(self, msg: Msg) -> ReceivedEvent | None:
        try:
            aggregate, ident = aggregate_of(msg.subject)
            doc = _decoder.decode(msg.data)
        except (ValueError, msgspec.DecodeError):
            return None
        tag = str(doc.get("type", ""))
        if aggregate in _JOB_AGGREGATES:
            self._index.learn(ident, doc)
        if not type_matches(self._types, tag):
            return None
        if self._projects and (aggregate not in _JOB_AGGREGATES or await self._index.of(ident) not in self._projects):
            return None

        async def ack() -> None:
            await msg.ack_sync()

        return ReceivedEvent(
            seq=msg.metadata.sequence.stream,
            type=tag,
            aggregate=aggregate,
            aggregate_id=ident,
            occurred_at=occurred_at(doc),
            data=doc,
            event=typed(aggregate, ident, msg.data),
            headers=msg.headers or {},
            _ack=ack,
        )


def subscribe(
    nc: NatsClient,
    name: str,
    *,
    types: tuple[str, ...] | list[str] = (),
    projects: tuple[str, ...] | list[str] = (),
    start: Start | None = None,
    reset: bool = False,
    ack_wait_s: float = 30.0,
    batch: int = 100,
) -> EventSubscription:
    """Follow Conveyor's events through the durable consumer ``name`` on ``EVENTS``.

    Args:
        nc: A connected NATS client (as the subscriber's own read-only user, see the README).
        name: The consumer's name: the same name resumes where the last run acknowledged.
        types: Tags (``job.succeeded``) or patterns (``job.*``) to keep; all when empty.
        projects: Keep only events of jobs in these projects (job, progress and access events).
        start: Where a new consumer begins (`Start.beginning` by default); ignored for an
            existing one unless ``reset``.
        reset: Delete the consumer first, so the subscription replays from ``start``.
        ack_wait_s: How long a received, unacknowledged event waits before it is delivered again.
        batch: Events fetched per request.

    Returns:
        The subscription: an async iterator of `ReceivedEvent`, and an async context manager.

    Raises:
        ValueError: When ``projects`` is given with ``types`` that hold no job, progress or
            access event.
    """
    return EventSubscription(
        nc,
        name,
        types=tuple(types),
        projects=tuple(projects),
        start=start or Start.beginning(),
        reset=reset,
        ack_wait_s=ack_wait_s,
        batch=batch,
    )
