"""Commands on a job tree: cancel, pause, resume, reset, restart and delete apply to the job and
to every descendant they make sense for (coalition's recursive reset, cascading pause).

The gateway appends one request event per job, pipelined, deepest jobs first and the job itself
last: when the scheduler reads a group's command, its children have already taken theirs, so a
reset group is decided on reset children (not on the finished ones they were). Each job's
consequences are decided as for a single command, and a group's state follows its children's.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from conveyor_events import Appended, JobEvent, PendingAppend, job_subject

from .context import State
from .reader import fetch_projection

MAX_DEPTH: Final = 64
_DESCENDANTS: Final = f"""
WITH RECURSIVE tree(id, depth) AS (
    SELECT id, 1 FROM scheduler.jobs WHERE parent_id = $1::uuid AND NOT deleted
    UNION ALL
    SELECT j.id, t.depth + 1 FROM scheduler.jobs j JOIN tree t ON j.parent_id = t.id
    WHERE NOT j.deleted AND t.depth < {MAX_DEPTH}
)
SELECT j.id::text, j.state FROM tree JOIN scheduler.jobs j USING (id) ORDER BY tree.depth, j.submitted_seq
"""

Build = Callable[[str, datetime], JobEvent]


async def descendants(state: State, job_id: str) -> list[tuple[str, str]]:
    """``(id, state)`` of every job below ``job_id``, level by level (deleted ones left out)."""
    return [(r[0], r[1]) for r in await fetch_projection(state["reader"].pool, _DESCENDANTS, job_id)]


async def append_to_tree(state: State, job_id: str, build: Build, applies: Callable[[str], bool]) -> int:
    """Append ``build``'s event for the job and for each descendant whose state ``applies``;
    return the highest stream sequence written (wait for it to read the whole tree back)."""
    now = datetime.now(UTC)
    below = [d for d, s in await descendants(state, job_id) if applies(s)]
    items = [PendingAppend(job_subject(j), build(j, now)) for j in (*reversed(below), job_id)]
    outcomes = await state["appender"].append_batch(items)
    return max(o.seq for o in outcomes if isinstance(o, Appended))
