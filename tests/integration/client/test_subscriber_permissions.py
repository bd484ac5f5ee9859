"""The subscriber library works as a read-only NATS user (``permissions.SUBSCRIBER``): it makes its
durable consumer, reads, filters by project and acknowledges, and its publish onto the bus is
refused. A user with ``subscriber_role(name)`` does the same with its one consumer, and cannot
touch the services' consumers (issue 22)."""

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig

from conveyor_client import Start, subscribe
from conveyor_devstack import NatsServer, NatsUser
from conveyor_events import (
    JobSubmitted,
    JobSucceeded,
    encode_event,
    ensure_streams,
    events_stream_config,
    job_subject,
)
from conveyor_events.job import CommandPayload
from conveyor_events.permissions import SERVICE, SUBSCRIBER, NatsPermissions, subscriber_role

PASSWORDS = {name: secrets.token_urlsafe(16) for name in ("scheduler", "billing", "reports")}


def _user(name: str, role: NatsPermissions) -> NatsUser:
    return NatsUser(
        name=name, password=PASSWORDS[name], publish=role.publish, subscribe=role.subscribe,
        deny_publish=role.deny_publish,
    )  # fmt: skip


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server that knows a service user, the subscriber ``billing`` and the scoped ``reports``."""
    users = [_user("scheduler", SERVICE), _user("billing", SUBSCRIBER), _user("reports", subscriber_role("reports"))]
    with NatsServer(tmp_path / "nats", users=users) as running:
        yield running


async def _connect(server: NatsServer, user: str, errors: list[Exception] | None = None) -> NatsClient:
    async def collect(error: Exception) -> None:
        if errors is not None:
            errors.append(error)

    url = f"nats://{user}:{PASSWORDS[user]}@127.0.0.1:{server.port}"
    return await nats.connect(url, allow_reconnect=False, connect_timeout=2, error_cb=collect)


@pytest.fixture
async def service(server: NatsServer) -> AsyncIterator[NatsClient]:
    """The service user, with ``EVENTS`` made."""
    client = await _connect(server, "scheduler")
    await ensure_streams(client.jetstream(), [events_stream_config()])
    yield client
    await client.close()


def _events(job_id: str, project: str) -> list[bytes]:
    now = datetime.now(UTC)
    submitted = JobSubmitted(
        event_id=str(uuid.uuid4()), job_id=job_id, occurred_at=now, project=project, owner="u",
        payload=CommandPayload(command="true"),
    )  # fmt: skip
    done = JobSucceeded(event_id=str(uuid.uuid4()), job_id=job_id, occurred_at=now, lease_id="l")
    return [encode_event(submitted), encode_event(done)]


async def test_a_read_only_subscriber_reads_its_events_and_cannot_publish(
    server: NatsServer, service: NatsClient
) -> None:
    js = service.jetstream()
    theirs, ours = str(uuid.uuid4()), str(uuid.uuid4())
    for job_id, project in ((theirs, "theirs"), (ours, "ours")):
        for data in _events(job_id, project):
            await js.publish(job_subject(job_id), data)

    errors: list[Exception] = []
    billing = await _connect(server, "billing", errors)
    try:
        events = subscribe(billing, "billing", types=["job.succeeded"], projects=["ours"], start=Start.beginning())
        async with events:
            async for event in events:
                assert (event.type, event.aggregate_id) == ("job.succeeded", ours)
                await event.ack()
                break
        info = await js.consumer_info("EVENTS", "billing")
        assert info.ack_floor.stream_seq == 4  # its position is recorded

        forged = _events(str(uuid.uuid4()), "ours")[1]
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await billing.jetstream().publish(job_subject(ours), forged, timeout=1)
        assert (await js.stream_info("EVENTS")).state.messages == 4  # nothing got in
        assert any("permissions violation" in str(e).lower() for e in errors)
        await events.unsubscribe()  # it may delete its own consumer
    finally:
        await billing.close()


async def test_a_scoped_subscriber_uses_its_own_consumer_and_no_other(server: NatsServer, service: NatsClient) -> None:
    js = service.jetstream()
    await js.add_consumer("EVENTS", ConsumerConfig(durable_name="scheduler", ack_policy=AckPolicy.EXPLICIT))
    ours = str(uuid.uuid4())
    for data in _events(ours, "ours"):
        await js.publish(job_subject(ours), data)

    errors: list[Exception] = []
    reports = await _connect(server, "reports", errors)
    try:
        events = subscribe(reports, "reports", types=["job.succeeded"], projects=["ours"], start=Start.beginning())
        async with events:
            async for event in events:
                assert event.aggregate_id == ours
                await event.ack()
                break
        assert (await js.consumer_info("EVENTS", "reports")).ack_floor.stream_seq == 2

        mine = reports.jetstream(timeout=1.0)
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await mine.delete_consumer("EVENTS", "scheduler")
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await mine.add_consumer("EVENTS", ConsumerConfig(durable_name="scheduler", ack_wait=1.0))
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await mine.add_consumer("EVENTS", ConsumerConfig(durable_name="another"))
        info = await js.consumer_info("EVENTS", "scheduler")
        assert info.config.ack_wait != 1.0  # untouched
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await mine.publish(job_subject(ours), _events(ours, "ours")[1], timeout=1)
        assert (await js.stream_info("EVENTS")).state.messages == 2
        await events.unsubscribe()
    finally:
        await reports.close()
