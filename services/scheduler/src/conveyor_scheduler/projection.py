"""The jobs projection: SQL that stores job states, committed with the checkpoint."""

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Final

import msgspec

from conveyor_runtime import CHECKPOINT_MIGRATION, Migration, quarantine_migration, quote_schema
from conveyor_runtime.db import DbConnection

from .decider import JobState
from .workers import WorkerState

SCHEMA: Final = "scheduler"

MIGRATIONS: Final[list[Migration]] = [
    CHECKPOINT_MIGRATION,
    (
        2,
        """
        CREATE TABLE {schema}.jobs (
            id uuid PRIMARY KEY,
            project text NOT NULL,
            owner text NOT NULL,
            state text NOT NULL,
            priority integer NOT NULL,
            tags text[] NOT NULL,
            dedupe_key text,
            submitted_seq bigint NOT NULL,
            version bigint NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            doc jsonb NOT NULL
        );
        CREATE UNIQUE INDEX jobs_submitted_seq ON {schema}.jobs (submitted_seq);
        CREATE INDEX jobs_project ON {schema}.jobs (project, submitted_seq);
        CREATE INDEX jobs_state ON {schema}.jobs (state, submitted_seq);
        CREATE INDEX jobs_owner ON {schema}.jobs (owner, submitted_seq);
        CREATE INDEX jobs_tags ON {schema}.jobs USING gin (tags);
        """,
    ),
    (
        3,
        """
        CREATE TABLE {schema}.workers (
            id uuid PRIMARY KEY,
            name text NOT NULL,
            labels text[] NOT NULL,
            capacity integer NOT NULL,
            secret_hash text NOT NULL,
            mode text NOT NULL,
            deleted boolean NOT NULL,
            registered_at timestamptz NOT NULL,
            registered_seq bigint NOT NULL,
            version bigint NOT NULL,
            doc jsonb NOT NULL
        );
        CREATE INDEX jobs_worker ON {schema}.jobs ((doc->>'worker_id'), state);
        """,
    ),
    (4, "ALTER TABLE {schema}.jobs ADD COLUMN deleted boolean NOT NULL DEFAULT false"),
    (
        5,
        """
        CREATE TABLE {schema}.job_dependencies (
            job_id uuid NOT NULL,
            depends_on uuid NOT NULL,
            PRIMARY KEY (job_id, depends_on)
        );
        CREATE INDEX job_dependencies_reverse ON {schema}.job_dependencies (depends_on);
        """,
    ),
    (
        6,
        """
        ALTER TABLE {schema}.jobs ADD COLUMN parent_id uuid;
        UPDATE {schema}.jobs SET parent_id = (doc->>'parent_id')::uuid WHERE doc->>'parent_id' IS NOT NULL;
        CREATE INDEX jobs_parent ON {schema}.jobs (parent_id, submitted_seq) WHERE parent_id IS NOT NULL;
        """,
    ),
    # A rebuild drops the secondary indexes of ``jobs`` while it loads and builds them again at
    # the end (issue 8); their definitions wait here, so a rebuild that died in between leaves
    # them to the next rebuild or scheduler start, not lost.
    (7, "CREATE TABLE {schema}.deferred_indexes (name text PRIMARY KEY, definition text NOT NULL)"),
    quarantine_migration(8),  # events the projector could not apply as they were
    # The dashboard's throughput and failures per hour and day (issue 20): the jobs that ended
    # since a time, without reading every ended job (at a million jobs that read took seconds).
    (
        9,
        "CREATE INDEX jobs_finished ON {schema}.jobs (updated_at)"
        " WHERE state IN ('succeeded', 'failed', 'timed_out', 'cancelled') AND NOT deleted",
    ),
]

_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder(JobState)
_worker_decoder: Final = msgspec.json.Decoder(WorkerState)
_WORKER_DOC_OMITS: Final = ("secret_hash",)
_COLUMNS: Final = (
    "id",
    "project",
    "owner",
    "state",
    "priority",
    "tags",
    "dedupe_key",
    "submitted_seq",
    "version",
    "created_at",
    "updated_at",
    "doc",
    "deleted",
    "parent_id",
)  # the order of ``_row``
_BATCH_COLUMNS: Final = tuple(i for i, name in enumerate(_COLUMNS) if name != "tags")  # ``_save_batch``'s arrays
_STAGING: Final = "conveyor_staged_jobs"  # a temporary table of the rebuild's connection


