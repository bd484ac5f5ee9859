"""Reading ``EVENTS`` for subscribers: an ephemeral consumer from a sequence or a time, its
messages filtered and checked against what the caller may read."""

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec
import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from conveyor_events import EVENTS_FILTER, EVENTS_STREAM, job_subject
from conveyor_events.subjects import aggregate_of

from ...core.reader import JobReader
from ...core.token_auth import Principal
from .query import EventQuery, redacted, selected, visible

_decoder: Final = msgspec.json.Decoder(dict[str, Any])


class FeedItem(msgspec.Struct, kw_only=True):
    """One event as subscribers get it: its stream sequence (the SSE ``id``) and the event."""

    seq: int
    type: str
    aggregate: str
    aggregate_id: str
    occurred_at: datetime | None
    event: dict[str, Any]


async def open_feed(js: JetStreamContext, query: EventQuery, *, new_only: bool = False) -> Any:
    """An ephemeral pull consumer where the query starts (after its cursor, at ``since``, from
    the first event, or with ``new_only`` at the next one)."""
    if query.after_seq is not None:
        start: dict[str, Any] = {
            "deliver_policy": DeliverPolicy.BY_START_SEQUENCE,
            "opt_start_seq": query.after_seq + 1,
        }
    elif query.since is not None:
        # The server counts time in int64 nanoseconds (up to 2262): a far-future time is "tomorrow".
        since = min(query.since, datetime.now(UTC) + timedelta(days=1))
        start = {"deliver_policy": DeliverPolicy.BY_START_TIME, "opt_start_time": since}
    elif new_only:
        start = {"deliver_policy": DeliverPolicy.NEW}
    else:
        start = {"deliver_policy": DeliverPolicy.ALL}
    subject = job_subject(query.job) if query.job is not None else EVENTS_FILTER
    config = ConsumerConfig(ack_policy=AckPolicy.NONE, inactive_threshold=10.0, filter_subject=subject, **start)
    return await js.pull_subscribe(subject, stream=EVENTS_STREAM, config=config)


async def fetch_raw(sub: Any, batch: int, timeout_s: float) -> list[Any]:
    """Up to ``batch`` messages; none when nothing arrived within ``timeout_s``."""
    try:
        msgs: list[Any] = await sub.fetch(batch, timeout=timeout_s)
    except TimeoutError:  # nats.errors.TimeoutError, and the bare one nats-py's fetch also raises
        return []
    return msgs


async def close_feed(sub: Any) -> None:
    with contextlib.suppress(nats.errors.Error):
        await sub.unsubscribe()


class Visibility:
    """Decides, batch by batch, which selected events the caller may see."""

    def __init__(self, principal: Principal, reader: JobReader) -> None:
        self._principal = principal
        self._reader = reader
        self._is_admin = principal.has_scope("admin")
        self._workers = principal.has_scope("workers")

    async def may_read_job(self, job_id: str) -> bool:
        """Whether the caller may read the job (False for a missing one too)."""
        return self._is_admin or job_id in await self._reader.readable({job_id}, self._principal.user_id)

    async def filter(self, query: EventQuery, msgs: list[Any]) -> list[FeedItem]:
        decoded: list[tuple[int, str, str, dict[str, Any]]] = []
        for m in msgs:
            try:
                aggregate, ident = aggregate_of(m.subject)
                doc = _decoder.decode(m.data)
            except (ValueError, msgspec.DecodeError):
                continue
            if selected(query, aggregate, doc):
                decoded.append((m.metadata.sequence.stream, aggregate, ident, doc))
        readable: set[str] = set()
        if not self._is_admin:
            jobs = {str(d.get("job_id")) for _, a, _, d in decoded if a == "job"}
            readable = await self._reader.readable(jobs, self._principal.user_id) if jobs else set()
            # A submission the projection has not folded yet: its owner may read it.
            readable |= {
                str(d["job_id"]) for _, a, _, d in decoded if a == "job" and d.get("owner") == self._principal.user_id
            }
        return [
            FeedItem(
                seq=seq,
                type=str(doc.get("type", "")),
                aggregate=aggregate,
                aggregate_id=ident,
                occurred_at=_time(doc.get("occurred_at")),
                event=redacted(doc),
            )
            for seq, aggregate, ident, doc in decoded
            if visible(aggregate, doc, is_admin=self._is_admin, may_see_workers=self._workers, readable_jobs=readable)
        ]


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


async def pending(sub: Any) -> int:
    """How many messages the consumer still has to deliver."""
    info = await sub.consumer_info()
    return int(info.num_pending or 0)


async def scan(
    sub: Any, query: EventQuery, vis: Visibility, *, max_scanned: int
) -> AsyncIterator[tuple[int, list[FeedItem], int]]:
    """Batches of visible events, with the last scanned sequence and how many remain."""
    scanned = 0
    left = await pending(sub)
    while left > 0 and scanned < max_scanned:
        msgs = await fetch_raw(sub, min(500, max_scanned - scanned), 2.0)
        if not msgs:
            return
        scanned += len(msgs)
        left = int(msgs[-1].metadata.num_pending)
        yield msgs[-1].metadata.sequence.stream, await vis.filter(query, msgs), left
