"""Backlog scaling: lease and submit latency with 1k, 100k and 1M jobs queued; RSS of every service.

The backlog is appended straight to ``EVENTS`` (``JobSubmitted``, pipelined, as the catch-up
scenario does) while the scheduler runs; it folds them and queues each. Once its checkpoint has
reached the stream's end, at each level:

- submit latency: one keep-alive client, ``POST /v1/jobs`` back to back (read-your-writes: the
  201 comes once the scheduler has queued the job);
- lease latency: one registered worker asks ``{"max": 1, "wait_s": 0}`` repeatedly (a job is
  always there); each leased job is started and finished outside the timed call, so the
  worker's capacity never fills;
- RSS of the scheduler, the gateway and nats-server; PostgreSQL's as the sum of its processes'
  PSS (shared buffers counted once).
"""

import asyncio
import contextlib
import time
from typing import Any, Final

import asyncpg
import msgspec
import psutil

from conveyor_events import EVENTS_STREAM, EventAppender
from conveyor_runtime import connect_nats

from .end_to_end import NOOP
from .http_load import Connection, basic_auth, closed_loop, percentile
from .scenarios import _append_backlog, _checkpoint
from .stack import LARGE_BACKLOG_SCHEDULER_ENV, BenchStack

LEVELS: Final = (1_000, 100_000, 1_000_000)
FINISH: Final = msgspec.json.encode({"result": "succeeded", "exit_code": 0})


class _Lease(msgspec.Struct):
    lease_id: str


class _Leases(msgspec.Struct):
    leases: list[_Lease]


class _Registered(msgspec.Struct):
    id: str
    secret: str


async def _wait_folded(stack: BenchStack, pool: "asyncpg.Pool[Any]", timeout_s: float) -> None:
    nc = await connect_nats(stack.nats.url, name="bench-backlog")
    js = nc.jetstream()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            last = (await js.stream_info(EVENTS_STREAM)).state.last_seq
            if await _checkpoint(pool) >= last:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the scheduler did not fold the backlog within {timeout_s:.0f} s")
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def _register(port: int) -> tuple[Connection, str]:
    conn = await Connection.open("127.0.0.1", port)
    body = msgspec.json.encode({"name": "bench-backlog", "labels": [], "capacity": 4})
    status, answer = await conn.request("POST", "/v1/workers", body)
    conn.close()
    if status not in (201, 202):
        raise RuntimeError(f"registration failed: {status} {answer[:500]!r}")
    reg = msgspec.json.decode(answer, type=_Registered)
    return await Connection.open("127.0.0.1", port, basic_auth(reg.id, reg.secret)), reg.id


async def _lease_latency(worker: Connection, worker_id: str, calls: int) -> dict[str, float]:
    path = f"/v1/workers/{worker_id}/lease"
    times: list[float] = []
    empty = 0
    for _ in range(calls):
        started = time.perf_counter()
        status, answer = await worker.request("POST", path, b'{"max":1,"wait_s":0}')
        elapsed = time.perf_counter() - started
        if status == 401:  # the gateway has not seen the new worker's secret yet
            await asyncio.sleep(0.05)
            continue
        if status != 200:
            raise RuntimeError(f"lease answered {status}: {answer[:300]!r}")
        times.append(elapsed * 1000)
        leases = msgspec.json.decode(answer, type=_Leases).leases
        if not leases:
            empty += 1
        for lease in leases:
            await worker.request("POST", f"/v1/leases/{lease.lease_id}/start", b"{}")
            await worker.request("POST", f"/v1/leases/{lease.lease_id}/finish", FINISH)
    ordered = sorted(times)
    return {
        "lease_p50_ms": percentile(ordered, 50),
        "lease_p99_ms": percentile(ordered, 99),
        "lease_empty": float(empty),
    }


def _rss_mb() -> dict[str, float]:
    out: dict[str, float] = {}
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            name, cmd = child.name(), " ".join(child.cmdline())
            if name == "nats-server":
                out["nats-server"] = child.memory_info().rss / 2**20
            elif name.startswith("postgres"):
                out["PostgreSQL (PSS, all processes)"] = (
                    out.get("PostgreSQL (PSS, all processes)", 0.0) + child.memory_full_info().pss / 2**20
                )
            elif "conveyor_scheduler" in cmd:
                out["scheduler"] = child.memory_info().rss / 2**20
            elif "conveyor_gateway" in cmd:
                out["gateway"] = out.get("gateway", 0.0) + child.memory_info().rss / 2**20
    return out


async def backlog_scaling(
    stack: BenchStack, *, levels: tuple[int, ...] = LEVELS, probes: int = 200
) -> list[dict[str, Any]]:
    stack.start("scheduler", **LARGE_BACKLOG_SCHEDULER_ENV)
    port = stack.start("gateway")
    nc = await connect_nats(stack.nats.url, name="bench-backlog-append")
    appender = EventAppender(nc)
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    worker, worker_id = await _register(port)
    rows: list[dict[str, Any]] = []
    queued = 0
    try:
        for level in levels:
            started = time.perf_counter()
            await _append_backlog(appender, level - queued, guarded=False)
            await _wait_folded(stack, pool, 120 + level / 1000)
            fill_s = time.perf_counter() - started
            queued = level
            lease = await _lease_latency(worker, worker_id, probes)
            submit = await closed_loop("127.0.0.1", port, "/v1/jobs", lambda _: NOOP, clients=1, total=probes)
            # As many jobs were leased (and finished) as were submitted: the backlog stays at the level.
            rows.append(
                {
                    "scenario": f"{level:,} jobs queued",
                    "queued": level,
                    **lease,
                    "submit_p50_ms": submit["p50_ms"],
                    "submit_p99_ms": submit["p99_ms"],
                    "fill_seconds": fill_s,
                    "rss_mb": _rss_mb(),
                }
            )
    finally:
        worker.close()
        await pool.close()
        await appender.close()
        await nc.close()
        stack.stop("gateway")
        stack.stop("scheduler")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        last["lease_p50_vs_smallest"] = last["lease_p50_ms"] / first["lease_p50_ms"]
        last["target_lease_ratio_max"] = 2.0
        last["target_scheduler_rss_mb_max"] = 1536.0
    return rows
