"""End-to-end figures through real worker processes: no-op jobs per second, submit-to-lease latency.

Both run the scheduler and the gateway as processes, with ``bench.worker_loop`` workers leasing
over HTTP. Completion is counted in the bench's own PostgreSQL (the scheduler's projection), so
a job counts once the scheduler has folded its ``JobSucceeded``.
"""

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import asyncpg
import msgspec
from nats.js.api import ConsumerConfig, DeliverPolicy

from conveyor_events import EVENTS_FILTER, EVENTS_STREAM
from conveyor_runtime import connect_nats

from .fleet import CpuMeter, WorkerFleet, mean_timings_ms, merge_counts, stack_groups, start_profiles
from .http_load import Connection, closed_loop, open_loop, percentile
from .stack import BenchStack

NOOP: Final = msgspec.json.encode({"project": "bench", "title": "noop", "command": "true"})
BULK_CHUNK: Final = 1000
SUCCEEDED_SQL: Final = "SELECT count(*) FROM scheduler.jobs WHERE state = 'succeeded'"
LATENCY_TARGET_P99_MS: Final = 10.0
Pool = asyncpg.Pool


async def _succeeded(pool: Pool) -> int:
    return int(await pool.fetchval(SUCCEEDED_SQL))


async def _wait_succeeded(pool: Pool, target: int, timeout_s: float) -> float:
    """Poll every 100 ms until ``target`` jobs succeeded; return ``perf_counter()`` at that poll."""
    deadline = time.perf_counter() + timeout_s
    while True:
        done = await _succeeded(pool)
        now = time.perf_counter()
        if done >= target:
            return now
        if now > deadline:
            rows = await pool.fetch("SELECT state, count(*) FROM scheduler.jobs GROUP BY state")
            states = ", ".join(f"{r[0]} {r[1]}" for r in rows)
            raise RuntimeError(f"only {done} of {target} jobs succeeded within {timeout_s:.0f} s (jobs: {states})")
        await asyncio.sleep(0.1)


async def _sample_fold_lag(stack: BenchStack, pool: Pool, samples: list[int], stop: asyncio.Event) -> None:
    """Every 100 ms until ``stop``: how many events the scheduler's fold loop is behind the stream's end.

    Stopped by an event, not by cancelling: on Python 3.11 ``asyncio.wait_for`` (inside nats-py's
    request) can swallow a cancellation that lands as its reply arrives, and the loop went on.
    """
    nc = await connect_nats(stack.nats.url, name="bench-lag")
    js = nc.jetstream()
    try:
        while not stop.is_set():
            last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
            done = await pool.fetchval("SELECT stream_seq FROM scheduler.checkpoints WHERE consumer = 'scheduler'")
            samples.append(max(0, last - int(done or 0)))
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def _has_bulk(port: int) -> bool:
    """Whether the gateway serves ``POST /v1/jobs/bulk`` (another issue adds it)."""
    conn = await Connection.open("127.0.0.1", port)
    status, body = await conn.get("/openapi.json")
    conn.close()
    return status == 200 and "/v1/jobs/bulk" in json.loads(body).get("paths", {})


async def _submit_bulk(port: int, n: int) -> dict[str, float] | None:
    """``n`` no-op jobs in chunks of 1000 over 2 connections; ``None`` if the endpoint refuses."""
    chunks = [min(BULK_CHUNK, n - i) for i in range(0, n, BULK_CHUNK)]
    conns = [await Connection.open("127.0.0.1", port) for _ in range(min(2, len(chunks)))]
    ok = 0
    refused = False
    started = time.perf_counter()

    async def send(conn: Connection) -> None:
        nonlocal ok, refused
        while chunks and not refused:
            k = chunks.pop()
            body = b'{"jobs":[' + b",".join([NOOP] * k) + b"]}"
            status, answer = await conn.request("POST", "/v1/jobs/bulk", body, "Prefer: respond-async\r\n")
            if status in (404, 405):
                refused = True
            elif 200 <= status < 300:
                ok += k
            else:
                raise RuntimeError(f"POST /v1/jobs/bulk answered {status}: {answer[:500]!r}")

    await asyncio.gather(*(send(c) for c in conns))
    for c in conns:
        c.close()
    if refused and not ok:
        return None
    elapsed = time.perf_counter() - started
    return {"requests": float(n), "seconds": elapsed, "req_per_s": n / elapsed, "ok": float(ok)}


