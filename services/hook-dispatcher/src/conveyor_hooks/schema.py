"""The dispatcher's tables (schema ``hooks``): hooks, the jobs it folds, the delivery outbox and
the delivery log. The gateway reads ``hooks`` and the log; only the dispatcher writes."""

from typing import Final

from conveyor_runtime import CHECKPOINT_MIGRATION, Migration, quarantine_migration

SCHEMA: Final = "hooks"

MIGRATIONS: Final[list[Migration]] = [
    CHECKPOINT_MIGRATION,
    (
        2,
        """
        CREATE TABLE {schema}.hooks (
            id uuid PRIMARY KEY,
            owner text NOT NULL,
            project text NOT NULL DEFAULT '',
            url text NOT NULL,
            event_types text[] NOT NULL,
            description text NOT NULL DEFAULT '',
            secret text NOT NULL,
            is_active boolean NOT NULL DEFAULT true,
            deleted boolean NOT NULL DEFAULT false,
            disabled_reason text,
            disabled_at timestamptz,
            failures integer NOT NULL DEFAULT 0,
            failing_since timestamptz,
            disable_sent boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            last_seq bigint NOT NULL
        );
        CREATE INDEX hooks_owner ON {schema}.hooks (owner) WHERE NOT deleted;
        CREATE INDEX hooks_project ON {schema}.hooks (project) WHERE NOT deleted;
        CREATE TABLE {schema}.jobs (
            job_id uuid PRIMARY KEY,
            doc jsonb NOT NULL,
            version integer NOT NULL,
            triggers jsonb NOT NULL DEFAULT '[]'
        );
        CREATE TABLE {schema}.deliveries (
            id uuid PRIMARY KEY,
            hook_id uuid,
            url text NOT NULL,
            secret text NOT NULL DEFAULT '',
            event_type text NOT NULL,
            job_id uuid,
            stream_seq bigint NOT NULL,
            body bytea NOT NULL,
            status text NOT NULL DEFAULT 'pending',
            attempts integer NOT NULL DEFAULT 0,
            last_status integer,
            created_at timestamptz NOT NULL,
            matched_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            next_attempt_at timestamptz NOT NULL
        );
        CREATE INDEX deliveries_due ON {schema}.deliveries (next_attempt_at) WHERE status = 'pending';
        CREATE INDEX deliveries_hook ON {schema}.deliveries (hook_id, stream_seq DESC);
        CREATE TABLE {schema}.attempts (
            delivery_id uuid NOT NULL,
            attempt integer NOT NULL,
            attempted_at timestamptz NOT NULL,
            status integer,
            latency_ms double precision NOT NULL,
            error text NOT NULL DEFAULT '',
            response text NOT NULL DEFAULT '',
            PRIMARY KEY (delivery_id, attempt)
        );
        """,
    ),
    quarantine_migration(3),  # events the projector could not apply as they were
    # The trace context of the matched event (tracing on, issue 22): the webhook call continues it.
    (4, "ALTER TABLE {schema}.deliveries ADD COLUMN traceparent text, ADD COLUMN tracestate text"),
    # builds.sr.ht's view of a job with a builds trigger (issue 17): its number, tasks and runner.
    (5, "ALTER TABLE {schema}.jobs ADD COLUMN builds jsonb"),
    # builds.sr.ht job groups with triggers: which group each build belongs to (issue 17).
    (
        6,
        "CREATE TABLE {schema}.builds_groups (member_id uuid NOT NULL, group_id uuid NOT NULL,"
        " PRIMARY KEY (member_id, group_id))",
    ),
]
