"""Issue 21's fair end-to-end measurement: every system through its fastest path, two figures each.

For Conveyor and each peer, with the same worker-process count, job count and slots per process:

- **burn-down** (River's method): the queue is filled first with no worker running, then the
  workers start; the clock runs from the first poll (every 20 ms) that sees a job done or under
  way until the poll that sees all done;
- **steady state**: the workers run while the jobs are submitted as fast as the submitter goes
  (open loop: it never waits for work); the clock runs from the first submit until all are done.

and two kinds of work:

- **real**: Conveyor's ``conveyor worker`` running ``true`` (a process per job) against a task
  that starts ``true`` as a process (Celery: ``subprocess.run``, on the threads pool with as many
  threads as Conveyor's slots; Procrastinate: ``asyncio.create_subprocess_exec``);
- **lean**: the protocol loops that run nothing (``bench.worker_loop`` against an empty task on
  Celery's solo pool, the fastest pool for an empty task).

Submission: Conveyor ``POST /v1/jobs/bulk`` (1,000 per request); Celery ``apply_async`` over one
pooled producer; Procrastinate ``batch_defer_async`` (1,000 per call). CPU per job counts every
process of each system (its services, brokers, database, workers and the children they start,
and the submitting client) over the measured window, with psutil over the process trees.
"""

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final, Protocol

import asyncpg
import httpx

from .end_to_end import _has_bulk, _submit, _succeeded, _wait_succeeded
from .fleet import ROOT, CpuMeter, WorkerFleet, infra_groups, start_profiles, terminate
from .peers_setup import PEERS, PeerUnavailableError, RedisServer, run_peer
from .stack import BenchStack

MODES: Final = ("burn", "steady")
WORKS: Final = ("real", "lean")
SLOTS: Final = 16
"""Jobs at once per worker process, for every system (Conveyor's capacity, Celery's threads,
Procrastinate's concurrency)."""
POLL_S: Final = 0.02
QUEUED_SQL: Final = "SELECT count(*) FROM scheduler.jobs WHERE state = 'queued'"
CELERY_POOL: Final = {"real": "threads", "lean": "solo"}
"""Celery's pool per kind of work, measured here (burn-down, 1,000 jobs, 2 processes, two rounds, a
busy machine): a task that starts ``true`` ran at 408-447 jobs/s on the threads pool (16 threads)
against 205-241 on solo, which leaves the process idle while its child runs; an empty task read
468-617 on solo and 583-661 on threads, no clear difference, so solo stays (issue 8's setting)."""
REAL_SHARE: Final = 2
"""Real workers run ``jobs // REAL_SHARE`` jobs (the same count on every system): a process per job
is slower, and ``make bench`` must stay within ~15 minutes."""
TARGETS: Final = {"real": 2.0, "lean": 3.0}
"""Conveyor's jobs/s over Celery's, per kind of work (issue 21)."""


class Fleet(Protocol):
    @property
    def pids(self) -> list[int]: ...

    async def start(self) -> None: ...

    async def stop(self) -> list[dict[str, Any]]: ...