async def _submit(port: int, n: int, bulk: bool) -> tuple[str, dict[str, float]]:
    """Submit ``n`` no-op jobs, as fast as the gateway takes them; return (how, figures)."""
    if bulk:
        result = await _submit_bulk(port, n)
        if result is not None:
            return "POST /v1/jobs/bulk (1000 per request), respond-async", result
    result = await closed_loop(
        "127.0.0.1", port, "/v1/jobs", lambda _: NOOP, clients=64, total=n, headers={"Prefer": "respond-async"}
    )
    return "POST /v1/jobs, 64 clients, respond-async", result


async def end_to_end_throughput(
    stack: BenchStack,
    *,
    jobs: int,
    warmup: int,
    processes: int = 2,
    concurrency: int = 16,
    profile_dir: Path | None = None,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """No-op jobs per second from the first submit until all are succeeded; CPU per process."""
    port = stack.ports["gateway"]
    fleet = WorkerFleet(stack, processes=processes, concurrency=concurrency, tag="throughput")
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    lag: list[int] = []
    lagging: asyncio.Task[None] | None = None
    stop_lagging = asyncio.Event()
    try:
        await fleet.start()
        bulk = await _has_bulk(port)
        base = await _succeeded(pool)
        await _submit(port, warmup, bulk)
        await _wait_succeeded(pool, base + warmup, 60)
        base = await _succeeded(pool)
        meter = CpuMeter(stack_groups(stack, f"{fleet.processes} benchmark workers", fleet.pids))
        meter.start()
        started = time.perf_counter()
        lagging = asyncio.create_task(_sample_fold_lag(stack, pool, lag, stop_lagging))
        submitting = asyncio.create_task(_submit(port, jobs, bulk))
        waiting = asyncio.create_task(_wait_succeeded(pool, base + jobs, 60 + jobs / 20))
        how, submitted = await submitting
        # Profiled once every job is submitted: the steady state of lease, start and finish.
        profiles = start_profiles(stack, profile_dir, 8) if profile_dir is not None else []
        finished = await waiting
        cpu = meter.stop()
        await asyncio.gather(*profiles)
    finally:
        if lagging is not None:
            stop_lagging.set()
            await asyncio.gather(lagging, return_exceptions=True)
        reports = await fleet.stop()
        await pool.close()
    elapsed = finished - started
    counts = merge_counts(reports)
    rows: list[dict[str, Any]] = [  # the peers' rows: compare.peers_end_to_end, measured in the same run
        {
            "scenario": f"no-op jobs, submit to succeeded, {processes} workers x {concurrency} slots",
            "jobs": jobs,
            "seconds": elapsed,
            "jobs_per_s": jobs / elapsed,
            "submit": how,
            "submit_seconds": submitted["seconds"],
            "submit_ok": submitted["ok"],
            "jobs_per_lease_call": counts.get("leased", 0) / max(1, counts.get("lease_calls", 1)),
            "fold_lag_mean_events": sum(lag) / max(1, len(lag)),
            "fold_lag_max_events": max(lag, default=0),
            "worker_counts": counts,
            "worker_mean_ms": mean_timings_ms(reports),
            "cpu_ms_per_job": {name: pct / 100 * elapsed * 1000 / jobs for name, pct in cpu.items()},
        },
    ]
    return rows, cpu


class _EventTimes(msgspec.Struct):
    type: str
    job_id: str = ""
    occurred_at: datetime | None = None


_STAGES: Final = (
    ("client send -> JobSubmitted stored (gateway, append)", "sent", "submitted_stored"),
    (
        "-> JobAssigned decided (scheduler fetch, fold, commit, engine wakes a lease call)",
        "submitted_stored",
        "assigned_decided",
    ),
    ("-> JobAssigned stored (append ack)", "assigned_decided", "assigned_stored"),
    ("-> lease received by the worker (NATS reply, gateway, HTTP)", "assigned_stored", "leased"),
)


async def _stage_times(stack: BenchStack, after_seq: int) -> dict[str, dict[str, float]]:
    """Per job: when each of its events was decided (``occurred_at``) and stored (stream time)."""
    nc = await connect_nats(stack.nats.url, name="bench-stages")
    js = nc.jetstream()
    last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
    times: dict[str, dict[str, float]] = {}
    names = {"job.submitted": "submitted", "job.assigned": "assigned"}
    if last > after_seq:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after_seq + 1)
        sub = await js.subscribe(EVENTS_FILTER, ordered_consumer=True, config=config)
        seq = after_seq
        while seq < last:
            msg = await sub.next_msg(timeout=10)
            seq = msg.metadata.sequence.stream
            event = msgspec.json.decode(msg.data, type=_EventTimes)
            name = names.get(event.type)
            if name is None or not event.job_id:
                continue
            job = times.setdefault(event.job_id, {})
            job[f"{name}_stored"] = msg.metadata.timestamp.timestamp()
            if event.occurred_at is not None:
                job[f"{name}_decided"] = event.occurred_at.timestamp()
        await sub.unsubscribe()
    await nc.close()
    return times


