"""``conveyor worker``: run the worker agent on this machine."""

import argparse
import asyncio
import os
import shlex
import socket
import sys
from pathlib import Path

from .commands import Subparsers
from .connection import add_connection_flags, resolve_connection


def _default_dir() -> Path:
    return Path(os.environ.get("XDG_STATE_HOME", "") or Path.home() / ".local" / "state") / "conveyor"


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor worker`` to the parser."""
    env = os.environ
    parser = subparsers.add_parser(
        "worker",
        help="run jobs on this machine (the worker agent)",
        description=(
            "Register this machine as a worker (once; the id and secret are saved in a file only you can "
            "read), then lease jobs up to --capacity at a time and run them: command, manifest and recipe "
            "jobs. SIGTERM or Ctrl-C drains (nothing new is taken; running jobs get --grace seconds, then "
            "are stopped and given back); a second one stops at once."
        ),
    )
    add_connection_flags(parser)
    parser.add_argument("--name", default=env.get("CONVEYOR_WORKER_NAME") or socket.gethostname().split(".")[0],
                        help="the worker's name (env CONVEYOR_WORKER_NAME, default: the host name)")  # fmt: skip
    parser.add_argument("--label", "-l", action="append", default=None, dest="labels", metavar="LABEL",
                        help="a label jobs can require; repeat it (env CONVEYOR_WORKER_LABELS, a,b)")  # fmt: skip
    parser.add_argument("--capacity", "-c", type=int, default=int(env.get("CONVEYOR_WORKER_CAPACITY", "1")),
                        help="jobs run at once (env CONVEYOR_WORKER_CAPACITY, default 1)")  # fmt: skip
    parser.add_argument("--credentials", type=Path, default=None,
                        help="where the worker's id and secret are kept (env CONVEYOR_WORKER_CREDENTIALS, "
                        "default ~/.local/state/conveyor/worker-<name>.json)")  # fmt: skip
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where jobs run, one directory each (env CONVEYOR_WORKER_DIR, "
                        "default ~/.local/state/conveyor/work)")  # fmt: skip
    parser.add_argument("--recipe-handler", default=env.get("CONVEYOR_RECIPE_HANDLER", ""), metavar="COMMAND",
                        help="program that runs recipe jobs: gets the recipe as JSON on stdin and in "
                        "CONVEYOR_RECIPE, prints its answer as JSON (env CONVEYOR_RECIPE_HANDLER)")  # fmt: skip
    parser.add_argument("--grace", type=float, default=30.0, metavar="SECONDS",
                        help="on SIGTERM, how long running jobs may go on (default 30)")  # fmt: skip
    parser.add_argument("--kill-grace", type=float, default=5.0, metavar="SECONDS",
                        help="between SIGTERM and SIGKILL when a job's processes are stopped (default 5)")  # fmt: skip
    parser.add_argument("--heartbeat", type=float, default=10.0, metavar="SECONDS",
                        help="seconds between heartbeats (at most a third of a lease; default 10)")  # fmt: skip
    parser.add_argument("--lease-wait", type=float, default=10.0, metavar="SECONDS",
                        help="how long one lease call waits for a job (default 10)")  # fmt: skip
    parser.add_argument("--health-port", type=int, default=_int_or_none(env.get("CONVEYOR_WORKER_HEALTH_PORT")),
                        help="serve /healthz, /readyz on 127.0.0.1:PORT (env CONVEYOR_WORKER_HEALTH_PORT)")  # fmt: skip
    parser.add_argument("--output-buffer", type=int, default=8 * 2**20, metavar="BYTES",
                        help="a job's output held while the gateway is unreachable; past it, output is dropped "
                        "behind a marker (default 8 MiB)")  # fmt: skip
    parser.set_defaults(handler=run)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value else None


def run(args: argparse.Namespace) -> int:
    """Run the agent until it is drained."""
    from conveyor_client import ConveyorError
    from conveyor_worker import WorkerSettings, run_agent
    from conveyor_worker.credentials import CredentialsError

    from .logging_setup import configure_worker_logging

    connection = resolve_connection(args)
    if connection is None:
        return 2
    env = os.environ
    labels = (
        args.labels if args.labels is not None else [x for x in env.get("CONVEYOR_WORKER_LABELS", "").split(",") if x]
    )
    state = _default_dir()
    credentials = args.credentials or Path(
        env.get("CONVEYOR_WORKER_CREDENTIALS", "") or state / f"worker-{args.name}.json"
    )
    work_dir = args.work_dir or Path(env.get("CONVEYOR_WORKER_DIR", "") or state / "work")
    if args.capacity < 1:
        print("conveyor worker: error: --capacity must be at least 1", file=sys.stderr)
        return 2
    settings = WorkerSettings(
        url=connection.url, token=connection.token, name=args.name, labels=tuple(labels), capacity=args.capacity,
        credentials_file=credentials, work_dir=work_dir, recipe_handler=tuple(shlex.split(args.recipe_handler)),
        grace_s=args.grace, kill_grace_s=args.kill_grace, heartbeat_s=args.heartbeat, lease_wait_s=args.lease_wait,
        health_port=args.health_port, output_buffer_bytes=args.output_buffer,
        otlp_endpoint=env.get("CONVEYOR_OTLP_ENDPOINT", ""),
    )  # fmt: skip
    configure_worker_logging()
    try:
        asyncio.run(run_agent(settings))
    except (ConveyorError, CredentialsError) as exc:
        print(f"conveyor worker: error: {exc}", file=sys.stderr)
        return 1
    return 0
