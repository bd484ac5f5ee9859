"""What a leased job runs: steps, environment, working directory, artifact patterns. Pure."""

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from conveyor_client.models import CommandPayload, Lease, ManifestPayload, RecipePayload

COMPLETE_BUILD = "complete-build"


@dataclass(frozen=True)
class Step:
    """One process to run: ``argv`` with ``env``; ``task`` names a manifest task (None for a command)."""

    argv: tuple[str, ...]
    task: str | None = None
    stdin: bytes | None = None
    # Run instead when ``argv`` cannot be executed directly (a command run without its shell, see
    # ``direct_argv``): the shell then reports it as it always did (not found, not executable).
    fallback: tuple[str, ...] | None = None


# A command of plain words only (no quoting, expansion, globbing, redirection, operators or
# comments) means to the shell exactly what its words say: it can be executed without one.
_PLAIN_WORDS: Final = re.compile(r"[A-Za-z0-9_./:@%+,=-]+(?:[ \t]+[A-Za-z0-9_./:@%+,=-]+)*")
# First words the shell itself interprets (keywords, builtins that change its own state or differ
# from a program of the same name): such commands keep their shell.
_SHELL_WORDS: Final = frozenset(
    {
        ".",
        ":",
        "[",
        "[[",
        "alias",
        "bg",
        "break",
        "case",
        "cd",
        "command",
        "continue",
        "do",
        "done",
        "echo",
        "elif",
        "else",
        "esac",
        "eval",
        "exec",
        "exit",
        "export",
        "fc",
        "fg",
        "fi",
        "for",
        "function",
        "getopts",
        "hash",
        "if",
        "jobs",
        "kill",
        "local",
        "printf",
        "pwd",
        "read",
        "readonly",
        "return",
        "select",
        "set",
        "shift",
        "source",
        "test",
        "then",
        "time",
        "times",
        "trap",
        "type",
        "ulimit",
        "umask",
        "unalias",
        "unset",
        "until",
        "wait",
        "while",
    }
)


def direct_argv(command: str) -> tuple[str, ...] | None:
    """The argv to execute ``command`` without a shell, or None when it needs one.

    ``true``, ``make -j4 test`` or ``./build.sh --fast`` do not: the shell would only split them at
    blanks and execute the first word, so starting it costs a process and an exec for nothing.
    Anything else (quotes, ``$``, globs, redirections, ``;``/``&&``/pipes, a variable assignment
    or a shell builtin first, a newline) does.
    """
    stripped = command.strip(" \t")
    if not _PLAIN_WORDS.fullmatch(stripped):
        return None
    argv = tuple(stripped.split())
    if argv[0] in _SHELL_WORDS or "=" in argv[0]:
        return None
    return argv


@dataclass(frozen=True)
class Plan:
    """A job made concrete for this machine."""

    kind: str
    steps: tuple[Step, ...]
    env: dict[str, str]
    workdir: Path
    artifacts: tuple[str, ...] = ()
    timeout_s: float | None = None
    task_names: tuple[str, ...] = field(default=())


class PlanError(ValueError):
    """The job cannot run here (for example a recipe with no handler configured)."""


_HELD_BACK_PREFIXES = ("CONVEYOR_",)
_HELD_BACK = frozenset({"DATABASE_URL", "NATS_URL", "PGPASSWORD", "PGPASSFILE", "PGSERVICEFILE"})


def inherited_env(worker_env: Mapping[str, str]) -> dict[str, str]:
    """What a job inherits of the worker's own environment: everything but the worker's
    configuration (``CONVEYOR_*``: an API token, the database and NATS URLs of a stack started
    with the worker) and the usual places of database credentials. A job gets its
    ``CONVEYOR_*`` from ``job_env`` only, so it never holds more than its run token (issue 13)."""
    return {k: v for k, v in worker_env.items() if k not in _HELD_BACK and not k.startswith(_HELD_BACK_PREFIXES)}


