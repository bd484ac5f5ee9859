"""Project chaining (task_tracker): when a job succeeds, a copy of it is submitted into its
project's chain target. Pure.

The copy's id derives from the original's id and the version at which it succeeded, so deciding
twice (a retried batch, a new leader) appends the same first event, which the stream refuses
the second time (expected sequence 0); a job restarted and succeeding again chains again. A
loop of chain targets (A -> B -> A) stops after ``MAX_CHAIN_DEPTH`` links.
"""

import uuid
from datetime import datetime
from typing import Final

from conveyor_events import JobSubmitted

from .decider import JobState

MAX_CHAIN_DEPTH: Final = 32
_CHAIN_NS: Final = uuid.UUID("5b0c7e52-4f0e-4b8e-9d8a-2a6f1c3e7d41")


def chained_copy_id(job_id: str, version: int) -> str:
    return str(uuid.uuid5(_CHAIN_NS, f"{job_id}/chain/{version}"))


def chained_copy(job: JobState, target: str, at: datetime) -> JobSubmitted | None:
    """The submission of ``job``'s copy into project ``target``; ``None`` when it must not chain
    (not succeeded, a group, no target, or too long a chain)."""
    if job.state != "succeeded" or job.is_group or not target or job.chain_depth >= MAX_CHAIN_DEPTH:
        return None
    copy_id = chained_copy_id(job.id, job.version)
    return JobSubmitted(
        event_id=copy_id,
        job_id=copy_id,
        occurred_at=at,
        project=target,
        owner=job.owner,
        payload=job.payload,
        title=job.title,
        note=job.note,
        tags=job.tags,
        labels=job.labels,
        priority=job.priority,
        max_retries=job.max_retries,
        timeout_s=job.timeout_s,
        lease_s=job.lease_s,
        progress_pattern=job.progress_pattern,
        url=job.url,
        verification=job.verification,
        chained_from=job.id,
        chain_depth=job.chain_depth + 1,
    )
