"""``conveyor workers``: list, show, pause, resume, drain and delete workers."""

import argparse
from datetime import UTC, datetime

from conveyor_client import Client, Worker

from .commands import Subparsers
from .leaf import add_leaf
from .render import ago, print_fields, print_json, print_table, shown, styled

ACTIONS = {
    "pause": "pause a worker: it gets nothing new, and the runs it holds go back to the queue",
    "resume": "let a paused or draining worker take jobs again",
    "drain": "let a worker finish what it holds, then give it nothing new",
}


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor workers`` and its subcommands."""
    parser = subparsers.add_parser(
        "workers", help="list, show, pause, resume, drain, delete workers",
        description="Read and act on workers. `conveyor workers <command> --help` for each command.",
    )  # fmt: skip
    commands = parser.add_subparsers(title="commands", metavar="<command>", required=True)
    ls = add_leaf(commands, "ls", list_workers, help="list workers, newest first")
    ls.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    ls.add_argument("--cursor", help="the next page, as printed after the previous one")
    show = add_leaf(commands, "show", show_worker, help="show one worker")
    show.add_argument("worker_id", metavar="WORKER")
    for action, text in ACTIONS.items():
        leaf = add_leaf(commands, action, act_on_worker, help=text)
        leaf.add_argument("worker_id", metavar="WORKER")
        leaf.set_defaults(action=action)
    delete = add_leaf(commands, "delete", delete_worker, help="delete a worker (its credentials stop working)")
    delete.add_argument("worker_id", metavar="WORKER")


def worker_row(worker: Worker, now: datetime) -> list[str]:
    """The columns of `conveyor workers ls` for one worker."""
    return [
        worker.id, worker.name, styled(worker.state), f"{len(worker.current_jobs)}/{worker.capacity}",
        ",".join(worker.labels) or "-", shown(worker.load, lambda x: f"{x:.2f}"), ago(worker.last_seen_at, now),
    ]  # fmt: skip


def list_workers(client: Client, args: argparse.Namespace) -> int:
    page = client.workers(limit=args.limit, cursor=args.cursor)
    if args.json:
        print_json(page)
        return 0
    now = datetime.now(UTC)
    columns = ("ID", "NAME", "STATE", "JOBS", "LABELS", "LOAD", "SEEN")
    print_table(columns, (worker_row(worker, now) for worker in page.items), empty="No workers.", flexible="LABELS")
    if page.next_cursor:
        print(f"more: conveyor workers ls --cursor {page.next_cursor}")
    return 0


def show_worker(client: Client, args: argparse.Namespace) -> int:
    worker = client.worker(args.worker_id)
    if args.json:
        print_json(worker)
        return 0
    now = datetime.now(UTC)
    memory = (
        f"{worker.memory_free_mb} MB free of {worker.memory_total_mb} MB" if worker.memory_total_mb is not None else "-"
    )
    print_fields(f"worker {worker.id}", [
        ("name", worker.name), ("state", styled(worker.state)), ("mode", worker.mode),
        ("labels", shown(worker.labels, ", ".join)), ("capacity", str(worker.capacity)),
        ("jobs", shown(worker.current_jobs, ", ".join)), ("load", shown(worker.load, lambda x: f"{x:.2f}")),
        ("memory", memory), ("last seen", f"{ago(worker.last_seen_at, now)} ago"),
        ("finished", str(worker.finished_count)), ("failed", str(worker.failed_count)),
    ])  # fmt: skip
    return 0


def act_on_worker(client: Client, args: argparse.Namespace) -> int:
    worker = client.worker_action(args.worker_id, args.action)
    if args.json:
        print_json(worker)
    else:
        print_fields(f"worker {worker.id}", [("mode", worker.mode), ("state", styled(worker.state))])
    return 0


def delete_worker(client: Client, args: argparse.Namespace) -> int:
    client.delete_worker(args.worker_id)
    if args.json:
        print_json({"id": args.worker_id, "deleted": True})
    else:
        print(f"worker {args.worker_id} deleted")
    return 0
