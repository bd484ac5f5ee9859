"""Events of the hook aggregate (subject ``conveyor.ev.hook.<hook_id>``): outbound webhooks.

A hook belongs to a user (``project`` empty) or to a project, subscribes to event types and is
signed with its secret (``whsec_<base64>``, Standard Webhooks). The secret travels in the
event because the event store is the system of record: the dispatcher rebuilds its hooks from
the stream. It is shown to the caller once, at creation, and never in a read.
"""

import msgspec

from .fields import UtcDatetime

__all__ = [
    "HookCreated",
    "HookDeleted",
    "HookDisabled",
    "HookEvent",
    "HookEventBase",
    "HookRedeliveryRequested",
    "HookUpdated",
]


class HookEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every hook event carries."""

    event_id: str
    hook_id: str
    occurred_at: UtcDatetime


class HookCreated(HookEventBase, frozen=True, kw_only=True, tag="hook.created"):
    """A user created a hook (request event): of their own jobs, or of a project's jobs."""

    owner: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    project: str = ""
    is_active: bool = True
    description: str = ""


class HookUpdated(HookEventBase, frozen=True, kw_only=True, tag="hook.updated"):
    """Fields of a hook changed; ``None`` leaves one as it was (request event).

    ``is_active=True`` re-enables a disabled hook and clears its failure streak.
    """

    url: str | None = None
    event_types: tuple[str, ...] | None = None
    is_active: bool | None = None
    description: str | None = None
    requested_by: str = ""


class HookDeleted(HookEventBase, frozen=True, kw_only=True, tag="hook.deleted"):
    """The hook was removed: nothing more is delivered to it (request event)."""

    requested_by: str = ""


class HookDisabled(HookEventBase, frozen=True, kw_only=True, tag="hook.disabled"):
    """The dispatcher turned the hook off (decision event).

    ``reason`` is ``failing`` (sustained failure: ``failures`` attempts in a row over ``since``)
    or ``gone`` (the receiver said 410).
    """

    reason: str
    failures: int = 0
    since: UtcDatetime | None = None


class HookRedeliveryRequested(HookEventBase, frozen=True, kw_only=True, tag="hook.redelivery_requested"):
    """Send a past delivery again, with the same ``webhook-id`` and body (request event)."""

    delivery_id: str
    requested_by: str = ""


HookEvent = HookCreated | HookUpdated | HookDeleted | HookDisabled | HookRedeliveryRequested
"""Every event of the hook aggregate."""
