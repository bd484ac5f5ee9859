"""The jobs projection: SQL that stores job states, committed with the checkpoint."""

from collections.abc import Iterable, Sequence
from typing import Any, Final

import msgspec

from conveyor_runtime import CHECKPOINT_MIGRATION, Migration, quote_schema
from conveyor_runtime.db import DbConnection

from .decider import JobState

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
]

_encoder: Final = msgspec.json.Encoder()
_decoder: Final = msgspec.json.Decoder(JobState)


class JobTable:
    """Reads and writes job states in one schema's ``jobs`` table (inside the caller's transaction).

    Args:
        schema: The schema; ``scheduler`` for the live projection, another for a shadow rebuild.
    """

    def __init__(self, schema: str = SCHEMA) -> None:
        q = quote_schema(schema)
        self._load = f"SELECT doc::text FROM {q}.jobs WHERE id = ANY($1::uuid[])"
        self._save = (
            f"INSERT INTO {q}.jobs (id, project, owner, state, priority, tags, dedupe_key, submitted_seq,"
            " version, created_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            " ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, priority = EXCLUDED.priority,"
            " tags = EXCLUDED.tags, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,"
            " doc = EXCLUDED.doc"
        )
        self._truncate = f"TRUNCATE {q}.jobs"
        self._needing_decision = (
            f"SELECT doc::text FROM {q}.jobs WHERE state = 'submitted'"
            " OR (state IN ('pending', 'blocked', 'queued') AND (doc->>'cancel_requested')::boolean)"
        )

    async def load(self, conn: DbConnection, job_ids: Iterable[str]) -> dict[str, JobState]:
        rows = await conn.fetch(self._load, list(job_ids))
        states = (_decoder.decode(r[0]) for r in rows)
        return {s.id: s for s in states}

    async def save(self, conn: DbConnection, states: Sequence[JobState]) -> None:
        if states:
            await conn.executemany(self._save, [_row(s) for s in states])

    async def needing_decision(self, conn: DbConnection) -> list[JobState]:
        return [_decoder.decode(r[0]) for r in await conn.fetch(self._needing_decision)]

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
    )
