"""Events a projector cannot apply: told apart from outages, sanitised or set aside, and recorded.

A projection must never stop on one event (issue 13): an event whose text PostgreSQL refuses (a
NUL) or whose number does not fit a column would otherwise fail the same batch forever. When a
batch fails with such an error, the projector applies its events one by one (``Projector``);
the one that fails alone is retried with its text sanitised (every NUL replaced by U+FFFD, the
replacement character, so a reader sees that something was there) and, if it still fails, set
aside. Either way it is recorded in the service's ``quarantine`` table with the error, counted in
``conveyor_projector_quarantined_total`` and logged as ``event_quarantined`` at error level, and
the checkpoint moves past it. Outages (connections, timeouts, NATS) are never quarantined: those
batches are retried as before.
"""

from typing import Any, Final

import asyncpg
import msgspec

from .db import DbConnection
from .migrations import Migration

__all__ = [
    "QUARANTINE_SQL",
    "SANITISED",
    "SKIPPED",
    "describe",
    "is_poison",
    "quarantine_migration",
    "record_quarantine",
    "sanitised",
]

QUARANTINE_SQL: Final = (
    "CREATE TABLE IF NOT EXISTS {schema}.quarantine ("
    " consumer text NOT NULL,"
    " stream_seq bigint NOT NULL,"
    " subject text NOT NULL,"
    " event_type text NOT NULL DEFAULT '',"
    " job_id text,"
    " outcome text NOT NULL CHECK (outcome IN ('sanitised', 'skipped')),"
    " error text NOT NULL,"
    " recorded_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (consumer, stream_seq))"
)
"""The quarantine table; every projecting service adds it with ``quarantine_migration``."""

SANITISED: Final = "sanitised"
SKIPPED: Final = "skipped"
REPLACEMENT: Final = "\ufffd"

# SQLSTATE classes an event's own content causes: data exceptions (22: NUL in text, number out
# of range, bad JSON), integrity violations (23), program limits (54: a row too large to index).
_POISON_CLASSES: Final = frozenset({"22", "23", "54"})
# Python errors a handler raises on content it does not expect (a future bug), never on outages.
_POISON_ERRORS: Final = (ValueError, TypeError, LookupError, ArithmeticError)
_any: Final = msgspec.json.Decoder()
_encoder: Final = msgspec.json.Encoder()


class _Head(msgspec.Struct):
    type: str = ""
    job_id: str | None = None


def quarantine_migration(version: int) -> Migration:
    """The migration creating ``{schema}.quarantine``, at the version the service's list needs."""
    return (version, QUARANTINE_SQL)


def is_poison(exc: BaseException) -> bool:
    """True when ``exc`` comes from an event's content, so retrying the same event cannot help.

    Connection losses, timeouts, NATS and append errors are outages: not poison.
    """
    if isinstance(exc, asyncpg.PostgresError):
        return str(getattr(exc, "sqlstate", "") or "")[:2] in _POISON_CLASSES
    # asyncpg's own refusal of an argument (an int beyond int64) is a ValueError; its other
    # interface errors, OSError and TimeoutError (outages) are not among these.
    return isinstance(exc, _POISON_ERRORS)


def sanitised(data: bytes) -> bytes | None:
    """The event's JSON with every NUL in its strings and keys replaced by U+FFFD.

    Returns:
        The new payload, or ``None`` when there is nothing to replace (or it is not JSON).
    """
    if b"\\u0000" not in data:
        return None
    try:
        doc = _any.decode(data)
    except msgspec.DecodeError:
        return None
    clean = _encoder.encode(_clean(doc))
    return clean if clean != data else None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", REPLACEMENT)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def describe(data: bytes) -> tuple[str, str | None]:
    """The event type and job id a payload names, as far as it can be read."""
    try:
        head = msgspec.json.decode(data, type=_Head)
    except msgspec.MsgspecError:
        return "", None
    return _clean(head.type), _clean(head.job_id) if head.job_id is not None else None


async def record_quarantine(
    conn: DbConnection, table: str, consumer: str, seq: int, subject: str, data: bytes, outcome: str, error: str
) -> None:
    """Store one quarantined event (once: a replay records the same row again, a no-op).

    Args:
        conn: The connection of the transaction that also moves the checkpoint past the event.
        table: The quoted ``schema.quarantine`` name.
        consumer: The projector's name.
        seq: The event's stream sequence.
        subject: Its subject.
        data: Its payload as read (for its type and job id).
        outcome: ``sanitised`` or ``skipped``.
        error: Why it could not be applied as it was.
    """
    event_type, job_id = describe(data)
    await conn.execute(
        f"INSERT INTO {table} (consumer, stream_seq, subject, event_type, job_id, outcome, error) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (consumer, stream_seq) DO NOTHING",
        consumer,
        seq,
        _clean(subject),
        event_type,
        job_id,
        outcome,
        _clean(error)[:2000],
    )
