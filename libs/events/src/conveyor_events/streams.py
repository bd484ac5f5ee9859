"""Stream definitions (DESIGN §2) and the idempotent call that creates or updates them."""

from typing import Final

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, ObjectStoreConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from .logs import ARTIFACTS_BUCKET
from .subjects import EVENTS_FILTER, LOGS_FILTER

__all__ = [
    "EVENTS_STREAM",
    "LOGS_STREAM",
    "ensure_artifact_bucket",
    "ensure_streams",
    "events_stream_config",
    "logs_stream_config",
]

EVENTS_STREAM: Final = "EVENTS"
LOGS_STREAM: Final = "LOGS"

_DAY_S: Final = 86_400.0


def events_stream_config(*, replicas: int = 1, duplicate_window_s: float = 120.0) -> StreamConfig:
    """Return the ``EVENTS`` stream config: the system of record.

    File storage, no age or size limit, deletes and purges denied; direct gets allowed so a
    subject's last event can be read cheaply; atomic batches allowed for multi-event commits.

    Args:
        replicas: 1 on one machine, 3 in a cluster.
        duplicate_window_s: How long ``Nats-Msg-Id`` deduplicates retried publishes. Business
            dedupe never relies on it (see ``ids.dedupe_job_id``).

    Returns:
        The stream configuration.
    """
    return StreamConfig(
        name=EVENTS_STREAM,
        description="Conveyor event store: every state change, forever",
        subjects=[EVENTS_FILTER],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        max_age=0,
        max_msg_size=1024 * 1024,
        duplicate_window=duplicate_window_s,
        deny_delete=True,
        deny_purge=True,
        allow_direct=True,
        allow_atomic=True,
    )


def logs_stream_config(
    *, replicas: int = 1, max_age_s: float = 7 * _DAY_S, max_bytes: int = 20 * 1024**3
) -> StreamConfig:
    """Return the ``LOGS`` stream config: job output in transit to the log collector.

    The collector stores logs durably in its own tables; this stream only has to hold output until
    it is collected, so it is bounded by age and size and drops the oldest first.

    Args:
        replicas: 1 on one machine, 3 in a cluster.
        max_age_s: Oldest chunk kept.
        max_bytes: Total size kept.

    Returns:
        The stream configuration.
    """
    return StreamConfig(
        name=LOGS_STREAM,
        description="Conveyor job output chunks, consumed by the log collector",
        subjects=[LOGS_FILTER],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        max_age=max_age_s,
        max_bytes=max_bytes,
        max_msg_size=1024 * 1024,
        discard=DiscardPolicy.OLD,
        duplicate_window=120.0,
        allow_direct=True,
    )


async def ensure_streams(js: JetStreamContext, configs: list[StreamConfig]) -> None:
    """Create each stream, or update it in place when it already exists.

    Safe to call from every service at start: the last writer wins with the same config.

    Args:
        js: A JetStream context.
        configs: The stream configurations to apply.
    """
    for config in configs:
        assert config.name is not None
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


async def ensure_artifact_bucket(js: JetStreamContext, *, replicas: int = 1, ttl_s: float = 30 * _DAY_S) -> ObjectStore:
    """Open the artifacts Object Store bucket, creating it when missing.

    Args:
        js: A JetStream context.
        replicas: 1 on one machine, 3 in a cluster.
        ttl_s: How long an artifact is kept (the retention policy of artifacts).

    Returns:
        The bucket.
    """
    try:
        return await js.object_store(ARTIFACTS_BUCKET)
    except NotFoundError:
        config = ObjectStoreConfig(
            bucket=ARTIFACTS_BUCKET,
            description="Conveyor job artifacts, named <job_id>/<path>",
            ttl=ttl_s,
            storage=StorageType.FILE,
            replicas=replicas,
        )
        return await js.create_object_store(ARTIFACTS_BUCKET, config=config)
