"""Plumbing every Conveyor service shares.

Settings, logging, connections, migrations, the checkpointed projector, read-your-writes
positions, health/metrics endpoints, lifecycle and tracing.
"""

from .connections import DEPENDENCY_ERRORS, ConnectError, connect_nats, create_pool, retry_until
from .db import DbConnection, DbPool
from .decoding import decode_batch, decode_stream_event
from .http import ReadinessCheck, health_routes, listen_socket, nats_check, postgres_check, serve_http
from .lifecycle import run_service
from .logging import configure_logging, get_logger
from .migrations import Migration, apply_migrations, quote_schema
from .netguard import IPNetwork, TargetRefusedError, address_allowed, check_url_syntax, parse_nets, resolve_checked
from .positions import PositionWatcher, announce_position
from .projector import CHECKPOINT_MIGRATION, BatchHandler, Projector, StreamEvent
from .quarantine import QUARANTINE_SQL, quarantine_migration, sanitised
from .service import ConsumerSpec, checkpoint_only, consumer_main, run_consumer_service
from .settings import BaseSettings, SettingsError, load_settings
from .stall import reporting_stalls, stall_checks
from .tracing import OFF, Tracing, start_tracing, trace_headers, tracing_into

__all__ = [
    "CHECKPOINT_MIGRATION",
    "DEPENDENCY_ERRORS",
    "OFF",
    "QUARANTINE_SQL",
    "BaseSettings",
    "BatchHandler",
    "ConnectError",
    "ConsumerSpec",
    "DbConnection",
    "DbPool",
    "IPNetwork",
    "Migration",
    "PositionWatcher",
    "Projector",
    "ReadinessCheck",
    "SettingsError",
    "StreamEvent",
    "TargetRefusedError",
    "Tracing",
    "address_allowed",
    "announce_position",
    "apply_migrations",
    "check_url_syntax",
    "checkpoint_only",
    "configure_logging",
    "connect_nats",
    "consumer_main",
    "create_pool",
    "decode_batch",
    "decode_stream_event",
    "get_logger",
    "health_routes",
    "listen_socket",
    "load_settings",
    "nats_check",
    "parse_nets",
    "postgres_check",
    "quarantine_migration",
    "quote_schema",
    "reporting_stalls",
    "resolve_checked",
    "retry_until",
    "run_consumer_service",
    "run_service",
    "sanitised",
    "serve_http",
    "stall_checks",
    "start_tracing",
    "trace_headers",
    "tracing_into",
]
