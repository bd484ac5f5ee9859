"""coalition's job bodies in Conveyor's words: ``PUT /api/jobs`` (and ``/xmlrpc/addjob``) to a
``JobSubmission``, a ``POST /api/jobs`` attribute map to a ``JobEdit`` plus the commands and
dependencies it asks for, and a job back to coalition's document. Pure: the caller looks up the
parent and the dependencies."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from ...core.bodies import CommandView, JobEdit, JobSubmission, JobView
from ...core.seq_reader import TreeCounts
from .words import (
    DEFAULT_PROGRESS_PATTERN,
    PRIORITY_TAG,
    RETRY_TAG,
    USER_TAG,
    clamp_priority,
    coalition_priority,
    env_string,
    epoch,
    parse_affinity,
    parse_env,
    scheduler_priority,
    state_word,
    tag_value,
    with_tag,
)

DEFAULT_PRIORITY: Final = 1000  # coalition's default, clamped to 255 like every priority
MAX_TIMEOUT_S: Final = 30 * 86_400


class FormError(ValueError):
    """A coalition body Conveyor cannot take; the message says which field and why."""


class NewJob(msgspec.Struct, kw_only=True):
    """``PUT /api/jobs``; unknown fields are ignored, as coalition ignores them."""

    parent: int = 0
    title: str = ""
    command: str = ""
    dir: str = ""
    environment: str = ""
    state: str = "WAITING"
    paused: bool | int = False
    timeout: float = 0
    priority: int = DEFAULT_PRIORITY
    affinity: str = ""
    user: str = ""
    url: str = ""
    progress_pattern: str = ""
    dependencies: list[int] | str = msgspec.field(default_factory=list)
    retry: int = 0


def dependency_numbers(value: list[int] | str) -> list[int]:
    """``[1, 3]`` or ``"1,3"``."""
    if isinstance(value, str):
        try:
            return [int(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise FormError(f"dependencies: {value!r} is not a list of job ids") from None
    return list(value)


def top_priority(parent: JobView | None, own: int) -> int:
    """The priority of the top-level job above (or of the job itself at the top), read back from
    the parent's scheduler priority (``scheduler_priority`` keeps it in the band)."""
    if parent is None:
        return clamp_priority(own)
    return clamp_priority(parent.priority // 7 + 128)


def _timeout(value: float) -> int | None:
    if value < 0:
        raise FormError("timeout: seconds, 0 for none")
    return min(MAX_TIMEOUT_S, max(1, round(value))) if value > 0 else None


def _tags(user: str, priority: int, retry: int) -> list[str]:
    tags = [f"{PRIORITY_TAG}{clamp_priority(priority)}", f"{RETRY_TAG}{retry}"]
    return [*tags, f"{USER_TAG}{user}"] if user else tags


def submission(new: NewJob, *, project: str, parent: JobView | None, depends_on: list[str]) -> JobSubmission:
    """The Conveyor submission of ``new`` under ``parent`` (None: at the root).

    Raises:
        FormError: A field Conveyor cannot take (the message names it).
    """
    if parent is not None and parent.payload is not None:
        raise FormError(f"parent {new.parent} is not a group: it runs a command")
    if not 0 <= new.retry <= 100:
        raise FormError("retry: 0 to 100")
    if new.state.upper() not in ("WAITING", "PAUSED"):
        raise FormError(f"state: WAITING or PAUSED, not {new.state!r}")
    labels = list(dict.fromkeys([*(parent.labels if parent else []), *parse_affinity(new.affinity)]))
    top = top_priority(parent, new.priority)
    try:
        env = parse_env(new.environment)
    except ValueError as exc:
        raise FormError(f"environment: {exc}") from None
    held = new.state.upper() == "PAUSED" or bool(new.paused)
    body: dict[str, Any] = {
        "project": project,
        "title": new.title,
        "labels": labels,
        "tags": _tags(new.user, new.priority, new.retry),
        "priority": scheduler_priority(top, new.priority, is_top=parent is None),
        "parent": parent.id if parent else None,
        "depends_on": depends_on,
        "max_retries": new.retry,
        "timeout_s": _timeout(new.timeout),
        "execute": not held,
        "progress_pattern": new.progress_pattern or DEFAULT_PROGRESS_PATTERN,
        "url": new.url or None,
    }
    if new.command:
        body.update(command=new.command, workdir=new.dir or None, env=env)
    else:
        body["group"] = True
    try:
        return msgspec.convert(body, JobSubmission)
    except msgspec.ValidationError as exc:
        raise FormError(str(exc)) from None


_EDITABLE: Final = frozenset(
    {"title", "command", "dir", "environment", "priority", "affinity", "timeout", "retry", "url",
     "progress_pattern", "user", "state", "paused", "dependencies"}
)  # fmt: skip


@dataclass
class Change:
    """What one job's attribute map asks for: an edit, a command (pause, resume, start), dependencies."""

    edit: JobEdit | None = None
    command: str | None = None
    dependencies: list[int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _payload_edit(job: JobView, attrs: Mapping[str, Any], fields: dict[str, Any]) -> None:
    if not {"command", "dir", "environment"} & attrs.keys():
        return
    if job.payload is None:
        raise FormError("command, dir, environment: a group runs nothing")
    current = job.payload if isinstance(job.payload, CommandView) else CommandView(command="")
    try:
        env = parse_env(str(attrs["environment"])) if "environment" in attrs else current.env
    except ValueError as exc:
        raise FormError(f"environment: {exc}") from None
    fields.update(
        command=str(attrs.get("command", current.command)),
        workdir=str(attrs["dir"]) or None if "dir" in attrs else current.workdir,
        env=env,
    )


def change(job: JobView, attrs: Mapping[str, Any], *, top: int, is_top: bool) -> Change:
    """The change an attribute map asks of ``job`` (``top``: its top-level job's priority).

    Raises:
        FormError: An attribute Conveyor cannot change, or a bad value (nothing is applied).
    """
    unknown = sorted(set(attrs) - _EDITABLE)
    if unknown:
        raise FormError(f"cannot change {', '.join(unknown)} (parent: jobs do not move between groups)")
    fields: dict[str, Any] = {}
    tags = list(job.tags)
    try:
        if "title" in attrs:
            fields["title"] = str(attrs["title"])
        if "url" in attrs:
            fields["url"] = str(attrs["url"])
        if "progress_pattern" in attrs:
            fields["progress_pattern"] = str(attrs["progress_pattern"]) or DEFAULT_PROGRESS_PATTERN
        if "affinity" in attrs:
            fields["labels"] = parse_affinity(str(attrs["affinity"]))
        if "timeout" in attrs:
            fields["timeout_s"] = _timeout(float(attrs["timeout"]))
        if "retry" in attrs:
            fields["max_retries"] = int(attrs["retry"])
            tags = with_tag(tags, RETRY_TAG, str(int(attrs["retry"])))
        if "user" in attrs:
            tags = [t for t in tags if not t.startswith(USER_TAG)] + (
                [f"{USER_TAG}{attrs['user']}"] if attrs["user"] else []
            )
        if "priority" in attrs:
            own = clamp_priority(int(attrs["priority"]))
            tags = with_tag(tags, PRIORITY_TAG, str(own))
            fields["priority"] = scheduler_priority(own if is_top else top, own, is_top=is_top)
        _payload_edit(job, attrs, fields)
        if tags != list(job.tags):
            fields["tags"] = tags
        edit = msgspec.convert(fields, JobEdit) if fields else None
    except (TypeError, ValueError, msgspec.ValidationError) as exc:
        raise FormError(str(exc)) from None
    return Change(edit=edit, command=_command(job, attrs), dependencies=_dependencies(attrs))


def _command(job: JobView, attrs: Mapping[str, Any]) -> str | None:
    state = str(attrs["state"]).upper() if "state" in attrs else None
    if state is not None and state not in ("WAITING", "PAUSED"):
        raise FormError(f"state: WAITING or PAUSED, not {state!r} (the others follow from runs)")
    paused = bool(attrs["paused"]) if "paused" in attrs else state == "PAUSED" if state else None
    if paused is None:
        return None
    if paused:
        return "pause"
    return "start" if job.state == "pending" else "resume"


def _dependencies(attrs: Mapping[str, Any]) -> list[int] | None:
    if "dependencies" not in attrs:
        return None
    value = attrs["dependencies"]
    if not isinstance(value, list | str) or (isinstance(value, list) and not all(isinstance(v, int) for v in value)):
        raise FormError("dependencies: a list of job ids")
    return dependency_numbers(value)


@dataclass(frozen=True)
class Context:
    """What a job's document needs beyond the job: the integer ids around it, counters, progress."""

    seqs: Mapping[str, int]
    worker_names: Mapping[str, str]
    counts: Mapping[str, TreeCounts]
    progress: Mapping[str, float]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def _duration(job: JobView, now: datetime) -> int:
    if job.started_at is None:
        return 0
    end = job.finished_at if job.finished_at is not None else now if job.state in ("assigned", "running") else None
    return max(0, int((end - job.started_at).total_seconds())) if end is not None else 0


def _progress(job: JobView, counts: TreeCounts, progress: Mapping[str, float]) -> float:
    if job.payload is None:
        return counts.finished / counts.total if counts.total else 0.0
    if job.state == "succeeded":
        return 1.0
    return progress.get(job.id, 0.0) / 100


def document(seq: int, job: JobView, ctx: Context) -> dict[str, Any]:
    """The job as coalition shows it."""
    counts = ctx.counts.get(job.id, TreeCounts())
    payload = job.payload if isinstance(job.payload, CommandView) else None
    children = job.children
    return {
        "id": seq,
        "parent": ctx.seqs.get(job.parent_id, 0) if job.parent_id else 0,
        "title": job.title,
        "command": payload.command if payload else "",
        "dir": (payload.workdir or ".") if payload else ".",
        "environment": env_string(payload.env) if payload else "",
        "state": state_word(job.state, paused=job.paused),
        "worker": ctx.worker_names.get(job.worker_id, "") if job.worker_id else "",
        "start_time": epoch(job.started_at),
        "duration": _duration(job, ctx.now),
        "ping_time": epoch(job.updated_at),
        "run_done": job.attempts,
        "retry": job.max_retries,
        "timeout": job.timeout_s or 0,
        "priority": coalition_priority(job),
        "affinity": ",".join(job.labels),
        "user": tag_value(job.tags, USER_TAG) or "",
        "finished": children.get("succeeded", 0),
        "errors": sum(children.get(s, 0) for s in ("failed", "timed_out", "cancelled")),
        "working": children.get("assigned", 0) + children.get("running", 0),
        "total": counts.total,
        "total_finished": counts.finished,
        "total_errors": counts.errors,
        "total_working": counts.working,
        "url": job.url or "",
        "progress": round(_progress(job, counts, ctx.progress), 4),
        "progress_pattern": job.progress_pattern or DEFAULT_PROGRESS_PATTERN,
        "paused": int(job.paused or job.state == "pending"),
    }
