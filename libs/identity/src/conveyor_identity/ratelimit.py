"""Per-project token buckets in PostgreSQL, shared by every gateway and the active scheduler.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; a take that
finds less than one token is refused with the seconds until one is back. The refill and the take
are one ``INSERT .. ON CONFLICT DO UPDATE`` (a row lock), so gateways in any number of processes
and a scheduler that fails over share one bucket per project and kind, never one per process.
"""

import math
from datetime import datetime
from typing import Final

from conveyor_runtime import DbConnection, Migration

__all__ = ["RATE_MIGRATIONS", "RATE_SCHEMA", "burst_of", "refill", "retry_after_s", "take_token"]

RATE_SCHEMA: Final = "ratelimit"
"""The schema of the buckets (operational state, not a projection: it is not rebuilt from events)."""

RATE_MIGRATIONS: Final[tuple[Migration, ...]] = (
    (
        1,
        "CREATE TABLE {schema}.buckets (project text NOT NULL, kind text NOT NULL,"
        " tokens double precision NOT NULL, updated_at timestamptz NOT NULL, PRIMARY KEY (project, kind))",
    ),
)
"""The buckets table."""


def burst_of(rate: float, burst: int) -> float:
    """The bucket's capacity: ``burst``, or the rate rounded up (at least 1) when 0.

    Args:
        rate: Tokens per second.
        burst: The configured burst (0: derive it).

    Returns:
        The capacity.
    """
    return float(burst) if burst > 0 else float(max(1, math.ceil(rate)))


def refill(tokens: float, elapsed_s: float, rate: float, burst: float) -> float:
    """Tokens after ``elapsed_s`` seconds of refill, capped at ``burst``.

    Args:
        tokens: Tokens before.
        elapsed_s: Seconds since (negative counts as 0: clocks may step back).
        rate: Tokens per second.
        burst: The capacity.

    Returns:
        The tokens now.
    """
    return min(burst, tokens + rate * max(0.0, elapsed_s))


def retry_after_s(tokens: float, rate: float, n: int = 1) -> float:
    """Seconds until the bucket holds ``n`` tokens again.

    Args:
        tokens: Tokens now.
        rate: Tokens per second (positive).
        n: Tokens wanted.

    Returns:
        The wait, 0 when they are there.
    """
    return 0.0 if tokens >= n else (n - tokens) / rate


_TAKE: Final = f"""
WITH arg AS (
    SELECT $1::text AS project, $2::text AS kind, $3::float8 AS rate, $4::float8 AS burst,
           $5::timestamptz AS at, $6::float8 AS n
)
INSERT INTO {RATE_SCHEMA}.buckets AS b (project, kind, tokens, updated_at)
SELECT project, kind, burst - n, at FROM arg WHERE burst >= n
ON CONFLICT (project, kind) DO UPDATE SET
    tokens = LEAST((SELECT burst FROM arg), b.tokens + (SELECT rate FROM arg)
        * GREATEST(0, EXTRACT(EPOCH FROM ((SELECT at FROM arg) - b.updated_at)))::float8) - (SELECT n FROM arg),
    updated_at = GREATEST(b.updated_at, (SELECT at FROM arg))
WHERE LEAST((SELECT burst FROM arg), b.tokens + (SELECT rate FROM arg)
        * GREATEST(0, EXTRACT(EPOCH FROM ((SELECT at FROM arg) - b.updated_at)))::float8) >= (SELECT n FROM arg)
RETURNING tokens
"""
_PEEK: Final = f"SELECT tokens, updated_at FROM {RATE_SCHEMA}.buckets WHERE project = $1 AND kind = $2"


async def take_token(
    conn: DbConnection, project: str, kind: str, *, rate: float, burst: int, now: datetime, n: int = 1
) -> float:
    """Take ``n`` tokens from a project's bucket, atomically (all or none).

    Args:
        conn: A connection (no transaction needed: the statement is atomic).
        project: The project's name.
        kind: ``submit`` or ``assign``.
        rate: Tokens per second (positive).
        burst: The configured burst (0: derived).
        now: The current time.
        n: How many tokens (a bulk submission takes one per job).

    Returns:
        0 when the tokens were taken; else the seconds until they are back (``inf`` when ``n``
        exceeds the bucket's capacity: that never succeeds).
    """
    capacity = burst_of(rate, burst)
    if n > capacity:
        return math.inf
    if await conn.fetchval(_TAKE, project, kind, rate, capacity, now, float(n)) is not None:
        return 0.0
    row = await conn.fetchrow(_PEEK, project, kind)
    if row is None:  # pragma: no cover - the insert above created it
        return float(n) / rate
    elapsed = (now - row["updated_at"]).total_seconds()
    return max(retry_after_s(refill(row["tokens"], elapsed, rate, capacity), rate, n), 0.001)
