"""Running a command against the API: the client from the connection flags, errors with their fix."""

import argparse
import sys
from collections.abc import Callable

from conveyor_client import Client, ConveyorError

from .connection import resolve_connection

EXIT_ERROR = 1
EXIT_USAGE = 2

ClientHandler = Callable[[Client, argparse.Namespace], int]


def with_client(handler: ClientHandler) -> Callable[[argparse.Namespace], int]:
    """Wrap a handler: resolve --url/--token, open a `Client`, turn API errors into a message and status 1."""

    def run(args: argparse.Namespace) -> int:
        config = resolve_connection(args)
        if config is None:
            return EXIT_USAGE
        try:
            with Client(config) as client:
                return handler(client, args)
        except ConveyorError as exc:
            print(f"conveyor: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            return 130

    return run
