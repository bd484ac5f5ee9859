"""The embedded nats-server's configuration file.

Users with their permissions, the JetStream sync policy and the payload limit: what has no
command-line flag.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["NatsUser", "render_config"]


@dataclass(frozen=True, kw_only=True)
class NatsUser:
    """One NATS user and the subjects it may publish and subscribe to.

    Attributes:
        name: The user name.
        password: Its password (the config file is written readable by its owner only).
        publish: Subjects (wildcards allowed) the user may publish to.
        subscribe: Subjects the user may subscribe to.
        deny_publish: Subjects refused although ``publish`` would allow them.
    """

    name: str
    password: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = ()


def _user(user: NatsUser) -> dict[str, object]:
    publish: dict[str, list[str]] = {"allow": list(user.publish)}
    if user.deny_publish:
        publish["deny"] = list(user.deny_publish)
    return {
        "user": user.name,
        "password": user.password,
        "permissions": {"publish": publish, "subscribe": {"allow": list(user.subscribe)}},
    }


def render_config(
    *, users: Sequence[NatsUser] = (), sync_interval: str | None = None, max_payload: int | None = None
) -> str:
    """The text of a nats-server config file (its JSON-compatible syntax).

    Args:
        users: When given, only these users may connect (no anonymous clients).
        sync_interval: JetStream's fsync policy: ``"always"`` (fsync before every acknowledgement)
            or an interval such as ``"2s"``; the server's default (2 minutes) when omitted.
        max_payload: The largest message in bytes.

    Returns:
        The file's text; empty when there is nothing to configure.
    """
    lines = []
    if max_payload is not None:
        lines.append(f"max_payload: {max_payload}")
    if sync_interval is not None:
        lines.append(f"jetstream {{ sync_interval: {json.dumps(sync_interval)} }}")
    if users:
        lines.append("authorization " + json.dumps({"users": [_user(u) for u in users]}, indent=2))
    return "\n".join(lines) + ("\n" if lines else "")
