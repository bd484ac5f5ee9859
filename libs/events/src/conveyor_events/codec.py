"""Encoding and decoding of events: one decoder per aggregate union, built once at import."""

from typing import Any, Final

import msgspec

from .access import AccessEvent
from .hook import HookEvent
from .job import JobEvent
from .legacy import UPCASTERS
from .progress import ProgressEvent
from .project import ProjectEvent
from .subjects import aggregate_of
from .user import UserEvent
from .worker import WorkerEvent

__all__ = [
    "Event",
    "UnknownEventError",
    "decode_event",
    "decode_job_event",
    "decode_progress_event",
    "encode_event",
    "upcast",
]

Event = JobEvent | WorkerEvent | UserEvent | ProjectEvent | AccessEvent | HookEvent
"""Every event of every aggregate."""

_encoder: Final = msgspec.json.Encoder()
_job_decoder: Final[msgspec.json.Decoder[JobEvent]] = msgspec.json.Decoder(JobEvent)
_raw_decoder: Final = msgspec.json.Decoder(dict[str, Any])
_worker_decoder: Final[msgspec.json.Decoder[WorkerEvent]] = msgspec.json.Decoder(WorkerEvent)
_progress_decoder: Final[msgspec.json.Decoder[ProgressEvent]] = msgspec.json.Decoder(ProgressEvent)
_access_decoder: Final[msgspec.json.Decoder[AccessEvent]] = msgspec.json.Decoder(AccessEvent)
_project_decoder: Final[msgspec.json.Decoder[ProjectEvent]] = msgspec.json.Decoder(ProjectEvent)
_user_decoder: Final[msgspec.json.Decoder[UserEvent]] = msgspec.json.Decoder(UserEvent)
_hook_decoder: Final[msgspec.json.Decoder[HookEvent]] = msgspec.json.Decoder(HookEvent)
_DECODERS: Final[dict[str, msgspec.json.Decoder[Any]]] = {
    "job": _job_decoder,
    "worker": _worker_decoder,
    "user": _user_decoder,
    "project": _project_decoder,
    "access": _access_decoder,
    "hook": _hook_decoder,
}


class UnknownEventError(ValueError):
    """An event this code cannot read: an unknown aggregate or tag, or a malformed body.

    Consumers log it and move on (a newer producer may have written it); they never crash on it.
    """


def encode_event(event: Event | ProgressEvent) -> bytes:
    """Serialise an event to JSON bytes.

    Args:
        event: Any event struct.

    Returns:
        The JSON document, tag included.
    """
    return _encoder.encode(event)


def upcast(data: bytes) -> bytes:
    """Rewrite a superseded event version into the current one; identity for current tags.

    Args:
        data: The stored JSON.

    Returns:
        JSON of a current event type.
    """
    if not UPCASTERS:
        return data
    doc = _raw_decoder.decode(data)
    fn = UPCASTERS.get(str(doc.get("type")))
    return data if fn is None else _encoder.encode(fn(doc))


def decode_job_event(data: bytes) -> JobEvent:
    """Decode a job event.

    Args:
        data: The stored JSON.

    Returns:
        The event.

    Raises:
        UnknownEventError: When the bytes are not a known job event.
    """
    try:
        event: JobEvent = _job_decoder.decode(upcast(data))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UnknownEventError(str(exc)) from exc
    return event


def decode_progress_event(data: bytes) -> ProgressEvent:
    """Decode a progress event (subject ``conveyor.ev.progress.<job_id>``).

    Progress has its own decoder and is not part of ``Event``: consumers of job and worker
    state (the scheduler) skip it as an unknown aggregate, and only the log collector reads it.

    Args:
        data: The stored JSON.

    Returns:
        The event.

    Raises:
        UnknownEventError: When the bytes are not a known progress event.
    """
    try:
        event: ProgressEvent = _progress_decoder.decode(upcast(data))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UnknownEventError(str(exc)) from exc
    return event


def decode_event(subject: str, data: bytes) -> Event:
    """Decode an event read from the ``EVENTS`` stream, choosing the union by subject.

    Args:
        subject: The message subject, ``conveyor.ev.<aggregate>.<id>``.
        data: The message payload.

    Returns:
        The event.

    Raises:
        UnknownEventError: For an unknown aggregate, tag or a malformed payload.
    """
    try:
        aggregate, _ = aggregate_of(subject)
    except ValueError as exc:
        raise UnknownEventError(str(exc)) from exc
    decoder = _DECODERS.get(aggregate)
    if decoder is None:
        raise UnknownEventError(f"unknown aggregate {aggregate!r}")
    try:
        event: Event = decoder.decode(upcast(data))
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UnknownEventError(str(exc)) from exc
    return event
