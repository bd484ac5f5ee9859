"""Composition root of the scheduler: ``run`` (the service) and ``rebuild`` (replay the stream)."""

import argparse
import asyncio
import random
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg
import uvloop
from nats.aio.client import Client as NatsClient
from starlette.applications import Starlette

from conveyor_events import (
    EVENTS_FILTER,
    EVENTS_STREAM,
    AppendFence,
    EventAppender,
    ensure_streams,
    events_stream_config,
    logs_stream_config,
    new_uuid7,
)
from conveyor_identity import MIGRATIONS as IDENTITY_MIGRATIONS
from conveyor_identity import (
    RATE_MIGRATIONS,
    RATE_SCHEMA,
    access_projector,
    identity_projector,
    projects_projector,
    rebuild_identity,
)
from conveyor_identity import SCHEMA as IDENTITY_SCHEMA
from conveyor_runtime import (
    DbConnection,
    Projector,
    ReadinessCheck,
    Tracing,
    announce_position,
    apply_migrations,
    configure_logging,
    connect_nats,
    create_pool,
    get_logger,
    health_routes,
    load_settings,
    nats_check,
    postgres_check,
    reporting_stalls,
    run_service,
    serve_http,
    start_tracing,
)
from conveyor_runtime.leadership import LeaderElector, current_holder, lead_when_elected
from conveyor_runtime.metrics import JOBS_READY
from conveyor_runtime.pauses import LoopLagMonitor, watch_gc_pauses

from .calls import SchedulerCalls
from .decider import JobState, RetryPolicy
from .engine import Engine
from .errors import SchedulerBusyError
from .handlers import JobFolder
from .job_traces import JobTraces
from .project_policy import ProjectRules
from .projection import MIGRATIONS, SCHEMA, JobTable
from .replay import CACHE_JOBS, FLUSH_EVENTS, Verdicts, replay_jobs
from .replay_reader import ReaderSpec
from .settings import Settings
from .workers import WorkerState

CONSUMER: Final = "scheduler"
REPLAY_BATCH: Final = 2000  # messages per fetch while rebuilding: fewer, fuller round trips
_log = get_logger("scheduler")


def _now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def _connections(settings: Settings) -> AsyncIterator[tuple[NatsClient, "asyncpg.Pool[Any]"]]:
    nc = await connect_nats(settings.nats_url, name="conveyor-scheduler", timeout_s=settings.connect_timeout_s)
    try:
        js = nc.jetstream()
        await ensure_streams(
            js,
            [
                events_stream_config(
                    replicas=settings.events_replicas, duplicate_window_s=settings.events_duplicate_window_s
                ),
                logs_stream_config(replicas=settings.events_replicas),
            ],
        )
        pool = await create_pool(settings.database_url, timeout_s=settings.connect_timeout_s)
        try:
            await apply_migrations(pool, SCHEMA, MIGRATIONS)
            await apply_migrations(pool, IDENTITY_SCHEMA, IDENTITY_MIGRATIONS)
            await apply_migrations(pool, RATE_SCHEMA, RATE_MIGRATIONS)
            yield nc, pool
        finally:
            await pool.close()
    finally:
        await nc.drain()


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """Run the scheduler until ``stop`` is set: campaign for the leader key, lead while it is
    held, and campaign again when it is lost."""
    tracing = start_tracing("conveyor-scheduler", endpoint=settings.otlp_endpoint)
    async with _connections(settings) as (nc, pool):
        checks: dict[str, ReadinessCheck] = {"nats": nats_check(nc), "postgres": postgres_check(pool)}
        app = Starlette(routes=health_routes(lambda: checks))
        http = asyncio.create_task(serve_http(app, settings.bind, settings.http_port, stop))
        watch_gc_pauses("scheduler")
        sampling_lag = asyncio.create_task(LoopLagMonitor("scheduler").run(stop))  # issue 21
        elector = _elector(settings, nc)
        try:
            await lead_when_elected(
                elector, stop, lambda: _lead(settings, nc, pool, stop, elector.fence, checks, tracing)
            )
        finally:
            stop.set()
            await http
            await sampling_lag
            await asyncio.to_thread(tracing.shutdown)  # exports the spans still buffered


def _elector(settings: Settings, nc: NatsClient) -> LeaderElector:
    return LeaderElector(
        nc.jetstream(),
        ttl_s=settings.leader_ttl_s,
        poll_s=settings.leader_poll_s,
        replicas=settings.events_replicas,
    )


