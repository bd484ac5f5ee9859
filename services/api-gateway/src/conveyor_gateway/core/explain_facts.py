"""The facts ``explain.py``'s rules turn into reasons: gathered from the projections and the
worker statuses (``GET /v1/jobs/{id}/explain`` and the dashboard's job page)."""

import asyncio
from datetime import datetime

from msgspec.structs import replace

from conveyor_events.states import LEASED, TERMINAL

from .context import State
from .dependency_check import Viewer
from .explain import AHEAD_LIMIT, ExplainFacts, WorkerFact


async def _holder(state: State, worker_id: str | None) -> WorkerFact | None:
    """The worker holding a lease, deleted ones included (a lease can outlive its worker briefly)."""
    if worker_id is None:
        return None
    doc, status = await asyncio.gather(state["workers"].get(worker_id), state["statuses"].get(worker_id))
    if doc is None:
        return None
    return WorkerFact(
        id=doc.id,
        name=doc.name,
        labels=tuple(doc.labels),
        capacity=doc.capacity,
        mode=doc.mode,
        last_seen_at=status.last_seen_at if status is not None else None,
    )


async def gather_facts(state: State, job_id: str, now: datetime, viewer: Viewer | None = None) -> ExplainFacts | None:
    """What the rules need about the job; None when there is no such job. A dependency ``viewer``
    may not read is left out of the states, so it reads as a missing one (None: an admin)."""
    reader = state["explainer"]
    found = await reader.job(job_id)
    if found is None:
        return None
    job, submitted_seq = found
    if job.state in TERMINAL:
        return ExplainFacts(job=job, now=now)
    if job.state in LEASED:
        return ExplainFacts(job=job, now=now, holder=await _holder(state, job.worker_id))
    workers, registered = await reader.matching_workers(job.labels)
    statuses = await state["statuses"].get_many([w.id for w in workers])
    matching = tuple(replace(w, last_seen_at=statuses[w.id].last_seen_at) if w.id in statuses else w for w in workers)
    project = await state["projects"].by_name(job.project)
    assigners = await _assigners(state, project.id) if project is not None and project.visibility != "public" else None
    ahead = 0
    if job.state == "queued":
        # A worker that can run this job can run any job whose labels are a subset of its own;
        # with no such worker registered, one with exactly the job's labels stands in.
        allowed = [w for w in matching if assigners is None or w.id in assigners]
        label_sets = [w.labels for w in allowed] or [tuple(job.labels)]
        ahead = await reader.count_ahead(
            priority=job.priority, submitted_seq=submitted_seq, label_sets=label_sets, now=now, limit=AHEAD_LIMIT + 1
        )
    dependency_states = await reader.job_states(job.depends_on) if job.depends_on else {}
    if viewer is not None and dependency_states:
        readable = await state["reader"].readable(set(dependency_states), viewer.user_id)
        dependency_states = {d: s for d, s in dependency_states.items() if d in readable or s == "deleted"}
    return ExplainFacts(
        job=job,
        now=now,
        matching=matching,
        registered=registered,
        ahead=ahead,
        dependency_states=dependency_states,
        project_paused=project is not None and project.paused,
        assign_rate=project.assign_rate if project is not None else 0.0,
        assigners=assigners,
    )


async def _assigners(state: State, project_id: str) -> frozenset[str]:
    """The workers granted assign access to a project (as the scheduler's assignment policy reads them)."""
    async with state["projects"].pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT worker_id::text FROM identity.worker_access"
            " WHERE project_id = $1::uuid AND status = 'granted' AND assign",
            project_id,
        )
    return frozenset(r[0] for r in rows)
