"""An embedded PostgreSQL server on a local data directory."""

import ipaddress
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from .errors import DevstackError, ServerStartError
from .pg_cluster import SUPERUSER, prepare_cluster
from .pg_install import PostgresBinaries, find_postgres_binaries, pg_env
from .pg_owner import OsUser, own_dir, run_as, server_user
from .ports import connect_host, ensure_port_free, free_port, url_host
from .process import log_tail, stop_process, wait_until_ready

__all__ = ["Postgres"]

_SETTINGS = {"max_connections": "200", "shared_buffers": "128MB"}
# Durability traded for speed: only for throw-away test clusters.
_FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_AUTO_PORT_ATTEMPTS = 3


class Postgres:
    """A ``postgres`` child process serving the cluster in ``data_dir``.

    The cluster is created with ``initdb`` on the first start only, so data survives restarts.
    Started as root, every server process runs as the ``postgres`` OS user (see `pg_owner`).

    Example:
        >>> with Postgres(tmp_path / "pg", fast=True) as pg:
        ...     pg.create_database("conveyor")
        ...     connect(pg.dsn())
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fast: bool = False,
        log_file: Path | None = None,
    ) -> None:
        """Describe the server; nothing starts until `start`.

        Args:
            data_dir: The cluster directory (see `resolve_pg_data_dir` when running as root).
            host: The listen address; must be a loopback address, since auth is ``trust``.
            port: The port; 0 picks a free one on the first start and keeps it afterwards.
            fast: Turn off fsync, synchronous_commit and full_page_writes (tests only).
            log_file: Where the server's output goes; ``<data_dir>.log`` next to it when omitted.
        """
        self.data_dir = data_dir.absolute()
        self.host = host
        self.fast = fast
        self.log_file = log_file if log_file is not None else self.data_dir.with_name(f"{data_dir.name}.log")
        self._port = port
        self._is_port_automatic = port == 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._socket_dir: Path | None = None
        self._binaries: PostgresBinaries | None = None
        self._log_start = 0

    @property
    def port(self) -> int:
        """The port (known once the server has started)."""
        if self._port == 0:
            raise DevstackError("PostgreSQL has not started yet, so its port is not known")
        return self._port

    @property
    def is_running(self) -> bool:
        """Whether the postmaster process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def dsn(self, database: str = "conveyor") -> str:
        """Return ``postgresql://postgres@host:port/<database>``.

        Args:
            database: The database name.

        Returns:
            A libpq/asyncpg connection URL.
        """
        return f"postgresql://{SUPERUSER}@{url_host(self.host)}:{self.port}/{database}"

    def start(self, *, timeout_s: float = 30.0) -> None:
        """Create the cluster if needed, start the server and wait until it accepts connections.

        Does nothing when the server is already running.

        Args:
            timeout_s: How long to wait for the server to accept connections.

        Raises:
            PortInUseError: The requested port is taken.
            PostgresMissingError: PostgreSQL is not installed.
            ServerStartError: initdb or the server failed (the message has the log tail).
            DevstackError: The data directory is unusable (the message says why).
        """
        if self.is_running:
            return
        _require_loopback(self.host)
        self._binaries = find_postgres_binaries()
        user = server_user()
        if not self._is_port_automatic:  # before initdb, so a taken port changes nothing on disk
            ensure_port_free(self.host, self._port, wanted_by="PostgreSQL", setting="the port argument")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log_file.stat().st_size if self.log_file.exists() else 0
        prepare_cluster(
            self.data_dir, binaries=self._binaries, user=user, fast=self.fast, log_file=self.log_file,
            describe=lambda reason: ServerStartError(
                f"initdb {self.data_dir} {reason}; last lines of {self.log_file}:\n{self.log_tail()}"
            ),
        )  # fmt: skip
        self._launch_on_a_port(user, timeout_s)

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Stop the server with a fast shutdown (SIGKILL after ``timeout_s``) and reap it.

        Args:
            timeout_s: How long to wait for the shutdown.
        """
        if self._proc is not None:
            # SIGINT is exactly what `pg_ctl stop -m fast` sends; since we own the process we send it
            # ourselves, which also lets us reap it (pg_ctl would only poll the pid file).
            stop_process(self._proc, timeout_s=timeout_s, sig=signal.SIGINT)
            self._proc = None
        self._remove_socket_dir()

    def log_tail(self, lines: int = 20) -> str:
        """Return the last ``lines`` lines that initdb and the server logged since the latest start.

        Args:
            lines: How many lines.

        Returns:
            The lines, or a note when there are none.
        """
        return log_tail(self.log_file, lines, since=self._log_start)

    def __enter__(self) -> Self:
        """Start the server (see `start`) and return it."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server (see `stop`)."""
        self.stop()

    def run_sql(self, sql: str, *, database: str = "postgres") -> str:
        """Run SQL through ``psql`` and return its unaligned, tuples-only output.

        Args:
            sql: One or more statements.
            database: The database to connect to.

        Returns:
            What psql printed (rows as ``a|b`` lines).

        Raises:
            DevstackError: psql failed; the message has its error output.
        """
        result = self._psql(sql, database)
        if result.returncode != 0:
            raise DevstackError(f"psql failed on {database}: {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name: str, *, exist_ok: bool = True) -> None:
        """Create database ``name`` (one ``CREATE DATABASE``, about 10-50 ms).

        Args:
            name: A plain identifier (letters, digits, underscores).
            exist_ok: Return quietly when it already exists.

        Raises:
            DevstackError: The name is not a plain identifier, or creation failed.
        """
        result = self._psql(f'CREATE DATABASE "{_identifier(name)}"', "postgres")
        if result.returncode != 0 and not (exist_ok and "already exists" in result.stderr):
            raise DevstackError(f"cannot create database {name}: {result.stderr.strip()}")

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, terminating its connections first.

        Args:
            name: A plain identifier.

        Raises:
            DevstackError: The drop failed.
        """
        self.run_sql(f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')

    def _psql(self, sql: str, database: str) -> subprocess.CompletedProcess[str]:
        binaries = self._binaries or find_postgres_binaries()
        command = [
            binaries["psql"], "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", connect_host(self.host), "-p", str(self.port), "-U", SUPERUSER, "-d", database, "-c", sql,
        ]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, env=pg_env(), check=False)

    def _launch_on_a_port(self, user: OsUser | None, timeout_s: float) -> None:
        attempts = _AUTO_PORT_ATTEMPTS if self._is_port_automatic else 1
        for attempt in range(1, attempts + 1):
            if self._is_port_automatic:
                self._port = free_port(self.host)
            try:
                self._launch(user, timeout_s)
            except ServerStartError:
                # A free port can be taken between free_port() and the server's bind: try another.
                if attempt == attempts or "could not bind" not in self.log_tail(10):
                    raise
            else:
                self._is_port_automatic = False  # restarts keep the port, so DSNs stay valid
                return

    def _launch(self, user: OsUser | None, timeout_s: float) -> None:
        assert self._binaries is not None
        self._remove_socket_dir()  # left by a server that died on its own
        socket_root = "/tmp" if Path("/tmp").is_dir() else None  # socket paths must stay short
        self._socket_dir = Path(tempfile.mkdtemp(prefix="conveyor-pg-", dir=socket_root))
        own_dir(self._socket_dir, user)
        settings = _SETTINGS | (_FAST_SETTINGS if self.fast else {})
        command = [
            self._binaries["postgres"], "-D", str(self.data_dir), "-h", self.host, "-p", str(self._port),
            "-k", str(self._socket_dir),
        ]  # fmt: skip
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=pg_env(), **run_as(user),
            )  # fmt: skip
        try:
            wait_until_ready(
                self._accepts_connections, proc=self._proc, timeout_s=timeout_s, describe=self._start_error
            )
        except ServerStartError:
            self.stop(timeout_s=5)
            raise

    def _remove_socket_dir(self) -> None:
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def _accepts_connections(self) -> bool:
        assert self._binaries is not None
        command = [
            self._binaries["pg_isready"], "-q", "-h", connect_host(self.host), "-p", str(self._port),
            "-U", SUPERUSER, "-d", "postgres", "-t", "1",
        ]  # fmt: skip
        return subprocess.run(command, env=pg_env(), check=False).returncode == 0

    def _start_error(self, reason: str) -> ServerStartError:
        tail = self.log_tail()
        hint = ""
        if "postmaster.pid" in tail or "shared memory block is still in use" in tail:
            hint = (
                "\nA previous PostgreSQL on this data directory may still be running or shutting down: "
                f"check `ps -ef | grep {self.data_dir}`, wait a few seconds, then start again."
            )
        return ServerStartError(
            f"PostgreSQL (data {self.data_dir}, port {self._port}) {reason}; last lines of "
            f"{self.log_file}:\n{tail}{hint}"
        )


def _require_loopback(host: str) -> None:
    try:
        is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise DevstackError(
            f"the embedded PostgreSQL trusts every local connection, so it only listens "
            f"on loopback; {host!r} is not a loopback address"
        )


def _identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise DevstackError(f"{name!r} is not a plain database name (letters, digits, underscores)")
    return name
