"""``conveyor logs``: a job's output, or ``-f`` to follow it live until the job ends."""

import argparse
import sys

from conveyor_client import Client

from .api_command import with_client
from .commands import Subparsers
from .connection import add_connection_flags
from .follow import follow, stderr_is_terminal


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor logs``."""
    parser = subparsers.add_parser(
        "logs", help="print a job's output (-f: follow it live)",
        description="Print a job's output. With -f, keep printing as it arrives until the job ends.",
    )  # fmt: skip
    parser.add_argument("job_id", metavar="JOB")
    parser.add_argument("--follow", "-f", action="store_true", help="follow the output until the job ends")
    parser.add_argument("--offset", type=int, default=0, metavar="BYTES", help="start at this byte of the log")
    parser.add_argument("--task", metavar="NAME", help="only this manifest task's output")
    add_connection_flags(parser)
    parser.set_defaults(handler=with_client(show_logs))


def show_logs(client: Client, args: argparse.Namespace) -> int:
    if args.follow:
        final = follow(
            client, args.job_id, log_to=sys.stdout, show_progress=stderr_is_terminal(), task=args.task,
            offset=args.offset,
        )  # fmt: skip
        print(f"job {final.id} {final.state}", file=sys.stderr)
        return 0
    client.job(args.job_id)  # an unknown job is a clear error, not an empty log
    sys.stdout.buffer.write(client.read_log(args.job_id, args.offset, args.task))
    sys.stdout.flush()
    return 0
