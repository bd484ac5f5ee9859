"""``conveyor dev``: options, service table, environment contract and banner of the local stack.

Everything here is pure, so it is unit-tested; `stack.LocalStack` does the work and
`dev_command` is the command that starts it.
"""

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor_devstack import PortInUseError, is_port_free, url_host

INFRA_HOST = "127.0.0.1"  # PostgreSQL trusts every local connection: loopback only
# JetStream's fsync policy for the embedded server: every second, like Redis's appendfsync
# everysec. Measured in one run (README "Durability"): raw pipelined publish 14,768 msgs/s at 1s,
# 14,938 at the server's default (2 minutes), 1,398 at `always`.
NATS_SYNC_DEFAULT = "1s"
DATABASE = "conveyor"
EXIT_FAILED = 1
EXIT_USAGE = 2


class OptionError(ValueError):
    """An option has an invalid value; the message names the flag or variable it came from."""


@dataclass(frozen=True, kw_only=True)
class DevOptions:
    """The resolved settings of one ``conveyor dev`` run."""

    data_dir: Path
    bind: str
    api_port: int
    nats_port: int
    pg_port: int
    health_port_base: int
    nats_sync: str = NATS_SYNC_DEFAULT
    compat_ports: tuple[tuple[str, int], ...] = ()  # façades served at the root of ports of their own
    compat_trust: str = ""  # CONVEYOR_COMPAT_TRUST of the gateway


@dataclass(frozen=True)
class _Option:
    field: str
    flag: str
    env: str
    default: str
    help: str

    @property
    def setting(self) -> str:
        return f"{self.flag} or {self.env}"


COMPAT_PORTS_DEFAULT = "coalition=19211"  # coalition: its clients take only a host and a port
# coalition's workers and isula's clients send no credentials (DESIGN §10): on a development stack,
# callers on this machine may use them, acting as the admin user.
COMPAT_TRUST_DEFAULT = "coalition:127.0.0.1/32,::1/128@admin;isula:127.0.0.1/32,::1/128@admin"
FACADE_PATHS: tuple[tuple[str, str], ...] = (
    ("builds", "/compat/builds"),
    ("coalition", "/compat/coalition"),
    ("isula", "/compat/isula"),
    ("task_tracker", "/compat/task_tracker"),
    ("virtshell", "/api/virtshell/v1"),
)
"""Each façade's name and its path under the API's address (as the gateway mounts them)."""