class AgentFleet:
    """``processes`` real ``conveyor worker`` processes, ``capacity`` slots each, running what jobs say."""

    def __init__(self, stack: BenchStack, *, processes: int, capacity: int, tag: str) -> None:
        self.stack = stack
        self.processes = processes
        self.capacity = capacity
        self.tag = tag
        self.procs: list[asyncio.subprocess.Process] = []
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=stack.root))

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    async def start(self) -> None:
        """Start the workers and wait until each has registered."""
        url = f"http://127.0.0.1:{self.stack.ports['gateway']}"
        env = {**os.environ, "CONVEYOR_LOG_LEVEL": "warning", "CONVEYOR_CONFIG": str(self._tmp / "none.toml")}
        names = []
        for i in range(self.processes):
            name = f"{self.tag}-{i}-{time.monotonic_ns()}"
            names.append(name)
            argv = [
                "-m", "conveyor_cli", "worker", "--url", url, "--name", name, "--capacity", str(self.capacity),
                "--credentials", str(self._tmp / f"{name}.json"), "--work-dir", str(self._tmp / name),
                "--lease-wait", "5",
            ]  # fmt: skip
            with (self._tmp / f"{name}.log").open("ab") as log:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, *argv, cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log
                )
            self.procs.append(proc)
        token = {"Authorization": f"Bearer {os.environ['CONVEYOR_TOKEN']}"}
        async with httpx.AsyncClient(base_url=url, headers=token, trust_env=False, timeout=30) as api:
            deadline = time.monotonic() + 60
            while True:
                listed = (await api.get("/v1/workers", params={"limit": 500})).json()["items"]
                if set(names) <= {w["name"] for w in listed}:
                    return
                for proc in self.procs:
                    if proc.returncode is not None:
                        raise RuntimeError(f"a conveyor worker exited {proc.returncode}; logs in {self._tmp}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the conveyor workers did not register within 60 s; logs in {self._tmp}")
                await asyncio.sleep(0.05)

    async def stop(self) -> list[dict[str, Any]]:
        await terminate(self.procs, timeout_s=30)
        self.procs = []
        return []


def _fleet(stack: BenchStack, work: str, processes: int, tag: str) -> Fleet:
    if work == "real":
        return AgentFleet(stack, processes=processes, capacity=SLOTS, tag=tag)
    return WorkerFleet(stack, processes=processes, concurrency=SLOTS, tag=tag)


def cpu_per_job(cpu: dict[str, float], seconds: float, jobs: int) -> dict[str, float]:
    """CPU ms per job of each group and of all of them (``all processes``), from % of one core."""
    per = {name: pct / 100 * seconds * 1000 / jobs for name, pct in cpu.items() if name != "machine total"}
    per["all processes"] = sum(v for k, v in per.items() if k != "other processes")
    return per


async def _wait_queued(pool: asyncpg.Pool, queued: int, timeout_s: float) -> None:
    """Poll until ``queued`` jobs are queued (the scheduler folded every submission)."""
    deadline = time.perf_counter() + timeout_s
    while True:
        if int(await pool.fetchval(QUEUED_SQL)) >= queued:
            return
        if time.perf_counter() > deadline:
            raise RuntimeError(f"fewer than {queued} jobs were queued within {timeout_s:.0f} s")
        await asyncio.sleep(POLL_S)


async def _wait_first(pool: asyncpg.Pool, queued: int, timeout_s: float) -> float:
    """Poll until fewer than ``queued`` jobs are queued: a worker took one."""
    deadline = time.perf_counter() + timeout_s
    while True:
        if int(await pool.fetchval(QUEUED_SQL)) < queued:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no queued job was taken within {timeout_s:.0f} s of the workers' start")
        await asyncio.sleep(POLL_S)


