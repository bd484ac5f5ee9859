"""Subscribers of the running stack (issue 22): the SSE subscriber of `conveyor_client` resumes
after the position it kept, and `conveyor events tail` prints what is appended, over the API and
over NATS with a project filter."""

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from conveyor_client.event_stream import stream_events
from conveyor_client.received import ReceivedEvent
from conveyor_events import JobSubmitted

from .conftest import CliResult


async def _submit(api: httpx.AsyncClient, project: str, title: str) -> str:
    response = await api.post("/v1/jobs", json={"project": project, "command": "true", "title": title})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


async def _take(count: int, **kwargs: Any) -> list[ReceivedEvent]:
    got: list[ReceivedEvent] = []
    async for event in stream_events(**kwargs):
        got.append(event)
        if len(got) == count:
            break
    return got


async def test_the_sse_subscriber_reads_typed_events_and_resumes_after_its_position(
    api: httpx.AsyncClient, api_url: str, api_token: str
) -> None:
    since = datetime.now(UTC)
    jobs = [await _submit(api, "sse", f"j{i}") for i in range(3)]
    first = await _take(2, url=api_url, token=api_token, types=["job.submitted"], since=since)
    assert [e.aggregate_id for e in first] == jobs[:2]
    assert all(isinstance(e.event, JobSubmitted) and e.event.project == "sse" for e in first)
    # A restarted subscriber passes the last sequence it handled.
    rest = await _take(1, url=api_url, token=api_token, types=["job.submitted"], after=first[-1].seq)
    assert [e.aggregate_id for e in rest] == jobs[2:]
    assert rest[0].seq > first[-1].seq


async def test_events_tail_prints_json_lines_over_the_api(
    api: httpx.AsyncClient, conveyor: Callable[..., Awaitable[CliResult]]
) -> None:
    since = datetime.now(UTC).isoformat()
    jobs = [await _submit(api, "tail", f"j{i}") for i in range(2)]
    result = await conveyor("events", "tail", "--type", "job.submitted", "--since", since, "--count", "2", "--json")
    assert result.status == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["type"], d["aggregate_id"]) for d in lines] == [("job.submitted", j) for j in jobs]
    assert lines[0]["event"]["title"] == "j0" and lines[0]["seq"] < lines[1]["seq"]


async def test_events_tail_over_nats_keeps_one_project(
    api: httpx.AsyncClient, conveyor: Callable[..., Awaitable[CliResult]], nats_url: str
) -> None:
    since = datetime.now(UTC).isoformat()
    await _submit(api, "other", "no")
    ours = await _submit(api, "ours", "yes")
    result = await conveyor("events", "tail", "--nats", nats_url, "--project", "ours", "--since", since, "--count", "1")
    assert result.status == 0, result.stderr
    [line] = result.stdout.splitlines()
    assert "job.submitted" in line and ours in line
    refused = await conveyor("events", "tail", "--project", "ours")
    assert refused.status == 2 and "--nats" in refused.stderr
