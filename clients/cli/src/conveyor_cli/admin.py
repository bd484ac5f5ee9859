"""``conveyor admin``: operator commands that talk to NATS directly (no API token needed).

``conveyor admin create-token`` appends a new admin token to the event stream and prints it
once; the active scheduler's identity projection makes it usable within a second. Whoever can
reach NATS can already write any event, so this grants nothing NATS access did not.
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

from conveyor_events import EventAppender, ensure_streams, events_stream_config
from conveyor_identity import IssuedToken, bootstrap_admin, issue_admin_token
from conveyor_runtime import connect_nats

from .commands import Subparsers
from .nats_users import admin_url

_DEFAULT_NATS = "nats://127.0.0.1:4222"


async def _with_appender(nats_url: str, first_start_only: bool, name: str) -> IssuedToken | None:
    nc = await connect_nats(nats_url, name="conveyor-admin", timeout_s=10)
    try:
        await ensure_streams(nc.jetstream(), [events_stream_config()])
        appender = EventAppender(nc)
        await appender.start()
        try:
            if first_start_only:
                return await bootstrap_admin(appender)
            return await issue_admin_token(appender, name)
        finally:
            await appender.close()
    finally:
        await nc.drain()


def bootstrap_token(nats_url: str) -> IssuedToken | None:
    """The first admin token when this is the first start, else None (``conveyor dev`` calls it)."""
    return asyncio.run(_with_appender(nats_url, True, "bootstrap"))


def _create_token(args: argparse.Namespace) -> int:
    try:
        url = admin_url(args.nats_url, Path(args.data_dir))  # a `conveyor dev` stack's operator user
        issued = asyncio.run(_with_appender(url, False, args.name))
    except Exception as exc:  # a CLI reports, it does not dump a traceback
        print(f"conveyor admin create-token: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    assert issued is not None
    print(f"admin token {issued.token_id} (shown only now; store it):", file=sys.stderr)
    print(issued.token)
    return 0


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor admin create-token``."""
    admin = subparsers.add_parser("admin", help="operator commands (talk to NATS directly)")
    sub = admin.add_subparsers(title="admin commands", metavar="<admin command>", required=True)
    create = sub.add_parser("create-token", help="issue a new admin API token and print it once")
    create.add_argument(
        "--nats-url",
        default=os.environ.get("CONVEYOR_NATS_URL", _DEFAULT_NATS),
        help=f"NATS server (CONVEYOR_NATS_URL, default {_DEFAULT_NATS})",
    )
    create.add_argument(
        "--data-dir",
        default=os.environ.get("CONVEYOR_DATA_DIR", ".data"),
        help="a `conveyor dev` stack's data dir, whose NATS operator credentials are used when the URL"
        " has none (CONVEYOR_DATA_DIR, default .data)",
    )
    create.add_argument("--name", default="operator", help="a label for the token (default: operator)")
    create.set_defaults(handler=_create_token)
