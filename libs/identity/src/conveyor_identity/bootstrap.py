"""The first admin: a well-known user id whose creation event can be appended only once.

``conveyor dev`` calls `bootstrap_admin` on every start: the first start creates the admin and
prints a token once; later starts find the subject taken and print nothing secret. Operators
get more admin tokens with ``conveyor admin create-token`` (`issue_admin_token`).
"""

import uuid
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
from nats.aio.client import Client as NatsClient

from conveyor_events import (
    AppendConflictError,
    EventAppender,
    UserCreated,
    UserTokenIssued,
    new_uuid7,
    user_subject,
)
from conveyor_runtime import apply_migrations

from .projection import MIGRATIONS, SCHEMA, identity_projector
from .tokens import SCOPES, hash_token, new_token

__all__ = ["BOOTSTRAP_ADMIN_ID", "IssuedToken", "bootstrap_admin", "issue_admin_token", "provision_admin_token"]

BOOTSTRAP_ADMIN_ID: Final = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://conveyor.invalid/users/admin"))
"""The id of the admin user created on first start (not a secret: its tokens are)."""


class IssuedToken:
    """A token just issued: shown to the operator once, stored nowhere.

    Args:
        token_id: The token's id (for listing and revoking).
        token: The secret token.
        seq: The stream sequence of the issuing event.
    """

    def __init__(self, token_id: str, token: str, seq: int) -> None:
        self.token_id = token_id
        self.token = token
        self.seq = seq

    def __repr__(self) -> str:
        """Name the token without showing it: keeps it out of tracebacks and debug output."""
        return f"IssuedToken(token_id={self.token_id!r}, token=<hidden>)"


async def _issue(appender: EventAppender, user_id: str, name: str) -> IssuedToken:
    token = new_token()
    token_id = new_uuid7()
    event = UserTokenIssued(
        event_id=new_uuid7(),
        user_id=user_id,
        occurred_at=datetime.now(UTC),
        token_id=token_id,
        token_hash=hash_token(token),
        name=name,
        scopes=SCOPES,
        issued_by="operator",
    )
    appended = await appender.append(user_subject(user_id), event)
    return IssuedToken(token_id, token, appended.seq)


async def _create_admin(appender: EventAppender) -> bool:
    event = UserCreated(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:conveyor:user-created:{BOOTSTRAP_ADMIN_ID}")),
        user_id=BOOTSTRAP_ADMIN_ID,
        occurred_at=datetime.now(UTC),
        name="admin",
        is_admin=True,
        created_by="bootstrap",
    )
    try:
        await appender.append(user_subject(BOOTSTRAP_ADMIN_ID), event, expected_last_subject_seq=0)
    except AppendConflictError:
        return False
    return True


async def bootstrap_admin(appender: EventAppender) -> IssuedToken | None:
    """Create the admin user and a token for it, unless the admin already exists.

    Args:
        appender: A started appender.

    Returns:
        The new token on first start; None when the admin existed already.
    """
    if not await _create_admin(appender):
        return None
    return await _issue(appender, BOOTSTRAP_ADMIN_ID, "bootstrap")


async def issue_admin_token(appender: EventAppender, name: str = "operator") -> IssuedToken:
    """Issue a new token with every scope to the admin user (created first if missing).

    Args:
        appender: A started appender.
        name: A label for the token.

    Returns:
        The new token.
    """
    await _create_admin(appender)
    return await _issue(appender, BOOTSTRAP_ADMIN_ID, name)


async def provision_admin_token(nc: NatsClient, pool: "asyncpg.Pool[Any]", name: str = "provisioned") -> str:
    """Issue an admin token and fold it into the projection at once, for tests and benchmarks.

    Only while no identity projector runs elsewhere (before the scheduler starts): this runs
    one itself, and two at a time fence each other.

    Args:
        nc: NATS connection (the ``EVENTS`` stream must exist).
        pool: PostgreSQL pool.
        name: A label for the token.

    Returns:
        The token, usable as soon as a gateway starts.
    """
    await apply_migrations(pool, SCHEMA, MIGRATIONS)
    appender = EventAppender(nc)
    await appender.start()
    try:
        issued = await issue_admin_token(appender, name)
    finally:
        await appender.close()
    projector = identity_projector(nc, pool)
    await projector.prepare()
    try:
        await projector.catch_up(issued.seq, timeout_s=30)
    finally:
        await projector.close()
    return issued.token
