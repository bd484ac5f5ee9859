"""Helpers to declare leaf subcommands that talk to the API."""

import argparse

from .api_command import ClientHandler, with_client
from .commands import Subparsers
from .connection import add_connection_flags


def add_leaf(
    subparsers: Subparsers, name: str, handler: ClientHandler, *, help: str, description: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand with ``--json`` and the connection flags that runs ``handler`` with a client."""
    parser = subparsers.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
    add_connection_flags(parser)
    parser.set_defaults(handler=with_client(handler))
    return parser
