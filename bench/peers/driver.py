"""Drive one peer (Celery + Redis, or Procrastinate) through the end-to-end or the latency scenario.

Runs with the peers' interpreter (``.bench-peers/bin/python -m bench.peers.driver ...``), started
by ``bench/peers_setup.py``. It starts ``--processes`` worker processes, runs a warm-up, then:

- ``e2e``: submits ``--jobs`` no-op jobs as fast as the client library takes them and times from
  the first submit until every task has run (lines in the workers' sample files);
- ``latency``: submits ``--jobs`` jobs on a fixed schedule at ``--rate`` per second (an open loop,
  the same schedule as ``bench.http_load.open_loop``), each carrying ``time.time()`` taken just
  before it is handed to the client library; the task stamps when it starts.

It prints one JSON object on its last stdout line.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .samples import count, read_all

ROOT = Path(__file__).resolve().parents[2]


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest rank, as ``bench.http_load.percentile``."""
    if not ordered:
        return float("nan")
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def worker_command(system: str, concurrency: int) -> list[str]:
    if system == "celery":
        # The solo pool runs tasks in the worker process itself: 2 processes = 2 OS processes
        # running tasks, no forked children. Gossip, mingle and heartbeats are off (the usual
        # advice for throughput; they only matter for monitoring).
        return [
            *(sys.executable, "-m", "celery", "-A", "bench.peers.celery_app", "worker"),
            *("--pool", "solo", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"),
            "--without-heartbeat",
        ]
    return [
        *(sys.executable, "-m", "procrastinate", "--app", "bench.peers.procrastinate_app.app"),
        *("--log-level", "warning", "worker", "--concurrency", str(concurrency)),
    ]


class Workers:
    def __init__(self, system: str, processes: int, concurrency: int, samples: Path) -> None:
        self.system = system
        self.processes = processes
        self.concurrency = concurrency
        self.samples = samples
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        env = {**os.environ, "BENCH_SAMPLES_DIR": str(self.samples)}
        for i in range(self.processes):
            cmd = worker_command(self.system, self.concurrency)
            if self.system == "celery":
                cmd += ["-n", f"bench{i}@%h"]
            log = (self.samples.parent / f"{self.system}-worker-{i}.log").open("ab")
            self.procs.append(
                subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def check(self) -> None:
        for i, proc in enumerate(self.procs):
            if proc.poll() is not None:
                log = self.samples.parent / f"{self.system}-worker-{i}.log"
                raise RuntimeError(f"{self.system} worker {i} exited {proc.returncode}: {log.read_text()[-2000:]}")


async def wait_done(workers: Workers, target: int, timeout_s: float) -> float:
    """Poll the sample files every 100 ms (as the Conveyor run polls its projection)."""
    deadline = time.perf_counter() + timeout_s
    while True:
        done = count(workers.samples)
        now = time.perf_counter()
        if done >= target:
            return now
        workers.check()
        if now > deadline:
            raise RuntimeError(f"only {done} of {target} {workers.system} tasks ran within {timeout_s:.0f} s")
        await asyncio.sleep(0.1)


class Submitter:
    """How a job is handed to the peer: one at a time (open loop) or as fast as possible (bulk)."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.app: Any = None
        self.task: Any = None

    async def __aenter__(self) -> "Submitter":
        if self.system == "celery":
            from .celery_app import app, noop

            self.app, self.task = app, noop
        else:
            from .procrastinate_app import app, noop

            self.app, self.task = app, noop
            await app.open_async()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.system == "procrastinate":
            await self.app.close_async()

    async def one(self, make_sent: Callable[[], float]) -> None:
        if self.system == "celery":
            self.task.apply_async(kwargs={"sent": make_sent()})  # kombu's client is synchronous
        else:
            await self.task.defer_async(sent=make_sent())

    async def many(self, n: int) -> None:
        """``n`` throughput jobs: Celery has no bulk call (one publish each); Procrastinate batches."""
        if self.system == "celery":
            for _ in range(n):
                self.task.apply_async(kwargs={"sent": 0.0})
            return
        for start in range(0, n, 1000):
            await self.task.batch_defer_async(*({"sent": 0.0} for _ in range(min(1000, n - start))))


async def open_loop(submitter: Submitter, rate: float, total: int) -> dict[str, float]:
    """Submit on a fixed schedule, each submit its own task, so a slow one never delays the next."""
    loop = asyncio.get_running_loop()
    lateness: list[float] = []
    tasks = []
    interval = 1.0 / rate
    start = loop.time()
    began = time.perf_counter()
    for i in range(total):
        due = start + i * interval
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append((loop.time() - due) * 1000)
        tasks.append(asyncio.create_task(submitter.one(time.time)))
    sending_s = time.perf_counter() - began
    await asyncio.gather(*tasks)
    late = sorted(lateness)
    return {
        "sent_per_s": (total - 1) / sending_s if total > 1 else float(total),
        "send_late_p99_ms": percentile(late, 99),
    }


async def prepare(system: str) -> None:
    if system == "procrastinate":
        from .procrastinate_app import app

        async with app.open_async():
            connector = app.connector
            exists = await connector.execute_query_one_async(
                "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
            )
            if not exists["present"]:
                await app.schema_manager.apply_schema_async()
            else:
                await connector.execute_query_async("TRUNCATE procrastinate_jobs CASCADE")


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.workdir)
    samples = work / "samples"
    shutil.rmtree(samples, ignore_errors=True)
    samples.mkdir(parents=True)
    await prepare(args.system)
    workers = Workers(args.system, args.processes, args.concurrency, samples)
    workers.start()
    result: dict[str, Any] = {"system": args.system, "processes": args.processes}
    if args.system == "procrastinate":
        result["concurrency"] = args.concurrency
    else:
        result["pool"] = "solo"
    try:
        async with Submitter(args.system) as submitter:
            await submitter.many(args.warmup)  # also waits out the workers' start-up
            await wait_done(workers, args.warmup, 120)
            if args.scenario == "e2e":
                started = time.perf_counter()
                await submitter.many(args.jobs)
                submitted = time.perf_counter()
                finished = await wait_done(workers, args.warmup + args.jobs, 60 + args.jobs / 20)
                elapsed = finished - started
                result.update(
                    jobs=args.jobs,
                    seconds=elapsed,
                    jobs_per_s=args.jobs / elapsed,
                    submit_seconds=submitted - started,
                )
            else:
                sent = await open_loop(submitter, args.rate, args.jobs)
                await wait_done(workers, args.warmup + args.jobs, 60 + args.jobs / args.rate)
                latencies = sorted((started - s) * 1000 for s, started in read_all(samples) if s > 0)
                result.update(
                    jobs=args.jobs,
                    samples=len(latencies),
                    rate=args.rate,
                    **sent,
                    p50_ms=percentile(latencies, 50),
                    p90_ms=percentile(latencies, 90),
                    p99_ms=percentile(latencies, 99),
                    max_ms=latencies[-1] if latencies else float("nan"),
                )
    finally:
        workers.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.driver")
    parser.add_argument("--system", choices=("celery", "procrastinate"), required=True)
    parser.add_argument("--scenario", choices=("e2e", "latency"), required=True)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="Procrastinate: async jobs per worker")
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    with contextlib.suppress(BrokenPipeError):
        print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
