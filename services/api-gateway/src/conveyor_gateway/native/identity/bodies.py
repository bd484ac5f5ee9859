"""Request and response bodies of the users and tokens endpoints."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from conveyor_events.fields import Identifier

Scope = Literal["jobs:read", "jobs:write", "workers", "hooks", "projects", "admin"]
TokenName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[\x20-\x7e]+$")]


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/tokens``: a label, the scopes (a subset of the caller's own) and a lifetime."""

    name: TokenName
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=6)]
    expires_in_s: Annotated[int, msgspec.Meta(ge=60, le=366 * 86400)] | None = None


class TokenCreated(msgspec.Struct, kw_only=True):
    """The new token. ``token`` is shown only in this response: store it now."""

    id: str
    user_id: str
    name: str
    scopes: list[str]
    token: str
    expires_at: datetime | None = None
    hint: str = "Send it as Authorization: Bearer <token>. It is shown only here; only its hash is stored."


class UserRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /v1/users``: a unique name; ``is_admin`` users may do everything with an admin-scoped token."""

    name: Identifier
    is_admin: bool = False


class Me(msgspec.Struct, kw_only=True):
    """``GET /v1/me``: who the token belongs to and what it may do."""

    user_id: str
    name: str
    is_admin: bool
    token_id: str
    scopes: list[str]
