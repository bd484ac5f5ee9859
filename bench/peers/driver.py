"""Drive one peer (Celery + Redis, or Procrastinate) through the end-to-end or the latency scenario.

Runs with the peers' interpreter (``.bench-peers/bin/python -m bench.peers.driver ...``), started
by ``bench/peers_setup.py``. It starts ``--processes`` worker processes, runs a warm-up, then:

- ``e2e`` (steady state): submits ``--jobs`` jobs through the peer's fastest documented path while
  the workers run (Celery: ``apply_async`` over one pooled producer; Procrastinate:
  ``batch_defer_async``, 1,000 per call) and times from the first submit until every task ran;
- ``burn`` (burn-down, River's method): the workers are stopped after the warm-up, the queue is
  filled, the workers start again; the clock runs from the first poll that sees a task ran until
  every one did;
- ``latency``: submits ``--jobs`` jobs one by one on a fixed schedule at ``--rate`` per second (an
  open loop, the same schedule as ``bench.http_load.open_loop``), each carrying ``time.time()``
  taken just before it is handed to the client library; the task stamps when it starts.

``--work true`` runs the task that starts ``true`` as a process (the real-worker comparison),
``noop`` the empty one. The measured window is marked on stdout with ``@cpu-start`` and
``@cpu-stop`` lines (the bench meters the processes' CPU between them). It prints one JSON object
on its last stdout line.
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


POLL_S = 0.02  # how often the burn-down looks for its first finished task (the clock's start)


def marker(name: str) -> None:
    print(f"@{name}", flush=True)


def worker_command(system: str, concurrency: int, pool: str) -> list[str]:
    if system == "celery":
        # The solo pool runs tasks in the worker process itself: 2 processes = 2 OS processes
        # running tasks, no forked children; the threads pool runs ``concurrency`` tasks at once in
        # each (for tasks that wait on a child process). Gossip, mingle and heartbeats are off (the
        # usual advice for throughput; they only matter for monitoring).
        threads = ("--concurrency", str(concurrency)) if pool == "threads" else ()
        return [
            *(sys.executable, "-m", "celery", "-A", "bench.peers.celery_app", "worker"),
            *("--pool", pool, *threads, "--loglevel", "WARNING", "--without-gossip", "--without-mingle"),
            "--without-heartbeat",
        ]
    return [
        *(sys.executable, "-m", "procrastinate", "--app", "bench.peers.procrastinate_app.app"),
        *("--log-level", "warning", "worker", "--concurrency", str(concurrency)),
    ]


class Workers:
    def __init__(self, system: str, processes: int, concurrency: int, samples: Path, pool: str = "solo") -> None:
        self.system = system
        self.pool = pool
        self.processes = processes
        self.concurrency = concurrency
        self.samples = samples
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        env = {**os.environ, "BENCH_SAMPLES_DIR": str(self.samples)}
        for i in range(self.processes):
            cmd = worker_command(self.system, self.concurrency, self.pool)
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
        self.procs = []

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

    def __init__(self, system: str, work: str = "noop") -> None:
        self.system = system
        self.work = work
        self.app: Any = None
        self.task: Any = None

    async def __aenter__(self) -> "Submitter":
        if self.system == "celery":
            from . import celery_app as module
        else:
            from . import procrastinate_app as module  # type: ignore[no-redef]
        self.app = module.app
        self.task = module.run_true if self.work == "true" else module.noop
        if self.system == "procrastinate":
            await self.app.open_async()
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
        """``n`` throughput jobs through each peer's fastest documented path.

        Celery has no bulk call: one message per task, all over one producer taken from the pool
        (``producer_or_acquire``: one channel, no per-call pool round trip; Celery's ``group`` does
        the same inside). Procrastinate batches: ``batch_defer_async``, 1,000 jobs per call.
        """
        if self.system == "celery":
            with self.app.producer_or_acquire() as producer:
                for _ in range(n):
                    self.task.apply_async(kwargs={"sent": 0.0}, producer=producer)
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


async def wait_first(workers: Workers, timeout_s: float) -> float:
    """Poll every ``POLL_S`` until a task ran; return ``perf_counter()`` at that poll."""
    deadline = time.perf_counter() + timeout_s
    while count(workers.samples) == 0:
        workers.check()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no {workers.system} task ran within {timeout_s:.0f} s of the workers' start")
        await asyncio.sleep(POLL_S)
    return time.perf_counter()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.workdir)
    samples = work / "samples"
    shutil.rmtree(samples, ignore_errors=True)
    samples.mkdir(parents=True)
    await prepare(args.system)
    workers = Workers(args.system, args.processes, args.concurrency, samples, args.pool)
    workers.start()
    result: dict[str, Any] = {"system": args.system, "processes": args.processes, "work": args.work}
    if args.system == "procrastinate" or args.pool == "threads":
        result["concurrency"] = args.concurrency
    if args.system == "celery":
        result["pool"] = args.pool
    try:
        async with Submitter(args.system, args.work) as submitter:
            await submitter.many(args.warmup)  # also waits out the workers' start-up
            await wait_done(workers, args.warmup, 120)
            if args.scenario == "e2e":
                marker("cpu-start")
                started = time.perf_counter()
                await submitter.many(args.jobs)
                submitted = time.perf_counter()
                finished = await wait_done(workers, args.warmup + args.jobs, 60 + args.jobs / 20)
                marker("cpu-stop")
                elapsed = finished - started
                result.update(
                    jobs=args.jobs,
                    seconds=elapsed,
                    jobs_per_s=args.jobs / elapsed,
                    submit_seconds=submitted - started,
                )
            elif args.scenario == "burn":
                workers.stop()  # the warm-up ran: now fill the queue with no worker taking from it
                for path in samples.glob("*.txt"):
                    path.unlink()
                filling = time.perf_counter()
                await submitter.many(args.jobs)
                filled = time.perf_counter()
                workers.start()
                started = await wait_first(workers, 120)
                marker("cpu-start")
                finished = await wait_done(workers, args.jobs, 60 + args.jobs / 20)
                marker("cpu-stop")
                elapsed = finished - started
                result.update(
                    jobs=args.jobs,
                    seconds=elapsed,
                    jobs_per_s=args.jobs / elapsed,
                    submit_seconds=filled - filling,
                )
            else:
                marker("cpu-start")
                sent = await open_loop(submitter, args.rate, args.jobs)
                marker("cpu-stop")
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
    parser.add_argument("--scenario", choices=("e2e", "burn", "latency"), required=True)
    parser.add_argument("--work", choices=("noop", "true"), default="noop", help="the task: empty, or start `true`")
    parser.add_argument("--pool", choices=("solo", "threads"), default="solo", help="Celery's worker pool")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--concurrency", type=int, default=16, help="tasks at once per worker (Procrastinate; Celery's threads pool)"
    )
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    with contextlib.suppress(BrokenPipeError):
        print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
