"""Pytest fixtures that start real infrastructure: one PostgreSQL per session, one NATS per test.

Per-test isolation is cheap: a fresh ``nats-server`` starts in about 25 ms and a fresh database
is one ``CREATE DATABASE`` of about 35 ms, so tests never share a stream or a table.
"""

import contextlib
import itertools
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from conveyor_devstack import DevstackError, NatsServer, Postgres, temp_pg_data_dir

__all__ = ["database_url", "nats_server", "nats_url", "own_database_url", "own_postgres", "postgres_server"]


def pytest_configure(config: pytest.Config) -> None:
    """Make SIGTERM end the session like Ctrl-C, so teardown stops the servers started here.

    The servers run in their own sessions (a terminal Ctrl-C reaches only pytest), so without this a
    CI timeout or ``timeout(1)`` that sends SIGTERM would orphan them.
    """
    is_default = signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    if is_default and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt("SIGTERM")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """Yields a PostgreSQL (fsync off) started on a free port for the whole session."""
    # Not under tmp_path_factory: pytest makes its base dir mode 700, which the postgres user
    # cannot enter when we run as root.
    data_dir = temp_pg_data_dir("conveyor-pg-test-")
    server = Postgres(data_dir, fast=True, log_file=tmp_path_factory.getbasetemp() / "postgres.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[Postgres]:
    """Yields a PostgreSQL of this test alone (fsync off), which it may stop() and start() again.

    Restarts keep the port, so DSNs stay valid. Its methods block: async tests call them through
    ``asyncio.to_thread``.
    """
    data_dir = temp_pg_data_dir("conveyor-pg-own-")
    server = Postgres(data_dir, fast=True, log_file=tmp_path / "postgres.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def own_database_url(own_postgres: Postgres) -> str:
    """Yields the DSN of a fresh database on ``own_postgres`` (the server this test may restart)."""
    own_postgres.create_database("conveyor")
    return own_postgres.dsn("conveyor")


@pytest.fixture(scope="session")
def _database_numbers() -> Iterator[int]:
    """Yields numbers for per-test database names."""
    return itertools.count(1)


@pytest.fixture
def database_url(postgres_server: Postgres, _database_numbers: Iterator[int]) -> Iterator[str]:
    """Yields the DSN of a fresh, empty database that only this test uses."""
    name = f"test_{next(_database_numbers)}"
    postgres_server.create_database(name, exist_ok=False)
    yield postgres_server.dsn(name)
    # WITH (FORCE) terminates connections the test left open; a failed drop only wastes space.
    with contextlib.suppress(DevstackError):
        postgres_server.drop_database(name)


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """Yields a fresh JetStream nats-server on a free port (tests may kill() and start() it).

    Its methods block: async tests call them through ``asyncio.to_thread``.
    """
    server = NatsServer(tmp_path / "nats", log_file=tmp_path / "nats-server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    """Yields the URL of this test's nats-server (``nats://127.0.0.1:<port>``)."""
    return nats_server.url
