"""Workers' live status: the JetStream KV bucket heartbeats write, and the state derived from it.

Liveness is not an event: it changes every few seconds and only its latest value matters, so it
lives in a KV bucket (one key per worker, history 1) rather than on the ``EVENTS`` stream.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Any, Final

import msgspec
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue

from conveyor_events import UtcDatetime
from conveyor_runtime import get_logger

from .worker_bodies import WorkerMode, WorkerStateName

STATUS_BUCKET: Final = "conveyor_worker_status"
HEARTBEAT_INTERVAL: Final = timedelta(seconds=10)
OFFLINE_AFTER: Final = 3 * HEARTBEAT_INTERVAL

_log = get_logger("gateway")


class WorkerStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's last heartbeat: when, and the load and memory it reported."""

    last_seen_at: UtcDatetime
    load: float | None = None
    memory_free_mb: int | None = None
    memory_total_mb: int | None = None


_decoder: Final = msgspec.json.Decoder(WorkerStatus)
_encoder: Final = msgspec.json.Encoder()


def derive_state(mode: WorkerMode, last_seen_at: datetime | None, *, has_jobs: bool, now: datetime) -> WorkerStateName:
    """What a worker is doing, from its mode, its last heartbeat and whether it holds jobs."""
    if last_seen_at is None or now - last_seen_at > OFFLINE_AFTER:
        return "offline"
    if mode == "paused":
        return "paused"
    if has_jobs:
        return "draining" if mode == "draining" else "busy"
    return "idle"


async def open_status_bucket(js: JetStreamContext, *, replicas: int) -> "StatusBoard":
    """Open the status bucket, creating it when missing (gateways racing to create it agree)."""
    kv: Any
    try:
        kv = await js.key_value(STATUS_BUCKET)
    except BucketNotFoundError:
        kv = await js.create_key_value(KeyValueConfig(bucket=STATUS_BUCKET, history=1, replicas=replicas))
    return StatusBoard(kv)


class StatusBoard:
    """Reads and writes worker statuses in the KV bucket."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def put(self, worker_id: str, status: WorkerStatus) -> None:
        await self._kv.put(worker_id, _encoder.encode(status))

    async def get(self, worker_id: str) -> WorkerStatus | None:
        try:
            entry = await self._kv.get(worker_id)
        except KeyNotFoundError:
            return None
        if not entry.value:
            return None
        try:
            return _decoder.decode(entry.value)
        except msgspec.DecodeError:
            _log.warning("worker_status_unreadable", worker_id=worker_id)
            return None

    async def get_many(self, worker_ids: list[str]) -> dict[str, WorkerStatus]:
        statuses = await asyncio.gather(*(self.get(w) for w in worker_ids))
        return {w: s for w, s in zip(worker_ids, statuses, strict=True) if s is not None}