async def conveyor_run(
    stack: BenchStack,
    *,
    mode: str,
    work: str,
    processes: int,
    jobs: int,
    warmup: int,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """One burn-down or steady-state run on a stack whose scheduler and gateway run."""
    port = stack.ports["gateway"]
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    bulk = await _has_bulk(port)
    groups = {
        "gateway": ([stack.procs["gateway"].pid], True),
        "scheduler": ([stack.procs["scheduler"].pid], True),
        **infra_groups(postgres="PostgreSQL"),
        "bench client (submit + poll)": ([os.getpid()], False),
    }
    fleet = _fleet(stack, work, processes, f"{mode}-{work}-{processes}")
    started_fleet: asyncio.Task[None] | None = None
    submitted: dict[str, float] = {}
    try:
        await fleet.start()
        base = await _succeeded(pool)
        await _submit(port, warmup, bulk)
        await _wait_succeeded(pool, base + warmup, 120)
        base += warmup
        if mode == "burn":
            await fleet.stop()  # the warm-up ran: fill the queue with no worker taking from it
            filling = time.perf_counter()
            how, submitted = await _submit(port, jobs, bulk)
            await _wait_queued(pool, jobs, 60 + jobs / 1000)  # the scheduler folded them all
            submitted["filled_seconds"] = time.perf_counter() - filling
            fleet = _fleet(stack, work, processes, f"{mode}-{work}-{processes}-b")
            started_fleet = asyncio.create_task(fleet.start())
            started = await _wait_first(pool, jobs, 120)
            meter = CpuMeter({**groups, "workers (and the processes they start)": (fleet.pids, True)})
            meter.start()
            await started_fleet
            finished = await _wait_succeeded(pool, base + jobs, 60 + jobs / 20)
        else:
            meter = CpuMeter({**groups, "workers (and the processes they start)": (fleet.pids, True)})
            meter.start()
            started = time.perf_counter()
            waiting = asyncio.create_task(_wait_succeeded(pool, base + jobs, 60 + jobs / 20))
            how, submitted = await _submit(port, jobs, bulk)
            profiles = start_profiles(stack, profile_dir, 8) if profile_dir is not None else []
            finished = await waiting
            await asyncio.gather(*profiles)
        cpu = meter.stop()
    finally:
        if started_fleet is not None and not started_fleet.done():
            started_fleet.cancel()
        await fleet.stop()
        await pool.close()
    seconds = finished - started
    return {
        "system": "Conveyor",
        "mode": mode,
        "work": work,
        "processes": processes,
        "jobs": jobs,
        "seconds": seconds,
        "jobs_per_s": jobs / seconds,
        "submit": how,
        "submit_seconds": submitted.get("seconds", 0.0),
        "cpu_pct": cpu,
        "cpu_ms_per_job": cpu_per_job(cpu, seconds, jobs),
    }


async def peer_run(
    stack: BenchStack, redis: RedisServer, system: str, *, mode: str, work: str, processes: int, jobs: int, warmup: int
) -> dict[str, Any]:
    """The same run on a peer (its driver in the peers' interpreter); CPU over the driver's tree,
    Redis, PostgreSQL and nats-server (idle here: Conveyor's services are stopped)."""
    infra = infra_groups(postgres="PostgreSQL")
    if redis.proc is not None:
        infra["redis-server"] = ([redis.proc.pid], False)
    meter: list[CpuMeter] = []
    cpu: dict[str, float] = {}

    def mark(name: str, driver: int) -> None:
        if name == "cpu-start":
            groups = {"driver, workers (and the processes they start)": ([driver], True), **infra}
            meter.append(CpuMeter(groups))
            meter[-1].start()
        elif name == "cpu-stop" and meter:
            cpu.update(meter[-1].stop())

    options: dict[str, float | str] = {
        "jobs": jobs,
        "warmup": warmup,
        "processes": processes,
        "concurrency": SLOTS,
        "work": "true" if work == "real" else "noop",
    }
    if system == "celery":
        options["pool"] = CELERY_POOL[work]
    result = await run_peer(stack, redis, system, "burn" if mode == "burn" else "e2e", options, on_marker=mark)
    return {
        "system": PEERS[system] + (", AOF everysec" if redis.durable and system == "celery" else ""),
        "mode": mode,
        "work": work,
        "processes": processes,
        "jobs": jobs,
        "seconds": result["seconds"],
        "jobs_per_s": result["jobs_per_s"],
        "submit_seconds": result["submit_seconds"],
        "cpu_pct": cpu,
        "cpu_ms_per_job": cpu_per_job(cpu, result["seconds"], jobs) if cpu else {},
        "details": result,
    }


def row(run: dict[str, Any]) -> dict[str, Any]:
    """A run as one printed line (the nested figures stay in the JSON)."""
    return {
        "scenario": f"{run['system']}, {run['work']}, {run['mode']}, {run['processes']} proc",
        "jobs_per_s": run["jobs_per_s"],
        "cpu_ms_per_job": run["cpu_ms_per_job"].get("all processes", float("nan")),
        "submit_s": run["submit_seconds"],
        "run": run,
    }


async def matrix(
    stack: BenchStack,
    *,
    jobs: int,
    warmup: int,
    processes: int = 2,
    systems: tuple[str, ...] = tuple(PEERS),
    profile_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Every system x {real, lean} x {burn-down, steady state}: Conveyor's first (its services are
    then stopped), then each peer's."""
    runs: list[dict[str, Any]] = []
    stack.start("scheduler")
    stack.start("gateway")
    for work in WORKS:
        n = jobs // REAL_SHARE if work == "real" else jobs
        for mode in MODES:
            profile = profile_dir if (work, mode) == ("lean", "steady") else None
            runs.append(
                await conveyor_run(
                    stack, mode=mode, work=work, processes=processes, jobs=n, warmup=warmup, profile_dir=profile
                )
            )
            print(_line(runs[-1]), flush=True)
    stack.stop("gateway")
    stack.stop("scheduler")
    with RedisServer(stack.root / "redis") as redis:
        for system in systems:
            for work in WORKS:
                n = jobs // REAL_SHARE if work == "real" else jobs
                for mode in MODES:
                    try:
                        runs.append(
                            await peer_run(
                                stack, redis, system, mode=mode, work=work, processes=processes, jobs=n, warmup=warmup
                            )
                        )
                    except PeerUnavailableError as e:
                        print(f"  {PEERS[system]}: skipped ({e})", flush=True)
                        break
                    print(_line(runs[-1]), flush=True)
    return [row(r) for r in runs]


async def scaling(
    stack: BenchStack, *, jobs: int, warmup: int, counts: tuple[int, ...] = (1, 2, 4), work: str = "real"
) -> list[dict[str, Any]]:
    """Burn-down throughput against worker processes, Conveyor then Celery (the chart's lines)."""
    runs: list[dict[str, Any]] = []
    stack.start("scheduler")
    stack.start("gateway")
    for n in counts:
        runs.append(await conveyor_run(stack, mode="burn", work=work, processes=n, jobs=jobs, warmup=warmup))
        print(_line(runs[-1]), flush=True)
    stack.stop("gateway")
    stack.stop("scheduler")
    with RedisServer(stack.root / "redis") as redis:
        for n in counts:
            runs.append(
                await peer_run(stack, redis, "celery", mode="burn", work=work, processes=n, jobs=jobs, warmup=warmup)
            )
            print(_line(runs[-1]), flush=True)
    return [row(r) for r in runs]


async def durable(stack: BenchStack, *, jobs: int, warmup: int, processes: int = 2) -> list[dict[str, Any]]:
    """Steady state with real workers, Conveyor on JetStream ``sync: always`` (the stack must run so:
    ``CONVEYOR_NATS_SYNC=always``) against Celery on Redis with ``appendfsync everysec``."""
    stack.start("scheduler")
    stack.start("gateway")
    runs = [await conveyor_run(stack, mode="steady", work="real", processes=processes, jobs=jobs, warmup=warmup)]
    runs[0]["system"] = "Conveyor, JetStream sync always"
    print(_line(runs[-1]), flush=True)
    stack.stop("gateway")
    stack.stop("scheduler")
    with RedisServer(stack.root / "redis-aof", durable=True) as redis:
        runs.append(
            await peer_run(
                stack, redis, "celery", mode="steady", work="real", processes=processes, jobs=jobs, warmup=warmup
            )
        )
        print(_line(runs[-1]), flush=True)
    return [row(r) for r in runs]


def _line(run: dict[str, Any]) -> str:
    per = run["cpu_ms_per_job"]
    cpu = ", ".join(f"{k} {v:.2f}" for k, v in per.items() if k != "all processes" and v >= 0.005)
    return (
        f"  {run['system']:<36} {run['work']:<4} {run['mode']:<6} {run['processes']} proc: "
        f"{run['jobs_per_s']:>8,.0f} jobs/s, CPU {per.get('all processes', float('nan')):.2f} ms/job ({cpu})"
    )


def find(rows: list[dict[str, Any]], system: str, work: str, mode: str, processes: int = 2) -> dict[str, Any] | None:
    for r in rows:
        run = r["run"]
        if run["system"] == system and run["work"] == work and run["mode"] == mode and run["processes"] == processes:
            found: dict[str, Any] = run
            return found
    return None
