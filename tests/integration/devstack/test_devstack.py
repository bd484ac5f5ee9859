"""The embedded servers: data survives restarts and crashes, taken ports fail clearly."""

import asyncio
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from conveyor_devstack import (
    NatsServer,
    PortInUseError,
    Postgres,
    blocking_parent,
    free_port,
    resolve_pg_data_dir,
    server_user,
    temp_pg_data_dir,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    """Yields a socket listening on a free loopback port, as another program would."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


@pytest.fixture
def pg_data_dir() -> Iterator[Path]:
    """Yields an empty directory PostgreSQL may use, also when we run as root."""
    path = temp_pg_data_dir("conveyor-pg-it-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_postgres_keeps_rows_across_restarts(pg_data_dir: Path, tmp_path: Path) -> None:
    server = Postgres(pg_data_dir, fast=True, log_file=tmp_path / "postgres.log")
    with server:
        server.create_database("kept")
        server.run_sql("CREATE TABLE t (n int); INSERT INTO t VALUES (1), (2), (3)", database="kept")
        port = server.port

    with server:
        assert server.port == port
        assert server.run_sql("SELECT sum(n) FROM t", database="kept").strip() == "6"


def test_postgres_creates_databases_idempotently(postgres_server: Postgres) -> None:
    postgres_server.create_database("twice")
    postgres_server.create_database("twice")

    assert "twice" in postgres_server.run_sql("SELECT datname FROM pg_database")
    postgres_server.drop_database("twice")


def test_database_url_is_a_fresh_database(database_url: str, postgres_server: Postgres) -> None:
    name = database_url.rsplit("/", 1)[1]

    assert database_url.startswith(f"postgresql://postgres@127.0.0.1:{postgres_server.port}/test_")
    assert (
        postgres_server.run_sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", database=name).strip()
        == "0"
    )


async def test_nats_keeps_stream_messages_across_a_crash(nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    await js.add_stream(name="KEPT", subjects=["kept.>"])
    for n in range(3):
        await js.publish(f"kept.{n}", b"payload")
    await client.close()

    # kill() and start() block, so they run off the event loop.
    await asyncio.to_thread(nats_server.kill)
    await asyncio.to_thread(nats_server.start)

    client = await nats.connect(nats_server.url)
    info = await client.jetstream().stream_info("KEPT")
    await client.close()
    assert info.state.messages == 3


def test_nats_url_points_at_the_running_server(nats_url: str, nats_server: NatsServer) -> None:
    assert nats_url == f"nats://127.0.0.1:{nats_server.port}"
    with socket.create_connection(("127.0.0.1", nats_server.port), timeout=2) as sock:
        assert sock.recv(4).startswith(b"INFO")


def test_nats_on_a_taken_port_raises_a_clear_error(listening_socket: socket.socket, tmp_path: Path) -> None:
    port = listening_socket.getsockname()[1]

    with pytest.raises(PortInUseError, match=rf"port {port} .*nats-server") as caught:
        NatsServer(tmp_path / "nats", port=port).start()

    assert caught.value.port == port


def test_postgres_on_a_taken_port_raises_a_clear_error(
    listening_socket: socket.socket, pg_data_dir: Path, tmp_path: Path
) -> None:
    port = listening_socket.getsockname()[1]

    with pytest.raises(PortInUseError, match=rf"port {port} .*PostgreSQL"):
        Postgres(pg_data_dir, port=port, log_file=tmp_path / "pg.log").start()

    assert not (pg_data_dir / "PG_VERSION").exists()  # nothing was initialised


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_resolve_pg_data_dir_returns_a_reachable_directory(tmp_path: Path) -> None:
    wanted = tmp_path / "project" / ".data" / "postgres"

    data_dir, message = resolve_pg_data_dir(wanted)

    try:
        user = server_user()
        if user is None:
            assert (data_dir, message) == (wanted, None)
        else:
            assert blocking_parent(data_dir, user) is None
            assert (message is None) == (data_dir == wanted)
            assert resolve_pg_data_dir(wanted)[0] == data_dir  # stable: data survives restarts
    finally:
        if data_dir != wanted:  # relocated to a persistent directory: do not leave it behind
            shutil.rmtree(data_dir, ignore_errors=True)


def test_nats_start_is_fast(tmp_path: Path) -> None:
    started_at = time.perf_counter()
    with NatsServer(tmp_path / "nats"):
        elapsed_s = time.perf_counter() - started_at

    assert elapsed_s < 2
