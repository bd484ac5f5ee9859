"""The NATS users of a ``conveyor dev`` stack: one per service, the operator's, and a read-only
subscriber's, each with its role's permissions (``conveyor_events.permissions``).

Their passwords are made on the first start and kept in ``<data dir>/nats-users.json``, readable
by its owner only, so the stack restarts with the same users and ``conveyor admin`` finds the
operator's credentials. nats-server then refuses anonymous clients (issue 19).
"""

import json
import secrets
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

from conveyor_devstack import NatsUser
from conveyor_events.permissions import ADMIN, SERVICE, SUBSCRIBER, NatsPermissions

USERS_FILE: Final = "nats-users.json"
ADMIN_USER: Final = "admin"
SUBSCRIBER_USER: Final = "subscriber"
_ROLES: Final[dict[str, NatsPermissions]] = {
    "gateway": SERVICE,
    "scheduler": SERVICE,
    "log-collector": SERVICE,
    "hook-dispatcher": SERVICE,
    ADMIN_USER: ADMIN,
    SUBSCRIBER_USER: SUBSCRIBER,
}


def stack_passwords(data_dir: Path) -> dict[str, str]:
    """Every user's password: read from the data dir, or made (and saved there) on the first start."""
    path = data_dir / USERS_FILE
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    missing = {name: secrets.token_urlsafe(24) for name in _ROLES if name not in known}
    if missing:
        known |= missing
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(json.dumps(known, indent=2) + "\n")
    return known


def stack_users(passwords: dict[str, str]) -> list[NatsUser]:
    """The users nats-server is started with."""
    return [
        NatsUser(
            name=name,
            password=passwords[name],
            publish=role.publish,
            subscribe=role.subscribe,
            deny_publish=role.deny_publish,
        )
        for name, role in _ROLES.items()
    ]


def has_user(name: str) -> bool:
    """Whether a process of the stack named ``name`` connects to NATS as a user of its own."""
    return name in _ROLES


def with_credentials(url: str, user: str, password: str) -> str:
    """``nats://host:port`` with ``user:password@`` in it."""
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def admin_url(url: str, data_dir: Path) -> str:
    """``url`` with the stack's operator credentials, when it has none and the data dir knows them."""
    path = data_dir / USERS_FILE
    if urlsplit(url).username or not path.exists():
        return url
    return with_credentials(url, ADMIN_USER, json.loads(path.read_text())[ADMIN_USER])
