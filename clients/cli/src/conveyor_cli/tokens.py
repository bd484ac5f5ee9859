"""``conveyor tokens``: list, create and revoke your API tokens."""

import argparse
import sys
from datetime import UTC, datetime

from conveyor_client import Client, Token

from .commands import Subparsers
from .leaf import add_leaf
from .render import print_json, print_table, shown

SCOPES = ("jobs:read", "jobs:write", "workers", "hooks", "projects", "admin")


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor tokens`` and its subcommands."""
    parser = subparsers.add_parser(
        "tokens", help="list, create, revoke your API tokens",
        description="Your API tokens. `conveyor tokens <command> --help` for each command.",
    )  # fmt: skip
    commands = parser.add_subparsers(title="commands", metavar="<command>", required=True)
    add_leaf(commands, "ls", list_tokens, help="list your tokens, newest first (never the tokens themselves)")
    create = add_leaf(
        commands, "create", create_token,
        help="create a token with some of your token's scopes; it is printed only now",
    )  # fmt: skip
    create.add_argument("name", metavar="NAME", help="a label to recognise it by")
    create.add_argument(
        "--scope", dest="scopes", action="append", choices=SCOPES, required=True, metavar="SCOPE",
        help=f"a scope it gets (repeat for more): {', '.join(SCOPES)}",
    )  # fmt: skip
    create.add_argument("--expires-in", type=int, metavar="SECONDS", help="let it expire after SECONDS (60 or more)")
    revoke = add_leaf(commands, "revoke", revoke_token, help="revoke a token: it stops working within seconds")
    revoke.add_argument("token_id", metavar="TOKEN_ID")


def token_state(token: Token, now: datetime) -> str:
    """``revoked``, ``expired`` or ``active``."""
    if token.revoked_at is not None:
        return "[red]revoked[/red]"
    if token.expires_at is not None and token.expires_at <= now:
        return "[yellow]expired[/yellow]"
    return "[green]active[/green]"


def _when(moment: datetime | None) -> str:
    return shown(moment, lambda m: m.astimezone(UTC).strftime("%Y-%m-%d %H:%M"))


def list_tokens(client: Client, args: argparse.Namespace) -> int:
    page = client.tokens()
    if args.json:
        print_json(page)
        return 0
    now = datetime.now(UTC)
    rows = (
        [t.id, t.name, token_state(t, now), ",".join(t.scopes), _when(t.issued_at), _when(t.expires_at)]
        for t in page.items
    )
    print_table(("ID", "NAME", "STATE", "SCOPES", "ISSUED", "EXPIRES"), rows, empty="No tokens.", flexible="SCOPES")
    return 0


def create_token(client: Client, args: argparse.Namespace) -> int:
    issued = client.create_token(args.name, args.scopes, args.expires_in)
    if args.json:
        print_json(issued)
        return 0
    print(issued.token)
    print(
        f"token {issued.id} ({', '.join(issued.scopes)}): shown only now; send it as Authorization: Bearer"
        " or set CONVEYOR_TOKEN",
        file=sys.stderr,
    )
    return 0


def revoke_token(client: Client, args: argparse.Namespace) -> int:
    client.revoke_token(args.token_id)
    if args.json:
        print_json({"id": args.token_id, "revoked": True})
    else:
        print(f"token {args.token_id} revoked")
    return 0
