"""``conveyor hooks``: create, list, show, update, enable, disable and delete webhooks; see their
deliveries and send one again."""

import argparse
from datetime import UTC, datetime

from conveyor_client import Client, Hook

from .commands import Subparsers
from .leaf import add_leaf
from .render import ago, print_fields, print_json, print_table, shown, styled


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor hooks`` and its subcommands."""
    parser = subparsers.add_parser(
        "hooks", help="create, list, show, change, delete webhooks; their deliveries",
        description="Webhooks of your jobs or of a project's. `conveyor hooks <command> --help` for each command.",
    )  # fmt: skip
    commands = parser.add_subparsers(title="commands", metavar="<command>", required=True)
    add_leaf(commands, "ls", list_hooks, help="list the hooks you may manage")
    create = add_leaf(commands, "create", create_hook, help="create a hook (its secret is shown only once)")
    create.add_argument("hook_url", metavar="URL", help="where to POST the signed events (https://...)")
    create.add_argument(
        "--event", dest="events", action="append", default=None, metavar="TYPE",
        help="an event type to send (job.succeeded, job.failed, job.* or *); repeat for more (default: job.*)",
    )  # fmt: skip
    create.add_argument("--project", help="a hook of this project's jobs (needs its edit role)")
    create.add_argument("--description", default="", help="a note for people")
    show = add_leaf(commands, "show", show_hook, help="show one hook")
    show.add_argument("hook_id", metavar="HOOK")
    update = add_leaf(commands, "update", update_hook, help="change a hook's url, events or description")
    update.add_argument("hook_id", metavar="HOOK")
    update.add_argument("--hook-url", dest="hook_url", help="the new target (--url is the API's)")
    update.add_argument("--event", dest="events", action="append", default=None, metavar="TYPE")
    update.add_argument("--description")
    for name, active, text in (("enable", True, "send again (re-enables a disabled hook)"),
                               ("disable", False, "stop sending (deliveries wait)")):  # fmt: skip
        leaf = add_leaf(commands, name, update_hook, help=text)
        leaf.add_argument("hook_id", metavar="HOOK")
        leaf.set_defaults(active=active, hook_url=None, events=None, description=None)
    delete = add_leaf(commands, "delete", delete_hook, help="delete a hook")
    delete.add_argument("hook_id", metavar="HOOK")
    deliveries = add_leaf(commands, "deliveries", list_deliveries, help="a hook's deliveries, newest first")
    deliveries.add_argument("hook_id", metavar="HOOK")
    deliveries.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    deliveries.add_argument("--cursor", help="the next page, as printed after the previous one")
    again = add_leaf(commands, "redeliver", redeliver, help="send a past delivery again (same webhook-id)")
    again.add_argument("hook_id", metavar="HOOK")
    again.add_argument("delivery_id", metavar="DELIVERY")


def _state(hook: Hook) -> str:
    return "active" if hook.active else ("disabled" if hook.disabled_reason else "paused")


def list_hooks(client: Client, args: argparse.Namespace) -> int:
    page = client.hooks()
    if args.json:
        print_json(page)
        return 0
    rows = (
        [h.id, h.url, ",".join(h.events), h.project or "-", styled(_state(h)), str(h.consecutive_failures)]
        for h in page.items
    )
    print_table(("ID", "URL", "EVENTS", "PROJECT", "STATE", "FAILURES"), rows, empty="No hooks.", flexible="URL")
    return 0


def _print_hook(hook: Hook) -> None:
    print_fields(f"hook {hook.id}", [
        ("url", hook.url), ("events", ", ".join(hook.events)), ("project", hook.project or "-"),
        ("state", styled(_state(hook))), ("failures in a row", str(hook.consecutive_failures)),
        ("disabled", shown(hook.disabled_reason, str)), ("description", hook.description or "-"),
    ])  # fmt: skip


def create_hook(client: Client, args: argparse.Namespace) -> int:
    hook = client.create_hook(
        args.hook_url, args.events or ["job.*"], project=args.project, description=args.description
    )
    if args.json:
        print_json(hook)
        return 0
    _print_hook(hook)
    print(f"secret: {hook.secret}  (shown only now: verify the webhook-signature header with it)")
    return 0


def show_hook(client: Client, args: argparse.Namespace) -> int:
    hook = client.hook(args.hook_id)
    if args.json:
        print_json(hook)
    else:
        _print_hook(hook)
    return 0


def update_hook(client: Client, args: argparse.Namespace) -> int:
    given = {"url": args.hook_url, "events": args.events, "description": args.description}
    given["active"] = getattr(args, "active", None)
    changes = {key: value for key, value in given.items() if value is not None}
    if not changes:
        raise SystemExit("conveyor hooks update: nothing to change; give --hook-url, --event or --description")
    hook = client.update_hook(args.hook_id, changes)
    if args.json:
        print_json(hook)
    else:
        _print_hook(hook)
    return 0


def delete_hook(client: Client, args: argparse.Namespace) -> int:
    client.delete_hook(args.hook_id)
    if args.json:
        print_json({"id": args.hook_id, "deleted": True})
    else:
        print(f"hook {args.hook_id} deleted")
    return 0


def list_deliveries(client: Client, args: argparse.Namespace) -> int:
    page = client.deliveries(args.hook_id, limit=args.limit, cursor=args.cursor)
    if args.json:
        print_json(page)
        return 0
    now = datetime.now(UTC)
    rows = []
    for d in page.items:
        last = d.attempts[-1] if d.attempts else None
        answer = "-" if last is None else (str(last.status) if last.status is not None else last.error or "-")
        rows.append([d.id, d.event_type, styled(d.status), str(len(d.attempts)), answer,
                     ago(last.attempted_at, now) if last else "-"])  # fmt: skip
    columns = ("ID", "EVENT", "STATUS", "ATTEMPTS", "LAST ANSWER", "LAST TRY")
    print_table(columns, rows, empty="No deliveries yet.", flexible="LAST ANSWER")
    if page.next_cursor:
        print(f"more: conveyor hooks deliveries {args.hook_id} --cursor {page.next_cursor}")
    return 0


def redeliver(client: Client, args: argparse.Namespace) -> int:
    queued = client.redeliver(args.hook_id, args.delivery_id)
    if args.json:
        print_json(queued)
    else:
        print(f"delivery {queued.id} queued again ({queued.status})")
    return 0
