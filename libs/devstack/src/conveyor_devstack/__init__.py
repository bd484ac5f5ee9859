"""Embedded infrastructure for development, tests and benchmarks.

Synchronous managers for a JetStream ``nats-server`` and a PostgreSQL cluster, each a child
process on local directories, plus the port checks the dev runner does before starting anything.
"""

from .errors import DevstackError, ServerStartError
from .nats import NatsServer, NatsServerMissingError, find_nats_server
from .nats_config import NatsUser, render_config
from .pg_install import PostgresBinaries, PostgresMissingError, find_postgres_binaries
from .pg_owner import OsUser, blocking_parent, resolve_pg_data_dir, server_user, temp_pg_data_dir
from .ports import PortInUseError, connect_host, ensure_port_free, free_port, is_port_free, url_host
from .postgres import Postgres
from .process import log_tail, signal_group, stop_process

__all__ = [
    "DevstackError",
    "NatsServer",
    "NatsServerMissingError",
    "NatsUser",
    "OsUser",
    "PortInUseError",
    "Postgres",
    "PostgresBinaries",
    "PostgresMissingError",
    "ServerStartError",
    "blocking_parent",
    "connect_host",
    "ensure_port_free",
    "find_nats_server",
    "find_postgres_binaries",
    "free_port",
    "is_port_free",
    "log_tail",
    "render_config",
    "resolve_pg_data_dir",
    "server_user",
    "signal_group",
    "stop_process",
    "temp_pg_data_dir",
    "url_host",
]
