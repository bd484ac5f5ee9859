"""Events of the user aggregate (subject ``conveyor.ev.user.<user_id>``): users and API tokens.

A token is random (256 bits), so only its SHA-256 travels in an event; the token itself is shown
once to whoever asked for it and stored nowhere.
"""

import msgspec

from .fields import UtcDatetime

__all__ = [
    "UserAdminSet",
    "UserCreated",
    "UserEvent",
    "UserEventBase",
    "UserPasswordSet",
    "UserTokenIssued",
    "UserTokenRevoked",
]


class UserEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every user event carries."""

    event_id: str
    user_id: str
    occurred_at: UtcDatetime


class UserCreated(UserEventBase, frozen=True, kw_only=True, tag="user.created"):
    """A user was created (request event); ``is_admin`` users may do everything."""

    name: str
    is_admin: bool = False
    created_by: str = ""


class UserTokenIssued(UserEventBase, frozen=True, kw_only=True, tag="user.token_issued"):
    """An API token was issued to the user (request event). Only the token's SHA-256 is kept."""

    token_id: str
    token_hash: str
    name: str = ""
    scopes: tuple[str, ...] = ()
    expires_at: UtcDatetime | None = None
    issued_by: str = ""


class UserTokenRevoked(UserEventBase, frozen=True, kw_only=True, tag="user.token_revoked"):
    """An API token was revoked; it stops working within seconds on every gateway."""

    token_id: str
    revoked_by: str = ""


class UserPasswordSet(UserEventBase, frozen=True, kw_only=True, tag="user.password_set"):
    """The user's password was set (task_tracker's managers log in with one).

    Only its hash travels, an argon2id string (``$argon2id$v=19$...``), never the password.
    """

    password_hash: str
    set_by: str = ""


class UserAdminSet(UserEventBase, frozen=True, kw_only=True, tag="user.admin_set"):
    """An admin made the user an admin, or took it back (task_tracker's promote and demote)."""

    is_admin: bool
    set_by: str = ""


UserEvent = UserCreated | UserTokenIssued | UserTokenRevoked | UserPasswordSet | UserAdminSet
"""Every event of the user aggregate."""
