"""Worker credentials: HTTP Basic ``worker_id:secret`` checked against the stored secret hash.

Parsing and comparison are pure functions; ``WorkerAuthenticator`` adds the lookup and a short
cache so that leases and heartbeats do not each cost a database round trip. A header it has
accepted is recognised by its SHA-256 until the worker's cache entry expires, so the calls a
worker makes for every job (lease, start, finish) skip the parsing and checking too. A deleted
worker stops authenticating once its cache entry expires (``ttl_s``), at once on the gateway that
deleted it. Secrets are never logged, echoed or kept: only their SHA-256 (and that of the
accepted header) is compared.
"""

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Final, Protocol

import msgspec

from conveyor_events import parse_uuid

from ..errors import UnauthenticatedError

_MAX_HEADER: Final = 1024
# Compared against when the worker does not exist, so an unknown id costs the same work as a
# wrong secret. No secret hashes to this (it is not a SHA-256 output of anything known).
_DUMMY_HASH: Final = "0" * 64
_REFUSED: Final = "wrong worker id or secret"


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """What the client presented. ``secret`` must never reach a log or a response."""

    worker_id: str
    secret: str

    def __repr__(self) -> str:  # keeps the secret out of tracebacks and debug output
        return f"Credentials(worker_id={self.worker_id!r}, secret=<hidden>)"


class StoredSecret(msgspec.Struct, frozen=True, kw_only=True):
    """What the projection holds for a worker: the secret's hash and whether it was deleted."""

    secret_hash: str
    is_deleted: bool


class SecretSource(Protocol):
    """Where stored secrets come from (the workers projection)."""

    async def secret_of(self, worker_id: str) -> StoredSecret | None: ...


def hash_secret(secret: str) -> str:
    """The stored form of a secret: SHA-256, hex (the secret is random, so no salt or stretching)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_basic(authorization: str | None) -> Credentials:
    """Read ``Authorization: Basic base64(worker_id:secret)`` (RFC 7617).

    Raises:
        UnauthenticatedError: The header is missing, not Basic, not base64 or UTF-8, has no
            colon, or its user is not a worker id (a UUID).
    """
    if not authorization:
        raise UnauthenticatedError("send the worker's credentials: Authorization: Basic base64(worker_id:secret)")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise UnauthenticatedError("use the Basic scheme: Authorization: Basic base64(worker_id:secret)")
    if len(token) > _MAX_HEADER:
        raise UnauthenticatedError("the credentials are too long")
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        raise UnauthenticatedError("the credentials are not base64 of UTF-8 text") from None
    user, colon, secret = text.partition(":")
    if not colon or not secret:
        raise UnauthenticatedError("the credentials must be worker_id:secret")
    worker_id = parse_uuid(user)
    if worker_id is None:
        raise UnauthenticatedError("the user name must be the worker id (a UUID)")
    return Credentials(worker_id=worker_id, secret=secret)


def secret_matches(presented: str, stored: StoredSecret | None) -> bool:
    """Whether ``presented`` is the live worker's secret, in time independent of where it differs.

    An unknown worker still costs one hash and one constant-time compare, against a dummy.
    """
    expected = stored.secret_hash if stored is not None else _DUMMY_HASH
    same = hmac.compare_digest(hash_secret(presented).encode(), expected.encode("utf-8", "replace"))
    return same and stored is not None and not stored.is_deleted


class _Cached(msgspec.Struct, frozen=True):
    stored: StoredSecret
    expires_at: float


class WorkerAuthenticator:
    """Checks worker credentials against the projection, caching stored hashes for ``ttl_s``.

    Only hits are cached: an unknown id is looked up every time, so a worker whose registration
    the projection has only just applied is never refused from a stale miss.
    """

    def __init__(
        self,
        source: SecretSource,
        *,
        ttl_s: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        # SHA-256 of an accepted Authorization header -> (worker id, expiry of its cache entry)
        self._accepted: dict[bytes, tuple[str, float]] = {}

    async def authenticate(self, authorization: str | None) -> str:
        """The worker id the ``Authorization`` header proves.

        Raises:
            UnauthenticatedError: Missing or malformed credentials, unknown or deleted worker,
                or a wrong secret (one message for the last three).
        """
        key = hashlib.sha256(authorization.encode()).digest() if authorization else b""
        accepted = self._accepted.get(key)
        if accepted is not None and accepted[1] > self._clock():
            return accepted[0]
        credentials = parse_basic(authorization)
        stored = await self._stored(credentials.worker_id)
        if not secret_matches(credentials.secret, stored):
            raise UnauthenticatedError(_REFUSED)
        cached = self._cache.get(credentials.worker_id)
        if cached is not None:  # never trusted longer than the stored hash it was checked against
            if len(self._accepted) >= self._max_entries:
                self._accepted.clear()
            self._accepted[key] = (credentials.worker_id, cached.expires_at)
        return credentials.worker_id

    def forget(self, worker_id: str) -> None:
        """Drop a cached entry (the worker was deleted, or the scheduler no longer knows it)."""
        self._cache.pop(worker_id, None)
        self._accepted = {k: v for k, v in self._accepted.items() if v[0] != worker_id}

    async def _stored(self, worker_id: str) -> StoredSecret | None:
        now = self._clock()
        cached = self._cache.get(worker_id)
        if cached is not None and cached.expires_at > now:
            return cached.stored
        stored = await self._source.secret_of(worker_id)
        if stored is None:
            self._cache.pop(worker_id, None)
            return None
        if len(self._cache) >= self._max_entries:
            self._cache = {k: v for k, v in self._cache.items() if v.expires_at > now}
            if len(self._cache) >= self._max_entries:
                self._cache.clear()
        self._cache[worker_id] = _Cached(stored, now + self._ttl_s)
        return stored
