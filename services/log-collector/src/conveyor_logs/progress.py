"""Progress parsing and throttling: pure functions over log text and clocks passed in.

A pattern is coalition's: a literal with ``%percent`` (a number from 0 to 100) or ``%one`` (a
number from 0 to 1) in it, such as the default ``PROGRESS:%percent``; anything without either
placeholder is a regular expression whose first group is the percentage.
"""

import re
from functools import lru_cache

import msgspec

_NUMBER = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_PLACEHOLDERS = {"%percent": 1.0, "%one": 100.0}


class CompiledPattern(msgspec.Struct, frozen=True):
    """A compiled progress pattern and the factor that turns its number into a percentage."""

    regex: re.Pattern[str]
    scale: float


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> CompiledPattern | None:
    """Compile a progress pattern; None when it is not valid (then no progress is parsed)."""
    for placeholder, scale in _PLACEHOLDERS.items():
        if placeholder in pattern:
            before, _, after = pattern.partition(placeholder)
            return CompiledPattern(re.compile(re.escape(before) + _NUMBER + re.escape(after)), scale)
    try:
        regex = re.compile(pattern)
    except re.error:
        return None
    return CompiledPattern(regex, 1.0) if regex.groups >= 1 else None


def last_progress(pattern: str, text: str) -> float | None:
    """The percentage (0-100) of the last match of ``pattern`` in ``text``, or None."""
    compiled = compile_pattern(pattern)
    if compiled is None:
        return None
    value: float | None = None
    for match in compiled.regex.finditer(text):
        try:
            value = float(match.group(1)) * compiled.scale
        except (TypeError, ValueError):
            continue
    return None if value is None else min(100.0, max(0.0, value))


class Throttle:
    """At most one progress event per job every ``interval_s``; the latest value always wins.

    ``offer`` records a value; ``due`` hands out the values whose job may emit now. A value held
    back is handed out by a later ``due`` call, so the last value is never lost.
    """

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._last_at: dict[str, float] = {}
        self._pending: dict[str, tuple[float, str | None]] = {}
        self._emitted: dict[str, float] = {}

    def offer(self, job_id: str, percent: float, task: str | None) -> None:
        if self._emitted.get(job_id) == percent and job_id not in self._pending:
            return
        self._pending[job_id] = (percent, task)

    def due(self, now: float) -> list[tuple[str, float, str | None]]:
        out: list[tuple[str, float, str | None]] = []
        for job_id, (percent, task) in list(self._pending.items()):
            if now - self._last_at.get(job_id, -1e18) >= self._interval_s:
                del self._pending[job_id]
                self._last_at[job_id] = now
                self._emitted[job_id] = percent
                out.append((job_id, percent, task))
        if len(self._last_at) > 100_000:  # forget long-idle jobs so memory stays bounded
            for job_id in [j for j, at in self._last_at.items() if now - at > 10 * self._interval_s]:
                self._last_at.pop(job_id, None)
                self._emitted.pop(job_id, None)
        return out
