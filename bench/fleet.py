"""Benchmark worker processes, CPU accounting per process and optional py-spy profiles."""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from .stack import BenchStack

ROOT = Path(__file__).resolve().parents[1]
# Busy fields of psutil.cpu_times() on Linux; guest time is already inside user and nice.
_BUSY = ("user", "nice", "system", "irq", "softirq", "steal")


class WorkerFleet:
    """``processes`` copies of ``python -m bench.worker_loop`` against the stack's gateway."""

    def __init__(
        self, stack: BenchStack, *, processes: int, concurrency: int, tag: str, heartbeat_s: float = 3.0
    ) -> None:
        self.stack = stack
        self.heartbeat_s = heartbeat_s
        self.processes = processes
        self.concurrency = concurrency
        self.tag = tag
        self.procs: list[asyncio.subprocess.Process] = []
        self.reports: list[Path] = []

    async def start(self) -> None:
        """Start the workers and wait until each has registered."""
        url = f"http://127.0.0.1:{self.stack.ports['gateway']}"
        for i in range(self.processes):
            report = self.stack.root / f"{self.tag}-worker-{i}.json"
            log = self.stack.root / f"{self.tag}-worker-{i}.log"
            with log.open("ab") as err:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.worker_loop",
                    *("--url", url, "--concurrency", str(self.concurrency), "--name", f"{self.tag}-{i}"),
                    *("--samples", str(report), "--deadline", "1800", "--heartbeat-s", str(self.heartbeat_s)),
                    cwd=ROOT,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=err,
                    start_new_session=True,
                )
            self.procs.append(proc)
            self.reports.append(report)
        for proc, report in zip(self.procs, self.reports, strict=True):
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if not line.startswith(b"registered "):
                tail = report.with_suffix(".log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"a benchmark worker did not register: {line!r}\n{tail}")

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    async def stop(self) -> list[dict[str, Any]]:
        """SIGTERM every worker; return what each wrote (samples and counters)."""
        await terminate(self.procs)
        self.procs = []
        reports = [json.loads(r.read_text()) for r in self.reports if r.exists()]
        for r in self.reports:
            r.unlink(missing_ok=True)
        return reports


def merge_counts(reports: list[dict[str, Any]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for report in reports:
        for key, n in report["counts"].items():
            total[key] = total.get(key, 0) + n
    return total


def mean_timings_ms(reports: list[dict[str, Any]]) -> dict[str, float]:
    """Mean round trip (lease, start, finish) and lease hold time over all workers, in ms."""
    total: dict[str, list[float]] = {}
    for report in reports:
        for key, (n, seconds) in report["timings"].items():
            entry = total.setdefault(key, [0, 0.0])
            entry[0] += n
            entry[1] += seconds
    return {key: 1000 * seconds / n for key, (n, seconds) in total.items() if n}


class CpuMeter:
    """CPU time used per process group over a window, as % of one core (2 cores = 200 %).

    A group is a process and, when ``recursive``, all its descendants (PostgreSQL's backends).
    Descendants that start within the window count from zero; ones that exit within it are
    counted through their parent's reaped-children times (PostgreSQL recycles backends; a worker
    reaps the processes it starts).
    """

    def __init__(self, groups: dict[str, tuple[list[int], bool]]) -> None:
        self.groups = {name: ([psutil.Process(p) for p in pids], rec) for name, (pids, rec) in groups.items()}
        self._before: dict[str, dict[int, float]] = {}
        self._machine_before = psutil.cpu_times()
        self._started = time.perf_counter()

    def _times(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, (procs, recursive) in self.groups.items():
            times: dict[int, float] = {}
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    members = [proc, *proc.children(recursive=True)] if recursive else [proc]
                    for member in members:
                        with contextlib.suppress(psutil.Error):
                            t = member.cpu_times()
                            times[member.pid] = t.user + t.system
                            if recursive:  # children that exited and were reaped (a worker's `true`)
                                times[-member.pid] = t.children_user + t.children_system
            out[name] = times
        return out

    def start(self) -> None:
        self._before = self._times()
        self._machine_before = psutil.cpu_times()
        self._started = time.perf_counter()

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self._started
        after = self._times()
        machine = psutil.cpu_times()
        result = {
            name: 100 * sum(t - self._before[name].get(pid, 0.0) for pid, t in times.items()) / elapsed
            for name, times in after.items()
        }
        busy = sum(getattr(machine, f) - getattr(self._machine_before, f) for f in _BUSY if hasattr(machine, f))
        result["other processes"] = max(0.0, 100 * busy / elapsed - sum(result.values()))
        result["machine total"] = 100 * busy / elapsed
        return result


Groups = dict[str, tuple[list[int], bool]]
"""CPU groups for ``CpuMeter``: a name, its processes, and whether their children count too."""


def infra_groups(postgres: str = "PostgreSQL (all backends)") -> Groups:
    """nats-server and PostgreSQL (every backend, under the name ``postgres``), children of this process."""
    groups: Groups = {}
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            name = child.name()
            if name == "nats-server":
                groups["nats-server"] = ([child.pid], False)
            elif name.startswith("postgres"):
                groups[postgres] = ([child.pid], True)
    return groups


def stack_groups(stack: BenchStack, workers: str, worker_pids: list[int], *, with_children: bool = False) -> Groups:
    """The processes of a running stack by role: its services, the workers (named ``workers``),
    the infrastructure and this process (the bench client that submits and polls)."""
    return {
        "gateway": ([stack.procs["gateway"].pid], True),
        "scheduler": ([stack.procs["scheduler"].pid], True),
        workers: (worker_pids, with_children),
        **infra_groups(),
        "bench client (submit + poll)": ([os.getpid()], False),
    }


async def terminate(procs: list[asyncio.subprocess.Process], timeout_s: float = 15.0) -> None:
    """SIGTERM each process (a worker drains), wait; SIGKILL what is still there after ``timeout_s``."""
    for proc in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def start_profiles(stack: BenchStack, out_dir: Path, seconds: int) -> list[asyncio.Task[None]]:
    """py-spy ``record -f raw`` (collapsed stacks) on the scheduler and gateway, in the background."""
    py_spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("--profile needs py-spy on PATH or in $PY_SPY")
    out_dir.mkdir(parents=True, exist_ok=True)

    async def record(name: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            py_spy,
            *("record", "-p", str(stack.procs[name].pid), "-f", "raw", "-d", str(seconds)),
            *("--nonblocking", "--subprocesses", "-o", str(out_dir / f"{name}.txt")),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await proc.wait()

    return [asyncio.create_task(record(name)) for name in ("scheduler", "gateway")]
