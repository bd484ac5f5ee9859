"""Identifier generation: UUIDv7 for events and jobs, UUIDv5 for deduplicated jobs."""

import os
import re
import time
import uuid
from typing import Final

__all__ = ["DEDUPE_NAMESPACE", "dedupe_job_id", "new_uuid7", "parse_uuid"]

DEDUPE_NAMESPACE = uuid.UUID("6f0d3c2e-8a51-4a0b-9d59-3c1f8f2b7a10")
"""Namespace for job ids derived from ``(project, dedupe_key)``. Never change it."""

# The canonical form (lowercase, hyphenated): what ``str(uuid.UUID(...))`` gives back unchanged.
_CANONICAL: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical(value: int) -> str:
    """The 128-bit ``value`` as a canonical UUID string (``str(uuid.UUID(int=value))``, faster)."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_uuid7(now_ms: int | None = None) -> str:
    """Return a new UUIDv7 (RFC 9562) as a canonical string.

    The 48-bit millisecond timestamp makes ids sort by creation time; the remaining 74 bits are
    random.

    Args:
        now_ms: Milliseconds since the Unix epoch; the current time when omitted.

    Returns:
        The id, lowercase with hyphens.
    """
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b: 62 bits
    return _canonical(value)


def dedupe_job_id(project: str, dedupe_key: str, owner: str = "") -> str:
    """Derive the job id for a deduplicated submission.

    The same ``(project, dedupe_key, owner)`` always gives the same id, so a second submission
    finds the first one's subject already used (DESIGN §2: dedupe with no time window). Keys are
    per owner (issue 13): another user's key never finds, discloses or blocks a job of yours.

    Args:
        project: The project the job belongs to.
        dedupe_key: The client's deduplication key.
        owner: Who submits (the job's owner); ``""`` gives the id keys had before they were per owner.

    Returns:
        A UUIDv5 string.
    """
    name = f"{project}\x00{dedupe_key}" + (f"\x00{owner}" if owner else "")
    return str(uuid.uuid5(DEDUPE_NAMESPACE, name))


def parse_uuid(text: str) -> str | None:
    """Return the canonical form of a UUID string, or ``None`` when it is not one.

    Args:
        text: Untrusted input, e.g. a path parameter.

    Returns:
        The lowercase hyphenated UUID, or ``None``.
    """
    if len(text) > 64:
        return None
    if _CANONICAL.fullmatch(text):  # ids the API hands out come back in this form: no parse
        return text
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None
