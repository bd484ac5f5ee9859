"""Two log collectors: one stores output, the other stands by; when the active one dies (its
leader key left to expire, as after SIGKILL) the standby goes on from the stored checkpoints and
the log reads back complete, each byte once (issue 19)."""

import time
from collections.abc import Callable

import httpx

from ..conftest import Service
from .conftest import start_run, wait_for_log

TTL_S = 2


async def test_the_standby_collector_takes_over_and_the_log_is_complete_and_once(
    api: httpx.AsyncClient, start_collector: Callable[..., Service]
) -> None:
    active = start_collector(leader_ttl_s=TTL_S, leader_poll_s=0.1)
    run = await start_run(api)
    lines = [f"line {i}\n".encode() for i in range(200)]
    offset = 0
    for line in lines[:100]:
        assert (await run.log(offset, line)).status_code == 204
        offset += len(line)
    await wait_for_log(api, run.job_id, offset)
    standby = start_collector(leader_ttl_s=TTL_S, leader_poll_s=0.1)
    try:
        active.task.cancel()  # dies without giving the key back: it expires after its TTL
        died_at = time.monotonic()
        for line in lines[100:]:
            assert (await run.log(offset, line)).status_code == 204  # the gateway takes chunks meanwhile
            offset += len(line)
        got = await wait_for_log(api, run.job_id, offset)
        took_over_s = time.monotonic() - died_at
    finally:
        await standby.stop()
    assert got.content == b"".join(lines)
    print(f"log collector takeover after the active one died: {took_over_s:.2f} s (TTL {TTL_S} s)")  # noqa: T201
    assert took_over_s < TTL_S + 8
