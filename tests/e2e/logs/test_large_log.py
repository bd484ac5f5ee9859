"""A 100 MB log goes in and comes back out without any process holding it whole.

The gateway, the collector and this client run in one process here, so tracemalloc's peak
covers the writing path (HTTP body, LOGS publish), the collector (fetch, insert) and the
reading path (chunk pages, streamed response) together."""

import hashlib
import tracemalloc
from collections.abc import Callable

import httpx

from ..conftest import Service
from .conftest import start_run, wait_for_size

MIB = 1024 * 1024
TOTAL_MIB = 100
PEAK_LIMIT = 32 * MIB  # under a third of the log: nothing holds it whole


def _block(i: int) -> bytes:
    line = f"block {i:04d} ".encode()
    return (line * (MIB // len(line) + 1))[:MIB]


async def test_a_100_mb_log_is_written_and_read_with_bounded_memory(
    api: httpx.AsyncClient, start_collector: Callable[..., Service]
) -> None:
    collector = start_collector()
    try:
        run = await start_run(api)
        written = hashlib.sha256()
        tracemalloc.start()
        try:
            for i in range(TOTAL_MIB):
                block = _block(i)
                written.update(block)
                response = await run.log(i * MIB, block)
                assert response.status_code == 204, response.text
                del block
            await wait_for_size(api, run.job_id, TOTAL_MIB * MIB)
            read = hashlib.sha256()
            size = 0
            async with api.stream("GET", f"/v1/jobs/{run.job_id}/log", timeout=120) as response:
                assert response.status_code == 200
                async for part in response.aiter_bytes():
                    read.update(part)
                    size += len(part)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert size == TOTAL_MIB * MIB
        assert read.hexdigest() == written.hexdigest()
        assert peak < PEAK_LIMIT, f"peak {peak / MIB:.1f} MiB"
    finally:
        await collector.stop()
