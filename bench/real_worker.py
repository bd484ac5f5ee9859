"""The real ``conveyor worker`` running ``true``: jobs per second and CPU per job (issue 21).

``bench.end_to_end`` measures the protocol with ``bench.worker_loop``, a lean loop that runs
nothing; this scenario measures what a user runs: ``conveyor worker`` processes (the CLI, as
``make run`` starts it) leasing no-op command jobs (``true``) and starting a process for each.

The worker's CPU is split in two: its own (the Python process: leasing, reporting, spawning)
and its children's (the job processes it started and reaped: ``true``, or ``sh`` and ``true``
when the command goes through a shell), read from ``/proc`` (``psutil``'s ``children_*``).

Entry point for the harness: ``real_worker_throughput(stack, jobs=..., warmup=...)`` with a
stack whose scheduler and gateway run; standalone: ``python -m bench.real_worker``.
"""

import argparse
import asyncio
import contextlib
import os
import sys
import time
from typing import Any, Final

import asyncpg
import psutil
import uvloop

from .end_to_end import _submit, _succeeded, _wait_succeeded
from .fleet import ROOT, CpuMeter, stack_groups, terminate
from .stack import BenchStack

REGISTER_TIMEOUT_S: Final = 60.0


class RealWorkers:
    """``processes`` copies of ``conveyor worker --capacity N`` against the stack's gateway."""

    def __init__(self, stack: BenchStack, *, processes: int, capacity: int, tag: str = "real") -> None:
        self.stack = stack
        self.processes = processes
        self.capacity = capacity
        self.tag = tag
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self) -> None:
        """Start the workers; wait until each has registered (its credentials file exists)."""
        url = f"http://127.0.0.1:{self.stack.ports['gateway']}"
        files = []
        for i in range(self.processes):
            name = f"{self.tag}-{i}"
            credentials = self.stack.root / f"worker-{name}.json"
            files.append(credentials)
            with (self.stack.root / f"worker-{name}.log").open("ab") as log:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "conveyor_cli", "worker",
                    *("--url", url, "--name", name, "--capacity", str(self.capacity)),
                    *("--credentials", str(credentials), "--work-dir", str(self.stack.root / "work")),
                    *("--grace", "5", "--lease-wait", "10"),
                    cwd=ROOT, stdout=log, stderr=log, start_new_session=True,
                    env={**os.environ, "CONVEYOR_URL": url},
                )  # fmt: skip
            self.procs.append(proc)
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        while not all(f.exists() for f in files):
            for proc, f in zip(self.procs, files, strict=True):
                if proc.returncode is not None:
                    tail = f.with_suffix(".log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"conveyor worker exited ({proc.returncode}): {tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"conveyor worker did not register within {REGISTER_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.05)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def cpu_seconds(self) -> tuple[float, float]:
        """(the workers' own CPU seconds, their reaped children's) so far."""
        own = children = 0.0
        for pid in self.pids:
            with contextlib.suppress(psutil.Error):
                t = psutil.Process(pid).cpu_times()
                own += t.user + t.system
                children += t.children_user + t.children_system
        return own, children

    async def stop(self) -> None:
        """SIGTERM (drain), then wait; SIGKILL what is still there after 15 s."""
        await terminate(self.procs)
        self.procs = []


async def real_worker_throughput(
    stack: BenchStack, *, jobs: int, warmup: int, processes: int = 2, capacity: int = 16
) -> list[dict[str, Any]]:
    """No-op command jobs (``true``) through ``processes`` real ``conveyor worker`` processes:
    jobs per second from the first submit until all succeeded, and CPU per job per process group
    (the workers' own CPU apart from the job processes they started)."""
    port = stack.ports["gateway"]
    workers = RealWorkers(stack, processes=processes, capacity=capacity)
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=2)
    try:
        await workers.start()
        base = await _succeeded(pool)
        await _submit(port, warmup, True)
        await _wait_succeeded(pool, base + warmup, 60)
        base = await _succeeded(pool)
        meter = CpuMeter(
            stack_groups(
                stack, f"{workers.processes} conveyor workers and their jobs", workers.pids, with_children=True
            )
        )
        own_before, children_before = workers.cpu_seconds()
        meter.start()
        started = time.perf_counter()
        how, submitted = await _submit(port, jobs, True)
        finished = await _wait_succeeded(pool, base + jobs, 60 + jobs / 10)
        cpu = meter.stop()
        own_after, children_after = workers.cpu_seconds()
    finally:
        await workers.stop()
        await pool.close()
    elapsed = finished - started
    per_job = {name: pct / 100 * elapsed * 1000 / jobs for name, pct in cpu.items()}
    return [
        {
            "scenario": f"real conveyor worker running `true`, {processes} processes x capacity {capacity}",
            "jobs": jobs,
            "seconds": elapsed,
            "jobs_per_s": jobs / elapsed,
            "submit": how,
            "submit_seconds": submitted["seconds"],
            "worker_own_cpu_ms_per_job": (own_after - own_before) * 1000 / jobs,
            "job_processes_cpu_ms_per_job": (children_after - children_before) * 1000 / jobs,
            "all_processes_cpu_ms_per_job": per_job["machine total"] - per_job["other processes"],
            "cpu_ms_per_job": per_job,
            "cpu_pct": cpu,
        }
    ]


async def _main(jobs: int, warmup: int, processes: int, capacity: int) -> list[dict[str, Any]]:
    with BenchStack() as stack:
        stack.start("scheduler")
        stack.start("gateway")
        return await real_worker_throughput(stack, jobs=jobs, warmup=warmup, processes=processes, capacity=capacity)


def main() -> None:
    """``python -m bench.real_worker [--jobs N] [--processes P] [--capacity C]``: print the rows."""
    parser = argparse.ArgumentParser(prog="python -m bench.real_worker", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=16)
    args = parser.parse_args()
    load = os.getloadavg()
    rows = uvloop.run(_main(args.jobs, args.warmup, args.processes, args.capacity))
    for row in rows:
        for key, value in row.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v:,.2f}" for k, v in value.items())
            elif isinstance(value, float):
                value = f"{value:,.3f}"
            print(f"{key:>32}: {value}")
    print(f"{'load average before / after':>32}: {load[0]:.2f} / {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