def _ms_summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": percentile(ordered, 50), "p99_ms": percentile(ordered, 99), "max_ms": ordered[-1]}


async def submit_to_lease_latency(
    stack: BenchStack,
    *,
    jobs: int,
    rate: float = 200.0,
    processes: int = 2,
    concurrency: int = 16,
    heartbeat_s: float = 3.0,
    samples_out: Path | None = None,
) -> list[dict[str, Any]]:
    """Open-loop ``POST /v1/jobs`` at ``rate``/s; each job's submit time travels in its ``note``.

    The workers stamp when each lease arrived; ``leased - sent`` is the submit-to-start latency
    (both clocks are this machine's). The stream's own timestamps split it into stages.
    ``samples_out``: write every job's timestamps there (JSON), to look at the tail.
    """
    port = stack.ports["gateway"]
    fleet = WorkerFleet(stack, processes=processes, concurrency=concurrency, tag="latency", heartbeat_s=heartbeat_s)
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=1)
    prefer = {"Prefer": "respond-async"}
    try:
        await fleet.start()
        base = await _succeeded(pool)
        warm = max(20, jobs // 20)  # notes that are not floats: no samples
        warm_body = msgspec.json.encode({"project": "bench", "title": "warm-up", "command": "true", "note": "warm"})
        await open_loop("127.0.0.1", port, "/v1/jobs", lambda _: warm_body, rate=rate, total=warm, headers=prefer)
        await _wait_succeeded(pool, base + warm, 60)
        nc = await connect_nats(stack.nats.url, name="bench-latency")
        after_seq = (await nc.jetstream().stream_info(EVENTS_STREAM)).state.last_seq
        await nc.close()

        def body(_: int) -> bytes:
            return b'{"project":"bench","title":"latency","command":"true","note":"%.6f"}' % time.time()

        meter = CpuMeter(stack_groups(stack, f"{fleet.processes} benchmark workers", fleet.pids))
        meter.start()
        sent = await open_loop("127.0.0.1", port, "/v1/jobs", body, rate=rate, total=jobs, headers=prefer)
        cpu = meter.stop()
        await _wait_succeeded(pool, base + warm + jobs, 60 + jobs / rate)
    finally:
        reports = await fleet.stop()
        await pool.close()
    samples = [(job_id, sub, leased) for r in reports for job_id, sub, leased in r["samples"]]
    latencies = sorted((leased - sub) * 1000 for _, sub, leased in samples)
    over = sum(1 for x in latencies if x > LATENCY_TARGET_P99_MS)
    rows: list[dict[str, Any]] = [
        {
            "scenario": f"submit to lease received, open loop {rate:g} jobs/s, {processes} workers",
            "jobs": jobs,
            "samples": len(latencies),
            "sent_per_s": sent["sent_per_s"],
            "p50_ms": percentile(latencies, 50),
            "p90_ms": percentile(latencies, 90),
            "p99_ms": percentile(latencies, 99),
            "max_ms": latencies[-1] if latencies else float("nan"),
            "over_target_pct": 100 * over / max(1, len(latencies)),
            "target_p99_ms": LATENCY_TARGET_P99_MS,
            "worker_counts": merge_counts(reports),
            "cpu_pct": cpu,
        },
        {
            "scenario": "  POST /v1/jobs response (respond-async) during it",
            "p50_ms": sent["response_p50_ms"],
            "p99_ms": sent["response_p99_ms"],
            "send_late_p99_ms": sent["send_late_p99_ms"],
            "connections": sent["connections"],
        },
    ]
    times = await _stage_times(stack, after_seq)
    for job_id, sub, leased in samples:
        times.setdefault(job_id, {}).update(sent=sub, leased=leased)
    if samples_out is not None:
        dump = json.dumps({k: v for k, v in times.items() if "leased" in v})
        await asyncio.to_thread(samples_out.write_text, dump)
    for label, begin, end in _STAGES:
        spans = [(t[end] - t[begin]) * 1000 for t in times.values() if begin in t and end in t and "leased" in t]
        if spans:
            rows.append({"scenario": f"  stage: {label}", **_ms_summary(spans)})
    return rows
