"""Live follow over SSE: output arrives as it is written, a reconnect resumes at its offset
without gaps or repeats, and the stream ends when the job ends."""

import asyncio
import json

import httpx

from .conftest import Run, start_run
from .sse import sse_messages


async def _read(api: httpx.AsyncClient, run: Run, received: bytearray, stop_after: int | None, **headers: str) -> str:
    """Append followed text to ``received``; return the last event id (or ``end``)."""
    last_id = ""
    url = f"/v1/jobs/{run.job_id}/log/stream"
    async with api.stream("GET", url, headers=headers, timeout=20) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for message in sse_messages(response):
            if message.event == "end":
                end = json.loads(message.data)
                assert end["state"] == "succeeded"
                assert end["size"] == len(received)
                return "end"
            body = json.loads(message.data)
            assert body["offset"] == len(received)  # no gap, no repeat
            received.extend(body["text"].encode())
            assert message.id is not None
            last_id = message.id
            assert int(last_id) == len(received)
            if stop_after is not None and len(received) >= stop_after:
                return last_id
    return last_id


async def test_follow_reconnects_and_resumes_without_gaps_or_repeats(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    lines = [f"step {i}: ünïcödé ✓\n".encode() for i in range(60)]
    text = b"".join(lines)

    async def write() -> None:
        offset = 0
        for line in lines:
            # split inside a multi-byte character now and then: the follower must not mangle it
            for part in (line[:9], line[9:]):
                assert (await run.log(offset, part)).status_code == 204
                offset += len(part)
            await asyncio.sleep(0.01)
        assert (await run.finish()).status_code == 200

    writer = asyncio.create_task(write())
    received = bytearray()
    last_id = await _read(stack, run, received, stop_after=len(text) // 3)
    assert last_id != "end"
    # Reconnect the way EventSource does: with Last-Event-ID.
    assert await _read(stack, run, received, None, **{"Last-Event-ID": last_id}) == "end"
    await writer
    assert bytes(received) == text


async def test_accept_event_stream_on_the_log_url_follows_too(stack: httpx.AsyncClient) -> None:
    run = await start_run(stack)
    assert (await run.log(0, b"done\n")).status_code == 204
    assert (await run.finish()).status_code == 200
    url = f"/v1/jobs/{run.job_id}/log"
    async with stack.stream("GET", url, headers={"Accept": "text/event-stream"}, timeout=20) as response:
        messages = [m async for m in sse_messages(response)]
    assert [m.event for m in messages] == ["message", "end"]
    assert json.loads(messages[0].data) == {"offset": 0, "text": "done\n"}
