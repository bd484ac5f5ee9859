"""The dispatcher's fold of ``EVENTS``: hooks, a snapshot of every job, and the outbox.

Each matched (event, hook) or (event, trigger) pair becomes a delivery row written in the
projector's transaction, together with the checkpoint: a crash before the commit replays the
batch, one after it finds the rows; nothing is matched twice or lost (at-least-once delivery
starts here). Delivery ids derive from (target, stream sequence), so even a replay of an
already-matched event could not add a second row. With tracing on, a matched event's trace
context is stored with its deliveries, under a span of the match (issue 22).
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec
from opentelemetry.trace import SpanKind

from conveyor_events import (
    HookCreated,
    HookDeleted,
    HookDisabled,
    HookEvent,
    HookRedeliveryRequested,
    HookUpdated,
    JobEvent,
    JobSubmitted,
    JobTrigger,
    UnknownEventError,
    decode_event,
    decode_job_event,
)
from conveyor_events.job import JobEventBase
from conveyor_events.states import TERMINAL_EVENT_TYPES
from conveyor_events.subjects import aggregate_of
from conveyor_runtime import OFF, DbConnection, StreamEvent, Tracing, decode_batch, trace_headers

from . import builds
from .snapshot import JobSnapshot, event_tag, evolve, payload_body, subscribed, trigger_fires

_NAMESPACE: Final = uuid.UUID("6f1c3f0e-8d5a-4f63-9a57-3c1e2b0d9a11")
_snapshot_decoder: Final = msgspec.json.Decoder(JobSnapshot)
_triggers_decoder: Final = msgspec.json.Decoder(tuple[JobTrigger, ...])
_builds_decoder: Final = msgspec.json.Decoder(builds.BuildsFold | None)
_encoder: Final = msgspec.json.Encoder()

Delivery = tuple[str, str | None, str, str, str, str, int, bytes, datetime, datetime, datetime, str | None, str | None]


def delivery_id(target: str, seq: int) -> str:
    """The delivery's id (and ``webhook-id``): the same for the same target and event, always."""
    return str(uuid.uuid5(_NAMESPACE, f"{target}:{seq}"))


class _Job:
    __slots__ = ("builds", "changed", "snap", "triggers", "version")

    def __init__(
        self,
        snap: JobSnapshot | None,
        version: int,
        triggers: tuple[JobTrigger, ...],
        fold: builds.BuildsFold | None = None,
    ) -> None:
        self.snap = snap
        self.version = version
        self.triggers = triggers
        self.builds = fold  # builds.sr.ht's view of the job, for its triggers (issue 17)
        self.changed = False


