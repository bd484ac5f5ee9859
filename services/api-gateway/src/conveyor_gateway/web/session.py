"""The dashboard's session: the API token a user signed in with, sealed in a cookie.

The cookie holds ``{token, csrf, expires}`` encrypted and authenticated with AES-GCM under the
gateway's session key (``CONVEYOR_UI_SESSION_KEY``; a random one per process when unset, which
signs everyone out at a restart). Nothing is stored on the server: every request unseals the
cookie and checks the token again (``TokenAuthenticator``), so a revoked token ends its sessions.
The CSRF token lives inside the sealed cookie; a form carries it back as a hidden field and the
two must match (constant-time). Pure functions but for the random nonce and token.
"""

import base64
import hashlib
import hmac
import os
import secrets
import time
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

COOKIE: Final = "conveyor_session"
LOGIN_COOKIE: Final = "conveyor_login"  # CSRF token of the sign-in form, before any session
_AAD: Final = b"conveyor-ui-session-v1"


class Session(msgspec.Struct, frozen=True):
    """What the cookie seals."""

    token: str
    csrf: str
    expires: float


def session_key(configured: str) -> bytes:
    """The 32-byte key from the setting (base64 or hex of 32 bytes, or any passphrase of 32+
    characters, hashed); a fresh random key when it is empty.

    Raises:
        ValueError: A configured key too short to be a key.
    """
    if not configured:
        return secrets.token_bytes(32)
    for decode in (bytes.fromhex, base64.urlsafe_b64decode):
        try:
            raw = decode(configured)
        except ValueError:
            continue
        if len(raw) == 32:
            return raw
    if len(configured) < 32:
        raise ValueError("CONVEYOR_UI_SESSION_KEY: give 32 random bytes (hex or base64) or 32+ characters")
    return hashlib.sha256(configured.encode()).digest()


def new_session(token: str, lifetime_s: float, now: float | None = None) -> Session:
    return Session(token=token, csrf=secrets.token_urlsafe(24), expires=(now or time.time()) + lifetime_s)


def seal(key: bytes, session: Session) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, msgspec.json.encode(session), _AAD)
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(key: bytes, cookie: str | None, now: float | None = None) -> Session | None:
    """The session in ``cookie``; None when absent, forged, tampered with or expired."""
    if not cookie or len(cookie) > 4096:
        return None
    try:
        raw = base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], _AAD)
        session = msgspec.json.decode(plain, type=Session)
    except (ValueError, InvalidTag, msgspec.DecodeError):
        return None
    return session if session.expires > (now or time.time()) else None


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
