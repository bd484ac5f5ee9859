"""What pauses a service's event loop, as Prometheus histograms (issue 21).

A tail latency the CPU does not explain comes from the loop being away: a long callback, a
garbage collection, a commit awaited on the hot path. ``LoopLagMonitor`` samples how late the
loop wakes a timer (``conveyor_event_loop_lag_seconds``); ``watch_gc_pauses`` times every
collection (``conveyor_gc_pause_seconds``, by generation); the projector times its commits
(``conveyor_projector_commit_seconds``, in ``metrics``).
"""

import asyncio
import gc
import time
from typing import Any, Final

from .metrics import EVENT_LOOP_LAG_SECONDS, GC_PAUSE_SECONDS

LAG_INTERVAL_S: Final = 0.05
_gc_started: list[float] = []
_gc_service: list[str] = []


class LoopLagMonitor:
    """Every ``interval_s``, how much later than asked the loop ran a timer.

    That is the time it spent on other work it could not interrupt. ``max_lag_s`` keeps the
    worst seen (for logs and tests).
    """

    def __init__(self, service: str, *, interval_s: float = LAG_INTERVAL_S) -> None:
        self._histogram = EVENT_LOOP_LAG_SECONDS.labels(service)
        self._interval_s = interval_s
        self.samples = 0
        self.max_lag_s = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until ``stop`` is set."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            asked = loop.time()
            await asyncio.sleep(self._interval_s)
            lag = max(0.0, loop.time() - asked - self._interval_s)
            self._histogram.observe(lag)
            self.samples += 1
            self.max_lag_s = max(self.max_lag_s, lag)


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_started.append(time.perf_counter())
    elif _gc_started:
        GC_PAUSE_SECONDS.labels(_gc_service[0], str(info.get("generation", ""))).observe(
            time.perf_counter() - _gc_started.pop()
        )


def watch_gc_pauses(service: str) -> None:
    """Time every garbage collection of this process from now on (once per process)."""
    if _on_gc in gc.callbacks:
        return
    _gc_service[:] = [service]
    gc.callbacks.append(_on_gc)
