"""Events of a job's access lists (subject ``conveyor.ev.access.<job_id>``).

They are kept apart from the job's own subject so that only jobs that have lists cost their
projection anything.

``read`` holds user ids and ``*`` (anyone with ``jobs:read``); ``write`` holds user ids. The
job's owner, its project's roles and admins apply besides (builds.sr.ht's access lists).
"""

import msgspec

from .fields import UtcDatetime

__all__ = ["AccessEvent", "JobAccessSet"]


class JobAccessSet(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="access.set"):
    """A job's read and write lists were set, replacing any before (request event)."""

    event_id: str
    job_id: str
    occurred_at: UtcDatetime
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    requested_by: str = ""


AccessEvent = JobAccessSet
"""Every event of the access aggregate."""
