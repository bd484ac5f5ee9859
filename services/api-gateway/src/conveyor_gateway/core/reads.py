"""Reads after a write (read-your-writes: wait until the scheduler has folded it), and the job read
that answers 404."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..errors import JobNotFoundError
from .bodies import JobView
from .context import State

T = TypeVar("T")


async def wait_applied(state: State, seq: int) -> bool:
    """Wait, up to the write wait, until the scheduler has folded the event at ``seq``."""
    return await state["watcher"].wait_for(seq, state["write_wait_s"])


async def read_after(state: State, seq: int, read: Callable[[], Awaitable[T]]) -> T | None:
    """``read()`` once the scheduler has applied ``seq`` (read-your-writes); None if it has not yet."""
    if not await wait_applied(state, seq):
        return None
    return await read()


async def first_seq(state: State, subject: str) -> int:
    """The stream sequence of the first event on ``subject`` (where an existing job was submitted)."""
    first = await state["js"].get_msg("EVENTS", subject=subject, direct=True, next=True, seq=1)
    return first.seq or 0


async def existing_job(state: State, job_id: str) -> JobView:
    job = await state["reader"].get(job_id)
    if job is None:
        raise JobNotFoundError(f"no job {job_id}")
    return job


async def subject_at(state: State, seq: int) -> str | None:
    """The subject of the event at stream sequence ``seq`` (what an integer id derived from a
    creation event's sequence names); None when there is none."""
    if not 0 < seq < 2**63:
        return None
    try:
        message = await state["js"].get_msg("EVENTS", seq=seq, direct=True)
    except Exception:
        return None
    return message.subject
