"""API tokens: generation, the stored hash, scopes (pure functions, no I/O)."""

import hashlib
import secrets
from typing import Final

__all__ = ["SCOPES", "TOKEN_PREFIX", "hash_token", "new_token", "unknown_scopes"]

SCOPES: Final = ("jobs:read", "jobs:write", "workers", "hooks", "projects", "admin")
"""Every scope a token can carry. ``admin`` alone allows everything (for an admin user)."""

TOKEN_PREFIX: Final = "cvy_"
"""Marks a Conveyor token, so secret scanners and humans recognise a leaked one."""


def new_token() -> str:
    """Return a fresh random token: the prefix and 256 random bits, URL-safe base64.

    Returns:
        The token; show it once and keep only `hash_token` of it.
    """
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the stored form of a token: SHA-256, hex.

    A token has 256 random bits, so neither salt nor stretching adds anything (unlike a password).

    Args:
        token: The token as presented.

    Returns:
        64 hex characters.
    """
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def unknown_scopes(scopes: tuple[str, ...] | list[str]) -> list[str]:
    """Return the scopes that are not in `SCOPES`.

    Args:
        scopes: Scopes asked for.

    Returns:
        The unknown ones, in the order given.
    """
    return [s for s in scopes if s not in SCOPES]
