"""The credentials of ``conveyor dev``'s local worker, registered by the stack itself.

The stack appends the worker's registration to NATS (as ``conveyor admin`` appends a token) and
saves its id and secret where the worker looks for them, so the worker starts as a worker and
never holds an API token: before this, it registered with an admin token that it, and so every
job it ran, kept in its environment (issue 13). The worker has no owner, so only an admin may
pause, drain or delete it.
"""

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime
from pathlib import Path

from conveyor_client.models import WorkerCredentials
from conveyor_events import (
    EventAppender,
    WorkerRegistered,
    ensure_streams,
    events_stream_config,
    new_uuid7,
    worker_subject,
)
from conveyor_runtime import connect_nats
from conveyor_worker.credentials import save_credentials


def secret_hash(secret: str) -> str:
    """The stored form of a worker secret (the gateway's ``worker_auth.hash_secret``: SHA-256, hex)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def registration(name: str, capacity: int, secret: str) -> WorkerRegistered:
    """The event that registers a worker with ``secret``, owned by no user."""
    return WorkerRegistered(
        event_id=new_uuid7(), worker_id=new_uuid7(), occurred_at=datetime.now(UTC), name=name, capacity=capacity,
        secret_hash=secret_hash(secret),
    )  # fmt: skip


async def _append(nats_url: str, event: WorkerRegistered) -> None:
    nc = await connect_nats(nats_url, name="conveyor-dev", timeout_s=10)
    try:
        await ensure_streams(nc.jetstream(), [events_stream_config()])
        appender = EventAppender(nc)
        await appender.start()
        try:
            await appender.append(worker_subject(event.worker_id), event, expected_last_subject_seq=0)
        finally:
            await appender.close()
    finally:
        await nc.drain()


def register_local_worker(nats_url: str, api_url: str, credentials: Path, *, name: str, capacity: int) -> str:
    """Register a worker through NATS and save its credentials for ``api_url``; its id."""
    secret = secrets.token_urlsafe(32)
    event = registration(name, capacity, secret)
    asyncio.run(_append(nats_url, event))
    save_credentials(credentials, api_url, WorkerCredentials(id=event.worker_id, secret=secret, name=name))
    return event.worker_id
