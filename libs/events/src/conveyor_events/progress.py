"""Events of the progress aggregate (subject ``conveyor.ev.progress.<job_id>``).

Progress lives on its own subject, not the job's: the scheduler uses the job subject's sequence
as its optimistic-concurrency version, and frequent progress ticks must not disturb it.
"""

import msgspec

from .fields import UtcDatetime

__all__ = ["JobProgressed", "ProgressEvent", "ProgressEventBase"]


class ProgressEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every progress event carries."""

    event_id: str
    job_id: str
    occurred_at: UtcDatetime


class JobProgressed(ProgressEventBase, frozen=True, kw_only=True, tag="progress.reported"):
    """A job's progress moved to ``percent`` (0 to 100).

    ``source`` is ``log`` when the log collector parsed it from output with the job's progress
    pattern, ``worker`` when the worker reported it directly. ``task`` names a manifest task, if any.
    """

    percent: float
    task: str | None = None
    source: str = "log"


ProgressEvent = JobProgressed
"""Every event of the progress aggregate."""
