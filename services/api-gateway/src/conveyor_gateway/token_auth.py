"""API tokens: ``Authorization: Bearer <token>`` checked against the identity projection.

Parsing and the decision are pure functions; ``TokenAuthenticator`` adds the lookup and a short
cache keyed by the token's SHA-256, so the submit path costs no extra round trip per request.
A revoked token stops working at once on the gateway that revoked it and within ``ttl_s`` plus
the projection's lag on the others. Tokens are never logged, echoed or kept: only the hash is.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, Protocol

import msgspec

from conveyor_identity import hash_token

from .errors import TokenRequiredError
from .identity_reader import TokenRecord

_MAX_TOKEN: Final = 256
_REFUSED: Final = "the token is unknown, revoked or expired"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: a user through one of their tokens, or (on the submit endpoints) a worker
    through its credentials: then ``worker_id`` is set and ``user_id`` is ``worker:<id>``."""

    user_id: str
    name: str
    is_admin: bool
    scopes: frozenset[str]
    token_id: str
    worker_id: str | None = None
    run_job_id: str | None = None  # a run token's job: it may only submit children of it (run_tokens)
    run_project: str | None = None  # ... into this project

    def has_scope(self, scope: str) -> bool:
        """Whether the token allows ``scope``; an admin user's token with ``admin`` allows everything.

        ``admin`` itself counts only for admin users, whatever a token of another user carries.
        """
        is_admin_token = self.is_admin and "admin" in self.scopes
        return is_admin_token or (scope != "admin" and scope in self.scopes)


class TokenSource(Protocol):
    """Where stored tokens come from (the identity projection)."""

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None: ...


def parse_bearer(authorization: str | None) -> str:
    """The token in ``Authorization: Bearer <token>`` (RFC 6750).

    Raises:
        TokenRequiredError: The header is missing, not Bearer, empty or too long.
    """
    if not authorization:
        raise TokenRequiredError("send an API token: Authorization: Bearer <token>")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRequiredError("use the Bearer scheme: Authorization: Bearer <token>")
    if len(token) > _MAX_TOKEN or not token.isascii():
        raise TokenRequiredError(_REFUSED)
    return token


def principal_of(record: TokenRecord | None, now: datetime) -> Principal | None:
    """The caller a stored token proves, or None if it is unknown, revoked or expired.

    The record was found by the SHA-256 of the presented token (an index lookup): the secret
    itself is never compared, so there is no timing to leak about it.
    """
    if record is None or record.is_revoked:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    return Principal(
        user_id=record.user_id,
        name=record.user_name,
        is_admin=record.is_admin,
        scopes=frozenset(record.scopes),
        token_id=record.token_id,
    )


class _Cached(msgspec.Struct, frozen=True):
    record: TokenRecord
    expires_at: float


class TokenAuthenticator:
    """Checks bearer tokens against the projection, caching found records for ``ttl_s``.

    Only hits are cached: a token issued a moment ago is looked up again rather than refused
    from a stale miss.
    """

    def __init__(
        self,
        source: TokenSource,
        *,
        ttl_s: float = 2.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._source = source
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache: dict[str, _Cached] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        """The principal the ``Authorization`` header proves.

        Raises:
            TokenRequiredError: Missing, malformed, unknown, revoked or expired token.
        """
        token_hash = hash_token(parse_bearer(authorization))
        record = await self._record(token_hash)
        principal = principal_of(record, self._wall_clock())
        if principal is None:
            raise TokenRequiredError(_REFUSED)
        return principal

    def forget_token(self, token_id: str) -> None:
        """Drop a cached token (it was just revoked on this gateway)."""
        self._cache = {k: v for k, v in self._cache.items() if v.record.token_id != token_id}

    async def _record(self, token_hash: str) -> TokenRecord | None:
        now = self._clock()
        cached = self._cache.get(token_hash)
        if cached is not None and cached.expires_at > now:
            return cached.record
        record = await self._source.token_by_hash(token_hash)
        if record is None:
            self._cache.pop(token_hash, None)
            return None
        if len(self._cache) >= self._max_entries:
            self._cache = {k: v for k, v in self._cache.items() if v.expires_at > now}
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
        self._cache[token_hash] = _Cached(record, now + self._ttl_s)
        return record
