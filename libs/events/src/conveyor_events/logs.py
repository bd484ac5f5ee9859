"""What travels on the ``LOGS`` stream: log chunks, leveled worker log lines, artifact records.

Chunks are MessagePack (``bytes`` need no base64); the other records are JSON. None of these are
events of the system of record: the stream is bounded, and the log collector keeps what matters.
"""

from typing import Final

import msgspec

from .fields import UtcDatetime

__all__ = [
    "ARTIFACTS_BUCKET",
    "DEFAULT_PROGRESS_PATTERN",
    "WORKER_LOG_LEVELS",
    "ArtifactStored",
    "LogChunk",
    "WorkerLogLine",
    "decode_artifact",
    "decode_chunk",
    "decode_worker_log",
    "encode_chunk",
    "encode_record",
]

ARTIFACTS_BUCKET: Final = "ARTIFACTS"
"""The JetStream Object Store bucket holding artifacts, named ``<job_id>/<path>``."""

DEFAULT_PROGRESS_PATTERN: Final = "PROGRESS:%percent"
"""coalition's default progress pattern, used when a job names none."""

WORKER_LOG_LEVELS: Final = ("trace", "info", "warn", "error")
"""Levels of worker log lines, least severe first (task_tracker's ``/log/{level}``)."""


class LogChunk(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """Bytes of one attempt's log (of the job, or of one of its tasks) starting at ``offset``.

    ``offset`` counts the worker's bytes of this attempt's log, so a retried chunk carries the
    same offset and the collector can tell it has the bytes already.
    """

    job_id: str
    lease_id: str
    attempt: int
    task: str
    offset: int
    data: bytes


class WorkerLogLine(msgspec.Struct, frozen=True, kw_only=True):
    """A leveled line a worker logged about itself (not job output)."""

    worker_id: str
    level: str
    message: str
    scope: str = ""
    logged_at: UtcDatetime


class ArtifactStored(msgspec.Struct, frozen=True, kw_only=True):
    """An artifact was stored in the bucket under ``<job_id>/<path>``."""

    job_id: str
    path: str
    size: int
    sha256: str
    attempt: int
    stored_at: UtcDatetime


_chunk_encoder: Final = msgspec.msgpack.Encoder()
_chunk_decoder: Final = msgspec.msgpack.Decoder(LogChunk)
_json_encoder: Final = msgspec.json.Encoder()
_worker_log_decoder: Final = msgspec.json.Decoder(WorkerLogLine)
_artifact_decoder: Final = msgspec.json.Decoder(ArtifactStored)


def encode_chunk(chunk: LogChunk) -> bytes:
    """Serialise a chunk (MessagePack).

    Args:
        chunk: The chunk.

    Returns:
        The message payload.
    """
    return _chunk_encoder.encode(chunk)


def decode_chunk(data: bytes) -> LogChunk:
    """Read a chunk payload.

    Args:
        data: The message payload.

    Returns:
        The chunk.
    """
    return _chunk_decoder.decode(data)


def encode_record(record: WorkerLogLine | ArtifactStored) -> bytes:
    """Serialise a worker log line or an artifact record (JSON).

    Args:
        record: The record.

    Returns:
        The message payload.
    """
    return _json_encoder.encode(record)


def decode_worker_log(data: bytes) -> WorkerLogLine:
    """Read a worker log line payload.

    Args:
        data: The message payload.

    Returns:
        The line.
    """
    return _worker_log_decoder.decode(data)


def decode_artifact(data: bytes) -> ArtifactStored:
    """Read an artifact record payload.

    Args:
        data: The message payload.

    Returns:
        The record.
    """
    return _artifact_decoder.decode(data)
