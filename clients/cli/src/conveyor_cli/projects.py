"""``conveyor projects``: list, show, create, update, pause and resume projects."""

import argparse
import sys
from typing import Any

from conveyor_client import Client, Project

from .api_command import EXIT_USAGE
from .commands import Subparsers
from .leaf import add_leaf
from .render import print_fields, print_json, print_table, shown, styled

# (flag, body field, type, help) of the fields `create` and `update` set.
_FIELDS: tuple[tuple[str, str, Any, str], ...] = (
    ("--priority", "priority", int, "its jobs' priority among projects (higher first)"),
    ("--motd", "motd", str, "a message of the day shown to its workers"),
    ("--version", "version", str, "the version its workers should run"),
    ("--clone-url", "clone_url", str, "where its workers fetch the code"),
    ("--chain-target", "chain_target", str, "the project a finished job's chained job goes to"),
    ("--submit-rate", "submit_rate", float, "submissions per second (0: unlimited)"),
    ("--submit-burst", "submit_burst", int, "submissions at once (0: the rate rounded up)"),
    ("--assign-rate", "assign_rate", float, "assignments per second (0: unlimited)"),
    ("--assign-burst", "assign_burst", int, "assignments at once (0: the rate rounded up)"),
)
_VISIBILITIES = ("public", "private", "hidden")


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor projects`` and its subcommands."""
    parser = subparsers.add_parser(
        "projects", help="list, show, create, update, pause, resume projects",
        description="Read and change projects. `conveyor projects <command> --help` for each command.",
    )  # fmt: skip
    commands = parser.add_subparsers(title="commands", metavar="<command>", required=True)
    add_leaf(commands, "ls", list_projects, help="list the projects you may see, by name")
    show = add_leaf(commands, "show", show_project, help="show one project (its secrets with the secret role)")
    show.add_argument("name", metavar="NAME")
    create = add_leaf(commands, "create", create_project, help="create a project; you become its owner")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--visibility", choices=_VISIBILITIES, default="private", help="who sees it (default private)")
    create.add_argument("--paused", action="store_true", help="create it paused: its jobs wait until resumed")
    _add_fields(create)
    update = add_leaf(commands, "update", update_project, help="change a project's fields (the edit role)")
    update.add_argument("name", metavar="NAME")
    update.add_argument("--visibility", choices=_VISIBILITIES, help="who sees it")
    update.add_argument("--rotate-secret", action="store_true", help="give it a new project secret")
    update.add_argument("--rotate-webhook-secret", action="store_true", help="give it a new webhook secret")
    _add_fields(update)
    for action, paused, text in (
        ("pause", True, "pause a project: none of its queued jobs is handed out"),
        ("resume", False, "resume a paused project"),
    ):
        leaf = add_leaf(commands, action, set_paused, help=text)
        leaf.add_argument("name", metavar="NAME")
        leaf.set_defaults(paused=paused)


def _add_fields(parser: argparse.ArgumentParser) -> None:
    for flag, field, kind, text in _FIELDS:
        parser.add_argument(flag, dest=field, type=kind, help=text)


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    body = {field: getattr(args, field) for _, field, _, _ in _FIELDS if getattr(args, field) is not None}
    if getattr(args, "visibility", None) is not None:
        body["visibility"] = args.visibility
    return body


def project_row(project: Project) -> list[str]:
    """The columns of `conveyor projects ls` for one project."""
    state = styled("paused") if project.paused else "active"
    return [
        project.name, project.visibility, state, str(project.priority), project.owner,
        shown(project.your_roles, ",".join), shown(project.motd),
    ]  # fmt: skip


def list_projects(client: Client, args: argparse.Namespace) -> int:
    page = client.projects()
    if args.json:
        print_json(page)
        return 0
    columns = ("NAME", "VISIBILITY", "STATE", "PRIORITY", "OWNER", "YOUR ROLES", "MOTD")
    print_table(columns, (project_row(p) for p in page.items), empty="No projects.", flexible="MOTD")
    return 0


def _print_project(project: Project, as_json: bool) -> None:
    if as_json:
        print_json(project)
        return
    rates = (
        f"submit {project.submit_rate:g}/s (burst {project.submit_burst}), "
        f"assign {project.assign_rate:g}/s (burst {project.assign_burst})"
    )
    fields = [
        ("id", project.id), ("visibility", project.visibility),
        ("state", styled("paused") if project.paused else "active"), ("priority", str(project.priority)),
        ("owner", project.owner), ("your roles", shown(project.your_roles, ", ".join)), ("motd", shown(project.motd)),
        ("version", shown(project.version)), ("clone url", shown(project.clone_url)),
        ("chain target", shown(project.chain_target)), ("rate limits", rates),
    ]  # fmt: skip
    if project.secret is not None:
        fields.append(("secret", project.secret))
    if project.webhook_secret is not None:
        fields.append(("webhook secret", project.webhook_secret))
    print_fields(f"project {project.name}", fields)


def show_project(client: Client, args: argparse.Namespace) -> int:
    _print_project(client.project(args.name), args.json)
    return 0


def create_project(client: Client, args: argparse.Namespace) -> int:
    body = {"name": args.name, "visibility": args.visibility, "paused": args.paused, **_changes(args)}
    _print_project(client.create_project(body), args.json)
    return 0


def update_project(client: Client, args: argparse.Namespace) -> int:
    body: dict[str, Any] = _changes(args)
    if args.rotate_secret:
        body["rotate_secret"] = True
    if args.rotate_webhook_secret:
        body["rotate_webhook_secret"] = True
    if not body:
        print("conveyor: error: nothing to change: give at least one option (see --help)", file=sys.stderr)
        return EXIT_USAGE
    _print_project(client.update_project(args.name, body), args.json)
    return 0


def set_paused(client: Client, args: argparse.Namespace) -> int:
    _print_project(client.update_project(args.name, {"paused": args.paused}), args.json)
    return 0
