"""`stream_events` over a scripted transport (pure): items become typed `ReceivedEvent`s, and a
dropped connection is resumed with ``Last-Event-ID`` = the last sequence received."""

import json
from typing import Any

import httpx
import pytest

from conveyor_client.errors import AuthenticationError
from conveyor_client.event_stream import stream_events
from conveyor_events import JobQueued


def _item(seq: int, job_id: str) -> str:
    event = {"type": "job.queued", "event_id": f"e{seq}", "job_id": job_id, "occurred_at": "2027-01-15T08:00:00Z"}
    item = {"seq": seq, "type": "job.queued", "aggregate": "job", "aggregate_id": job_id, "event": event}
    return f"id: {seq}\nevent: job.queued\ndata: {json.dumps(item)}\n\n"


class _Script:
    """Answers each request with the next body; records the requests."""

    def __init__(self, *bodies: tuple[int, str]) -> None:
        self.bodies = list(bodies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.bodies.pop(0)
        return httpx.Response(status, content=body.encode(), headers={"content-type": "text/event-stream"})


async def _take(count: int, script: _Script, **kwargs: Any) -> list[Any]:
    got = []
    stream = stream_events("http://gw", token="t", transport=httpx.MockTransport(script), retry_s=0, **kwargs)
    async for event in stream:
        got.append(event)
        if len(got) == count:
            break
    return got


async def test_a_dropped_stream_resumes_after_the_last_event() -> None:
    script = _Script(
        (200, "retry: 1000\n\n" + _item(5, "j1") + _item(6, "j2")), (200, ": keepalive\n\n" + _item(7, "j3"))
    )
    got = await _take(3, script, types=["job.queued"], after=4)
    assert [(e.seq, e.aggregate_id) for e in got] == [(5, "j1"), (6, "j2"), (7, "j3")]
    assert all(isinstance(e.event, JobQueued) for e in got)
    first, second = script.requests
    assert first.headers["last-event-id"] == "4" and second.headers["last-event-id"] == "6"
    assert first.url.params["type"] == "job.queued" and first.headers["authorization"] == "Bearer t"


async def test_an_event_this_version_cannot_read_comes_untyped() -> None:
    unknown = _item(9, "j1").replace('"type": "job.queued", "event_id"', '"type": "job.teleported", "event_id"')
    [got] = await _take(1, _Script((200, unknown)))
    assert got.type == "job.queued" and got.event is None and got.data["type"] == "job.teleported"


async def test_a_refusal_raises_the_typed_error() -> None:
    problem = json.dumps({"type": "/problems/unauthenticated", "title": "no", "status": 401, "detail": "no"})
    with pytest.raises(AuthenticationError):
        await _take(1, _Script((401, problem)))
