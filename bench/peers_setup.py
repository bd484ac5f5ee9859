"""The peers' environment (Celery + Redis, Procrastinate), installed and run by the benchmark itself.

- ``.bench-peers/``: a separate venv with ``bench/peers/requirements.txt`` from the package
  registry (pip), made once and remade when that file changes;
- ``redis-server`` from Debian's package (``apt-get install -y redis-server``) when missing, run
  on a free port in a temporary directory;
- Procrastinate uses a database of the stack's own PostgreSQL.

``run_peer`` runs ``python -m bench.peers.driver`` with the peers' interpreter and returns its JSON.
"""

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from conveyor_devstack import free_port, stop_process

from .stack import BenchStack

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench-peers"
REQUIREMENTS = Path(__file__).parent / "peers" / "requirements.txt"
PEERS = {"celery": "Celery + Redis", "procrastinate": "Procrastinate (PostgreSQL)"}


class PeerUnavailableError(RuntimeError):
    """A peer's packages or server could not be installed here (the message says why)."""


def peers_python() -> Path:
    """The peers' interpreter, installing their venv first when missing or out of date."""
    python = VENV / "bin" / "python"
    marker = VENV / ".requirements.sha256"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and marker.exists() and marker.read_text() == digest:
        return python
    base = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base, "-m", "venv", "--clear", str(VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise PeerUnavailableError(f"installing the peers failed ({' '.join(step[:3])}): {done.stderr[-1500:]}")
    marker.write_text(digest)
    return python


def redis_server_binary() -> str:
    """``redis-server``, from Debian's package when it is not installed yet."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise PeerUnavailableError("redis-server is missing; install Debian's redis-server package (needs root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "redis-server"]
    if subprocess.run(install, capture_output=True, env=env, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
        if done.returncode != 0:
            raise PeerUnavailableError(f"apt-get install redis-server failed: {done.stderr[-1500:]}")
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        raise PeerUnavailableError("redis-server not found after installing Debian's package")
    return found


class RedisServer:
    """``redis-server`` on a free loopback port in ``directory``: no persistence, or with ``durable``
    its append-only file fsynced every second (``appendfsync everysec``, Redis's recommended policy)."""

    def __init__(self, directory: Path, *, durable: bool = False) -> None:
        self.directory = directory
        self.durable = durable
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def __enter__(self) -> Self:
        binary = redis_server_binary()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        log = (self.directory / "redis.log").open("ab")
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "everysec"] if self.durable else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [binary, *args, "--dir", str(self.directory), "--daemonize", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        self.__exit__()
        raise PeerUnavailableError(f"redis-server did not answer; see {self.directory / 'redis.log'}")

    def __exit__(self, *_: object) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


async def run_peer(
    stack: BenchStack,
    redis: RedisServer,
    system: str,
    scenario: str,
    options: dict[str, float | str],
    on_marker: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """One scenario on one peer, in its own processes; returns the driver's figures.

    ``options`` become the driver's ``--name=value`` arguments.

    ``on_marker(name, driver_pid)`` is called when the driver marks its measured window
    (``cpu-start``, ``cpu-stop``).
    """
    python = await asyncio.to_thread(peers_python)
    stack.pg.create_database("procrastinate")
    work = stack.root / f"peer-{system}-{scenario}"
    args = [
        f"--{k.replace('_', '-')}={v:g}" if isinstance(v, float | int) else f"--{k}={v}" for k, v in options.items()
    ]
    env = {**os.environ, "BENCH_REDIS_URL": redis.url, "BENCH_PG_DSN": stack.pg.dsn("procrastinate")}
    proc = await asyncio.create_subprocess_exec(
        str(python),
        *("-m", "bench.peers.driver", "--system", system, "--scenario", scenario, "--workdir", str(work), *args),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    errors = asyncio.create_task(proc.stderr.read())
    last = b""
    async for line in proc.stdout:
        if line.startswith(b"@"):
            if on_marker is not None:
                on_marker(line[1:].strip().decode(), proc.pid)
        elif line.strip():
            last = line
    err = await errors
    if await proc.wait() != 0:
        raise RuntimeError(f"{PEERS[system]} {scenario} failed: {err.decode(errors='replace')[-3000:]}")
    result: dict[str, Any] = json.loads(last)
    return result