async def _lead(
    settings: Settings,
    nc: NatsClient,
    pool: "asyncpg.Pool[Any]",
    stop: asyncio.Event,
    fence: AppendFence,
    checks: dict[str, ReadinessCheck],
    tracing: Tracing,
) -> None:
    js = nc.jetstream()
    table = JobTable()
    # Every decision checks the leader lease first; it carries the trace of the call it answers.
    appender = EventAppender(nc, fence=fence, stamp=tracing.stamp)
    traces = JobTraces(tracing)
    await appender.start()
    rules = ProjectRules(pool)
    await rules.refresh()
    engine = Engine(
        appender,
        clock=_now,
        jitter=random.random,
        new_id=new_uuid7,
        policy=RetryPolicy(base_s=settings.retry_base_s, cap_s=settings.retry_cap_s),
        projects=rules,
        traces=traces,
    )

    def observe(jobs: Sequence[JobState], workers: Sequence[WorkerState]) -> None:
        for worker in workers:
            engine.observe_worker(worker)
        for job in jobs:
            engine.observe_job(job)

    folder = JobFolder(table, appender, _now, observe, traces)

    async def on_commit(seq: int) -> None:
        await announce_position(nc, CONSUMER, seq)

    projector = Projector(
        name=CONSUMER,
        schema=SCHEMA,
        js=js,
        pool=pool,
        stream=EVENTS_STREAM,
        filter_subject=EVENTS_FILTER,
        handler=folder,
        batch_size=settings.batch_size,
        on_commit=on_commit,
        is_applied=folder.is_applied,
        on_applied=folder.trust_commit,
    )
    await projector.prepare()
    # Users and tokens have their own projection and checkpoint (issue 7); only the leader runs it.
    identity = identity_projector(nc, pool)
    await identity.prepare()

    async def reload_rules() -> None:
        if await rules.refresh():
            engine.wake_lease_calls()

    projects = projects_projector(nc, pool, after_commit=reload_rules)
    await projects.prepare()
    access = access_projector(nc, pool)
    await access.prepare()
    async with pool.acquire() as conn, conn.transaction():
        await table.restore_indexes(conn)  # left behind by a rebuild that died (none otherwise)
        decided = await folder.reconcile(conn)
    folder.trust_commit()
    # Fold to the stream's current end before serving workers, so that leases granted by a
    # previous leader are known and not answered with "lease lost".
    await projector.catch_up((await js.stream_info(EVENTS_STREAM)).state.last_seq)
    async with pool.acquire() as conn:
        observe([], await table.all_workers(conn))
        # A slice at a time, yielding between slices: with a million jobs queued, loading them in
        # one go would block the loop past the leader key's TTL, and the leader would lose it.
        async for jobs in table.live_job_batches(conn):
            observe(jobs, [])
            await asyncio.sleep(0)
    _log.info("scheduler_started", checkpoint=projector.position, reconciled=decided)
    calls = SchedulerCalls(nc, engine, tick_s=settings.tick_s, tracing=tracing)
    JOBS_READY.set_function(lambda: len(engine.queue))
    try:
        with reporting_stalls(checks, [projector, identity, projects, access], js, settings):
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(projector.run(stop))
                tasks.create_task(calls.run(stop))
                tasks.create_task(identity.run(stop))
                tasks.create_task(projects.run(stop))
                tasks.create_task(access.run(stop))
                tasks.create_task(_refresh_rules(rules, engine, stop))
    finally:
        JOBS_READY.set_function(lambda: 0)  # a standby hands out nothing
        await identity.close()
        await projects.close()
        await access.close()
        await projector.close()
        await appender.close()


async def _refresh_rules(rules: ProjectRules, engine: Engine, stop: asyncio.Event, period_s: float = 0.5) -> None:
    """Follow project changes (pause, rates); wake waiting lease calls when a rule relaxed or a
    rate-limited project's bucket may have refilled."""
    while not stop.is_set():
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), period_s)
        try:
            relaxed = await rules.refresh()
        except (asyncpg.PostgresError, OSError) as exc:
            _log.warning("project_rules_refresh_failed", error=str(exc))
            continue
        if relaxed or rules.has_limits:
            engine.wake_lease_calls()