_OPTIONS = (
    _Option("data_dir", "--data-dir", "CONVEYOR_DATA_DIR", ".data", "where NATS, PostgreSQL and logs keep files"),
    _Option("bind", "--bind", "CONVEYOR_BIND", "127.0.0.1", "address the services listen on"),
    _Option("api_port", "--api-port", "CONVEYOR_API_PORT", "8080", "port of the HTTP API, served by the gateway"),
    _Option("nats_port", "--nats-port", "CONVEYOR_NATS_PORT", "4222", "port of nats-server (on 127.0.0.1)"),
    _Option("pg_port", "--pg-port", "CONVEYOR_PG_PORT", "5433", "port of PostgreSQL (on 127.0.0.1)"),
    _Option(
        "health_port_base", "--health-port-base", "CONVEYOR_HEALTH_PORT_BASE", "8081",
        "first health port: scheduler, then log-collector, then hook-dispatcher, then the worker",
    ),
    _Option(
        "nats_sync", "--nats-sync", "CONVEYOR_NATS_SYNC", NATS_SYNC_DEFAULT,
        "JetStream fsync policy: always (before every acknowledgement) or an interval like 2s",
    ),
    _Option(
        "compat_ports", "--compat-ports", "CONVEYOR_COMPAT_PORTS", COMPAT_PORTS_DEFAULT,
        "façades also served at the root of a port of their own: <façade>=<port>,... or none",
    ),
    _Option(
        "compat_trust", "--compat-trust", "CONVEYOR_COMPAT_TRUST", COMPAT_TRUST_DEFAULT,
        "networks that may call a credential-less façade, and the user they act as:"
        " <façade>:<cidr>,...@<user>;... or none",
    ),
)  # fmt: skip
_OPTION = {option.field: option for option in _OPTIONS}


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """One process of the stack.

    Attributes:
        name: Display name, also the stem of its log file.
        module: Run as ``python -m <module> <args...>``.
        args: Extra command-line arguments.
        health_slot: Offset from the health port base; None for the gateway, which serves the API.
        is_worker: A worker agent: gets the API's URL and keeps its credentials and work in the data dir.
    """

    name: str
    module: str
    args: tuple[str, ...] = ()
    health_slot: int | None = 0
    is_worker: bool = False

    def command(self, python: str) -> list[str]:
        """The argv that starts this service with interpreter ``python``."""
        return [python, "-m", self.module, *self.args]


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(name="scheduler", module="conveyor_scheduler", health_slot=0),
    ServiceSpec(name="gateway", module="conveyor_gateway", health_slot=None),
    ServiceSpec(name="log-collector", module="conveyor_logs", health_slot=1),
    ServiceSpec(name="hook-dispatcher", module="conveyor_hooks", health_slot=2),
)
# One local worker with the labels of this machine; its credentials are saved in the data dir.
LOCAL_WORKER_NAME = "local"
LOCAL_WORKER_CAPACITY = 4
WORKERS: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        name="worker", module="conveyor_cli",
        args=("worker", "--name", LOCAL_WORKER_NAME, "--capacity", str(LOCAL_WORKER_CAPACITY)),
        health_slot=3, is_worker=True,
    ),
)  # fmt: skip
STACK: tuple[ServiceSpec, ...] = SERVICES + WORKERS


@dataclass(frozen=True, kw_only=True)
class PortClaim:
    """A port something in the stack will listen on, and how the user can change it."""

    port: int
    host: str
    role: str
    setting: str


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """Add a flag for each option; one not given falls back to its variable, then its default."""
    for option in _OPTIONS:
        parser.add_argument(
            option.flag,
            dest=option.field,
            default=None,
            metavar=option.field.split("_")[-1].upper(),
            help=f"{option.help} (env {option.env}, default {option.default})",
        )


def _pick(option: _Option, args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, str]:
    """The value and where it came from: the flag, else the environment variable, else the default."""
    flag_value: str | None = getattr(args, option.field, None)
    if flag_value is not None:
        return flag_value, option.flag
    env_value = environ.get(option.env, "")
    if env_value != "":
        return env_value, option.env
    return option.default, "the default"


def _port(value: str, source: str, *, highest: int = 65535) -> int:
    try:
        port = int(value)
    except ValueError:
        port = 0
    if not 1 <= port <= highest:
        raise OptionError(f"{source} must be a port number from 1 to {highest}, got {value!r}")
    return port


def _sync_policy(value: str, source: str) -> str:
    if value != "always" and not re.fullmatch(r"\d+(ms|s|m|h)", value):
        raise OptionError(f"{source} must be always or an interval such as 2s or 500ms, got {value!r}")
    return value


def resolve_options(args: argparse.Namespace, environ: Mapping[str, str], cwd: Path) -> DevOptions:
    """Resolve every option: flag, then environment variable, then default.

    Raises:
        OptionError: A port is not a number in range.
    """
    values = {option.field: _pick(option, args, environ) for option in _OPTIONS}
    data_dir = Path(values["data_dir"][0]).expanduser()
    last_slot = max(spec.health_slot or 0 for spec in STACK)
    return DevOptions(
        data_dir=data_dir if data_dir.is_absolute() else cwd / data_dir,
        bind=values["bind"][0],
        api_port=_port(*values["api_port"]),
        nats_port=_port(*values["nats_port"]),
        pg_port=_port(*values["pg_port"]),
        health_port_base=_port(*values["health_port_base"], highest=65535 - last_slot),
        nats_sync=_sync_policy(*values["nats_sync"]),
        compat_ports=_compat_ports(*values["compat_ports"]),
        compat_trust="" if values["compat_trust"][0] == "none" else values["compat_trust"][0],
    )


