"""Workers as the API and the dashboard show them: the registration, the live status (last
heartbeat, load, memory) and what each holds and has finished."""

import asyncio
from datetime import UTC, datetime

from .context import State
from .worker_bodies import WorkerView
from .worker_reader import JobStats, WorkerDoc
from .worker_status import WorkerStatus, derive_state


def worker_view(doc: WorkerDoc, status: WorkerStatus | None, stats: JobStats, now: datetime) -> WorkerView:
    last_seen_at = status.last_seen_at if status is not None else None
    return WorkerView(
        id=doc.id,
        name=doc.name,
        labels=doc.labels,
        capacity=doc.capacity,
        mode=doc.mode,
        deleted=doc.deleted,
        registered_at=doc.registered_at,
        version=doc.version,
        owner=doc.owner,
        state=derive_state(doc.mode, last_seen_at, has_jobs=bool(stats.current_jobs), now=now),
        last_seen_at=last_seen_at,
        load=status.load if status is not None else None,
        memory_free_mb=status.memory_free_mb if status is not None else None,
        memory_total_mb=status.memory_total_mb if status is not None else None,
        current_jobs=stats.current_jobs,
        finished_count=stats.finished_count,
        failed_count=stats.failed_count,
    )


async def worker_views(state: State, docs: list[WorkerDoc]) -> list[WorkerView]:
    ids = [d.id for d in docs]
    statuses, stats = await asyncio.gather(state["statuses"].get_many(ids), state["workers"].job_stats(ids))
    now = datetime.now(UTC)
    return [worker_view(d, statuses.get(d.id), stats.get(d.id, JobStats()), now) for d in docs]


async def read_worker_view(state: State, worker_id: str) -> WorkerView | None:
    doc = await state["workers"].get(worker_id)
    return None if doc is None else (await worker_views(state, [doc]))[0]