def job_env(lease: Lease, *, api_url: str, worker_id: str, workdir: Path, run_token: str = "") -> dict[str, str]:
    """The ``CONVEYOR_*`` variables every job process gets (``CONVEYOR_RUN_TOKEN`` when minted)."""
    job = lease.job
    token = {"CONVEYOR_RUN_TOKEN": run_token} if run_token else {}
    return token | {
        "CONVEYOR_JOB_ID": job.id,
        "CONVEYOR_URL": api_url,
        "CONVEYOR_ATTEMPT": str(lease.attempt),
        "CONVEYOR_LEASE_ID": lease.lease_id,
        "CONVEYOR_WORKER_ID": worker_id,
        "CONVEYOR_PROJECT": job.project,
        "CONVEYOR_JOB_TITLE": job.title,
        "CONVEYOR_WORKDIR": str(workdir),
    }


def _default_token(env: dict[str, str], run_token: str) -> None:
    if run_token:
        env.setdefault("CONVEYOR_TOKEN", run_token)


def _resolve_workdir(job_dir: Path, requested: str | None) -> Path:
    if not requested:
        return job_dir
    path = Path(requested).expanduser()
    return path if path.is_absolute() else job_dir / path


def build_plan(
    lease: Lease,
    *,
    base_env: Mapping[str, str],
    api_url: str,
    worker_id: str,
    job_dir: Path,
    shell: str = "/bin/sh",
    recipe_handler: Sequence[str] = (),
    tools_dir: Path | None = None,
    run_token: str = "",
) -> Plan:
    """The plan of a leased job: the worker's environment, then the job's, then ``CONVEYOR_*``.

    ``run_token`` (``run_token.mint_run_token``) is the job's ``CONVEYOR_RUN_TOKEN``, and its
    ``CONVEYOR_TOKEN`` too unless the job's own env gives one: so ``conveyor submit`` in a job
    submits a follow-up of it, and nothing else.

    Raises:
        PlanError: The job has no payload, or is a recipe and no handler is configured.
    """
    payload = lease.job.payload
    timeout = float(lease.job.timeout_s) if lease.job.timeout_s else None
    env = inherited_env(base_env)
    if tools_dir is not None:  # where `complete-build` lives
        env["PATH"] = f"{tools_dir}:{env.get('PATH', '/usr/bin:/bin')}"
    match payload:
        case CommandPayload():
            workdir = _resolve_workdir(job_dir, payload.workdir)
            env |= payload.env | job_env(
                lease, api_url=api_url, worker_id=worker_id, workdir=workdir, run_token=run_token
            )
            _default_token(env, run_token)
            via_shell = (shell, "-c", payload.command)
            direct = direct_argv(payload.command)
            step = Step(argv=via_shell) if direct is None else Step(argv=direct, fallback=via_shell)
            return Plan(kind="command", steps=(step,), env=env, workdir=workdir, timeout_s=timeout)
        case ManifestPayload():
            env |= payload.environment | job_env(
                lease, api_url=api_url, worker_id=worker_id, workdir=job_dir, run_token=run_token
            )
            env["CONVEYOR_COMPLETE_FILE"] = str(job_dir / ".conveyor-complete")
            _default_token(env, run_token)
            # `set -e` as builds.sr.ht does: a task fails at its first failing command.
            steps = tuple(Step(argv=(shell, "-ec", task.script), task=task.name) for task in payload.tasks)
            names = tuple(task.name for task in payload.tasks)
            return Plan(
                kind="manifest", steps=steps, env=env, workdir=job_dir, artifacts=tuple(payload.artifacts),
                timeout_s=timeout, task_names=names,
            )  # fmt: skip
        case RecipePayload():
            if not recipe_handler:
                raise PlanError("this worker has no recipe handler (start it with --recipe-handler)")
            recipe_json = json.dumps(payload.recipe)
            env |= job_env(lease, api_url=api_url, worker_id=worker_id, workdir=job_dir, run_token=run_token)
            env["CONVEYOR_RECIPE"] = recipe_json
            _default_token(env, run_token)
            step = Step(argv=tuple(recipe_handler), stdin=recipe_json.encode())
            return Plan(kind="recipe", steps=(step,), env=env, workdir=job_dir, timeout_s=timeout)
        case None:
            raise PlanError("the job has no payload")


def complete_build_script(shell: str = "/bin/sh") -> str:
    """The ``complete-build`` command a manifest task calls to end the build early, successfully."""
    return f'#!{shell}\n: > "$CONVEYOR_COMPLETE_FILE"\nexit 0\n'
