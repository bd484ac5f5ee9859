"""A minimal benchmark worker: leases jobs over HTTP and reports each as succeeded without running it.

``python -m bench.worker_loop --url http://127.0.0.1:8080 --concurrency 16 --samples out.json``

It registers (``POST /v1/workers`` with ``capacity`` = concurrency), prints ``registered <id>``
on stdout, then keeps one long-poll lease call outstanding for its free slots (``max`` = free
slots, ``wait_s`` = 1). Each leased job is handed to one of ``concurrency`` runners, which
report ``finish`` (``succeeded``, exit code 0) on their own keep-alive connection: a no-op job.
Its ``started_at`` rides on the finish, as conveyor_worker sends it for a run this short.
A heartbeat lists the leases held every few seconds.

When a job's ``note`` is a float, it is read as the submit time (``time.time()`` on this
machine) and ``(job id, submit time, lease received time)`` is kept as a latency sample. On SIGTERM, SIGINT or
after ``--deadline`` seconds the worker writes its samples and counters as JSON to ``--samples``
and exits.

It uses the bench's raw HTTP client under uvloop, so that the worker itself costs little CPU.
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
import uvloop

from .http_load import Connection, basic_auth

FINISH = msgspec.json.encode({"result": "succeeded", "exit_code": 0})


class _Job(msgspec.Struct):
    id: str
    note: str = ""


class _Lease(msgspec.Struct):
    lease_id: str
    job: _Job


class _Leases(msgspec.Struct):
    leases: list[_Lease]


class _Registered(msgspec.Struct):
    id: str
    secret: str


class _Stop(msgspec.Struct):
    lease_id: str
    reason: str


class _HeartbeatAnswer(msgspec.Struct):
    stop: list[_Stop]


_decode_leases = msgspec.json.Decoder(_Leases).decode


class _Refusal(msgspec.Struct):
    code: str


class _Outcome(msgspec.Struct):
    error: _Refusal | None = None


class _Outcomes(msgspec.Struct):
    results: list[_Outcome]


_decode_outcomes = msgspec.json.Decoder(_Outcomes).decode
_decode_beat = msgspec.json.Decoder(_HeartbeatAnswer).decode


class Worker:
    """One registered worker: a lease loop, ``concurrency`` runners and a heartbeat."""

    def __init__(self, host: str, port: int, concurrency: int, heartbeat_s: float) -> None:
        self.host = host
        self.port = port
        self.concurrency = concurrency
        self.heartbeat_s = heartbeat_s
        self.worker_id = ""
        self.auth: dict[str, str] = {}
        self.held: dict[str, float] = {}  # lease id -> when it was received (perf_counter)
        self.ready: asyncio.Queue[str] = asyncio.Queue()
        self.freed = asyncio.Event()
        self.stopping = False
        self.samples: list[tuple[str, float, float]] = []  # (job id, submitted, leased)
        self.counts: dict[str, int] = {"leased": 0, "finished": 0, "lease_calls": 0, "empty_leases": 0}
        self.timings: dict[str, list[float]] = {}  # round trips and lease hold times: [count, total s]

    def count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def timed(self, key: str, seconds: float) -> None:
        entry = self.timings.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds

    async def call(self, key: str, conn: Connection, path: str, body: bytes) -> tuple[int, bytes]:
        """POST and keep the round trip time under ``key``."""
        started = time.perf_counter()
        answer = await conn.request("POST", path, body)
        self.timed(key, time.perf_counter() - started)
        return answer

    async def register(self, name: str) -> None:
        conn = await Connection.open(self.host, self.port)
        body = msgspec.json.encode({"name": name, "labels": [], "capacity": self.concurrency})
        status, answer = await conn.request("POST", "/v1/workers", body)
        conn.close()
        if status not in (201, 202):
            raise RuntimeError(f"registration failed: {status} {answer[:500]!r}")
        reg = msgspec.json.decode(answer, type=_Registered)
        self.worker_id = reg.id
        self.auth = basic_auth(reg.id, reg.secret)

    async def lease_loop(self) -> None:
        conn = await Connection.open(self.host, self.port, self.auth)
        path = f"/v1/workers/{self.worker_id}/lease"
        while not self.stopping:
            free = self.concurrency - len(self.held)
            if free <= 0:
                self.freed.clear()
                await self.freed.wait()
                continue
            body = b'{"max":%d,"wait_s":1}' % min(free, 100)
            status, answer = await self.call("lease", conn, path, body)
            received = time.time()
            got = time.perf_counter()
            self.count("lease_calls")
            if status != 200:
                # 401 until the gateway sees the new worker's secret; 503 while no scheduler answers.
                self.count(f"lease_{status}")
                await asyncio.sleep(0.05)
                continue
            leases = _decode_leases(answer).leases
            if not leases:
                self.count("empty_leases")
            for lease in leases:
                self.held[lease.lease_id] = got
                self.counts["leased"] += 1
                note = lease.job.note
                if note:
                    with contextlib.suppress(ValueError):
                        self.samples.append((lease.job.id, float(note), received))
                self.ready.put_nowait(lease.lease_id)

    async def runner(self) -> None:
        conn = await Connection.open(self.host, self.port, self.auth)
        while True:
            lease_id = await self.ready.get()
            try:
                # A no-op run ends at once: like conveyor_worker with a run shorter than its
                # start_report_after_s, its start travels with its finish (one call, not two).
                started_at = datetime.now(UTC).isoformat().encode()
                body = FINISH[:-1] + b',"started_at":"' + started_at + b'"}'
                status, _ = await self.call("finish", conn, f"/v1/leases/{lease_id}/finish", body)
                if status == 200:
                    self.counts["finished"] += 1
                else:
                    self.count(f"finish_{status}")
            finally:
                got = self.held.pop(lease_id, None)
                if got is not None:
                    self.timed("held", time.perf_counter() - got)
                self.freed.set()
                self.ready.task_done()

    async def batch_runner(self) -> None:
        """Like ``runner``, but every lease waiting is reported in one ``/reports`` call (issue 21):
        up to 100 finishes per call, each answered on its own; one such task replaces the runners."""
        conn = await Connection.open(self.host, self.port, self.auth)
        path = f"/v1/workers/{self.worker_id}/reports"
        while True:
            lease_ids = [await self.ready.get()]
            while len(lease_ids) < 100 and not self.ready.empty():
                lease_ids.append(self.ready.get_nowait())
            try:
                started_at = datetime.now(UTC).isoformat().encode()
                body = (
                    b'{"reports":['
                    + b",".join(
                        b'{"type":"finish","lease_id":"%s","result":"succeeded","exit_code":0,"started_at":"%s"}'
                        % (lease_id.encode(), started_at)
                        for lease_id in lease_ids
                    )
                    + b"]}"
                )
                status, answer = await self.call("reports", conn, path, body)
                if status != 200:
                    self.count(f"reports_{status}")
                else:
                    self.count("report_calls")
                    for outcome in _decode_outcomes(answer).results:
                        if outcome.error is None:
                            self.counts["finished"] += 1
                        else:
                            self.count(f"finish_{outcome.error.code}")
            finally:
                now = time.perf_counter()
                for lease_id in lease_ids:
                    got = self.held.pop(lease_id, None)
                    if got is not None:
                        self.timed("held", now - got)
                    self.ready.task_done()
                self.freed.set()

    async def heartbeat(self) -> None:
        conn = await Connection.open(self.host, self.port, self.auth)
        path = f"/v1/workers/{self.worker_id}/heartbeat"
        while True:
            await asyncio.sleep(self.heartbeat_s)
            body = msgspec.json.encode({"leases": list(self.held)})
            status, answer = await conn.request("POST", path, body)
            if status != 200:
                self.count(f"heartbeat_{status}")
                continue
            for order in _decode_beat(answer).stop:
                self.count(f"stop_{order.reason}")

    def report(self) -> dict[str, object]:
        return {
            "worker_id": self.worker_id,
            "pid": os.getpid(),
            "counts": self.counts,
            "timings": self.timings,
            "samples": self.samples,
        }


async def _drain(worker: Worker, lease_task: "asyncio.Task[None]") -> None:
    """Stop leasing, but finish what the outstanding lease call brings: a lease granted to a worker
    that already left would hold its job until the lease expires (60 s by default)."""
    worker.stopping = True
    worker.freed.set()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(lease_task, 5)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(worker.ready.join(), 10)  # every lease received is reported


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_loop", description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="the gateway, e.g. http://127.0.0.1:8080")
    parser.add_argument("--concurrency", type=int, default=16, help="slots: jobs held at once (the capacity)")
    parser.add_argument("--name", default=f"bench-{os.getpid()}")
    parser.add_argument("--samples", type=Path, help="where to write the samples and counters (JSON)")
    parser.add_argument("--deadline", type=float, default=600.0, help="exit after this many seconds")
    parser.add_argument("--heartbeat-s", type=float, default=3.0)
    parser.add_argument(
        "--batch-reports",
        action="store_true",
        default=os.environ.get("BENCH_WORKER_BATCH_REPORTS") == "1",
        help="report finishes in batched /reports calls (env BENCH_WORKER_BATCH_REPORTS=1)",
    )
    args = parser.parse_args(argv)
    url = urlsplit(args.url)
    worker = Worker(url.hostname or "127.0.0.1", url.port or 80, args.concurrency, args.heartbeat_s)
    await worker.register(args.name)
    print(f"registered {worker.worker_id}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(worker.lease_loop()),
        asyncio.create_task(worker.heartbeat()),
        *(
            [asyncio.create_task(worker.batch_runner())]
            if args.batch_reports
            else [asyncio.create_task(worker.runner()) for _ in range(args.concurrency)]
        ),
    ]
    stopping = asyncio.create_task(stop.wait())
    # Every task loops forever: one that ends has failed, and the worker stops with its error.
    await asyncio.wait([stopping, *tasks], timeout=args.deadline, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    await _drain(worker, tasks[0])
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    report = worker.report()
    report["errors"] = [repr(t.exception()) for t in failed]
    if args.samples is not None:
        args.samples.write_text(json.dumps(report))
    if failed:
        print(f"worker tasks failed: {report['errors']}", file=sys.stderr)


if __name__ == "__main__":
    uvloop.run(main())
