"""Job access lists: appending them for new jobs (submissions) and replacing a job's (its owner or an
admin), once for every surface."""

from datetime import UTC, datetime

from conveyor_events import Appended, EventAppender, JobAccessSet, PendingAppend, access_subject, new_uuid7
from conveyor_runtime import PositionWatcher

from ..errors import ForbiddenError, JobNotFoundError
from .context import State
from .token_auth import Principal


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


async def set_lists(
    state: State, principal: Principal, job_id: str, read: list[str], write: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Replace the job's lists (its owner or an admin) and wait, within the write wait, until the
    projection has them; the lists as stored (lower case, without repeats).

    Raises:
        JobNotFoundError: No such job.
        ForbiddenError: The caller is neither the job's owner nor an admin.
    """
    found = await state["projects"].job_owner(job_id)
    if found is None:
        raise JobNotFoundError(f"no job {job_id}")
    if found.owner != principal.user_id and not principal.has_scope("admin"):
        raise ForbiddenError("only the job's owner changes its access lists")
    event = access_event(job_id, read, write, principal.user_id)
    appended = await state["appender"].append(access_subject(job_id), event)
    await state["access_watcher"].wait_for(appended.seq, state["write_wait_s"])
    return event.read, event.write
