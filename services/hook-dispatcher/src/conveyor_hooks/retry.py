"""When to try a failed delivery again, and when a hook has failed for long enough to disable."""

import email.utils
from datetime import UTC, datetime, timedelta


def backoff_s(attempt: int, *, base_s: float, max_s: float, jitter: float) -> float:
    """Delay after the ``attempt``-th failed attempt: ``base * 2^(attempt-1)``, capped, times a
    jitter factor in ``[0.5, 1.5)`` (``jitter`` is a uniform draw in ``[0, 1)``)."""
    raw = min(base_s * 2.0 ** max(0, attempt - 1), max_s)
    return float(raw) * (0.5 + jitter)


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """The delay a ``Retry-After`` header asks for (seconds or an HTTP date); ``None`` if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def next_attempt_at(
    now: datetime, attempt: int, retry_after: float | None, *, base_s: float, max_s: float, jitter: float
) -> datetime:
    """When to try again: the backoff, or later if the receiver asked for it."""
    delay = backoff_s(attempt, base_s=base_s, max_s=max_s, jitter=jitter)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)


def should_disable(
    failures: int, failing_since: datetime | None, now: datetime, *, after_failures: int, after_s: float
) -> bool:
    """Sustained failure: at least ``after_failures`` failed attempts in a row, the first of them
    at least ``after_s`` ago (a short outage with many retries does not count)."""
    if failures < after_failures or failing_since is None:
        return False
    return (now - failing_since).total_seconds() >= after_s
