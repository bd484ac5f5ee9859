"""Settings of the log-collector (``CONVEYOR_*`` variables)."""

from conveyor_runtime import BaseSettings


class Settings(BaseSettings, frozen=True, kw_only=True):
    """``http_port`` serves health and metrics.

    ``log_max_bytes`` caps each attempt's log (of a job or a task); output past it is dropped
    after an explicit marker. ``log_retention_days`` is how long logs and worker log lines are
    kept after their last write; ``artifact_retention_days`` is the artifacts bucket's TTL.
    ``progress_interval_s`` bounds how often a job's parsed progress becomes an event.
    """

    http_port: int = 8082
    log_max_bytes: int = 512 * 1024 * 1024
    log_retention_days: float = 30.0
    artifact_retention_days: float = 30.0
    progress_interval_s: float = 1.0
    retention_sweep_s: float = 3600.0
    batch_size: int = 32  # LOGS messages per transaction: a batch of 256 KiB chunks stays under 8 MiB
    # One copy leads (holds the leader key), the others stand by: a killed leader is replaced
    # after about leader_ttl_s, a stopped one at the next poll (issue 19).
    leader_ttl_s: int = 5
    leader_poll_s: float = 0.5
