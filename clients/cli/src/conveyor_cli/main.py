"""The ``conveyor`` entry point: a parser with one subcommand group per module.

A command group module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` (a function from the parsed arguments to an exit status) as a parser default.
"""

import argparse
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from . import admin, dev_command, hooks, jobs, logs, projects, submit, tokens, worker, workers
from .commands import CommandGroup, Handler

# Command groups, in the order `conveyor --help` lists them. Add new modules here.
_COMMAND_GROUPS: tuple[CommandGroup, ...] = (
    submit, jobs, logs, workers, projects, hooks, tokens, worker, dev_command, admin,
)  # fmt: skip

_DESCRIPTION = "Conveyor: an event-sourced job scheduler over NATS JetStream and PostgreSQL."
_EPILOG = """\
Start here:
  conveyor dev                       run the whole stack and a worker here (what `make run` does)
  conveyor admin create-token        print a new admin API token
  conveyor submit -- echo hello      submit a job (--follow to watch it)
  conveyor jobs ls                   list jobs; `conveyor logs -f JOB` follows one
  conveyor worker --label linux      run jobs on this machine
  conveyor projects ls               list projects; `conveyor tokens ls` lists your tokens

Connection: --url/--token, else CONVEYOR_URL/CONVEYOR_TOKEN, else `url`/`token` in
~/.config/conveyor/config.toml (or $CONVEYOR_CONFIG), else http://127.0.0.1:8080.
Every listing takes --json for scripts; colours are used only on a terminal.

Run `conveyor <command> --help` for the options of a command."""


def _cli_version() -> str:
    try:
        return version("conveyor-cli")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """Build the ``conveyor`` parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="conveyor",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_cli_version()}")
    subparsers = parser.add_subparsers(title="commands", metavar="<command>", required=True)
    for group in _COMMAND_GROUPS:
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the chosen command, return its exit status."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
