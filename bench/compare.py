"""The latency scenario on the peers, in the same run, with the ratio to Conveyor's figure beside each
(the end-to-end runs of every system are ``bench.fair``).

Conveyor's services are stopped first, so each peer has the machine (nats-server and PostgreSQL
stay up, idle). Each peer gets the same number of worker processes, no-op tasks, the same job
count and the same open-loop schedule.
"""

import time
from typing import Any

import psutil

from .fleet import _BUSY
from .peers_setup import PEERS, PeerUnavailableError, RedisServer, run_peer
from .stack import BenchStack


def _machine_busy_pct(before: Any, after: Any, seconds: float) -> float:
    busy = sum(getattr(after, f) - getattr(before, f) for f in _BUSY if hasattr(after, f))
    return float(100 * busy / seconds)


async def _peer(stack: BenchStack, redis: RedisServer, system: str, scenario: str, **options: float) -> dict[str, Any]:
    before, started = psutil.cpu_times(), time.perf_counter()
    result = await run_peer(stack, redis, system, scenario, dict(options))
    result["machine_cpu_pct"] = _machine_busy_pct(before, psutil.cpu_times(), time.perf_counter() - started)
    return result


async def peers_latency(
    stack: BenchStack, conveyor: dict[str, Any], *, jobs: int, rate: float, processes: int = 2
) -> list[dict[str, Any]]:
    """Open-loop submit-to-start on each peer; ``p99_ratio`` is Conveyor's p99 over the peer's."""
    keys = ("p50_ms", "p99_ms", "max_ms")
    rows = [{"scenario": f"Conveyor, {rate:g} jobs/s", **{k: conveyor[k] for k in keys}, "p99_ratio": 1.0}]
    warm = max(20, jobs // 20)
    with RedisServer(stack.root / "redis") as redis:
        for system, name in PEERS.items():
            try:
                peer = await _peer(
                    stack, redis, system, "latency", jobs=jobs, warmup=warm, rate=rate, processes=processes
                )
            except PeerUnavailableError as e:
                rows.append({"scenario": name, "skipped": str(e)})
                continue
            rows.append(
                {
                    "scenario": f"{name}, {rate:g} jobs/s",
                    **{k: peer[k] for k in keys},
                    "p99_ratio": conveyor["p99_ms"] / peer["p99_ms"],
                    "details": peer,
                }
            )
    celery = next((r for r in rows if r["scenario"].startswith(PEERS["celery"]) and "p99_ms" in r), None)
    if celery is not None:
        rows[0]["target_met"] = conveyor["p99_ms"] <= celery["p99_ms"]
    return rows