async def rebuild(
    settings: Settings, into: str | None, *, cache_jobs: int = CACHE_JOBS, flush_events: int = FLUSH_EVENTS
) -> int:
    """Replay the stream from sequence 1 into the projection (or into a shadow schema), then the
    identity projections (users and tokens, projects, job access lists; ``rebuild_identity``):
    in place into ``identity``, or with ``into`` into ``<into>_identity``.

    ``cache_jobs`` and ``flush_events`` size the jobs replay (``replay.replay_jobs``).

    Returns:
        The stream sequence the rebuilt projection reached.
    """
    async with _connections(settings) as (nc, pool):
        js = nc.jetstream()
        info = await js.stream_info(EVENTS_STREAM)
        last = info.state.last_seq
        schema = into or SCHEMA
        if into is not None:
            await apply_migrations(pool, into, MIGRATIONS)
        table = JobTable(schema)
        projector = Projector(
            name=f"rebuild_{schema}" if into else CONSUMER,
            schema=schema,
            js=js,
            pool=pool,
            stream=EVENTS_STREAM,
            filter_subject=EVENTS_FILTER,
            handler=JobFolder(table, None, _now),  # unused: ``replay_jobs`` folds and writes in bulk
            batch_size=max(settings.batch_size, REPLAY_BATCH),
        )
        reader = ReaderSpec(
            nats_url=settings.nats_url,
            stream=EVENTS_STREAM,
            consumer=f"{projector.name}_reader",
            filter_subject=EVENTS_FILTER,
            batch=max(settings.batch_size, REPLAY_BATCH),
        )
        if into is not None:
            try:
                await _replay(projector, pool, table, last, cache_jobs, flush_events, reader)
            finally:
                await js.delete_consumer(EVENTS_STREAM, projector.name)
            await rebuild_identity(js, pool, into)
            return projector.position

        async def replay_all() -> None:
            await _replay(projector, pool, table, last, cache_jobs, flush_events, reader)
            await rebuild_identity(js, pool)

        # In place: hold the leader key for the whole replay, so no scheduler starts meanwhile.
        elector = _elector(settings, nc)
        if await elector.try_acquire() is None:
            held = await current_holder(js)
            who = f" ({held[0].host}, pid {held[0].pid}, term {held[1]})" if held else ""
            raise SchedulerBusyError(f"a scheduler holds the leader key{who}: stop it first, or rebuild --into SCHEMA")
        if await elector.hold(replay_all):
            raise SchedulerBusyError("the leader key was lost during the rebuild: run it again")
        return projector.position


async def _replay(
    projector: Projector,
    pool: "asyncpg.Pool[Any]",
    table: JobTable,
    last: int,
    cache_jobs: int,
    flush_events: int,
    reader: ReaderSpec | None = None,
) -> None:
    async def empty(conn: DbConnection) -> None:
        await table.truncate(conn)
        await table.defer_indexes(conn)  # built once at the end, not row by row

    try:
        async with pool.acquire() as conn:  # what the live fold quarantined is decided the same way
            verdicts = await Verdicts.read(conn, SCHEMA, CONSUMER)
        await projector.reset(empty)
        await projector.prepare()
        started = time.perf_counter()
        await replay_jobs(
            projector,
            pool,
            table,
            last,
            cache_size=cache_jobs,
            flush_events=flush_events,
            verdicts=verdicts,
            reader=reader,
        )
        _log.info(
            "jobs_replayed", schema=table.schema, position=projector.position, seconds=time.perf_counter() - started
        )
    finally:
        async with pool.acquire() as conn, conn.transaction():
            await table.restore_indexes(conn)
        await projector.close()


def main(argv: list[str] | None = None) -> None:
    """``conveyor-scheduler [run]`` or ``conveyor-scheduler rebuild [--into SCHEMA]``."""
    parser = argparse.ArgumentParser(prog="conveyor-scheduler", description="Conveyor scheduler")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the scheduler service (the default)")
    rb = sub.add_parser("rebuild", help="drop the jobs and identity projections and replay the EVENTS stream into them")
    rb.add_argument(
        "--into",
        metavar="SCHEMA",
        help="build a shadow copy in SCHEMA (identity tables in SCHEMA_identity); the live ones are untouched",
    )
    args = parser.parse_args(argv)
    settings = load_settings(Settings)
    configure_logging(settings.log_level, settings.log_json)
    if args.command == "rebuild":
        started = time.perf_counter()
        try:
            seq = uvloop.run(rebuild(settings, args.into))
        except SchedulerBusyError as exc:
            print(f"conveyor-scheduler: {exc}", file=sys.stderr)  # noqa: T201 - CLI output
            raise SystemExit(2) from exc
        elapsed = time.perf_counter() - started
        print(f"rebuilt {args.into or SCHEMA} up to stream sequence {seq} in {elapsed:.2f}s")  # noqa: T201
        return
    run_service(lambda stop: serve(settings, stop))
