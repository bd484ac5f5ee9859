"""Decoding a fetched batch for a projection: unknown events are skipped with a warning.

Every projector reads the same way: decode each message, and when it cannot (a newer producer's
event, or garbage) log it and go on, so that the checkpoint still advances past it (CONVENTIONS
§5: unhandled event types still advance the checkpoint; a consumer never crashes on one).
"""

from collections.abc import Callable, Iterable
from typing import TypeVar

from conveyor_events import Event, UnknownEventError, decode_event

from .logging import get_logger
from .projector import StreamEvent

__all__ = ["decode_batch", "decode_stream_event"]

T = TypeVar("T")

_log = get_logger("projector")


def decode_batch(batch: Iterable[StreamEvent], decode: Callable[[StreamEvent], T | None]) -> list[tuple[int, T]]:
    """Decode a batch in order, keeping what ``decode`` returns for each event.

    Args:
        batch: Events read from the stream.
        decode: Returns the decoded event, or ``None`` for one this projection does not keep
            (skipped silently); raises ``UnknownEventError`` for one it cannot read.

    Returns:
        ``(stream sequence, decoded)`` pairs, in stream order, without the skipped events.
    """
    decoded: list[tuple[int, T]] = []
    for item in batch:
        try:
            value = decode(item)
        except UnknownEventError as exc:
            _log.warning("event_skipped", stream_seq=item.seq, subject=item.subject, error=str(exc))
            continue
        if value is not None:
            decoded.append((item.seq, value))
    return decoded


def decode_stream_event(item: StreamEvent) -> Event:
    """Decode any event of ``EVENTS`` by its subject (``decode_batch``'s usual ``decode``).

    Args:
        item: An event read from the stream.

    Returns:
        The event.

    Raises:
        UnknownEventError: For an unknown aggregate, tag or a malformed payload.
    """
    return decode_event(item.subject, item.data)
