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
from ...errors import TokenRequiredError

HEADER: Final = "x-virtshell-authorization"
MAX_SKEW: Final = timedelta(minutes=15)
_REFUSED: Final = "the request signature is wrong, its Date is missing or skewed, or the token is revoked"


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
        TokenRequiredError: Malformed header, unknown or revoked token, stale ``Date``, or a
            signature that does not match (one message for all).
    """
    now = now or datetime.now(UTC)
    token_id, _, presented = request.headers.get(HEADER, "").strip().partition(":")
    parsed = parse_uuid(token_id)
    date = request.headers.get("date", "")
    if parsed is None or not presented or len(presented) > 64 or not date_is_fresh(date, now):
        raise TokenRequiredError(_REFUSED)
    found = await identity.token_for_signing(parsed)
    if found is None:
        raise TokenRequiredError(_REFUSED)
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
        raise TokenRequiredError(_REFUSED)
    return principal
