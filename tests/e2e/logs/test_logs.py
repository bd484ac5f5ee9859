"""Job logs over HTTP: chunks in order and once, offsets, gaps, fencing, Range, the size cap."""

import asyncio
import json
import random
from collections.abc import Callable

import httpx

from ..conftest import Service
from .conftest import Run, start_run, wait_for_log
from .sse import sse_messages


async def test_a_log_written_in_many_chunks_reads_back_complete_and_in_order(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    rng = random.Random(7)
    text = b"".join(f"line {i} {'x' * rng.randrange(0, 300)}\n".encode() for i in range(3000))
    offset = 0
    while offset < len(text):
        size = rng.randrange(1, 9000)
        response = await run.log(offset, text[offset : offset + size])
        assert response.status_code == 204, response.text
        if rng.random() < 0.2:  # a retried chunk (lost answer): stored once
            assert (await run.log(offset, text[offset : offset + size])).status_code == 204
        offset += size
    got = await wait_for_log(stack, run.job_id, len(text))
    assert got.status_code == 200
    assert got.content == text
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["conveyor-log-attempt"] == "1"


async def test_overlapping_retry_stores_only_new_bytes_and_a_gap_is_refused(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    first = await run.log(0, b"hello ")
    assert first.status_code == 204
    assert first.headers["conveyor-log-offset"] == "6"  # where the next chunk starts
    second = await run.log(3, b"lo world\n")  # overlaps: only "world\n" is new
    assert second.headers["conveyor-log-offset"] == "12"
    gap = await run.log(100, b"later")
    assert gap.status_code == 409
    assert gap.headers["content-type"] == "application/problem+json"
    assert gap.json()["type"] == "/problems/log_gap"
    assert gap.json()["expected_offset"] == len(b"hello world\n")
    got = await wait_for_log(stack, run.job_id, 12)
    assert got.content == b"hello world\n"


async def test_task_logs_are_separate_from_the_job_log(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack, command=None, manifest={"tasks": [{"name": "build", "script": "make"}]})
    assert (await run.log(0, b"job\n")).status_code == 204
    assert (await run.log(0, b"build step\n", task="build")).status_code == 204
    assert (await wait_for_log(stack, run.job_id, 11, task="build")).content == b"build step\n"
    assert (await wait_for_log(stack, run.job_id, 4)).content == b"job\n"
    bad = await stack.get(f"/v1/jobs/{run.job_id}/log", params={"task": "a b", "colour": "red"})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"task", "colour"}


async def test_range_answers_206_and_past_the_end_416(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    data = bytes(range(256)) * 40
    assert (await run.log(0, data)).status_code == 204
    await wait_for_log(stack, run.job_id, len(data))
    url = f"/v1/jobs/{run.job_id}/log"
    part = await stack.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    assert part.content == data[100:200]
    tail = await stack.get(url, headers={"Range": "bytes=10000-"})  # how hut tails by offset
    assert tail.status_code == 206
    assert tail.content == data[10000:]
    suffix = await stack.get(url, headers={"Range": "bytes=-5"})
    assert suffix.content == data[-5:]
    past = await stack.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(data)}"
    assert past.json()["type"] == "/problems/range_not_satisfiable"


async def test_a_stale_lease_is_refused_and_nothing_is_stored(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    assert (await run.log(0, b"first\n")).status_code == 204
    assert (await run.finish()).status_code == 200
    stale = await run.log(6, b"after the end\n")
    assert stale.status_code == 409
    assert stale.json()["type"] == "/problems/lease_not_current"
    await asyncio.sleep(0.3)
    assert (await stack.get(f"/v1/jobs/{run.job_id}/log")).content == b"first\n"
    other = await stack.post("/v1/workers", json={"name": "intruder"})
    auth = httpx.BasicAuth(other.json()["id"], other.json()["secret"])
    foreign = await stack.post(f"/v1/leases/{run.lease_id}/log", params={"offset": 6}, content=b"x", auth=auth)
    assert foreign.status_code == 409


async def test_oversized_chunk_is_413_and_missing_offset_is_422(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    big = await run.log(0, b"x" * (1024 * 1024 + 1))
    assert big.status_code == 413
    missing = await stack.post(f"/v1/leases/{run.lease_id}/log", content=b"x", auth=run.auth)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["pointer"] == "offset"


async def test_output_past_the_cap_is_cut_with_a_marker(
    api: httpx.AsyncClient, start_collector: Callable[..., Service]
) -> None:
    collector = start_collector(log_max_bytes=1000)
    try:
        run = await start_run(api)
        for i in range(5):
            assert (await run.log(i * 400, b"a" * 400)).status_code == 204
        got = await wait_for_log(api, run.job_id, 1001)
        assert got.content.startswith(b"a" * 1000 + b"\n[conveyor: output cut here")
        assert got.headers["conveyor-log-truncated"] == "true"
    finally:
        await collector.stop()


async def test_every_output_endpoint_is_in_the_openapi_document(stack: httpx.AsyncClient) -> None:
    paths = (await stack.get("/openapi.json")).json()["paths"]
    assert {
        "/v1/leases/{lease_id}/log": "post",
        "/v1/leases/{lease_id}/progress": "post",
        "/v1/leases/{lease_id}/artifacts/{path}": "put",
        "/v1/workers/{worker_id}/log/{level}": "post",
        "/v1/workers/{worker_id}/log": "get",
        "/v1/jobs/{job_id}/log": "get",
        "/v1/jobs/{job_id}/log/stream": "get",
        "/v1/jobs/{job_id}/artifacts": "get",
        "/v1/jobs/{job_id}/artifacts/{path}": "get",
    }.items() <= {p: next(iter(ops)) for p, ops in paths.items()}.items()
    problem = await stack.get("/problems/log_gap")
    assert "expected_offset" in problem.text


async def second_attempt(stack: httpx.AsyncClient) -> tuple[Run, Run]:
    """A job whose first attempt wrote ``attempt one\n`` and failed, and its second attempt, started."""
    run = await start_run(stack, max_retries=1)
    assert (await run.log(0, b"attempt one\n")).status_code == 204
    assert (await run.finish("failed")).status_code == 200  # retried after a 1-2 s backoff
    leased = await stack.post(
        f"/v1/workers/{run.worker_id}/lease", json={"max": 1, "wait_s": 10}, auth=run.auth, timeout=20
    )
    [lease] = leased.json()["leases"]
    assert lease["attempt"] == 2
    assert (await stack.post(f"/v1/leases/{lease['lease_id']}/start", auth=run.auth)).status_code == 200
    return run, Run(stack, run.worker, run.job_id, lease["lease_id"])


async def test_each_attempt_has_its_own_log_and_the_latest_is_the_default(stack: httpx.AsyncClient) -> None:
    run, second = await second_attempt(stack)
    assert (await second.log(0, b"attempt two\n")).status_code == 204
    # Accepted is not yet stored: wait until the collector stored attempt two's output (attempt
    # one's log has 12 bytes too, so waiting on the default log's size proves nothing).
    await wait_for_log(stack, run.job_id, 12, attempt=2)
    latest = await stack.get(f"/v1/jobs/{run.job_id}/log")
    assert latest.content == b"attempt two\n"
    assert latest.headers["conveyor-log-attempt"] == "2"
    first = await stack.get(f"/v1/jobs/{run.job_id}/log", params={"attempt": 1})
    assert first.content == b"attempt one\n"


async def test_a_new_attempt_with_no_output_yet_is_not_shown_the_previous_attempts_log(
    stack: httpx.AsyncClient,
) -> None:
    run, second = await second_attempt(stack)
    for _ in range(400):  # the job's projection shows the second attempt (the collector has none of it)
        if (await stack.get(f"/v1/jobs/{run.job_id}")).json()["attempts"] == 2:
            break
        await asyncio.sleep(0.025)
    else:
        raise AssertionError("the job never showed its second attempt")
    latest = await stack.get(f"/v1/jobs/{run.job_id}/log")
    assert (latest.headers["conveyor-log-attempt"], latest.content) == ("2", b"")
    # The live tail follows the running attempt too, not the failed one's output.
    url = f"/v1/jobs/{run.job_id}/log/stream"
    async with stack.stream("GET", url, headers={"Accept": "text/event-stream"}, timeout=20) as response:
        messages = sse_messages(response)
        assert (await second.log(0, b"attempt two\n")).status_code == 204
        message = await anext(messages)
        assert json.loads(message.data) == {"offset": 0, "text": "attempt two\n"}
