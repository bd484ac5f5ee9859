"""VirtShell's signed requests: how the VirtShell façade authenticates every call.

``X-VirtShell-Authorization: <token_id>:<signature>``, where signature =
Base64(HMAC-SHA1(key, StringToSign)) and StringToSign =
``VERB\\nHost\\nContent-MD5\\nContent-Type\\nDate\\nPath`` (VirtShell's design, after AWS S3 v2).
The key is the hex SHA-256 of one of the user's API tokens (what the server keeps; the client
computes it from its token), so signing proves the token without sending it. ``Date`` must be
within 15 minutes of the server's clock. HMAC-SHA1 is VirtShell's choice and remains a sound MAC.
"""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final

from starlette.requests import Request

from conveyor_events import parse_uuid

from ...core.identity_reader import IdentityReader
from ...core.token_auth import Principal, principal_of

HEADER: Final = "x-virtshell-authorization"
MAX_SKEW: Final = timedelta(minutes=15)


class SignatureRefusedError(Exception):
    """A request VirtShell's scheme does not accept; ``code`` names why (AWS S3 v2's words, whose
    scheme VirtShell's design copied), the message says how to fix it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_MISSING: Final = (
    "every VirtShell call needs X-VirtShell-Authorization: <token id>:<signature> and a Date header;"
    " see the README's VirtShell section"
)
_SKEWED: Final = "the Date header is missing, unreadable or more than 15 minutes from the server's clock"
_MISMATCH: Final = (
    "the signature does not match: sign VERB, Host, Content-MD5, Content-Type, Date and the path, one per line,"
    " with HMAC-SHA1 keyed by the hex SHA-256 of a live token; or the token id is unknown or revoked"
)


def string_to_sign(method: str, host: str, content_md5: str, content_type: str, date: str, path: str) -> bytes:
    """The canonical request VirtShell signs."""
    return "\n".join((method.upper(), host, content_md5, content_type, date, path)).encode()


def sign(key: str, canonical: bytes) -> str:
    """Base64(HMAC-SHA1(key, canonical))."""
    return base64.b64encode(hmac.new(key.encode(), canonical, hashlib.sha1).digest()).decode()


def date_is_fresh(date: str, now: datetime) -> bool:
    try:
        sent = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return False
    if sent.tzinfo is None:
        return False
    return abs(now - sent) <= MAX_SKEW


async def authenticate_signed(request: Request, identity: IdentityReader, now: datetime | None = None) -> Principal:
    """The principal a signed request proves.

    Raises:
        SignatureRefusedError: ``MissingSecurityHeader`` (no or malformed header),
            ``RequestTimeTooSkewed`` (stale or missing ``Date``), ``SignatureDoesNotMatch`` (wrong
            signature, unknown or revoked token: one answer for all three).
    """
    now = now or datetime.now(UTC)
    token_id, _, presented = request.headers.get(HEADER, "").strip().partition(":")
    parsed = parse_uuid(token_id)
    if parsed is None or not presented or len(presented) > 64:
        raise SignatureRefusedError("MissingSecurityHeader", _MISSING)
    date = request.headers.get("date", "")
    if not date_is_fresh(date, now):
        raise SignatureRefusedError("RequestTimeTooSkewed", _SKEWED)
    found = await identity.token_for_signing(parsed)
    if found is None:
        raise SignatureRefusedError("SignatureDoesNotMatch", _MISMATCH)
    record, key = found
    canonical = string_to_sign(
        request.method,
        request.headers.get("host", ""),
        request.headers.get("content-md5", ""),
        request.headers.get("content-type", ""),
        date,
        request.url.path,
    )
    principal = principal_of(record, now)
    if (
        not hmac.compare_digest(sign(key, canonical).encode(), presented.encode("ascii", "replace"))
        or principal is None
    ):
        raise SignatureRefusedError("SignatureDoesNotMatch", _MISMATCH)
    return principal
