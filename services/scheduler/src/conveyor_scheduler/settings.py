"""Scheduler settings (``CONVEYOR_*`` variables)."""

from conveyor_runtime import BaseSettings


class Settings(BaseSettings, frozen=True, kw_only=True):
    """Scheduler settings; ``http_port`` serves health and metrics."""

    http_port: int = 8081
    batch_size: int = 500
    leader_ttl_s: int = 5
    leader_poll_s: float = 0.5
    retry_base_s: float = 2.0
    retry_cap_s: float = 300.0
    tick_s: float = 0.25
