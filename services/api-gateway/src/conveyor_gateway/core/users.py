"""Users, their passwords and their tokens, once for every surface: the native ``/v1/users`` and
``/v1/tokens``, and task_tracker's manager accounts (register, login, logout, promote).

Passwords are hashed with argon2id (argon2-cffi's defaults) off the event loop; only the hash
travels in an event. A login answers the same for an unknown name and a wrong password, after
the same work (a verify against a dummy hash). Every write waits (bounded) until the identity
projection has applied it, so the next request sees it.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from conveyor_events import (
    UserAdminSet,
    UserCreated,
    UserPasswordSet,
    UserTokenIssued,
    UserTokenRevoked,
    new_uuid7,
    user_subject,
)
from conveyor_identity import hash_token, new_token

from ..errors import UserExistsError
from .context import State

_hasher: Final = PasswordHasher()
_DUMMY: Final = _hasher.hash("conveyor: no such user")


async def _wait(state: State, seq: int) -> bool:
    return await state["identity_watcher"].wait_for(seq, state["write_wait_s"])


async def create_user(
    state: State, name: str, *, is_admin: bool, created_by: str, password: str | None = None
) -> tuple[str, bool]:
    """A new user (with a password when given); ``(user id, applied within the write wait)``.

    Raises:
        UserExistsError: A user has this name.
    """
    if await state["identity"].user_named(name) is not None:
        raise UserExistsError(f"a user is named {name!r}")
    user_id = new_uuid7()
    now = datetime.now(UTC)
    created = UserCreated(
        event_id=new_uuid7(), user_id=user_id, occurred_at=now, name=name, is_admin=is_admin, created_by=created_by
    )
    appended = await state["appender"].append(user_subject(user_id), created, expected_last_subject_seq=0)
    if password is not None:
        hashed = await asyncio.to_thread(_hasher.hash, password)
        event = UserPasswordSet(
            event_id=new_uuid7(), user_id=user_id, occurred_at=now, password_hash=hashed, set_by=created_by or user_id
        )
        appended = await state["appender"].append(user_subject(user_id), event)
    return user_id, await _wait(state, appended.seq)


async def check_password(state: State, name: str, password: str) -> str | None:
    """The id of the user ``name`` if ``password`` is theirs, else None (same work either way)."""
    found = await state["identity"].password_of(name)
    stored = found[1] if found is not None and found[1] else _DUMMY
    try:
        await asyncio.to_thread(_hasher.verify, stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return found[0] if found is not None and stored is not _DUMMY else None


async def issue_token(
    state: State, user_id: str, scopes: tuple[str, ...], *, name: str, issued_by: str, expires_in_s: int | None
) -> tuple[str, str, datetime | None, bool]:
    """A new token for ``user_id``: ``(token, token id, expiry, applied within the write wait)``.
    The token itself exists only in this answer; the event carries its SHA-256."""
    token = new_token()
    token_id = new_uuid7()
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=expires_in_s) if expires_in_s else None
    event = UserTokenIssued(
        event_id=new_uuid7(),
        user_id=user_id,
        occurred_at=now,
        token_id=token_id,
        token_hash=hash_token(token),
        name=name,
        scopes=scopes,
        expires_at=expires_at,
        issued_by=issued_by,
    )
    appended = await state["appender"].append(user_subject(user_id), event)
    return token, token_id, expires_at, await _wait(state, appended.seq)


async def revoke_token(state: State, user_id: str, token_id: str, *, by: str) -> bool:
    """Revoke a token; True once applied (then forgotten by this gateway's cache)."""
    event = UserTokenRevoked(
        event_id=new_uuid7(), user_id=user_id, occurred_at=datetime.now(UTC), token_id=token_id, revoked_by=by
    )
    appended = await state["appender"].append(user_subject(user_id), event)
    applied = await _wait(state, appended.seq)
    state["tokens"].forget_token(token_id)  # after the wait: a lookup meanwhile may have cached it
    return applied


async def set_admin(state: State, user_id: str, is_admin: bool, *, by: str) -> None:
    """Make ``user_id`` an admin or take it back."""
    event = UserAdminSet(event_id=new_uuid7(), user_id=user_id, occurred_at=datetime.now(UTC), is_admin=is_admin,
                         set_by=by)  # fmt: skip
    appended = await state["appender"].append(user_subject(user_id), event)
    await _wait(state, appended.seq)
