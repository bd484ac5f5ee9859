"""``conveyor jobs``: list, show, explain and act on jobs."""

import argparse
from datetime import UTC, datetime

from conveyor_client import Client, Job

from .commands import Subparsers
from .leaf import add_leaf
from .render import ago, print_fields, print_json, print_table, shown, styled

ACTIONS = {
    "cancel": "ask a job to stop (a running one is killed on its worker)",
    "pause": "pause a job (not handed out; a running one is stopped and given back)",
    "resume": "lift a job's pause",
    "start": "start a job submitted with execute=false",
    "reset": "run a job again from scratch, whatever its state",
    "restart": "run a finished job again from scratch",
}


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor jobs`` and its subcommands."""
    parser = subparsers.add_parser(
        "jobs", help="list, show, explain, cancel, pause, resume, reset, restart jobs",
        description="Read and act on jobs. `conveyor jobs <command> --help` for each command.",
    )  # fmt: skip
    commands = parser.add_subparsers(title="commands", metavar="<command>", required=True)
    ls = add_leaf(commands, "ls", list_jobs, help="list jobs, newest first")
    ls.add_argument("--state", help="only jobs in this state (queued, running, failed, ...)")
    ls.add_argument("--project", help="only jobs of this project")
    ls.add_argument("--tag", help="only jobs with this tag")
    ls.add_argument("--limit", type=int, default=20, help="how many (1-500, default 20)")
    ls.add_argument("--cursor", help="the next page, as printed after the previous one")
    show = add_leaf(commands, "show", show_job, help="show one job")
    show.add_argument("job_id", metavar="JOB")
    explain = add_leaf(commands, "explain", explain_job, help="say why a job is not running (or how it ended)")
    explain.add_argument("job_id", metavar="JOB")
    for action, text in ACTIONS.items():
        leaf = add_leaf(commands, action, act_on_job, help=text)
        leaf.add_argument("job_id", metavar="JOB")
        if action == "cancel":
            leaf.add_argument("--reason", default="", help="why (kept with the job)")
        leaf.set_defaults(action=action)
    delete = add_leaf(commands, "delete", delete_job, help="remove a job from every view (a live run is stopped)")
    delete.add_argument("job_id", metavar="JOB")


def job_row(job: Job, now: datetime) -> list[str]:
    """The columns of `conveyor jobs ls` for one job."""
    progress = f" {job.progress:.0f}%" if job.progress is not None and job.state == "running" else ""
    return [
        job.id, styled(job.state) + progress, job.project, job.title or _payload_text(job), str(job.attempts),
        ago(job.created_at, now),
    ]  # fmt: skip


def _payload_text(job: Job) -> str:
    payload = job.payload
    if payload is None:
        return "-"
    text = getattr(payload, "command", None) or (
        ", ".join(task.name for task in payload.tasks) if hasattr(payload, "tasks") else "recipe"
    )
    return text if len(text) <= 40 else text[:39] + "…"


def list_jobs(client: Client, args: argparse.Namespace) -> int:
    page = client.jobs(state=args.state, project=args.project, tag=args.tag, limit=args.limit, cursor=args.cursor)
    if args.json:
        print_json(page)
        return 0
    now = datetime.now(UTC)
    columns = ("ID", "STATE", "PROJECT", "TITLE", "ATTEMPTS", "AGE")
    print_table(columns, (job_row(job, now) for job in page.items), empty="No jobs.", flexible="TITLE")
    if page.next_cursor:
        print(f"more: conveyor jobs ls --cursor {page.next_cursor}")
    return 0


def job_fields(job: Job, now: datetime) -> list[tuple[str, str]]:
    """The lines of `conveyor jobs show`."""
    return [
        ("state", styled(job.state) + (f" ({job.reason})" if job.reason else "")),
        ("project", job.project), ("title", shown(job.title)), ("runs", _payload_text(job)),
        ("labels", shown(job.labels, ", ".join)), ("tags", shown(job.tags, ", ".join)),
        ("priority", str(job.priority)), ("attempts", f"{job.attempts} of {job.max_retries + 1}"),
        ("worker", shown(job.worker_id)), ("exit code", shown(job.exit_code)),
        ("progress", shown(job.progress, lambda p: f"{p:.0f}%")), ("parent", shown(job.parent_id)),
        ("depends on", shown(job.depends_on, ", ".join)),
        ("created", f"{shown(job.created_at)} ({ago(job.created_at, now)} ago)"),
        ("started", shown(job.started_at)), ("finished", shown(job.finished_at)),
        *((f"task {task.name}", styled(task.state) + _exit(task.exit_code)) for task in job.tasks),
    ]  # fmt: skip


def _exit(code: int | None) -> str:
    return f" (exit code {code})" if code is not None else ""


def show_job(client: Client, args: argparse.Namespace) -> int:
    job = client.job(args.job_id)
    if args.json:
        print_json(job)
    else:
        print_fields(f"job {job.id}", job_fields(job, datetime.now(UTC)))
    return 0


def explain_job(client: Client, args: argparse.Namespace) -> int:
    explanation = client.explain(args.job_id)
    if args.json:
        print_json(explanation)
        return 0
    print_fields(f"job {explanation.job_id}: {styled(explanation.state)}", [("summary", explanation.summary)])
    print_table(("REASON", "DETAIL"), ((r.code, r.detail) for r in explanation.reasons), empty="")
    return 0


def act_on_job(client: Client, args: argparse.Namespace) -> int:
    body = {"reason": args.reason} if args.action == "cancel" and args.reason else None
    job = client.job_action(args.job_id, args.action, body)
    if args.json:
        print_json(job)
    else:
        print_fields(f"job {job.id}: {args.action} requested", [("state", styled(job.state))])
    return 0


def delete_job(client: Client, args: argparse.Namespace) -> int:
    client.delete_job(args.job_id)
    if args.json:
        print_json({"id": args.job_id, "deleted": True})
    else:
        print(f"job {args.job_id} deleted")
    return 0
