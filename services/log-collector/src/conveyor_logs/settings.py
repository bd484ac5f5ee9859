"""Settings of the log-collector (``CONVEYOR_*`` variables)."""

from conveyor_runtime import BaseSettings


class Settings(BaseSettings, frozen=True, kw_only=True):
    """``http_port`` serves health and metrics."""

    http_port: int = 8082
