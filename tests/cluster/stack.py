"""The drill's stack: a three-node NATS cluster and every service as its own child process, each
given all three NATS URLs and told to create the streams and buckets at R3."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from conveyor_devstack import NatsCluster, free_port, stop_process

MODULES = {
    "gateway": "conveyor_gateway",
    "scheduler": "conveyor_scheduler",
    "dispatcher": "conveyor_hooks",
    "collector": "conveyor_logs",
}


class ServiceProcess:
    """``python -m <module>`` as a child process with its own HTTP port and log file."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.module = MODULES[name.split("-", 1)[0]]
        self.port = free_port()
        self.env = {**env, "CONVEYOR_HTTP_PORT": str(self.port)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.killed = False  # by the drill, on purpose

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def start(self) -> None:
        self.killed = False
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL, as a crash would (no leader key given back, nothing flushed)."""
        assert self.proc is not None
        self.killed = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(15)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout_s=15)

    async def ready(self, exits: list[str], timeout_s: float = 120) -> None:
        """Wait until ``/readyz`` answers 200 (a standby answers too: it is ready to take over).

        A copy that exits while starting is started again, twice at most, as an orchestrator would
        (a JetStream call can time out while two cores start a cluster and eight services); each
        exit is noted in ``exits``.
        """
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(int(timeout_s / 0.2)):
                if self.proc is not None and self.proc.poll() is not None:
                    if len([e for e in exits if e.startswith(self.name + " ")]) >= 2:
                        break
                    exits.append(f"{self.name} exited {self.proc.returncode}")
                    self.start()
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} did not become ready; its log:\n{self.log.read_text()[-3000:]}")


class ClusterStack:
    """Two of each service over ``cluster``: gateways active/active, the rest a leader and a standby."""

    def __init__(self, cluster: NatsCluster, database_url: str, logs: Path) -> None:
        env = {
            **os.environ,
            "CONVEYOR_NATS_URL": cluster.urls,
            "CONVEYOR_DATABASE_URL": database_url,
            "CONVEYOR_EVENTS_REPLICAS": "3",
            "CONVEYOR_LOG_JSON": "1",
            "CONVEYOR_LOG_LEVEL": "info",
            "CONVEYOR_HOOK_ALLOW_NETS": "127.0.0.0/8",  # the drill's webhook receiver is on loopback
            "CONVEYOR_HOOK_BACKOFF_BASE_S": "0.5",
            "CONVEYOR_HOOK_BACKOFF_MAX_S": "2",
        }
        logs.mkdir(parents=True, exist_ok=True)
        names = [f"{kind}-{n}" for kind in MODULES for n in ("a", "b")]
        self.services = {name: ServiceProcess(name, env, logs / f"{name}.log") for name in names}
        self.unplanned_exits: list[str] = []
        self.startup_exits: list[str] = []

    def of(self, kind: str) -> list[ServiceProcess]:
        return [s for name, s in self.services.items() if name.startswith(kind + "-")]

    def by_pid(self, pid: int) -> ServiceProcess:
        [found] = [s for s in self.services.values() if s.pid == pid]
        return found

    async def start(self) -> None:
        # The leaders first: two copies racing to create the same streams and tables only slow
        # each other on two cores; the standbys follow once the first copy of each is ready.
        for copy in ("a", "b"):
            batch = [s for name, s in self.services.items() if name.endswith("-" + copy)]
            for service in batch:
                service.start()
            await asyncio.gather(*(s.ready(self.startup_exits) for s in batch))

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart a service that exits by itself, as an orchestrator would, and note it."""
        while not stop.is_set():
            for service in self.services.values():
                if service.proc is not None and service.proc.poll() is not None and not service.killed:
                    self.unplanned_exits.append(f"{service.name} exited {service.proc.returncode}")
                    service.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
