"""Settings read once from the environment into frozen structs."""

import os
from collections.abc import Mapping
from typing import TypeVar

import msgspec

__all__ = ["BaseSettings", "SettingsError", "load_settings"]

PREFIX = "CONVEYOR_"


class BaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service reads: where the bus and the database are, and how to serve and log.

    Each field ``name`` comes from the variable ``CONVEYOR_<NAME>``.
    """

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "postgresql://postgres@127.0.0.1:5433/conveyor"
    bind: str = "127.0.0.1"
    http_port: int = 8080
    log_level: str = "info"
    log_json: bool | None = None
    connect_timeout_s: float = 30.0
    events_replicas: int = 1
    events_duplicate_window_s: float = 120.0
    projector_stall_s: float = 10.0
    """``/readyz`` fails for a projector with messages waiting and no progress for this long."""
    projector_max_lag: int = 100_000
    """... or with more messages than this waiting for ``projector_stall_s`` (``stall``)."""
    otlp_endpoint: str = ""
    """Export spans over OTLP/HTTP to this collector (base URL; issue 22): ``tracing``. Empty: the
    standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` decides, and with neither, tracing is off."""


S = TypeVar("S", bound=msgspec.Struct)


class SettingsError(ValueError):
    """An environment variable has a value of the wrong type or out of range."""


def load_settings(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build a settings struct from ``CONVEYOR_*`` variables, with the struct's defaults.

    Args:
        cls: A frozen msgspec struct whose fields all have defaults.
        environ: The environment; ``os.environ`` when omitted.

    Returns:
        The settings.

    Raises:
        SettingsError: When a value cannot be converted; the message names the variable.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for name in cls.__struct_fields__:
        value = env.get(PREFIX + name.upper())
        if value is not None and value != "":
            raw[name] = value
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = message.rsplit("$.", 1)[-1].strip("`") if "$." in message else ""
        variable = PREFIX + field.upper() if field else "a CONVEYOR_* variable"
        raise SettingsError(f"{variable}: {message}") from exc
