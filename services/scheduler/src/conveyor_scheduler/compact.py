"""One shared object per repeated value in the job states the engine keeps.

Every state the engine stores was decoded (from an event, or from a projection row at start),
and decoding makes new objects for each string, datetime and payload even when a million queued
jobs carry the same project, owner, labels, payload or decision timestamp (a batch of decisions
shares one clock reading). ``Compactor`` swaps such values for one shared object per value.
They are equal and immutable (payloads and the children map are never changed in place:
``evolve`` builds new ones), so nothing can tell, except the memory used.

The caches are bounded: when one is full it starts over, so values that stopped repeating are
let go and the ones that still repeat come back at their next sight.
"""

from datetime import UTC, datetime
from operator import attrgetter
from typing import Final

import msgspec

from conveyor_events import Payload

from .decider import NO_CHILDREN, JobState

# Hashable fields whose values often repeat from job to job (ids of the job itself do not).
_SHARED_FIELDS: Final = (
    "project",
    "owner",
    "title",
    "note",
    "tags",
    "labels",
    "parent_id",
    "progress_pattern",
    "url",
    "chained_from",
    "reason",
    "worker_id",
    "retry_at",
    "started_at",
    "created_at",
    "updated_at",
)
_shared_values: Final = attrgetter(*_SHARED_FIELDS)
_NOTHING: Final = (None,) * len(_SHARED_FIELDS)
_PAYLOAD_KEY_MAX: Final = 4096  # bytes of a payload's encoding; larger ones are kept as they are
_encoder: Final = msgspec.json.Encoder()


def _same(a: object, b: object) -> bool:
    """Interchangeable: equal and of the same type (a datetime also in the same time zone, as
    equal instants in different zones encode differently)."""
    if type(a) is not type(b) or a != b:
        return False
    return not isinstance(a, datetime) or a.tzinfo is b.tzinfo  # type: ignore[attr-defined]


def _shareable(value: object) -> bool:
    if isinstance(value, datetime):
        return value.tzinfo is UTC  # what the decoder makes of "Z" and "+00:00", and what we write
    return type(value) is str or type(value) is tuple


class Compactor:
    """Replaces a job state's repeated values with shared ones.

    Args:
        limit: Entries kept in the value cache before it starts over.
        payload_limit: Entries kept in the payload cache before it starts over.
    """

    def __init__(self, limit: int = 50_000, payload_limit: int = 1_000) -> None:
        self._limit = limit
        self._payload_limit = payload_limit
        self._values: dict[object, object] = {}
        self._payloads: dict[bytes, Payload] = {}

    def __call__(self, state: JobState, previous: JobState | None = None) -> JobState:
        """``state`` with shared values; ``previous``: the job's state held so far, whose values
        are reused when equal (cheaper than a cache look-up, and the usual case)."""
        changes: dict[str, object] = {}
        values = _shared_values(state)
        olds = _NOTHING if previous is None else _shared_values(previous)
        for name, value, old in zip(_SHARED_FIELDS, values, olds, strict=True):
            if not value or old is value:
                continue  # None, "" and () are one object already (a datetime is never false)
            if _same(old, value):
                changes[name] = old
            elif _shareable(value):
                shared = self._share(value)
                if shared is not value:
                    changes[name] = shared
        payload = self._share_payload(state.payload, None if previous is None else previous.payload)
        if payload is not state.payload:
            changes["payload"] = payload
        if not state.children and state.children is not NO_CHILDREN:
            changes["children"] = NO_CHILDREN
        return msgspec.structs.replace(state, **changes) if changes else state

    def _share(self, value: object) -> object:
        shared = self._values.get(value)
        if shared is not None and _same(shared, value):
            return shared
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[value] = value
        return value

    def _share_payload(self, payload: Payload | None, previous: Payload | None) -> Payload | None:
        if payload is None or payload is previous:
            return payload
        if previous is not None and payload == previous:
            return previous
        key = _encoder.encode(payload)
        if len(key) > _PAYLOAD_KEY_MAX:
            return payload
        shared = self._payloads.get(key)
        if shared is not None:
            return shared
        if len(self._payloads) >= self._payload_limit:
            self._payloads.clear()
        self._payloads[key] = payload
        return payload
