"""Event-loop pauses as metrics (issue 21): a blocked loop shows as lag, a collection as a GC pause."""

import asyncio
import gc
import time

from prometheus_client import REGISTRY

from conveyor_runtime.pauses import LoopLagMonitor, watch_gc_pauses


def _count(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(f"{name}_count", labels) or 0.0


async def test_a_callback_that_blocks_the_loop_shows_as_lag() -> None:
    before = _count("conveyor_event_loop_lag_seconds", {"service": "test-lag"})
    monitor = LoopLagMonitor("test-lag", interval_s=0.01)
    stop = asyncio.Event()
    sampling = asyncio.create_task(monitor.run(stop))
    await asyncio.sleep(0.03)
    assert monitor.max_lag_s < 0.08  # an idle loop wakes its timers on time (with room for a busy machine)
    asyncio.get_running_loop().call_soon(time.sleep, 0.15)  # a callback that never yields
    await asyncio.sleep(0.2)
    stop.set()
    await sampling
    assert monitor.max_lag_s >= 0.1
    assert _count("conveyor_event_loop_lag_seconds", {"service": "test-lag"}) - before == monitor.samples


def _gc_count(generation: str) -> float:
    """Collections timed in ``generation``, whichever service label the process took first (in
    tests the gateway and scheduler may run in this process and have installed it already)."""
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "conveyor_gc_pause_seconds"
        for sample in metric.samples
        if sample.name.endswith("_count") and sample.labels.get("generation") == generation
    )


def test_each_garbage_collection_is_timed_by_generation() -> None:
    watch_gc_pauses("test-gc")
    watch_gc_pauses("test-gc")  # once per process: a second call adds no second callback
    before = _gc_count("2")
    gc.collect()
    assert _gc_count("2") == before + 1
