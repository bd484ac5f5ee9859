"""A job event with NUL that bypassed the gateway does not stop the hook dispatcher (issue 13):
it is delivered with its text sanitised, recorded in ``hooks.quarantine``, and the events after
it are delivered too."""

from datetime import UTC, datetime
from typing import Any

import httpx
import nats

from conveyor_events import EVENTS_STREAM, CommandPayload, JobSubmitted, encode_event, job_subject, new_uuid7
from conveyor_runtime import create_pool

from .receiver import Received, Receiver
from .test_delivery import create_hook


def job_of(delivery: Received) -> dict[str, Any]:
    data: Any = delivery.json()["data"]
    job: dict[str, Any] = data["job"]
    return job


async def test_a_nul_title_is_delivered_sanitised_and_later_events_still_are(
    hooks_api: httpx.AsyncClient, receiver: Receiver, nats_url: str, database_url: str
) -> None:
    await create_hook(hooks_api, receiver.url(), ["job.submitted"])
    poison = JobSubmitted(
        event_id=new_uuid7(), job_id=new_uuid7(), occurred_at=datetime.now(UTC), project="default", owner="o",
        payload=CommandPayload(command="true"), title="a\x00b", labels=("elsewhere",),
    )  # fmt: skip
    nc = await nats.connect(nats_url)
    try:
        seq = (await nc.jetstream().publish(job_subject(poison.job_id), encode_event(poison), stream=EVENTS_STREAM)).seq
    finally:
        await nc.close()
    later = (await hooks_api.post("/v1/jobs", json={"command": "true", "title": "later"})).json()

    got = await receiver.wait_for(lambda r: later["id"] in {job_of(x)["id"] for x in r}, 20)
    titles = {job_of(x)["id"]: job_of(x)["title"] for x in got}
    assert titles[later["id"]] == "later"
    assert titles.get(poison.job_id) in (None, "a\ufffdb")  # a job the hook owner cannot read is not sent
    pool = await create_pool(database_url, timeout_s=10)
    try:
        rows = await pool.fetch("SELECT consumer, stream_seq, job_id, outcome FROM hooks.quarantine")
    finally:
        await pool.close()
    assert [tuple(r.values()) for r in rows] == [("hook-dispatcher", seq, poison.job_id, "sanitised")]
