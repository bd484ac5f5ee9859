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

__all__ = ["ADMIN", "SERVICE", "SUBSCRIBER", "NatsPermissions"]


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
