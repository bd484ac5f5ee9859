"""Appending job access lists (used by submissions and by ``job_acl``); no route imports here."""

from datetime import UTC, datetime

from conveyor_events import Appended, EventAppender, JobAccessSet, PendingAppend, access_subject, new_uuid7
from conveyor_runtime import PositionWatcher


def access_event(job_id: str, read: list[str], write: list[str], by: str) -> JobAccessSet:
    return JobAccessSet(
        event_id=new_uuid7(),
        job_id=job_id,
        occurred_at=datetime.now(UTC),
        read=tuple(dict.fromkeys(r.lower() for r in read)),
        write=tuple(dict.fromkeys(w.lower() for w in write)),
        requested_by=by,
    )


async def append_lists(
    appender: EventAppender,
    watcher: PositionWatcher,
    wait_s: float,
    items: list[tuple[str, list[str], list[str]]],
    by: str,
) -> None:
    """Append the lists of jobs just created (``(job_id, read, write)``; empty pairs skipped) and
    wait, within ``wait_s``, until the projection has them."""
    pending = [
        PendingAppend(access_subject(job_id), access_event(job_id, read, write, by))
        for job_id, read, write in items
        if read or write
    ]
    if pending:
        outcomes = await appender.append_batch(pending)
        last = max((o.seq for o in outcomes if isinstance(o, Appended)), default=0)
        await watcher.wait_for(last, wait_s)