def _compat_ports(value: str, source: str) -> tuple[tuple[str, int], ...]:
    if value == "none":
        return ()
    pairs = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        name, _, port = part.partition("=")
        pairs.append((name.strip(), _port(port.strip(), f"{source} ({part})")))
    return tuple(pairs)


def http_port(spec: ServiceSpec, options: DevOptions) -> int:
    """The HTTP port of a service: the API port for the gateway, its health port for the others."""
    if spec.health_slot is None:
        return options.api_port
    return options.health_port_base + spec.health_slot


def port_claims(options: DevOptions, services: Sequence[ServiceSpec] = STACK) -> list[PortClaim]:
    """Every port the stack will listen on, infrastructure first."""
    claims = [
        PortClaim(port=options.nats_port, host=INFRA_HOST, role="nats-server", setting=_OPTION["nats_port"].setting),
        PortClaim(port=options.pg_port, host=INFRA_HOST, role="PostgreSQL", setting=_OPTION["pg_port"].setting),
    ]  # fmt: skip
    for name, port in options.compat_ports:
        claims.append(
            PortClaim(port=port, host=options.bind, role=f"the {name} façade", setting=_OPTION["compat_ports"].setting)
        )
    for spec in services:
        is_api = spec.health_slot is None
        claims.append(
            PortClaim(
                port=http_port(spec, options),
                host=options.bind,
                role=f"the HTTP API ({spec.name})" if is_api else f"the {spec.name} health endpoint",
                setting=_OPTION["api_port" if is_api else "health_port_base"].setting,
            )
        )
    return claims


def duplicate_port_message(claims: Sequence[PortClaim]) -> str | None:
    """Say which two parts of the stack were given the same port, if any."""
    seen: dict[int, PortClaim] = {}
    for claim in claims:
        other = seen.setdefault(claim.port, claim)
        if other is not claim:
            return (
                f"port {claim.port} is configured for both {other.role} and {claim.role}; "
                f"change one of them ({other.setting}; {claim.setting})"
            )
    return None


def port_in_use_error(claim: PortClaim) -> PortInUseError:
    """The error for a taken port: the port, its role and the flag or variable that changes it."""
    message = (
        f"port {claim.port} on {claim.host} is already in use, but {claim.role} needs it; "
        f"choose another with {claim.setting}"
    )
    return PortInUseError(claim.port, host=claim.host, wanted_by=claim.role, setting=claim.setting, message=message)


def check_ports(claims: Sequence[PortClaim], is_free: Callable[[str, int], bool] = is_port_free) -> None:
    """Raise `PortInUseError` for the first claimed port that is taken.

    Raises:
        PortInUseError: A port is taken.
    """
    for claim in claims:
        if not is_free(claim.host, claim.port):
            raise port_in_use_error(claim)


def service_env(
    spec: ServiceSpec,
    options: DevOptions,
    *,
    nats_url: str,
    database_url: str,
    parent: Mapping[str, str],
) -> dict[str, str]:
    """The environment of a service process: the parent's, overridden by the Conveyor contract.

    A worker gets only what a worker needs: the API's URL and where its credentials (saved by
    the stack, see ``local_worker``) and work are. No ``CONVEYOR_*`` of the parent (a token, the
    database or NATS URL) reaches it, since what a worker holds its jobs may read (issue 13).
    """
    env = {
        **parent,
        "PYTHONUNBUFFERED": "1",
        "CONVEYOR_LOG_JSON": "1",
    }
    if spec.is_worker:
        return {k: v for k, v in env.items() if _worker_may_inherit(k)} | {
            "CONVEYOR_LOG_JSON": "1",
            "CONVEYOR_URL": api_url(options),
            "CONVEYOR_WORKER_HEALTH_PORT": str(http_port(spec, options)),
            "CONVEYOR_WORKER_CREDENTIALS": str(worker_credentials(spec, options)),
            "CONVEYOR_WORKER_DIR": str(options.data_dir / spec.name / "work"),
        }
    return env | {
        "CONVEYOR_NATS_URL": nats_url,
        "CONVEYOR_DATABASE_URL": database_url,
        "CONVEYOR_BIND": options.bind,
        "CONVEYOR_HTTP_PORT": str(http_port(spec, options)),
        "CONVEYOR_COMPAT_PORTS": ",".join(f"{name}={port}" for name, port in options.compat_ports),
        "CONVEYOR_COMPAT_TRUST": options.compat_trust,
    }


