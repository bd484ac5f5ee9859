"""``conveyor events tail``: Conveyor's events as they happen, from the API's SSE stream or, with
``--nats``, from ``EVENTS`` through a durable consumer (``conveyor_client.subscribe``)."""

import argparse
import asyncio
import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec
import nats

from conveyor_client import Client
from conveyor_client.event_stream import stream_events
from conveyor_client.received import ReceivedEvent
from conveyor_client.subscriber import Start, subscribe

from .commands import Subparsers
from .leaf import add_leaf


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor events`` and its subcommands."""
    parser = subparsers.add_parser(
        "events", help="follow Conveyor's events as they happen",
        description="Conveyor's events. `conveyor events <command> --help` for each command.",
    )  # fmt: skip
    commands = parser.add_subparsers(title="commands", metavar="<command>", required=True)
    tail = add_leaf(
        commands, "tail", tail_events,
        help="print events as they are appended (from the API's SSE stream, or from NATS with --nats)",
        description=(
            "Print events as they are appended: `seq time type id` per line, or one JSON object per "
            "line with --json. Over the API by default (job and worker events the token may read); "
            "with --nats, straight from the EVENTS stream through a durable consumer."
        ),
    )  # fmt: skip
    tail.add_argument(
        "--type", dest="types", action="append", default=[], metavar="TYPE",
        help="only this tag (job.succeeded) or pattern (job.*); repeat for more",
    )  # fmt: skip
    tail.add_argument("--job", metavar="JOB_ID", help="only this job's events")
    tail.add_argument("--worker", metavar="WORKER_ID", help="only this worker's events")
    tail.add_argument("--project", dest="projects", action="append", default=[], metavar="NAME",
                      help="only events of jobs in this project; repeat for more (needs --nats)")  # fmt: skip
    tail.add_argument("--since", type=datetime.fromisoformat, metavar="TIME",
                      help="begin at this RFC 3339 time (default: new events only)")  # fmt: skip
    tail.add_argument("--after", type=int, metavar="SEQ", help="begin after this stream sequence")
    tail.add_argument("--count", type=int, metavar="N", help="stop after N events")
    tail.add_argument(
        "--nats", metavar="URL", default=os.environ.get("CONVEYOR_NATS_URL"),
        help="read from NATS at URL (nats://user:password@host:4222) [env CONVEYOR_NATS_URL]",
    )  # fmt: skip
    tail.add_argument(
        "--name", metavar="NAME",
        help="with --nats: a durable consumer to resume from (kept on the server; a user with "
        "subscriber_role(NAME) must give NAME); default: a temporary one, deleted at the end",
    )  # fmt: skip


def _start(args: argparse.Namespace) -> Start:
    if args.after is not None:
        return Start.after(args.after)
    if args.since is not None:
        return Start.at(args.since)
    return Start.new()


def _line(event: ReceivedEvent, as_json: bool) -> str:
    if as_json:
        doc: dict[str, Any] = {
            "seq": event.seq,
            "type": event.type,
            "aggregate": event.aggregate,
            "aggregate_id": event.aggregate_id,
            "occurred_at": event.occurred_at,
            "event": event.data,
        }
        return msgspec.json.encode(doc).decode()
    when = event.occurred_at.isoformat(timespec="seconds") if event.occurred_at else "-"
    return f"{event.seq:>8}  {when}  {event.type:<24} {event.aggregate_id}"


def _wanted(event: ReceivedEvent, args: argparse.Namespace) -> bool:
    if args.job and not (event.aggregate in ("job", "progress", "access") and event.aggregate_id == args.job):
        return False
    return not (args.worker and not (event.aggregate == "worker" and event.aggregate_id == args.worker))


async def _print(events: AsyncIterator[ReceivedEvent], args: argparse.Namespace) -> None:
    printed = 0
    async for event in events:
        if _wanted(event, args):
            sys.stdout.write(_line(event, args.json) + "\n")
            sys.stdout.flush()
            printed += 1
        await event.ack()
        if args.count is not None and printed >= args.count:
            return


async def _from_nats(args: argparse.Namespace) -> None:
    nc = await nats.connect(args.nats, name="conveyor events tail", connect_timeout=5, max_reconnect_attempts=-1)
    name = args.name or f"conveyor-tail-{secrets.token_hex(6)}"
    events = subscribe(nc, name, types=args.types, projects=args.projects, start=_start(args))
    try:
        async with events:
            await _print(aiter(events), args)
    finally:
        if args.name is None:
            await events.unsubscribe()
        await nc.close()


def tail_events(client: Client, args: argparse.Namespace) -> int:
    if args.projects and not args.nats:
        print("conveyor: --project needs --nats (the API's stream has no project filter)", file=sys.stderr)
        return 2
    if args.nats:
        run = _from_nats(args)
    else:
        stream = stream_events(
            client.config.url, token=client.config.token, types=args.types, job=args.job, worker=args.worker,
            since=args.since, after=args.after,
        )  # fmt: skip
        run = _print(stream, args)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends a tail
        asyncio.run(run)
    return 0
