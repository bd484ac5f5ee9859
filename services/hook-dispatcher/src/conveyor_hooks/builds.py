"""builds.sr.ht triggers (issue 17), pure: the job's tasks as sourcehut shows them, folded from the
stream, and what a trigger sends: sourcehut's job JSON (webhook) or its email.

The fold is kept only for jobs that carry a builds trigger. A build's number is the stream
sequence of its ``JobSubmitted`` (its ``submitted_seq``), as the façade numbers it.
"""

from email.message import EmailMessage
from typing import Any, Final
from urllib.parse import quote

import msgspec
from msgspec.structs import replace

from conveyor_events import (
    BuildsTrigger,
    JobAssigned,
    JobEdited,
    JobEvent,
    JobResetRequested,
    JobSubmitted,
    JobTaskReported,
    ManifestPayload,
    Payload,
)

from .snapshot import JobSnapshot

SIGNED: Final = "builds:ed25519"
"""The ``secret`` of a builds webhook delivery: sign it with the instance's Ed25519 key."""
EMAIL: Final = "builds:email"
"""The ``secret`` of a builds email delivery: its body is the message, sent over SMTP."""

# builds.sr.ht's words for Conveyor's states (the façade's states.py holds the whole map; the
# dispatcher may not import the gateway, and a trigger only sees a job that ended).
_JOB_WORDS: Final = {"succeeded": "success", "failed": "failed", "timed_out": "timeout", "cancelled": "cancelled"}
_TASK_WORDS: Final = {"succeeded": "success", "failed": "failed", "running": "running", "skipped": "skipped"}
_encoder: Final = msgspec.json.Encoder()


class BuildsFold(msgspec.Struct, kw_only=True, frozen=True):
    """A build's number, its tasks (name and Conveyor state, in order) and its runner."""

    number: int
    tasks: tuple[tuple[str, str], ...] = ()
    runner: str | None = None
    members: tuple[str, ...] = ()  # a job group's builds (job ids), in order


def _pending(payload: Payload | None) -> tuple[tuple[str, str], ...]:
    return tuple((t.name, "pending") for t in payload.tasks) if isinstance(payload, ManifestPayload) else ()


def fold(current: BuildsFold | None, event: JobEvent, seq: int) -> BuildsFold | None:
    """The fold after ``event`` (at stream sequence ``seq``); None for a job with no builds trigger."""
    if isinstance(event, JobSubmitted):
        if not any(t.builds is not None for t in event.triggers):
            return None
        return BuildsFold(number=seq, tasks=_pending(event.payload), members=event.depends_on)
    if current is None:
        return None
    match event:
        case JobTaskReported(task=task):
            tasks = tuple((name, task.state if name == task.name else state) for name, state in current.tasks)
            return replace(current, tasks=tasks)
        case JobAssigned(worker_id=worker_id):
            return replace(current, runner=worker_id)
        case JobResetRequested():
            return replace(current, tasks=tuple((name, "pending") for name, _ in current.tasks))
        case JobEdited(payload=payload) if payload is not None:
            return replace(current, tasks=_pending(payload))
        case _:
            return current


def job_word(state: str) -> str:
    return _JOB_WORDS.get(state, state)


def task_word(state: str, job_state: str) -> str:
    """A task skipped after a failure stays ``pending`` as sourcehut shows it (``skipped`` is for
    a build ended early by ``complete-build``)."""
    if state == "skipped" and job_state != "succeeded":
        return "pending"
    return _TASK_WORDS.get(state, "pending")


def _log_url(origin: str, number: int, task: str | None = None) -> str:
    return f"{origin}logs/{number}/{quote(task, safe='')}/log" if task else f"{origin}logs/{number}/log"


def job_document(f: BuildsFold, snap: JobSnapshot, trigger: BuildsTrigger) -> dict[str, Any]:
    """sourcehut's trigger payload: ``{id, status, setup_log, tasks[], note, runner, owner}``."""
    return {
        "id": f.number,
        "status": job_word(snap.state),
        "setup_log": _log_url(trigger.origin, f.number),
        "tasks": [
            {"name": name, "status": task_word(state, snap.state), "log": _log_url(trigger.origin, f.number, name)}
            for name, state in f.tasks
        ],
        "note": trigger.note or None,
        "runner": f.runner,
        "owner": {"canonical_name": f"~{trigger.owner_name}", "name": trigger.owner_name},
    }


def webhook_body(f: BuildsFold, snap: JobSnapshot, trigger: BuildsTrigger) -> bytes:
    return _encoder.encode(job_document(f, snap, trigger))


def email_body(f: BuildsFold, snap: JobSnapshot, trigger: BuildsTrigger) -> bytes:
    """The email as builds.sr.ht writes it: ``[tags] build <status>``, a line per task (✓/✗), and
    where the job is; without ``From`` (the dispatcher's setting, added when it is sent)."""
    status = job_word(snap.state)
    tags = "/".join(snap.tags)
    message = EmailMessage()
    message["Subject"] = f"[{tags}] build {status}" if tags else f"build {status}"
    message["To"] = trigger.to
    if trigger.cc:
        message["Cc"] = trigger.cc
    if trigger.in_reply_to:
        message["In-Reply-To"] = trigger.in_reply_to
    marks = {"success": "✓", "failed": "✗"}
    lines = [f"{marks.get(task_word(state, snap.state), '-')} {name}" for name, state in f.tasks]
    job_url = f"{trigger.origin}~{trigger.owner_name}/job/{f.number}"
    text = f"Build #{f.number} {status}: {job_url}\n\n" + "\n".join(lines) + "\n"
    if trigger.note:
        text += f"\n{trigger.note}\n"
    message.set_content(text)
    return bytes(message)


def group_outcome(states: list[str]) -> str | None:
    """A job group's status once every build ended (``success`` if all succeeded), else None."""
    if not states or any(s not in _JOB_WORDS for s in states):
        return None
    return "success" if all(s == "succeeded" for s in states) else "failed"


def group_fires(condition: str, outcome: str) -> bool:
    return condition == "always" or (condition == "success") == (outcome == "success")


def group_email_body(group_number: int, trigger: BuildsTrigger, states: list[str]) -> bytes:
    """The email of a job group that ended: a line per build (✓/✗ and its number)."""
    outcome = group_outcome(states) or "running"
    message = EmailMessage()
    message["Subject"] = f"job group #{group_number} {outcome}"
    message["To"] = trigger.to
    if trigger.cc:
        message["Cc"] = trigger.cc
    if trigger.in_reply_to:
        message["In-Reply-To"] = trigger.in_reply_to
    marks = {"success": "✓", "failed": "✗"}
    base = f"{trigger.origin}~{trigger.owner_name}/job/"
    lines = [
        f"{marks.get(job_word(state), '✗')} #{number} {job_word(state)}: {base}{number}"
        for number, state in zip(trigger.jobs, states, strict=False)
    ]
    text = f"Job group #{group_number} {outcome}\n\n" + "\n".join(lines) + "\n"
    if trigger.note:
        text += f"\n{trigger.note}\n"
    message.set_content(text)
    return bytes(message)