def _worker_may_inherit(name: str) -> bool:
    """The parent's variables a worker gets: all but ``CONVEYOR_*`` (a token, URLs of the
    infrastructure), except the worker's own options (``CONVEYOR_WORKER_LABELS``, ...)."""
    return not name.startswith("CONVEYOR_") or name.startswith("CONVEYOR_WORKER_") or name == "CONVEYOR_RECIPE_HANDLER"


def worker_credentials(spec: ServiceSpec, options: DevOptions) -> Path:
    """Where a worker of the stack keeps its id and secret."""
    return options.data_dir / spec.name / "credentials.json"


def api_url(options: DevOptions) -> str:
    """The base URL of the HTTP API as a local client reaches it."""
    return f"http://{url_host(options.bind)}:{options.api_port}"


def _facade_lines(options: DevOptions) -> list[str]:
    """Where each façade answers, and who may call the credential-less ones without a token."""
    if not FACADE_PATHS:
        return []
    api = api_url(options)
    own = dict(options.compat_ports)
    lines = ["", "Façades (the seed systems' APIs):"]
    for name, path in FACADE_PATHS:
        port = f"   and http://{url_host(options.bind)}:{own[name]}/" if name in own else ""
        lines.append(f"  {name:<13} {api}{path}{port}")
    trust = options.compat_trust.replace(";", "; ") or "none"
    lines.append(f"  without a token (--compat-trust): {trust}")
    return lines


def banner(options: DevOptions, *, pg_data_dir: Path, services: Sequence[ServiceSpec] = STACK) -> str:
    """The text printed once the stack is ready: where things are and how to submit a first job."""
    api = api_url(options)
    body = '{"project":"demo","title":"hello","command":"echo hello"}'
    auth = '-H "Authorization: Bearer $TOKEN"'
    logs = options.data_dir / "logs"
    names = ", ".join(["nats", "postgres", *(spec.name for spec in services)])
    pg_note = "" if pg_data_dir == options.data_dir / "postgres" else f" (PostgreSQL data: {pg_data_dir})"
    return "\n".join([
        "",
        f"Conveyor is running. API: {api}   docs: {api}/docs   dashboard: {api}/ui/",
        f"  data  {options.data_dir}{pg_note}",
        f"  logs  {logs}/<name>.log  ({names})",
        f"  nats  nats://{INFRA_HOST}:{options.nats_port}, one user per process (passwords in"
        f" {options.data_dir / 'nats-users.json'}; `subscriber` reads events only); fsync: {options.nats_sync}",
        *_facade_lines(options),
        "",
        "Submit a first job, then read it back with the id it returns (TOKEN: an API token, below on first start):",
        f"  curl -s -X POST {api}/v1/jobs {auth} -H 'content-type: application/json' -d '{body}'",
        f"  curl -s {auth} {api}/v1/jobs/<id>",
        "",
        "or with the command line (the local worker runs it):",
        f"  export CONVEYOR_URL={api} CONVEYOR_TOKEN=$TOKEN",
        "  .venv/bin/conveyor submit --follow -- echo hello",
        "  .venv/bin/conveyor jobs ls",
        "",
        "Press Ctrl-C to stop everything.",
    ])  # fmt: skip
