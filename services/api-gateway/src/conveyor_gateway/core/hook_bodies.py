"""Request and response bodies of the ``/v1/hooks`` endpoints."""

from datetime import datetime
from typing import Annotated

import msgspec

from conveyor_events.fields import Identifier

HookUrl = Annotated[str, msgspec.Meta(max_length=2048, pattern=r"^https?://[^\s/?#@]+[^\s]*$")]
EventType = Annotated[str, msgspec.Meta(max_length=64, pattern=r"^(\*|job\.\*|job\.[a-z_]+)$")]
EventTypes = Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=64)]
Description = Annotated[str, msgspec.Meta(max_length=500)]


class HookCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/hooks``: a hook of the caller's own jobs, or with ``project`` of that project's
    jobs (needs its ``edit`` role). ``events``: job event types (``job.succeeded``), ``job.*`` or ``*``."""

    url: HookUrl
    events: EventTypes
    project: Identifier | None = None
    active: bool = True
    description: Description = ""


class HookPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /v1/hooks/{id}``: the fields given change; ``active: true`` re-enables a disabled hook."""

    url: HookUrl | None = None
    events: EventTypes | None = None
    active: bool | None = None
    description: Description | None = None


class HookView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A hook as the API shows it; ``secret`` only in the answer that created it."""

    id: str
    owner: str
    project: str | None
    url: str
    events: list[str]
    description: str
    active: bool
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime
    disabled_reason: str | None = None
    disabled_at: datetime | None = None
    secret: str | None = None


class HookPage(msgspec.Struct, kw_only=True):
    """``GET /v1/hooks``."""

    items: list[HookView]


class AttemptView(msgspec.Struct, kw_only=True):
    """One attempt of a delivery: when, the answer's status (``null``: none), latency and the
    first bytes of the answer, or what went wrong."""

    attempt: int
    attempted_at: datetime
    status: int | None
    latency_ms: float
    error: str
    response: str


class DeliveryView(msgspec.Struct, kw_only=True):
    """A delivery (its ``id`` is the ``webhook-id``): ``pending``, ``delivered``, ``failed`` (out of
    time), ``gone`` (the receiver answered 410) or ``cancelled`` (the hook was deleted)."""

    id: str
    event_type: str
    job_id: str | None
    stream_seq: int
    status: str
    attempts: list[AttemptView]
    created_at: datetime
    next_attempt_at: datetime | None


class DeliveryPage(msgspec.Struct, kw_only=True):
    """``GET /v1/hooks/{id}/deliveries``: newest first."""

    items: list[DeliveryView]
    next_cursor: str | None = None
