"""Reads of the scheduler's jobs projection (the gateway never writes it)."""

import asyncio
import base64
import builtins
from typing import Any, Final

import asyncpg
import msgspec

from conveyor_events.states import RAN

from ..errors import InvalidQueryError
from .bodies import JobView
from .log_store import LogStore

_JOB_DECODER: Final = msgspec.json.Decoder(JobView)
_TABLE: Final = "scheduler.jobs"
TEXT_WINDOW: Final = 100_000
"""Text in titles is looked for among the newest this many submissions: no index serves a
substring match, and over a million jobs a rare one read the whole table (seconds)."""


async def fetch_projection(pool: "asyncpg.Pool[Any]", sql: str, *args: Any) -> list[Any]:
    """Rows of a query on the scheduler's projection; none before the scheduler created its tables."""
    async with pool.acquire() as conn:
        try:
            return list(await conn.fetch(sql, *args))
        except asyncpg.UndefinedTableError:
            return []


class JobFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of ``GET /v1/jobs``: every given one must match."""

    state: str | None = None
    project: str | None = None
    tag: str | None = None
    owner: str | None = None
    parent: str | None = None
    label: str | None = None  # the dashboard's filters: a worker label the job asks for ...
    text: str | None = None  # ... and text its title contains (case-insensitive)
    viewer: str | None = None  # only jobs this user may read (see project_access); None: all (admins)


# The jobs a user may read: their own, and those of projects that are public or where they hold
# ``read`` (owners hold every role). Mirrors project_access.can_read_job for a whole list.
READABLE: Final = (
    "(owner = ${n} OR project IN (SELECT p.name FROM identity.projects p WHERE p.visibility = 'public'"
    " OR p.owner = ${n} OR EXISTS (SELECT 1 FROM identity.project_roles r"
    " WHERE r.project_id = p.id AND r.user_id = ${n} AND 'read' = ANY(r.roles)))"
    " OR id IN (SELECT job_id FROM identity.job_access WHERE read && ARRAY[${n}, '*'] OR ${n} = ANY(write)))"
)


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("s"):
            raise ValueError(cursor)
        value = int(raw[1:])
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidQueryError("cursor is not one this API returned") from exc
    if value < 0:
        raise InvalidQueryError("cursor is not one this API returned")
    return value


class JobReader:
    """Job lookups and listings from the projection.

    Lookups made in the same event-loop turn share one query: the writes released by one
    scheduler announcement all read their jobs at once, so under load a single
    ``WHERE id = ANY(...)`` replaces dozens of round trips.
    """

    def __init__(self, pool: "asyncpg.Pool[Any]", logs: LogStore | None = None) -> None:
        self._pool = pool
        self._logs = logs
        self._wanted: dict[str, list[asyncio.Future[JobView | None]]] = {}
        self._lookups: set[asyncio.Task[None]] = set()  # strong references while they run

    @property
    def pool(self) -> "asyncpg.Pool[Any]":
        """The pool, for checks that read the projection directly."""
        return self._pool

    async def get(self, job_id: str) -> JobView | None:
        fut: asyncio.Future[JobView | None] = asyncio.get_running_loop().create_future()
        if not self._wanted:
            asyncio.get_running_loop().call_soon(self._start_lookup)
        self._wanted.setdefault(job_id, []).append(fut)
        return await fut

    def _start_lookup(self) -> None:
        wanted, self._wanted = self._wanted, {}
        task = asyncio.get_running_loop().create_task(self._lookup(wanted))
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _lookup(self, wanted: dict[str, list[asyncio.Future[JobView | None]]]) -> None:
        try:
            async with self._pool.acquire() as conn:
                try:
                    rows = await conn.fetch(
                        f"SELECT id::text, doc::text FROM {_TABLE} WHERE id = ANY($1::uuid[]) AND NOT deleted",
                        list(wanted),
                    )
                except asyncpg.UndefinedTableError:  # the scheduler has not created its tables yet
                    rows = []
            found = {r[0]: _JOB_DECODER.decode(r[1]) for r in rows}
            await self._with_progress(list(found.values()))
        except Exception as exc:  # hand the failure to every waiter
            for futures in wanted.values():
                for fut in futures:
                    if not fut.done():
                        fut.set_exception(exc)
            return
        for job_id, futures in wanted.items():
            for fut in futures:
                if not fut.done():
                    fut.set_result(found.get(job_id))

    async def list(
        self, filters: JobFilter, *, limit: int, before_seq: int | None, oldest_first: bool = False
    ) -> tuple[list[JobView], str | None]:
        """Newest first (or oldest first), by submission order (a stable order: sequences never
        change); ``before_seq`` is the cursor's position: the page continues past it."""
        clauses: list[str] = ["NOT deleted"]
        args: list[Any] = []
        for column, value in (
            ("state", filters.state),
            ("project", filters.project),
            ("owner", filters.owner),
        ):
            if value is not None:
                args.append(value)
                clauses.append(f"{column} = ${len(args)}")
        if filters.parent is not None:
            args.append(filters.parent)
            clauses.append(f"parent_id = ${len(args)}::uuid")
        if filters.tag is not None:
            args.append([filters.tag])
            clauses.append(f"tags @> ${len(args)}::text[]")
        if filters.label is not None:
            args.append(filters.label)
            clauses.append(f"doc->'labels' ? ${len(args)}")
        if filters.text is not None:
            args.append("%" + filters.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
            clauses.append(f"doc->>'title' ILIKE ${len(args)}")
            clauses.append(f"submitted_seq > (SELECT coalesce(max(submitted_seq), 0) FROM {_TABLE}) - {TEXT_WINDOW}")
        if filters.viewer is not None:
            args.append(filters.viewer)
            clauses.append(READABLE.replace("{n}", str(len(args))))
        if before_seq is not None:
            args.append(before_seq)
            clauses.append(f"submitted_seq {'>' if oldest_first else '<'} ${len(args)}")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        args.append(limit + 1)
        order = "ASC" if oldest_first else "DESC"
        sql = f"SELECT submitted_seq, doc::text FROM {_TABLE} {where} ORDER BY submitted_seq {order} LIMIT ${len(args)}"
        rows = await fetch_projection(self._pool, sql, *args)
        items = [_JOB_DECODER.decode(r[1]) for r in rows[:limit]]
        await self._with_progress(items)
        next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
        return items, next_cursor

    async def readable(self, ids: "builtins.set[str]", viewer: str) -> "builtins.set[str]":
        """Which of ``ids`` (live jobs) ``viewer`` may read (see ``READABLE``)."""
        sql = f"SELECT id::text FROM {_TABLE} WHERE id = ANY($1::uuid[]) AND NOT deleted AND {READABLE}"
        rows = await fetch_projection(self._pool, sql.replace("{n}", "2"), list(ids), viewer)
        return {r[0] for r in rows}

    async def _with_progress(self, jobs: "builtins.list[JobView]") -> None:
        """Progress comes from the log collector's table (parsed from output or reported by the worker).

        Only a job that has run can have any: a fresh submission (the hot path) skips the query.
        """
        ran = [j for j in jobs if j.attempts > 0 or j.state in RAN]
        if self._logs is None or not ran:
            return
        progress = await self._logs.progress_of([j.id for j in ran])
        for job in ran:
            if job.id in progress:
                job.progress = progress[job.id]

    async def checkpoint(self, consumer: str) -> int:
        async with self._pool.acquire() as conn:
            try:
                value = await conn.fetchval(
                    "SELECT stream_seq FROM scheduler.checkpoints WHERE consumer = $1", consumer
                )
            except asyncpg.UndefinedTableError:
                return 0
        return int(value or 0)
