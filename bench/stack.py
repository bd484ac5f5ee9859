"""A throwaway stack for benchmarks: nats-server, PostgreSQL and services as real processes."""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

from conveyor_devstack import NatsServer, Postgres, free_port, stop_process, temp_pg_data_dir
from conveyor_events import ensure_streams, events_stream_config
from conveyor_identity import provision_admin_token
from conveyor_runtime import connect_nats, create_pool

# The backlog scenarios queue up to a million jobs; a scheduler taking the lead over them loads
# them a slice at a time now, but a long TTL keeps a slow machine from flapping the lead while
# it catches up (see docs/benchmarks.md, backlog scaling).
LARGE_BACKLOG_SCHEDULER_ENV = {"CONVEYOR_LEADER_TTL_S": "600"}
SERVICES = {
    "scheduler": "conveyor_scheduler",
    "gateway": "conveyor_gateway",
    "collector": "conveyor_logs",
    "hooks": "conveyor_hooks",
}


def service_module(name: str) -> str:
    """``scheduler-b`` is a second scheduler (a standby): the module is named before the dash."""
    return SERVICES[name.split("-", 1)[0]]


class BenchStack:
    """Infrastructure in a temporary directory; services started and stopped on demand."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="conveyor-bench-"))
        # JetStream's fsync policy: the server's default, or CONVEYOR_NATS_SYNC (`--nats-sync`).
        self.nats = NatsServer(self.root / "nats", sync_interval=os.environ.get("CONVEYOR_NATS_SYNC") or None)
        self.pg_dir = temp_pg_data_dir()
        self.pg = Postgres(self.pg_dir, fast=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def __enter__(self) -> Self:
        self.nats.start()
        self.pg.start()
        self.pg.create_database("conveyor")
        # Every API call needs a token (issue 7): bench clients and worker processes read it from
        # CONVEYOR_TOKEN (http_load.Connection sends it unless a request brings its own credentials).
        with ThreadPoolExecutor(1) as thread:  # callable from inside a running event loop
            os.environ["CONVEYOR_TOKEN"] = thread.submit(asyncio.run, self._provision_token()).result()
        return self

    async def _provision_token(self) -> str:
        nc = await connect_nats(self.nats.url, name="bench-admin", timeout_s=30)
        pool = await create_pool(self.database_url, timeout_s=30)
        try:
            await ensure_streams(nc.jetstream(), [events_stream_config()])
            return await provision_admin_token(nc, pool, "bench")
        finally:
            await nc.drain()
            await pool.close()

    def __exit__(self, *_: object) -> None:
        for name in list(self.procs):
            self.stop(name)
        self.pg.stop()
        self.nats.stop()
        shutil.rmtree(self.pg_dir, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def database_url(self) -> str:
        return self.pg.dsn("conveyor")

    def env(self, port: int) -> dict[str, str]:
        return {
            **os.environ,
            "CONVEYOR_NATS_URL": self.nats.url,
            "CONVEYOR_DATABASE_URL": self.database_url,
            "CONVEYOR_HTTP_PORT": str(port),
            "CONVEYOR_LOG_LEVEL": "warning",
            "CONVEYOR_LOG_JSON": "1",
        }

    def start(self, name: str, **env: str) -> int:
        """Start a service process (extra ``CONVEYOR_*`` variables in ``env``); wait until ready."""
        port = free_port()
        log = (self.root / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", service_module(name)],
            env={**self.env(port), **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ports[name] = port
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return port
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not become ready; see {self.root / (name + '.log')}")

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            stop_process(proc)
