"""What each kind of NATS client may publish and subscribe to: the subjects of the bus, per role.

A deployment gives every service its own user with ``SERVICE`` permissions (one identity each, so
one can be revoked or watched alone), the operator's CLI an ``ADMIN`` user, and each outside event
subscriber a ``SUBSCRIBER`` user that reads ``EVENTS`` through its own consumers and can write
nothing onto the bus. Anonymous clients are refused.
"""

from typing import Final

import msgspec

from .streams import EVENTS_STREAM
from .subjects import EVENTS_PREFIX

__all__ = ["ADMIN", "SERVICE", "SUBSCRIBER", "NatsPermissions", "subscriber_role"]


class NatsPermissions(msgspec.Struct, frozen=True, kw_only=True):
    """Subjects a role may publish and subscribe to (NATS wildcards), and publishes refused.

    Attributes:
        publish: Subjects the role may publish to.
        subscribe: Subjects the role may subscribe to.
        deny_publish: Subjects refused although ``publish`` would allow them.
    """

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = ()


_REPLIES: Final = "_INBOX.>"

SERVICE: Final = NatsPermissions(
    # conveyor.> : events, logs, positions, scheduler calls and hints; $JS.API: streams, consumers,
    # KV and Object Store management; $JS.ACK/$JS.FC: acknowledgements and flow control; $KV/$O:
    # the leader, worker-status and artifact buckets.
    publish=("conveyor.>", "$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "$KV.>", "$O.>", _REPLIES),
    subscribe=("conveyor.>", _REPLIES),
)
ADMIN: Final = SERVICE  # `conveyor admin`: appends identity events, as a service does

_EVENTS_API: Final = tuple(
    f"$JS.API.{call}.{EVENTS_STREAM}{tail}"
    for call, tail in (
        ("STREAM.INFO", ""),
        ("CONSUMER.CREATE", ".>"),
        ("CONSUMER.DURABLE.CREATE", ".>"),
        ("CONSUMER.INFO", ".>"),
        ("CONSUMER.DELETE", ".>"),
        ("CONSUMER.MSG.NEXT", ".>"),
        ("CONSUMER.NAMES", ""),
        ("CONSUMER.LIST", ""),
        ("STREAM.MSG.GET", ""),
    )
)
SUBSCRIBER: Final = NatsPermissions(
    # Read EVENTS through its own (durable) consumers, acknowledge, nothing else.
    publish=(
        "$JS.API.INFO",
        "$JS.API.STREAM.NAMES",
        *_EVENTS_API,
        f"$JS.ACK.{EVENTS_STREAM}.>",
        f"$JS.FC.{EVENTS_STREAM}.>",
        _REPLIES,
    ),
    subscribe=(f"{EVENTS_PREFIX}.>", _REPLIES),
    deny_publish=("conveyor.>", "$KV.>", "$O.>"),
)


def subscriber_role(consumer: str) -> NatsPermissions:
    """Return the read-only role of one outside subscriber, limited to its own consumer.

    ``SUBSCRIBER`` may manage every consumer of ``EVENTS`` (consumer names are single subject
    tokens, so no wildcard can tell a subscriber's from a service's): it could delete the
    scheduler's. This role may make, read, acknowledge and delete only the durable consumer named
    ``consumer`` (give each subscriber its own name, e.g. its user name), read single messages,
    and publish nothing onto the bus.

    Args:
        consumer: The one consumer name the subscriber may use; a single subject token.

    Returns:
        The permissions.

    Raises:
        ValueError: For a name that is not a single token.
    """
    if not consumer or any(c in consumer for c in ".*> \t\r\n"):
        raise ValueError(f"invalid consumer name {consumer!r}")
    own = tuple(
        f"$JS.API.{call}.{EVENTS_STREAM}.{consumer}{tail}"
        for call, tails in (
            ("CONSUMER.CREATE", ("", ".>")),  # the create subject names the filter after the consumer
            ("CONSUMER.DURABLE.CREATE", ("",)),
            ("CONSUMER.INFO", ("",)),
            ("CONSUMER.DELETE", ("",)),
            ("CONSUMER.MSG.NEXT", ("",)),
        )
        for tail in tails
    )
    return NatsPermissions(
        publish=(
            "$JS.API.INFO",
            "$JS.API.STREAM.NAMES",
            f"$JS.API.STREAM.INFO.{EVENTS_STREAM}",
            f"$JS.API.STREAM.MSG.GET.{EVENTS_STREAM}",
            *own,
            f"$JS.ACK.{EVENTS_STREAM}.{consumer}.>",
            _REPLIES,
        ),
        subscribe=(f"{EVENTS_PREFIX}.>", _REPLIES),
        deny_publish=SUBSCRIBER.deny_publish,
    )
