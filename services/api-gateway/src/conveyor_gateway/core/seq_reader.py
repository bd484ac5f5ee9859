"""Reads by the durable integer ids façades show: a job's ``submitted_seq`` and a worker's
``registered_seq`` (stream sequences: stable across restarts and a projection rebuild), and the
tree counters and value lists a façade's listings need. Read-only, on the scheduler's projection."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import asyncpg
import msgspec

from . import job_numbers
from .bodies import JobView
from .reader import fetch_projection
from .trees import MAX_DEPTH

_JOBS: Final = "scheduler.jobs"
_DECODER: Final = msgspec.json.Decoder(JobView)
_COUNTS: Final = f"""
WITH RECURSIVE tree(root, id, depth) AS (
    SELECT id, id, 0 FROM {_JOBS} WHERE id = ANY($1::uuid[])
    UNION ALL
    SELECT t.root, j.id, t.depth + 1 FROM {_JOBS} j JOIN tree t ON j.parent_id = t.id
    WHERE NOT j.deleted AND t.depth < {MAX_DEPTH}
)
SELECT t.root::text,
       count(*) FILTER (WHERE t.depth > 0 AND j.doc->>'payload' IS NOT NULL),
       count(*) FILTER (WHERE t.depth > 0 AND j.doc->>'payload' IS NOT NULL AND j.state = 'succeeded'),
       count(*) FILTER (WHERE t.depth > 0 AND j.doc->>'payload' IS NOT NULL
                        AND j.state IN ('failed', 'timed_out', 'cancelled')),
       count(*) FILTER (WHERE t.depth > 0 AND j.doc->>'payload' IS NOT NULL AND j.state IN ('assigned', 'running'))
