"""The supervised local stack behind ``conveyor dev``: start, watch and stop every process."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import NoReturn

import httpx

from conveyor_devstack import (
    DevstackError,
    NatsServer,
    PortInUseError,
    Postgres,
    log_tail,
    resolve_pg_data_dir,
    signal_group,
    url_host,
)
from conveyor_identity import IssuedToken

from .admin import bootstrap_token
from .dev import (
    DATABASE,
    EXIT_FAILED,
    EXIT_USAGE,
    INFRA_HOST,
    LOCAL_WORKER_CAPACITY,
    LOCAL_WORKER_NAME,
    STACK,
    DevOptions,
    ServiceSpec,
    api_url,
    banner,
    http_port,
    service_env,
    worker_credentials,
)
from .local_worker import register_local_worker
from .nats_users import ADMIN_USER, has_user, stack_passwords, stack_users, with_credentials

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
_READY_POLL_S = 0.2
_SUPERVISE_POLL_S = 0.5
_TAIL_LINES = 20
# SIGHUP too: children run in their own sessions, so a closed terminal only reaches us.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopRequested(BaseException):
    """SIGINT, SIGTERM or SIGHUP arrived: unwinds startup or supervision into the shutdown path.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name


class StackError(Exception):
    """A process of the stack failed; the message says which one and ends with its log tail."""


@dataclass(frozen=True)
class _Service:
    spec: ServiceSpec
    port: int
    log_file: Path
    log_start: int  # where this run's output begins in the (appended) log file
    proc: subprocess.Popen[bytes]

    def log_tail(self) -> str:
        return log_tail(self.log_file, _TAIL_LINES, since=self.log_start)


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signum)


def _announce_stopping(signum: int, frame: FrameType | None) -> None:
    print(f"{signal.Signals(signum).name} received: already stopping, please wait", file=sys.stderr)


def _failure(what: str, reason: str, log_file: Path, tail: str) -> StackError:
    return StackError(f"{what} {reason}; last {_TAIL_LINES} lines of {log_file}:\n{tail}")


