"""The ``conveyor dev`` command: parse its options, check the ports, start `stack.LocalStack`.

Kept apart from ``dev.py`` (the pure options, service table and banner, which ``stack.py``
imports) so the modules import one another one way only: dev_command -> stack -> dev.
"""

import argparse
import os
import sys
from pathlib import Path

from conveyor_devstack import PortInUseError

from .commands import Subparsers
from .dev import (
    EXIT_USAGE,
    OptionError,
    add_option_arguments,
    check_ports,
    duplicate_port_message,
    port_claims,
    resolve_options,
)


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor dev`` to the parser."""
    parser = subparsers.add_parser(
        "dev",
        help="run nats-server, PostgreSQL and every service on this machine",
        description=(
            "Start an embedded nats-server and PostgreSQL, then the scheduler, gateway, log-collector, "
            "hook-dispatcher and one local worker, wait until each is ready and supervise them. "
            "Ctrl-C stops everything. Data survives restarts. "
            "Each option falls back to its environment variable, then its default."
        ),
    )
    add_option_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run ``conveyor dev``: check options and ports, then start and supervise the stack."""
    from .stack import LocalStack  # imported late: `conveyor --help` need not load httpx

    try:
        options = resolve_options(args, os.environ, Path.cwd())
        claims = port_claims(options)
        duplicate = duplicate_port_message(claims)
        if duplicate is not None:
            raise OptionError(duplicate)
        check_ports(claims)
    except (OptionError, PortInUseError) as exc:
        print(f"conveyor dev: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return LocalStack(options).run()