FROM tree t JOIN {_JOBS} j ON j.id = t.id
GROUP BY 1
"""


class TreeCounts(msgspec.Struct, frozen=True):
    """Leaf jobs (jobs that run a command) below a job: all, succeeded, failed, running."""

    total: int = 0
    finished: int = 0
    errors: int = 0
    working: int = 0


class SeqReader:
    """Jobs by ``submitted_seq``, workers by name, tree counters."""

    def __init__(self, pool: "asyncpg.Pool[Any]") -> None:
        self._pool = pool

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        return await fetch_projection(self._pool, sql, *args)

    async def _jobs(self, where: str, *args: Any) -> list[tuple[int, JobView]]:
        sql = f"SELECT submitted_seq, doc::text FROM {_JOBS} WHERE NOT deleted AND {where} ORDER BY submitted_seq"
        return [(int(r[0]), _DECODER.decode(r[1])) for r in await self._fetch(sql, *args)]

    async def job_at(self, seq: int) -> tuple[int, JobView] | None:
        """The live job first stored at stream sequence ``seq``."""
        found = await self._jobs("submitted_seq = $1", seq)
        return found[0] if found else None

    async def jobs_at(self, seqs: Sequence[int]) -> list[tuple[int, JobView]]:
        return await self._jobs("submitted_seq = ANY($1::bigint[])", list(seqs))

    async def jobs_by_id(self, ids: Sequence[str]) -> list[tuple[int, JobView]]:
        return await self._jobs("id = ANY($1::uuid[])", list(ids))

    async def children(self, parent_id: str) -> list[tuple[int, JobView]]:
        return await self._jobs("parent_id = $1::uuid", parent_id)

    async def roots(self, project: str) -> list[tuple[int, JobView]]:
        """The jobs of ``project`` without a parent."""
        return await self._jobs("parent_id IS NULL AND project = $1", project)

    async def tree_counts(self, ids: Sequence[str]) -> dict[str, TreeCounts]:
        """For each job, the counters of the command jobs at any depth below it."""
        if not ids:
            return {}
        rows = await self._fetch(_COUNTS, list(ids))
        return {r[0]: TreeCounts(r[1], r[2], r[3], r[4]) for r in rows}

    async def worker_named(self, name: str) -> tuple[str, int] | None:
        """``(id, registered_seq)`` of the first live worker registered under ``name``."""
        rows = await self._fetch(
            "SELECT id::text, registered_seq FROM scheduler.workers WHERE name = $1 AND NOT deleted"
            " ORDER BY registered_seq LIMIT 1",
            name,
        )
        return (rows[0][0], int(rows[0][1])) if rows else None

    async def workers_named(self, names: Sequence[str] | None) -> list[tuple[str, str, int]]:
        """``(id, name, registered_seq)`` of live workers (those named, or all), oldest first."""
        sql = "SELECT id::text, name, registered_seq FROM scheduler.workers WHERE NOT deleted"
        args: list[Any] = []
        if names is not None:
            sql += " AND name = ANY($1::text[])"
            args.append(list(names))
        rows = await self._fetch(sql + " ORDER BY registered_seq", *args)
        return [(r[0], r[1], int(r[2])) for r in rows]

    async def held_by(self, worker_id: str) -> list[tuple[int, JobView]]:
        """The jobs ``worker_id`` holds a lease on (assigned or running)."""
        return await self._jobs("doc->>'worker_id' = $1 AND state IN ('assigned', 'running')", worker_id)

    async def seqs_of(self, ids: Sequence[str]) -> dict[str, int]:
        """``submitted_seq`` of each job (deleted ones too: a dependency may have gone)."""
        return await job_numbers.seqs_of(self._pool, list(ids)) if ids else {}

    async def ids_at(self, seqs: Sequence[int]) -> dict[int, str]:
        """The live job at each ``submitted_seq``."""
        if not seqs:
            return {}
        rows = await self._fetch(
            f"SELECT submitted_seq, id::text FROM {_JOBS} WHERE submitted_seq = ANY($1::bigint[]) AND NOT deleted",
            list(seqs),
        )
        return {int(r[0]): r[1] for r in rows}

    async def worker_names(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        rows = await self._fetch("SELECT id::text, name FROM scheduler.workers WHERE id = ANY($1::uuid[])", list(ids))
        return {r[0]: r[1] for r in rows}

    async def distinct_tags(self, project: str, prefix: str) -> list[str]:
        """The values of the tags ``<prefix><value>`` on the project's live jobs, sorted."""
        rows = await self._fetch(
            f"SELECT DISTINCT substr(t, length($2) + 1) FROM {_JOBS}, unnest(tags) AS t"
            " WHERE project = $1 AND NOT deleted AND starts_with(t, $2) ORDER BY 1",
            project,
            prefix,
        )
        return [r[0] for r in rows]

    async def distinct_labels(self, project: str) -> list[str]:
        rows = await self._fetch(
            f"SELECT DISTINCT jsonb_array_elements_text(doc->'labels') FROM {_JOBS}"
            " WHERE project = $1 AND NOT deleted ORDER BY 1",
            project,
        )
        return [r[0] for r in rows]

    async def states_in(self, project: str) -> list[tuple[str, bool]]:
        """The distinct ``(state, paused)`` pairs of the project's live jobs."""
        rows = await self._fetch(
            f"SELECT DISTINCT state, coalesce((doc->>'paused')::boolean, false) FROM {_JOBS}"
            " WHERE project = $1 AND NOT deleted",
            project,
        )
        return [(r[0], bool(r[1])) for r in rows]

    async def worker_names_in(self, project: str) -> list[str]:
        """The names of the workers that ran (or run) the project's live jobs, sorted."""
        rows = await self._fetch(
            f"SELECT DISTINCT w.name FROM {_JOBS} j JOIN scheduler.workers w ON w.id::text = j.doc->>'worker_id'"
            " WHERE j.project = $1 AND NOT j.deleted ORDER BY 1",
            project,
        )
        return [r[0] for r in rows]

    async def runs_since(self, project: str, since: datetime | None) -> list[tuple[int, JobView]]:
        """The project's command jobs that started (their latest run) after ``since`` (all that ran: None)."""
        where = "project = $1 AND doc->>'payload' IS NOT NULL AND doc->>'started_at' IS NOT NULL"
        if since is None:
            return await self._jobs(where, project)
        return await self._jobs(f"{where} AND (doc->>'started_at')::timestamptz > $2", project, since)