class LocalStack:
    """nats-server, PostgreSQL and the services of `STACK`, run and supervised in the foreground."""

    def __init__(self, options: DevOptions, services: Sequence[ServiceSpec] = STACK) -> None:
        self._options = options
        self._specs = tuple(services)
        self._logs = options.data_dir / "logs"
        self._pg_data_dir = options.data_dir / "postgres"
        self._nats: NatsServer | None = None
        self._postgres: Postgres | None = None
        self._services: list[_Service] = []
        self._children_before: set[int] = set()
        self._nats_passwords: dict[str, str] = {}

    def run(self) -> int:
        """Start everything, supervise until a signal or a failure, then stop everything.

        Returns:
            0 after Ctrl-C, SIGTERM or SIGHUP, 1 when a process failed, 2 when a port was taken.
        """
        self._children_before = child_pids()
        previous = {sig: signal.signal(sig, _raise_stop) for sig in _STOP_SIGNALS}
        try:
            self._start_infrastructure()
            admin = self._bootstrap_admin()
            self._register_workers()  # before they start: each starts with its own credentials
            self._start_services()
            self._wait_until_ready()
            print(banner(self._options, pg_data_dir=self._pg_data_dir, services=self._specs), flush=True)
            self._announce_admin_token(admin)
            self._supervise()
        except StopRequested as stop:
            print(f"\n{stop.signal_name} received: stopping Conveyor...", flush=True)
            return 0
        except PortInUseError as exc:
            print(f"conveyor dev: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except (StackError, DevstackError, OSError) as exc:
            print(f"conveyor dev: error: {exc}\nstopping Conveyor...", file=sys.stderr, flush=True)
            return EXIT_FAILED
        finally:
            for sig in _STOP_SIGNALS:
                signal.signal(sig, _announce_stopping)
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start_infrastructure(self) -> None:
        self._logs.mkdir(parents=True, exist_ok=True)
        self._pg_data_dir, moved = resolve_pg_data_dir(self._options.data_dir / "postgres")
        if moved:
            print(moved)
        # Every process connects as its own NATS user; anonymous clients are refused (issue 19).
        self._nats_passwords = stack_passwords(self._options.data_dir)
        nats = NatsServer(
            self._options.data_dir / "nats", host=INFRA_HOST, port=self._options.nats_port,
            log_file=self._logs / "nats.log", users=stack_users(self._nats_passwords),
            sync_interval=self._options.nats_sync,
        )  # fmt: skip
        self._nats = nats
        print(f"starting nats-server on {INFRA_HOST}:{self._options.nats_port}", flush=True)
        nats.start()
        postgres = Postgres(
            self._pg_data_dir, host=INFRA_HOST, port=self._options.pg_port, log_file=self._logs / "postgres.log"
        )
        self._postgres = postgres
        print(f"starting PostgreSQL on {INFRA_HOST}:{self._options.pg_port}", flush=True)
        postgres.start()
        postgres.create_database(DATABASE)

    def _start_services(self) -> None:
        assert self._nats is not None and self._postgres is not None
        database_url = self._postgres.dsn(DATABASE)
        for spec in self._specs:
            env = service_env(
                spec, self._options, nats_url=self._nats_url(spec.name), database_url=database_url,
                parent=os.environ,
            )  # fmt: skip
            log_file = self._logs / f"{spec.name}.log"
            print(f"starting {spec.name} on {self._options.bind}:{http_port(spec, self._options)}", flush=True)
            with log_file.open("ab") as log:
                log_start = log.tell()
                log.write(f"----- conveyor dev started {spec.name} at {datetime.now(UTC).isoformat()} -----\n".encode())
                log.flush()
                proc = subprocess.Popen(
                    spec.command(sys.executable), env=env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,  # a terminal Ctrl-C reaches only us
                )  # fmt: skip
            self._services.append(_Service(spec, http_port(spec, self._options), log_file, log_start, proc))

    def _nats_url(self, user: str) -> str:
        """The NATS URL a process of the stack connects with: its own user's, or the bare URL for a
        process with none (a worker, which never talks to NATS)."""
        assert self._nats is not None
        if not has_user(user):
            return self._nats.url
        return with_credentials(self._nats.url, user, self._nats_passwords[user])

    def _bootstrap_admin(self) -> "IssuedToken | Exception | None":
        """On the first start, create the admin and its token (announced once the stack is ready)."""
        assert self._nats is not None
        try:
            return bootstrap_token(self._nats_url(ADMIN_USER))
        except Exception as exc:  # the stack runs on; the operator can still create a token
            return exc

    def _register_workers(self) -> None:
        """Register each local worker that has no credentials yet, and save them for it: a worker
        authenticates as itself and never holds an API token (issue 13)."""
        assert self._nats is not None
        for spec in self._specs:
            path = worker_credentials(spec, self._options)
            if spec.is_worker and not path.exists():
                try:
                    register_local_worker(
                        self._nats_url(ADMIN_USER), api_url(self._options), path, name=LOCAL_WORKER_NAME,
                        capacity=LOCAL_WORKER_CAPACITY,
                    )  # fmt: skip
                except Exception as exc:  # NATS refused or the file cannot be written: say which
                    raise StackError(f"could not register the local worker: {type(exc).__name__}: {exc}") from exc

    def _announce_admin_token(self, issued: "IssuedToken | Exception | None") -> None:
        """Print the first start's admin token once (never a fixed default)."""
        if isinstance(issued, Exception):
            print(f"could not create the admin token ({type(issued).__name__}: {issued});"
                  " run `conveyor admin create-token`", file=sys.stderr, flush=True)  # fmt: skip
            return
        if issued is None:
            print("API tokens: `conveyor admin create-token` prints a new admin token.", flush=True)
            return
        print(
            "First start: an admin API token was created. It is shown only now; store it:\n"
            f"  {issued.token}\n"
            "  (curl -H 'Authorization: Bearer <token>' ...; more with `conveyor admin create-token`)",
            flush=True,
        )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        pending = list(self._services)
        # trust_env=False: an HTTP(S)_PROXY from the environment must not intercept loopback calls.
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while pending:
                self._check_alive()
                pending = [service for service in pending if not self._is_ready(client, service)]
                if pending and time.monotonic() > deadline:
                    late = pending[0]
                    reason = f"did not answer GET {self._ready_url(late)} with 200 within {READY_TIMEOUT_S:g} s"
                    raise _failure(late.spec.name, reason, late.log_file, late.log_tail())
                if pending:
                    time.sleep(_READY_POLL_S)
        print("every service is ready", flush=True)

    def _ready_url(self, service: _Service) -> str:
        return f"http://{url_host(self._options.bind)}:{service.port}/readyz"

    def _is_ready(self, client: httpx.Client, service: _Service) -> bool:
        try:
            return client.get(self._ready_url(service)).status_code == 200
        except httpx.TransportError:
            return False

    def _check_alive(self) -> None:
        for service in self._services:
            status = service.proc.poll()
            if status is not None:
                raise _failure(
                    service.spec.name, f"exited unexpectedly with status {status}", service.log_file, service.log_tail()
                )
        if self._nats is not None and not self._nats.is_running:
            raise _failure("nats-server", "exited unexpectedly", self._nats.log_file, self._nats.log_tail())
        if self._postgres is not None and not self._postgres.is_running:
            raise _failure("PostgreSQL", "exited unexpectedly", self._postgres.log_file, self._postgres.log_tail())

    def _supervise(self) -> NoReturn:
        # No restarts for now: a dead process is a bug to look at, so the stack stops and says why.
        while True:
            self._check_alive()
            time.sleep(_SUPERVISE_POLL_S)

    def _shutdown(self) -> None:
        self._stop_services()
        if self._postgres is not None:
            self._postgres.stop()
        if self._nats is not None:
            self._nats.stop()
        _reap_lost_children(self._children_before)
        print("Conveyor stopped.", flush=True)

    def _stop_services(self) -> None:
        for service in self._services:
            signal_group(service.proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for service in reversed(self._services):
            try:
                service.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{service.spec.name} did not stop within {STOP_TIMEOUT_S:g} s: killing it", file=sys.stderr)
                signal_group(service.proc, signal.SIGKILL)
                service.proc.wait()
        self._services.clear()


def child_pids() -> set[int]:
    """Pids of this process's direct children, read from /proc (an empty set elsewhere)."""
    me, children = os.getpid(), set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Fields after the parenthesised command name: state, then the parent pid.
            parent_pid = int(stat_file.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent_pid == me:
            children.add(int(stat_file.parent.name))
    return children


def _reap_lost_children(existing: set[int]) -> None:
    """SIGKILL and reap children we lost track of: a signal can land between fork and bookkeeping.

    Children that existed before the stack started (``existing``) belong to someone else, such as
    the test session that runs the stack in-process.
    """
    for pid in child_pids() - existing:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
