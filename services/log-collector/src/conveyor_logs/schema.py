"""The log collector's tables (schema ``logs``); the gateway reads them, only the collector writes."""

from typing import Final

from conveyor_runtime import CHECKPOINT_MIGRATION, Migration, quarantine_migration

SCHEMA: Final = "logs"

MIGRATIONS: Final[list[Migration]] = [
    CHECKPOINT_MIGRATION,
    (
        2,
        """
        CREATE TABLE {schema}.streams (
            job_id uuid NOT NULL,
            attempt integer NOT NULL,
            task text NOT NULL,
            lease_id text NOT NULL,
            received bigint NOT NULL,
            stored bigint NOT NULL,
            truncated boolean NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (job_id, attempt, task)
        );
        CREATE INDEX streams_updated ON {schema}.streams (updated_at);
        CREATE TABLE {schema}.chunks (
            job_id uuid NOT NULL,
            attempt integer NOT NULL,
            task text NOT NULL,
            start_offset bigint NOT NULL,
            end_offset bigint NOT NULL,
            data bytea NOT NULL,
            PRIMARY KEY (job_id, attempt, task, start_offset)
        );
        CREATE INDEX chunks_end ON {schema}.chunks (job_id, attempt, task, end_offset);
        ALTER TABLE {schema}.chunks ALTER COLUMN data SET STORAGE EXTERNAL;
        CREATE TABLE {schema}.jobs (
            job_id uuid PRIMARY KEY,
            progress_pattern text,
            submitted_at timestamptz NOT NULL
        );
        CREATE TABLE {schema}.progress (
            job_id uuid PRIMARY KEY,
            percent double precision NOT NULL,
            task text,
            source text NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE TABLE {schema}.worker_logs (
            id bigserial PRIMARY KEY,
            worker_id uuid NOT NULL,
            level smallint NOT NULL,
            scope text NOT NULL,
            message text NOT NULL,
            logged_at timestamptz NOT NULL
        );
        CREATE INDEX worker_logs_time ON {schema}.worker_logs (worker_id, logged_at);
        CREATE TABLE {schema}.artifacts (
            job_id uuid NOT NULL,
            path text NOT NULL,
            size bigint NOT NULL,
            sha256 text NOT NULL,
            attempt integer NOT NULL,
            stored_at timestamptz NOT NULL,
            PRIMARY KEY (job_id, path)
        );
        CREATE INDEX artifacts_stored ON {schema}.artifacts (stored_at);
        """,
    ),
    quarantine_migration(3),  # events the projector could not apply as they were
]
