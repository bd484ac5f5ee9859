"""The worker agent's own costs: no-op jobs/s through one real `conveyor worker` process, log
streaming MB/s from one job, and the live tail's write-to-reader latency.

``python -m bench.worker_agent [--jobs 300] [--log-mb 64] [--tail-lines 200] [--only tail]``
(prints a table, writes ``bench/results/worker_agent.json``).

Overhead: N no-op jobs (``true``) are submitted while no worker runs; then one worker process starts
and the clock runs from its registration until the API counts N finished jobs. The same is run with
the minimal benchmark loop (`bench.worker_loop`: leases and reports, starts no process, sends no
output) as the baseline; the difference is what the agent adds per job (a process, its output, the
reports). Streaming: one job writes ``--log-mb`` MB to stdout as fast as the pipe takes it; the
figure is the log's size over the job's start-to-finish time (the job finishes only once its
whole log is accepted) and the log is read back to check its size. Live tail: one job prints a
line every 1/rate s, each carrying the wall-clock time it was written; an SSE reader of
``/v1/jobs/{id}/log/stream`` notes when each line arrives (the same machine's clock): p50/p99/max
of write -> reader, through the worker's sender, the gateway, the LOGS stream and the collector.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from .http_load import percentile
from .stack import SERVICES, BenchStack

SERVICES.setdefault("collector", "conveyor_logs")  # the logs branch names it there already
RESULTS = Path(__file__).parent / "results"
PARTS = ("overhead", "streaming", "tail")
TAIL_TARGET_P99_MS = 200.0  # the README's promise: output readable within 200 ms of its writing
# The tail job: waits for the gate file (the reader is connected), then prints `lines` lines at `rate`/s.
TAIL_JOB = (
    "import os, sys, time\n"
    "while not os.path.exists({gate!r}): time.sleep(0.01)\n"
    "for i in range({lines}):\n"
    "    print(f'line {{i}} {{time.time():.6f}}', flush=True)\n"
    "    time.sleep({pause})\n"
)


async def _submit_noops(api: httpx.AsyncClient, n: int, project: str) -> None:
    for start in range(0, n, 500):
        jobs = [{"project": project, "command": "true"} for _ in range(min(500, n - start))]
        response = await api.post("/v1/jobs/bulk", json={"jobs": jobs}, timeout=120)
        response.raise_for_status()


async def _wait_finished(api: httpx.AsyncClient, worker_id: str, n: int, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        worker = (await api.get(f"/v1/workers/{worker_id}")).json()
        if worker["finished_count"] >= n:
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"worker {worker_id} did not finish {n} jobs in {timeout_s} s")


def _start_agent(url: str, tmp: Path, capacity: int) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "-m", "conveyor_cli", "worker", "--url", url, "--name", f"bench-{capacity}",
        "--capacity", str(capacity), "--credentials", str(tmp / f"creds-{capacity}-{time.monotonic_ns()}.json"),
        "--work-dir", str(tmp / "work"), "--lease-wait", "5",
    ]  # fmt: skip
    env = {**os.environ, "CONVEYOR_LOG_LEVEL": "warning", "CONVEYOR_CONFIG": str(tmp / "none.toml")}
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "agent.log").open("ab"))


def _start_loop(url: str, capacity: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "bench.worker_loop", "--url", url, "--concurrency", str(capacity)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


async def _registered_id(api: httpx.AsyncClient, name: str, known: set[str]) -> str:
    for _ in range(600):
        for worker in (await api.get("/v1/workers")).json()["items"]:
            if worker["name"] == name and worker["id"] not in known:
                return str(worker["id"])
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no worker {name} registered")


def _cpu_s(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


async def overhead(api: httpx.AsyncClient, url: str, n: int, capacity: int, kind: str) -> dict[str, Any]:
    project = f"{kind}-{capacity}"
    await _submit_noops(api, n, project)
    known = {w["id"] for w in (await api.get("/v1/workers")).json()["items"]}
    with tempfile.TemporaryDirectory() as tmp:
        proc = _start_agent(url, Path(tmp), capacity) if kind == "agent" else _start_loop(url, capacity)
        try:
            name = f"bench-{capacity}" if kind == "agent" else f"bench-{proc.pid}"
            worker_id = await _registered_id(api, name, known)
            started = time.monotonic()
            cpu_before = _cpu_s(psutil.Process(proc.pid))
            ended = await _wait_finished(api, worker_id, n, timeout_s=600)
            cpu = _cpu_s(psutil.Process(proc.pid)) - cpu_before
        finally:
            proc.terminate()
            proc.wait(30)
    wall = ended - started
    return {
        "scenario": f"{n} no-op jobs, one {'conveyor worker' if kind == 'agent' else 'bench.worker_loop'} process, "
        f"capacity {capacity}",
        "jobs_per_s": n / wall,
        "ms_per_job": wall * 1000 / n,
        "worker_cpu_ms_per_job": cpu * 1000 / n,
    }


async def streaming(api: httpx.AsyncClient, url: str, megabytes: int) -> dict[str, Any]:
    size = megabytes * 1_000_000
    line = "0123456789" * 7 + "abcdefghi"  # 80 bytes with the newline
    command = f"yes {line} | head -c {size}"
    with tempfile.TemporaryDirectory() as tmp:
        known = {w["id"] for w in (await api.get("/v1/workers")).json()["items"]}
        proc = _start_agent(url, Path(tmp), 1)
        try:
            await _registered_id(api, "bench-1", known)
            job = (await api.post("/v1/jobs", json={"project": "stream", "command": command})).json()
            while job["state"] not in ("succeeded", "failed"):
                await asyncio.sleep(0.1)
                job = (await api.get(f"/v1/jobs/{job['id']}")).json()
        finally:
            proc.terminate()
            proc.wait(30)
    started = _parse(job["started_at"])
    finished = _parse(job["finished_at"])
    stored = 0
    for _ in range(600):  # the collector stores what the gateway accepted, shortly after
        head = await api.head(f"/v1/jobs/{job['id']}/log")
        stored = int(head.headers.get("content-length", 0)) if head.status_code == 200 else 0
        if stored >= size:
            break
        await asyncio.sleep(0.1)
    return {
        "scenario": f"log streaming, one job writing {megabytes} MB to stdout",
        "state": job["state"],
        "mb_per_s": size / 1e6 / (finished - started),
        "seconds": finished - started,
        "stored_bytes": stored,
    }


async def live_tail(api: httpx.AsyncClient, url: str, lines: int, rate: float) -> dict[str, Any]:
    """A job prints ``lines`` lines at ``rate``/s through a real worker; write -> SSE reader latency."""
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        gate = Path(tmp) / "gate"
        script = Path(tmp) / "tail.py"
        script.write_text(TAIL_JOB.format(gate=str(gate), lines=lines, pause=1 / rate))
        known = {w["id"] for w in (await api.get("/v1/workers")).json()["items"]}
        proc = _start_agent(url, Path(tmp), 1)
        try:
            await _registered_id(api, "bench-1", known)
            body = {"project": "tail", "command": f"{sys.executable} {script}"}
            job = (await api.post("/v1/jobs", json=body)).json()
            stream = f"/v1/jobs/{job['id']}/log/stream"
            async with api.stream("GET", stream, headers={"Accept": "text/event-stream"}, timeout=60) as response:
                gate.touch()  # connected: the job may start printing
                text = ""
                async for line in response.aiter_lines():
                    if line.startswith("event: end"):
                        break
                    if not line.startswith("data:"):
                        continue
                    text += json.loads(line[5:])["text"]
                    *complete, text = text.split("\n")
                    now = time.time()
                    latencies.extend((now - float(done.split()[2])) * 1000 for done in complete)
                    if len(latencies) >= lines:
                        break
        finally:
            proc.terminate()
            proc.wait(30)
    if len(latencies) != lines:
        raise RuntimeError(f"the tail gave {len(latencies)} lines of {lines}")
    ordered = sorted(latencies)
    return {
        "scenario": f"live tail through conveyor worker, {lines} lines at {rate:g}/s, write -> SSE reader",
        "p50_ms": percentile(ordered, 50),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
        "target_p99_ms": TAIL_TARGET_P99_MS,
    }


def _parse(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


async def run(
    jobs: int, log_mb: int, capacities: list[int], tail: tuple[int, float], parts: set[str]
) -> list[dict[str, Any]]:
    rows = []
    with BenchStack() as stack:
        for name in ("scheduler", "gateway", "collector"):
            stack.start(name)
        url = f"http://127.0.0.1:{stack.ports['gateway']}"
        # Every API call needs a token (issue 7): the stack provisioned one into CONVEYOR_TOKEN.
        token = {"Authorization": f"Bearer {os.environ['CONVEYOR_TOKEN']}"}
        async with httpx.AsyncClient(base_url=url, timeout=60, trust_env=False, headers=token) as api:
            if "overhead" in parts:
                for capacity in capacities:
                    for kind in ("loop", "agent"):
                        rows.append(await overhead(api, url, jobs, capacity, kind))
                        print(_format(rows[-1]), flush=True)
            if "streaming" in parts:
                rows.append(await streaming(api, url, log_mb))
                print(_format(rows[-1]), flush=True)
            if "tail" in parts:
                rows.append(await live_tail(api, url, *tail))
                print(_format(rows[-1]), flush=True)
    return rows


def _format(row: dict[str, Any]) -> str:
    figures = ", ".join(
        f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k != "scenario"
    )
    return f"  {row['scenario']:<70} {figures}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_agent", description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=300, help="no-op jobs per overhead run (default 300)")
    parser.add_argument("--log-mb", type=int, default=64, help="MB the streaming job writes (default 64)")
    parser.add_argument("--capacity", type=int, action="append", help="worker capacities to run (default 1 and 4)")
    parser.add_argument("--tail-lines", type=int, default=200, help="lines the live-tail job prints (default 200)")
    parser.add_argument("--tail-rate", type=float, default=10.0, help="lines per second it prints (default 10)")
    parser.add_argument("--only", action="append", choices=PARTS, help="run only these parts (repeatable)")
    args = parser.parse_args()
    background = psutil.cpu_percent(interval=1.0) * psutil.cpu_count()
    print(f"machine CPU busy before the run: {background:.0f} % of one core ({psutil.cpu_count()} cores)")
    tail = (args.tail_lines, args.tail_rate)
    rows = asyncio.run(run(args.jobs, args.log_mb, args.capacity or [1, 4], tail, set(args.only or PARTS)))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "worker_agent.json"
    meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "background_cpu_pct_of_one_core": background}
    out.write_text(json.dumps({"rows": rows, "meta": meta}, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
