"""A job's attempts from its event history: how long each waited, was leased before it started,
and ran (pure; drawn as the job page's waterfall)."""

from datetime import datetime
from typing import Any, Final

import msgspec

_WAITS: Final = frozenset({"job.submitted", "job.queued", "job.retry_scheduled", "job.released"})
_ENDS: Final = {
    "job.succeeded": "succeeded",
    "job.failed": "failed",
    "job.timed_out": "timed_out",
    "job.cancelled": "cancelled",
    "job.released": "released",
}


class Attempt(msgspec.Struct, kw_only=True):
    """One attempt's moments; the ones it has not reached are None."""

    number: int
    waiting_at: datetime | None = None
    assigned_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str = ""


class Bar(msgspec.Struct, frozen=True, kw_only=True):
    """One segment of the waterfall, in percent of the whole span."""

    attempt: int
    phase: str  # waiting | leased | running
    left: float
    width: float
    seconds: float


def _time(item: dict[str, Any]) -> datetime | None:
    raw = item.get("occurred_at")
    if isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return None


def attempts(events: list[dict[str, Any]]) -> list[Attempt]:
    """Attempts in order, from feed items (``type``, ``occurred_at``) oldest first."""
    found: list[Attempt] = []
    current: Attempt | None = None
    waiting_at: datetime | None = None
    for item in events:
        kind, at = item.get("type", ""), _time(item)
        if kind == "job.assigned":
            current = Attempt(number=len(found) + 1, waiting_at=waiting_at, assigned_at=at)
            found.append(current)
            waiting_at = None
        elif kind == "job.started" and current is not None:
            current.started_at = at
        elif kind in _ENDS and current is not None and current.ended_at is None:
            current.ended_at, current.outcome = at, _ENDS[kind]
            current = None
        if kind in _WAITS and waiting_at is None:
            waiting_at = at
    return found


def waterfall(found: list[Attempt], now: datetime) -> list[Bar]:
    """The segments of every attempt on one time axis (an unfinished phase runs until ``now``)."""
    starts = [a.waiting_at or a.assigned_at for a in found]
    first = min((s for s in starts if s is not None), default=None)
    if first is None:
        return []
    last = max([now if a.ended_at is None else a.ended_at for a in found])
    span = max((last - first).total_seconds(), 0.001)
    bars: list[Bar] = []
    for a in found:
        phases = (
            ("waiting", a.waiting_at, a.assigned_at),
            ("leased", a.assigned_at, a.started_at or a.ended_at),
            ("running", a.started_at, a.ended_at),
        )
        for phase, begin, end in phases:
            if begin is None:
                continue
            stop = end or now
            seconds = max((stop - begin).total_seconds(), 0.0)
            left = (begin - first).total_seconds() / span * 100
            bars.append(Bar(attempt=a.number, phase=phase, left=round(left, 2),
                            width=round(max(seconds / span * 100, 0.5), 2), seconds=round(seconds, 3)))  # fmt: skip
    return bars