class JobTable:
    """Reads and writes job states in one schema's ``jobs`` table (inside the caller's transaction).

    Args:
        schema: The schema; ``scheduler`` for the live projection, another for a shadow rebuild.
    """

    def __init__(self, schema: str = SCHEMA) -> None:
        q = quote_schema(schema)
        self.schema = schema
        self._create_staging = f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (LIKE {q}.jobs) ON COMMIT DELETE ROWS"
        self._update_from_staging = (
            f"UPDATE {q}.jobs AS j SET state = s.state, priority = s.priority, tags = s.tags, version = s.version,"
            f" updated_at = s.updated_at, doc = s.doc, deleted = s.deleted FROM {_STAGING} AS s"
            " WHERE j.id = s.id AND j.version < s.version"
        )
        self._secondary_indexes = (
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE n.nspname = $1 AND t.relname = 'jobs' AND NOT x.indisprimary"
        )
        self._deferred = f"{q}.deferred_indexes"
        self._load = f"SELECT doc::text FROM {q}.jobs WHERE id = ANY($1::uuid[])"
        self._save = (
            f"INSERT INTO {q}.jobs (id, project, owner, state, priority, tags, dedupe_key, submitted_seq,"
            " version, created_at, updated_at, doc, deleted, parent_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, priority = EXCLUDED.priority,"
            " tags = EXCLUDED.tags, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,"
            " doc = EXCLUDED.doc, deleted = EXCLUDED.deleted WHERE jobs.version < EXCLUDED.version"
        )
        # The live fold's save in one statement per batch (issue 21): the rows as parallel arrays,
        # ``tags`` taken from the document (a ragged text[][] cannot travel as one array).
        self._save_batch = (
            f"INSERT INTO {q}.jobs AS jobs (id, project, owner, state, priority, tags, dedupe_key, submitted_seq,"
            " version, created_at, updated_at, doc, deleted, parent_id)"
            " SELECT u.id, u.project, u.owner, u.state, u.priority,"
            " ARRAY(SELECT jsonb_array_elements_text(u.doc->'tags')), u.dedupe_key, u.submitted_seq, u.version,"
            " u.created_at, u.updated_at, u.doc, u.deleted, u.parent_id"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::bigint[],"
            " $8::bigint[], $9::timestamptz[], $10::timestamptz[], $11::jsonb[], $12::bool[], $13::uuid[])"
            " AS u(id, project, owner, state, priority, dedupe_key, submitted_seq, version, created_at, updated_at,"
            " doc, deleted, parent_id)"
            " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, priority = EXCLUDED.priority,"
            " tags = EXCLUDED.tags, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,"
            " doc = EXCLUDED.doc, deleted = EXCLUDED.deleted WHERE jobs.version < EXCLUDED.version"
        )
        self._truncate = f"TRUNCATE {q}.jobs, {q}.workers, {q}.job_dependencies"
        self._dependency_states = (
            f"SELECT id::text, CASE WHEN deleted THEN 'deleted' ELSE state END FROM {q}.jobs WHERE id = ANY($1::uuid[])"
        )
        self._dependents = f"SELECT DISTINCT job_id::text FROM {q}.job_dependencies WHERE depends_on = ANY($1::uuid[])"
        self._clear_dependencies = f"DELETE FROM {q}.job_dependencies WHERE job_id = ANY($1::uuid[])"
        self._add_dependencies = (
            f"INSERT INTO {q}.job_dependencies (job_id, depends_on)"
            " SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING"
        )
        self._children_counts = (
            f"SELECT parent_id::text, state, count(*) FROM {q}.jobs WHERE parent_id = ANY($1::uuid[])"
            " AND NOT deleted AND id <> ALL($2::uuid[]) GROUP BY 1, 2"
        )
        self._load_workers = f"SELECT doc::text, secret_hash FROM {q}.workers WHERE id = ANY($1::uuid[])"
        self._all_workers = f"SELECT doc::text, secret_hash FROM {q}.workers WHERE NOT deleted"
        self._save_worker = (
            f"INSERT INTO {q}.workers (id, name, labels, capacity, secret_hash, mode, deleted, registered_at,"
            " registered_seq, version, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, mode = EXCLUDED.mode, deleted = EXCLUDED.deleted,"
            " version = EXCLUDED.version, doc = EXCLUDED.doc WHERE workers.version < EXCLUDED.version"
        )
        self._live_jobs = (
            f"SELECT doc::text FROM {q}.jobs WHERE state IN ('queued', 'awaiting_verification', 'assigned', 'running')"
            " AND NOT deleted"
        )
        self._needing_decision = (
            f"SELECT doc::text FROM {q}.jobs WHERE NOT deleted AND (state IN ('submitted', 'blocked')"
            " OR (state IN ('pending', 'blocked', 'queued', 'assigned', 'running')"
            " AND (doc->>'cancel_requested')::boolean)"
            " OR (state IN ('assigned', 'running') AND (doc->>'paused')::boolean))"
        )

    async def load(self, conn: DbConnection, job_ids: Iterable[str]) -> dict[str, JobState]:
        rows = await conn.fetch(self._load, list(job_ids))
        states = (_decoder.decode(r[0]) for r in rows)
        return {s.id: s for s in states}

    async def save(self, conn: DbConnection, states: Sequence[JobState]) -> None:
        """Insert or update the jobs' rows (only to a newer version): one statement for the whole
        batch, whatever its size (each job at most once: a batch folds a job into one state)."""
        if len(states) == 1:
            await conn.execute(self._save, *_row(states[0]))
        elif states:
            rows = [_row(s) for s in states]
            columns = [[r[i] for r in rows] for i in _BATCH_COLUMNS]
            await conn.execute(self._save_batch, *columns)

    async def prepare_bulk(self, conn: DbConnection) -> None:
        """Create the connection's staging table for ``update_bulk`` (once per connection)."""
        await conn.execute(self._create_staging)

    async def defer_indexes(self, conn: DbConnection) -> None:
        """Drop the secondary indexes of ``jobs`` (in the caller's transaction), keeping their
        definitions for ``restore_indexes``: a bulk load then builds each index once, at the end,
        instead of updating seven indexes per row."""
        for name, definition in await conn.fetch(self._secondary_indexes, self.schema):
            await conn.execute(
                f"INSERT INTO {self._deferred} (name, definition) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                name,
                definition,
            )
            await conn.execute(f"DROP INDEX {quote_schema(self.schema)}.{quote_schema(name)}")

    async def restore_indexes(self, conn: DbConnection) -> int:
        """Build the indexes ``defer_indexes`` dropped (in the caller's transaction); return how many."""
        deferred = await conn.fetch(f"SELECT name, definition FROM {self._deferred} ORDER BY name")
        for name, definition in deferred:
            exists = await conn.fetchval(
                "SELECT to_regclass($1) IS NOT NULL", f"{quote_schema(self.schema)}.{quote_schema(name)}"
            )
            if not exists:
                await conn.execute(definition)
        await conn.execute(f"DELETE FROM {self._deferred}")
        return len(deferred)

    async def insert_bulk(self, conn: DbConnection, states: Sequence[JobState]) -> None:
        """Insert rows for jobs that have none yet, in one ``COPY`` (a rebuild knows which)."""
        if states:
            await conn.copy_records_to_table(
                "jobs", schema_name=self.schema, columns=_COLUMNS, records=[_row(s) for s in states]
            )

    async def update_bulk(self, conn: DbConnection, states: Sequence[JobState]) -> None:
        """Update existing rows as ``save`` would (same columns, only to a newer version), set-based:
        ``COPY`` into the staging table, then one ``UPDATE ... FROM`` (inside a transaction; call
        ``prepare_bulk`` first)."""
        if states:
            await conn.copy_records_to_table(_STAGING, columns=_COLUMNS, records=[_row(s) for s in states])
            # Probe the primary key per staged row: left to itself the planner hashes the staging
            # table (no statistics) against a scan of all of ``jobs``, every flush (EXPLAINed).
            await conn.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
            await conn.execute(self._update_from_staging)

    async def needing_decision(self, conn: DbConnection) -> list[JobState]:
        return [_decoder.decode(r[0]) for r in await conn.fetch(self._needing_decision)]

    async def dependency_states(self, conn: DbConnection, job_ids: Iterable[str]) -> dict[str, str]:
        """States of the given jobs (``deleted`` for deleted ones; absent ids are missing)."""
        return {r[0]: r[1] for r in await conn.fetch(self._dependency_states, list(job_ids))}

    async def dependents(self, conn: DbConnection, job_ids: Iterable[str]) -> list[str]:
        """Jobs that depend on any of the given ones."""
        return [r[0] for r in await conn.fetch(self._dependents, list(job_ids))]

    async def children_counts(
        self, conn: DbConnection, parent_ids: Iterable[str], skip: Iterable[str]
    ) -> dict[str, dict[str, int]]:
        """Counters of the parents' children by state, leaving out the children in ``skip`` (the
        caller counts those from the states it holds, which may be newer than the rows)."""
        counts: dict[str, dict[str, int]] = {}
        for parent, state, n in await conn.fetch(self._children_counts, list(parent_ids), list(skip)):
            counts.setdefault(parent, {})[state] = n
        return counts

    async def chain_targets(self, conn: DbConnection, projects: Iterable[str]) -> dict[str, str]:
        """``project -> chain target`` for those of ``projects`` that have one (none before the
        identity tables exist)."""
        if not await conn.fetchval("SELECT to_regclass('identity.projects') IS NOT NULL"):
            return {}
        rows = await conn.fetch(
            "SELECT name, chain_target FROM identity.projects WHERE name = ANY($1::text[]) AND chain_target <> ''",
            list(projects),
        )
        return {r[0]: r[1] for r in rows}

    async def save_dependencies(self, conn: DbConnection, changed: dict[str, tuple[str, ...]]) -> None:
        """Replace the dependency edges of the given jobs."""
        if not changed:
            return
        await conn.execute(self._clear_dependencies, list(changed))
        pairs = [(job, dep) for job, deps in changed.items() for dep in deps]
        if pairs:
            await conn.execute(self._add_dependencies, [p[0] for p in pairs], [p[1] for p in pairs])

    async def load_workers(self, conn: DbConnection, worker_ids: Iterable[str]) -> dict[str, WorkerState]:
        rows = await conn.fetch(self._load_workers, list(worker_ids))
        return {w.id: w for w in (_worker_from_row(r[0], r[1]) for r in rows)}

    async def all_workers(self, conn: DbConnection) -> list[WorkerState]:
        return [_worker_from_row(r[0], r[1]) for r in await conn.fetch(self._all_workers)]

    async def save_workers(self, conn: DbConnection, workers: Sequence[WorkerState]) -> None:
        if workers:
            await conn.executemany(self._save_worker, [_worker_row(w) for w in workers])

    async def live_job_batches(self, conn: DbConnection, size: int = 2000) -> AsyncIterator[list[JobState]]:
        """The jobs the engine must know at start (queued, to hand out; leased, to watch), a slice
        at a time through a cursor: a million queued jobs never sit in memory as rows at once, and
        the caller can yield to its event loop between slices."""
        async with conn.transaction():
            batch: list[JobState] = []
            async for row in conn.cursor(self._live_jobs, prefetch=size):
                batch.append(_decoder.decode(row[0]))
                if len(batch) >= size:
                    yield batch
                    batch = []
            if batch:
                yield batch

    async def truncate(self, conn: DbConnection) -> None:
        await conn.execute(self._truncate)


def _row(s: JobState) -> tuple[Any, ...]:
    return (
        s.id,
        s.project,
        s.owner,
        s.state,
        s.priority,
        list(s.tags),
        s.dedupe_key,
        s.submitted_seq,
        s.version,
        s.created_at,
        s.updated_at,
        _encoder.encode(s).decode(),
        s.deleted,
        s.parent_id,
    )


def _worker_row(w: WorkerState) -> tuple[Any, ...]:
    doc = {k: v for k, v in msgspec.to_builtins(w).items() if k not in _WORKER_DOC_OMITS}
    return (
        w.id,
        w.name,
        list(w.labels),
        w.capacity,
        w.secret_hash,
        w.mode,
        w.deleted,
        w.registered_at,
        w.registered_seq,
        w.version,
        _encoder.encode(doc).decode(),
    )


def _worker_from_row(doc: str, secret_hash: str) -> WorkerState:
    return msgspec.structs.replace(_worker_decoder.decode(doc), secret_hash=secret_hash)
