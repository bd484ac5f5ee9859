"""NATS is not open: with users configured, an anonymous client is refused, a subscriber reads
EVENTS through its own consumer but cannot write onto the bus, and a service appends (issue 19)."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient

from conveyor_devstack import NatsServer, NatsUser
from conveyor_events import EVENTS_FILTER, ensure_streams, events_stream_config, job_subject
from conveyor_events.permissions import SERVICE, SUBSCRIBER, NatsPermissions

pytestmark = pytest.mark.integration

PASSWORDS = {name: secrets.token_urlsafe(16) for name in ("scheduler", "subscriber")}


def _user(name: str, role: NatsPermissions) -> NatsUser:
    return NatsUser(
        name=name,
        password=PASSWORDS[name],
        publish=role.publish,
        subscribe=role.subscribe,
        deny_publish=role.deny_publish,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    """Yields a nats-server that knows a service user and a subscriber, and fsyncs every write."""
    users = [_user("scheduler", SERVICE), _user("subscriber", SUBSCRIBER)]
    with NatsServer(tmp_path / "nats", users=users, sync_interval="always") as running:
        yield running


async def _connect(
    server: NatsServer, user: str | None, password: str | None = None, errors: list[Exception] | None = None
) -> NatsClient:
    credentials = f"{user}:{password or PASSWORDS[user]}@" if user else ""
    client = NatsClient()

    async def collect(error: Exception) -> None:
        if errors is not None:
            errors.append(error)

    try:
        await client.connect(
            f"nats://{credentials}127.0.0.1:{server.port}", allow_reconnect=False, connect_timeout=2, error_cb=collect
        )
    except BaseException:
        await client.close()  # a refused connection leaves its transport open otherwise
        raise
    return client


async def test_an_anonymous_client_and_a_wrong_password_are_refused(server: NatsServer) -> None:
    with pytest.raises((nats.errors.Error, OSError)):
        await _connect(server, None)
    with pytest.raises((nats.errors.Error, OSError)):
        await _connect(server, "scheduler", "wrong")


async def test_a_subscriber_reads_events_but_cannot_write_onto_the_bus(server: NatsServer) -> None:
    service = await _connect(server, "scheduler")
    errors: list[Exception] = []
    subscriber = await _connect(server, "subscriber", errors=errors)
    try:
        js = service.jetstream()
        await ensure_streams(js, [events_stream_config()])
        ack = await js.publish(job_subject("01j0000000000000000000000a"), b"{}")
        assert ack.seq == 1

        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await subscriber.jetstream().publish(job_subject("01j0000000000000000000000b"), b"{}", timeout=1)
        assert (await js.stream_info("EVENTS")).state.messages == 1  # nothing got in
        assert any("permissions violation" in str(e) for e in errors)

        reader = await subscriber.jetstream().pull_subscribe(EVENTS_FILTER, durable="audit")
        [message] = await reader.fetch(1, timeout=5)
        assert message.subject == job_subject("01j0000000000000000000000a")
        await message.ack_sync()
    finally:
        await subscriber.close()
        await service.close()
