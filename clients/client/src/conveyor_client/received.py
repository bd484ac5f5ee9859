"""`ReceivedEvent`: one event as a subscriber gets it, from NATS or from the SSE stream, and the
filters both subscribers share (pure)."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import msgspec

from conveyor_events import Event, ProgressEvent, UnknownEventError, decode_event, decode_progress_event
from conveyor_events.subjects import event_subject

_encoder: Final = msgspec.json.Encoder()


async def _no_ack() -> None:
    return None


@dataclass(frozen=True)
class ReceivedEvent:
    """One event and where it is in ``EVENTS``.

    Attributes:
        seq: Its stream sequence: the position to resume after.
        type: Its tag, e.g. ``job.succeeded``.
        aggregate: ``job``, ``worker``, ``progress``, …
        aggregate_id: The job's (worker's, …) id.
        occurred_at: When it happened, if the event says.
        data: The event as JSON (what the server sent; the SSE stream leaves secrets out).
        event: The typed event, or ``None`` for a tag (or a shape) this version does not know:
            a newer Conveyor may send one; skip it.
        headers: The message's NATS headers (empty over SSE): ``Nats-Msg-Id``, and with tracing
            on the W3C ``traceparent`` / ``tracestate`` of what appended the event.
    """

    seq: int
    type: str
    aggregate: str
    aggregate_id: str
    occurred_at: datetime | None
    data: dict[str, Any]
    event: Event | ProgressEvent | None
    headers: Mapping[str, str] = field(default_factory=dict)
    _ack: Callable[[], Awaitable[None]] = field(default=_no_ack, repr=False, compare=False)

    async def ack(self) -> None:
        """Record that this event is handled: a restarted subscriber resumes after it.

        Over NATS it acknowledges the message to the durable consumer (unacknowledged events are
        delivered again); over SSE the position is ``seq``, which the caller keeps.
        """
        await self._ack()


def typed(aggregate: str, aggregate_id: str, data: bytes) -> Event | ProgressEvent | None:
    """Decode an event's JSON into its struct; ``None`` when this version cannot."""
    try:
        if aggregate == "progress":
            return decode_progress_event(data)
        return decode_event(event_subject(aggregate, aggregate_id), data)
    except (UnknownEventError, ValueError):
        return None


def type_matches(types: tuple[str, ...], tag: str) -> bool:
    """No filter, an exact tag, or a ``prefix.*`` pattern (``job.*``)."""
    return not types or any(t == tag or (t.endswith(".*") and tag.startswith(t[:-1])) for t in types)


def aggregates_of(types: tuple[str, ...]) -> tuple[str, ...]:
    """The aggregates whose subjects can hold the given tags; empty for all of them."""
    if not types:
        return ()
    return tuple(sorted({t.split(".", 1)[0] for t in types}))


def occurred_at(doc: dict[str, Any]) -> datetime | None:
    """The event's ``occurred_at``, when it has a readable one."""
    raw = doc.get("occurred_at")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def encode(doc: dict[str, Any]) -> bytes:
    """JSON bytes of a decoded document (to decode it again into a struct)."""
    return _encoder.encode(doc)