class EventsHandler:
    """Folds a batch of ``EVENTS`` into the ``hooks`` schema; ``matched`` counts new deliveries
    (the app wakes the delivery workers when it grows)."""

    def __init__(self, *, schema: str, horizon_s: float, tracing: Tracing = OFF) -> None:
        self._s = schema
        self._horizon = timedelta(seconds=horizon_s)
        self._tracing = tracing
        self.matched = 0

    async def __call__(self, conn: DbConnection, batch: Sequence[StreamEvent]) -> None:
        now = datetime.now(UTC)
        job_ids = set()
        for item in batch:
            aggregate, ident = _split(item.subject)
            if aggregate == "job":
                job_ids.add(ident)
        jobs = await self._load_jobs(conn, job_ids)
        hooks: dict[tuple[str, str], list[Any]] = {}
        out: list[Delivery] = []
        decoded: list[tuple[int, HookEvent | JobEvent]] = decode_batch(batch, _hook_or_job_event)
        carried = {e.seq: found for e in batch if (found := trace_headers(e.headers))} if self._tracing.is_on else {}
        for seq, event in decoded:
            if isinstance(event, JobEventBase):
                await self._apply_job(conn, jobs, hooks, seq, event, now, out, carried.get(seq))
            else:
                await self._apply_hook(conn, event, seq, now)
                hooks.clear()
        await self._save_jobs(conn, jobs)
        if out:
            await conn.executemany(
                f"INSERT INTO {self._s}.deliveries (id, hook_id, url, secret, event_type, job_id, stream_seq, body,"
                " created_at, matched_at, expires_at, next_attempt_at, traceparent, tracestate)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, $12, $13) ON CONFLICT (id) DO NOTHING",
                out,
            )
            self.matched += len(out)

    async def _load_jobs(self, conn: DbConnection, ids: set[str]) -> dict[str, _Job]:
        jobs = {i: _Job(None, 0, ()) for i in ids}
        if ids:
            rows = await conn.fetch(
                f"SELECT job_id::text, doc::text, version, triggers::text, coalesce(builds::text, 'null')"
                f" FROM {self._s}.jobs WHERE job_id = ANY($1::uuid[])",
                list(ids),
            )
            for r in rows:
                jobs[r[0]] = _Job(
                    _snapshot_decoder.decode(r[1]), r[2], _triggers_decoder.decode(r[3]), _builds_decoder.decode(r[4])
                )
        return jobs

    async def _save_jobs(self, conn: DbConnection, jobs: dict[str, _Job]) -> None:
        rows = [
            (
                i,
                _encoder.encode(j.snap).decode(),
                j.version,
                _encoder.encode(j.triggers).decode(),
                None if j.builds is None else _encoder.encode(j.builds).decode(),
            )
            for i, j in jobs.items()
            if j.changed and j.snap is not None
        ]
        if rows:
            await conn.executemany(
                f"INSERT INTO {self._s}.jobs (job_id, doc, version, triggers, builds)"
                " VALUES ($1, $2::jsonb, $3, $4::jsonb, $5::jsonb)"
                " ON CONFLICT (job_id) DO UPDATE SET doc = EXCLUDED.doc, version = EXCLUDED.version,"
                " triggers = EXCLUDED.triggers, builds = EXCLUDED.builds",
                rows,
            )

    async def _apply_job(
        self,
        conn: DbConnection,
        jobs: dict[str, _Job],
        hooks: dict[tuple[str, str], list[Any]],
        seq: int,
        event: JobEvent,
        now: datetime,
        out: list[Delivery],
        trace: dict[str, str] | None = None,
    ) -> None:
        job = jobs[event.job_id]
        if isinstance(event, JobSubmitted):
            job.triggers = event.triggers
        job.snap = evolve(job.snap, event)
        job.builds = builds.fold(job.builds, event, seq)
        job.version += 1
        job.changed = True
        if job.snap is None:
            return
        tag = event_tag(event)
        key = (job.snap.owner, job.snap.project)
        if key not in hooks:
            hooks[key] = list(
                await conn.fetch(
                    f"SELECT id::text, event_types FROM {self._s}.hooks WHERE NOT deleted AND is_active"
                    " AND ((project = '' AND owner = $1) OR (project <> '' AND project = $2))",
                    *key,
                )
            )
        targets: list[tuple[str | None, str, str]] = [(h[0], "", "") for h in hooks[key] if subscribed(h[1], tag)]
        # A job group's own triggers wait for its builds (below), not for the group's job.
        firing = [t for t in job.triggers if trigger_fires(t, tag) and not (t.builds and t.builds.jobs)]
        targets += [(None, t.url, t.secret) for t in firing if t.builds is None]
        expires = now + self._horizon
        if isinstance(event, JobSubmitted) and any(t.builds and t.builds.jobs for t in event.triggers):
            await conn.executemany(
                f"INSERT INTO {self._s}.builds_groups (member_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                [(member, event.job_id) for member in event.depends_on],
            )
        if tag in TERMINAL_EVENT_TYPES:
            for ident, url, body in await self._group_deliveries(conn, jobs, event.job_id):
                # no trace context: a group's email continues no single event
                row = (ident, None, url, builds.EMAIL, tag, event.job_id, seq, body, event.occurred_at, now, expires)
                out.append((*row, None, None))
        for url, secret, own_body in self._builds_targets(job, job.snap, firing):
            ident = delivery_id(url, seq)
            out.append(
                (
                    ident,
                    None,
                    url,
                    secret,
                    tag,
                    event.job_id,
                    seq,
                    own_body,
                    event.occurred_at,
                    now,
                    expires,
                    None,
                    None,
                )
            )
        if not targets:
            return
        body = payload_body(tag, event.occurred_at, job.snap, job.version, seq)
        context = self._matched_context(tag, event.job_id, len(targets), trace)
        parent, state = (context or {}).get("traceparent"), (context or {}).get("tracestate")
        for hook_id, url, secret in targets:
            ident = delivery_id(hook_id or url, seq)
            out.append(
                (
                    ident,
                    hook_id,
                    url,
                    secret,
                    tag,
                    event.job_id,
                    seq,
                    body,
                    event.occurred_at,
                    now,
                    expires,
                    parent,
                    state,
                )
            )

    def _matched_context(
        self, tag: str, job_id: str, targets: int, trace: dict[str, str] | None
    ) -> dict[str, str] | None:
        """A span for the match under the event's context; its context is what the deliveries continue."""
        if trace is None:
            return None
        span = self._tracing.start_span(
            f"hook-dispatcher match {tag}",
            parent=trace,
            kind=SpanKind.CONSUMER,
            attributes={"conveyor.job_id": job_id, "conveyor.webhook.targets": targets},
        )
        if span is None:
            return None
        span.end()
        return self._tracing.headers_of(span)

    async def _group_deliveries(
        self, conn: DbConnection, jobs: dict[str, _Job], member_id: str
    ) -> list[tuple[str, str, bytes]]:
        """The emails of the job groups ``member_id`` belongs to that have just ended (every build
        ended); each group's delivery id derives from the group alone, so it is sent once."""
        groups = await conn.fetch(
            f"SELECT group_id::text FROM {self._s}.builds_groups WHERE member_id = $1::uuid", member_id
        )
        found: list[tuple[str, str, bytes]] = []
        for (group_id,) in groups:
            members = await conn.fetch(
                f"SELECT member_id::text FROM {self._s}.builds_groups WHERE group_id = $1::uuid", group_id
            )
            wanted = [group_id, *(m[0] for m in members)]
            missing = {i for i in wanted if i not in jobs}
            if missing:
                jobs.update(await self._load_jobs(conn, missing))
            group = jobs[group_id]
            if group.snap is None or group.builds is None:
                continue
            by_id = {m[0]: jobs[m[0]].snap for m in members}
            for t in group.triggers:
                if t.builds is None or not t.builds.jobs:
                    continue
                # the builds in the trigger's order: its numbers follow the group's depends_on
                order = [i for i in group_dependencies(group) if i in by_id]
                states = [s.state if (s := by_id[i]) is not None else "" for i in order]
                outcome = builds.group_outcome(states)
                if outcome is None or not builds.group_fires(t.on, outcome):
                    continue
                body = builds.group_email_body(group.builds.number, t.builds, states)
                found.append(
                    (delivery_id(f"mailto:{t.builds.to}#group", group.builds.number), f"mailto:{t.builds.to}", body)
                )
        return found

    @staticmethod
    def _builds_targets(job: _Job, snap: JobSnapshot, firing: list[JobTrigger]) -> list[tuple[str, str, bytes]]:
        """builds.sr.ht's triggers that fire: ``(url, secret, body)`` each, with sourcehut's body."""
        found: list[tuple[str, str, bytes]] = []
        for t in firing:
            if t.builds is None or job.builds is None:
                continue
            if t.builds.action == "email":
                found.append((f"mailto:{t.builds.to}", builds.EMAIL, builds.email_body(job.builds, snap, t.builds)))
            else:
                found.append((t.url, builds.SIGNED, builds.webhook_body(job.builds, snap, t.builds)))
        return found

    async def _apply_hook(self, conn: DbConnection, event: HookEvent, seq: int, now: datetime) -> None:
        s = self._s
        match event:
            case HookCreated():
                await conn.execute(
                    f"INSERT INTO {s}.hooks (id, owner, project, url, event_types, description, secret, is_active,"
                    " created_at, updated_at, last_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)"
                    " ON CONFLICT (id) DO NOTHING",
                    event.hook_id,
                    event.owner,
                    event.project,
                    event.url,
                    list(event.event_types),
                    event.description,
                    event.secret,
                    event.is_active,
                    event.occurred_at,
                    seq,
                )
                return
            case HookUpdated():
                await conn.execute(
                    f"UPDATE {s}.hooks SET url = coalesce($2, url), event_types = coalesce($3, event_types),"
                    " description = coalesce($4, description), is_active = coalesce($5, is_active)"
                    + (
                        ", disabled_reason = NULL, disabled_at = NULL, failures = 0, failing_since = NULL,"
                        " disable_sent = false"
                        if event.is_active
                        else ""
                    )
                    + " WHERE id = $1",
                    event.hook_id,
                    event.url,
                    None if event.event_types is None else list(event.event_types),
                    event.description,
                    event.is_active,
                )
            case HookDeleted():
                await conn.execute(
                    f"UPDATE {s}.hooks SET deleted = true, is_active = false WHERE id = $1", event.hook_id
                )
                await conn.execute(
                    f"UPDATE {s}.deliveries SET status = 'cancelled' WHERE hook_id = $1 AND status = 'pending'",
                    event.hook_id,
                )
            case HookDisabled():
                await conn.execute(
                    f"UPDATE {s}.hooks SET is_active = false, disabled_reason = $2, disabled_at = $3 WHERE id = $1",
                    event.hook_id,
                    event.reason,
                    event.occurred_at,
                )
            case HookRedeliveryRequested():
                await conn.execute(
                    f"UPDATE {s}.deliveries SET status = 'pending', next_attempt_at = $3, expires_at = $4"
                    " WHERE id = $1 AND hook_id = $2",
                    event.delivery_id,
                    event.hook_id,
                    now,
                    now + self._horizon,
                )
                self.matched += 1
            case _:
                return
        await conn.execute(
            f"UPDATE {s}.hooks SET updated_at = $2, last_seq = $3 WHERE id = $1", event.hook_id, event.occurred_at, seq
        )


def group_dependencies(job: _Job) -> tuple[str, ...]:
    """A group's builds, in order (its ``JobSubmitted``'s dependencies, kept in its fold)."""
    return job.builds.members if job.builds is not None else ()


def _split(subject: str) -> tuple[str, str]:
    try:
        return aggregate_of(subject)
    except ValueError:
        return "", ""


def _hook_or_job_event(item: StreamEvent) -> HookEvent | JobEvent | None:
    """The event of a hook or a job; ``None`` for other aggregates (not the dispatcher's)."""
    aggregate, _ = _split(item.subject)
    if aggregate == "job":
        return decode_job_event(item.data)
    if aggregate != "hook":
        return None
    event = decode_event(item.subject, item.data)
    if not isinstance(event, HookCreated | HookUpdated | HookDeleted | HookDisabled | HookRedeliveryRequested):
        raise UnknownEventError(f"not a hook event: {type(event).__name__}")
    return event
