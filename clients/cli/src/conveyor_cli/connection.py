"""The connection flags every API command shares, and the client they make."""

import argparse
import sys

from conveyor_client import ClientConfig, ConfigError, load_config


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """``--url`` and ``--token``; both fall back to the environment, then the config file."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--url", default=None,
        help="the Conveyor API (env CONVEYOR_URL, then `url` in ~/.config/conveyor/config.toml, "
        "default http://127.0.0.1:8080)",
    )  # fmt: skip
    group.add_argument(
        "--token", default=None,
        help="API token, sent as Authorization: Bearer (env CONVEYOR_TOKEN, then `token` in the config file)",
    )  # fmt: skip


def resolve_connection(args: argparse.Namespace) -> ClientConfig | None:
    """The resolved settings, or None after printing what is wrong with them."""
    try:
        return load_config(url=args.url, token=args.token)
    except ConfigError as exc:
        print(f"conveyor: error: {exc}", file=sys.stderr)
        return None
