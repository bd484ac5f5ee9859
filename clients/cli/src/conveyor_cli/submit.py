"""``conveyor submit``: a job from a command, a manifest or a recipe; ``--follow`` watches it through."""

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from conveyor_client import Client
from conveyor_client.models import Accepted

from .api_command import EXIT_USAGE, with_client
from .commands import Subparsers
from .connection import add_connection_flags
from .follow import follow, stderr_is_terminal
from .jobs import job_fields
from .render import console, print_fields, print_json, styled
from .submission import SubmissionError, build_submission, manifest_job, parse_env, recipe_job

EPILOG = """\
examples:
  conveyor submit -- make -j4 test             several words are quoted and joined
  conveyor submit 'make && make install'       one word is a shell command as written
  conveyor submit --artifact 'out/*.tar.gz' -- ./build.sh
  conveyor submit --manifest .build.yml --follow
  conveyor submit --recipe tile.json --label gpu

With --follow, the exit status is 0 when the job succeeded and 1 otherwise."""


def register(subparsers: Subparsers) -> None:
    """Add ``conveyor submit``."""
    parser = subparsers.add_parser(
        "submit", help="submit a job: a shell command, a manifest file or a recipe",
        description="Submit a job. Give exactly one payload: a command, --manifest FILE or --recipe FILE.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the shell command (after --)")
    payload = parser.add_argument_group("payload")
    payload.add_argument("--manifest", "-m", metavar="FILE", help="builds.sr.ht-style YAML manifest ('-': stdin)")
    payload.add_argument("--recipe", metavar="FILE", help="recipe JSON for the workers' recipe handler ('-': stdin)")
    payload.add_argument("--env", "-e", action="append", default=[], metavar="NAME=VALUE", help="environment; repeat")
    payload.add_argument("--workdir", help="working directory of a command (default: a fresh one per run)")
    payload.add_argument("--artifact", "-a", action="append", default=[], metavar="GLOB",
                         help="collect files matching GLOB after the run; repeat")  # fmt: skip
    job = parser.add_argument_group("job")
    job.add_argument("--project", "-p", help="project (default: default)")
    job.add_argument("--title", "-t", help="a short title")
    job.add_argument("--note", help="free text kept with the job")
    job.add_argument("--tag", action="append", default=[], dest="tags", help="a tag; repeat")
    job.add_argument("--label", "-l", action="append", default=[], dest="labels",
                     help="a label the worker must have; repeat")  # fmt: skip
    job.add_argument("--priority", type=int, help="-1000 to 1000 (default 0)")
    job.add_argument("--timeout", type=int, dest="timeout_s", metavar="SECONDS", help="stop the job after this long")
    job.add_argument("--max-retries", type=int, help="retries after a failure (default 3)")
    job.add_argument("--lease", type=int, dest="lease_s", metavar="SECONDS", help="lease length (default 60)")
    job.add_argument("--dedupe-key", help="submit at most once per project with this key")
    job.add_argument("--depends-on", action="append", default=[], metavar="JOB", help="wait for this job; repeat")
    job.add_argument("--parent", metavar="JOB", help="the parent job")
    job.add_argument("--hold", action="store_true", help="keep the job pending until `conveyor jobs start`")
    out = parser.add_argument_group("output")
    out.add_argument("--follow", "-f", action="store_true", help="stream the log and wait for the job to end")
    out.add_argument("--json", action="store_true", help="print the job as JSON (with --follow: the final job)")
    add_connection_flags(parser)
    parser.set_defaults(handler=run)


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "stdin"
    try:
        return Path(path).read_text(), path
    except OSError as exc:
        raise SubmissionError(f"cannot read {path}: {exc.strerror}") from exc


def body_from_args(args: argparse.Namespace) -> dict[str, object]:
    """The job body the flags describe."""
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    manifest = manifest_job(*_read(args.manifest)) if args.manifest else None
    recipe = recipe_job(*_read(args.recipe)) if args.recipe else None
    fields = {
        "project": args.project, "title": args.title, "note": args.note, "tags": args.tags, "labels": args.labels,
        "priority": args.priority, "timeout_s": args.timeout_s, "max_retries": args.max_retries,
        "lease_s": args.lease_s, "dedupe_key": args.dedupe_key, "depends_on": args.depends_on,
        "parent": args.parent, "execute": False if args.hold else None,
    }  # fmt: skip
    return build_submission(
        command=command, manifest=manifest, recipe=recipe, artifacts=args.artifact, env=parse_env(args.env),
        workdir=args.workdir, fields=fields,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    try:
        body = body_from_args(args)
    except SubmissionError as exc:
        print(f"conveyor submit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return with_client(lambda client, _: _submit(client, args, body))(args)


def _submit(client: Client, args: argparse.Namespace, body: dict[str, object]) -> int:
    submitted = client.submit(body)
    if isinstance(submitted, Accepted) and not args.follow:
        if args.json:
            print_json(submitted)
        else:
            print(f"job {submitted.id} accepted (not visible yet): conveyor jobs show {submitted.id}")
        return 0
    job = submitted if not isinstance(submitted, Accepted) else client.job(submitted.id)
    if not args.follow:
        if args.json:
            print_json(job)
        else:
            print_fields(f"job {job.id} submitted", job_fields(job, datetime.now(UTC))[:4])
        return 0
    if not args.json:
        print(f"job {job.id} submitted; following it (Ctrl-C stops watching, not the job)", file=sys.stderr)
    final = follow(client, job.id, log_to=sys.stderr if args.json else sys.stdout, show_progress=stderr_is_terminal())
    if args.json:
        print_json(final)
    else:
        reason = f" ({final.reason})" if final.reason else ""
        exit_code = f", exit code {final.exit_code}" if final.exit_code is not None and not reason else ""
        console(stderr=True).print(f"job {final.id} {styled(final.state)}{reason}{exit_code}")
    return 0 if final.state == "succeeded" else 1
