"""A submission as an event: its payload, its id and its ``JobSubmitted`` (pure but for the clock and
the random id); an edit's new payload."""

from datetime import UTC, datetime

from conveyor_events import (
    CommandPayload,
    JobSubmitted,
    JobTrigger,
    ManifestPayload,
    ManifestTask,
    Payload,
    RecipePayload,
    dedupe_job_id,
    new_uuid7,
)

from ..errors import FieldError, ValidationFailedError
from .bodies import JobEdit, JobSubmission


def submission_payload(sub: JobSubmission) -> Payload | None:
    """The payload of a submission; ``None`` for a group.

    Raises:
        ValidationFailedError: Not exactly one of command, manifest or recipe is given (none for a
            group, which may not wait on dependencies, be held or need verification either).
    """
    given = _payload_fields(sub)
    if sub.group:
        wrong = [
            *given,
            *(["depends_on"] if sub.depends_on else []),
            *(["verification"] if sub.verification > 1 else []),
        ]
        if wrong:
            detail = "a group runs nothing itself: no command, manifest, recipe, depends_on or verification"
            raise ValidationFailedError(detail, errors=[FieldError(pointer=f"/{w}", detail=detail) for w in wrong])
        return None
    return payload_of(sub, given)


def _payload_fields(sub: JobSubmission | JobEdit) -> list[str]:
    has_recipe = bytes(sub.recipe) not in (b"", b"null")
    given = [n for n, v in (("command", sub.command), ("manifest", sub.manifest)) if v is not None]
    return given + (["recipe"] if has_recipe else [])


def edited_payload(edit: JobEdit) -> Payload | None:
    """The new payload of an edit; ``None`` when the edit keeps the payload.

    Raises:
        ValidationFailedError: More than one payload, or ``workdir``/``env`` without ``command``.
    """
    given = _payload_fields(edit)
    if not given:
        if edit.workdir is not None or edit.env is not None:
            detail = "workdir and env belong to a command: give the whole command with them"
            raise ValidationFailedError(detail, errors=[FieldError(pointer="/command", detail=detail)])
        return None
    return payload_of(edit, given)


def payload_of(sub: JobSubmission | JobEdit, given: list[str]) -> Payload:
    """The one payload among the ``given`` fields of a submission or an edit."""
    if len(given) != 1:
        detail = "give exactly one of command, manifest or recipe" + (f" (got {', '.join(given)})" if given else "")
        pointer = f"/{given[1]}" if len(given) > 1 else "/command"
        raise ValidationFailedError(detail, errors=[FieldError(pointer=pointer, detail=detail)])
    if sub.command is not None:
        return CommandPayload(command=sub.command, workdir=sub.workdir, env=sub.env or {})
    if sub.manifest is not None:
        m = sub.manifest
        tasks = tuple(ManifestTask(name=t.name, script=t.script) for t in m.tasks)
        return ManifestPayload(tasks=tasks, environment=m.environment, artifacts=tuple(m.artifacts), image=m.image)
    return RecipePayload(recipe=sub.recipe)


def new_job_id(sub: JobSubmission, owner: str) -> str:
    """The id a submission gets: derived from its dedupe key and owner, so the owner's reused key
    finds their first job, and another owner's same key makes a job of its own (issue 13).

    ``owner`` is the dedupe scope: a façade whose keys are unique per project whoever submits
    (task_tracker's ``hash64``) passes one name of its own for every submitter."""
    return dedupe_job_id(sub.project, sub.dedupe_key, owner) if sub.dedupe_key else new_uuid7()


def submitted_event(
    sub: JobSubmission, job_id: str, owner: str, extra_triggers: tuple[JobTrigger, ...] = ()
) -> JobSubmitted:
    """The ``JobSubmitted`` event of a valid submission (see ``submission_payload`` for what can fail);
    ``extra_triggers`` are a façade's own (builds.sr.ht's), which the native body cannot express."""
    return JobSubmitted(
        event_id=new_uuid7(),
        job_id=job_id,
        occurred_at=datetime.now(UTC),
        project=sub.project,
        owner=owner,
        payload=submission_payload(sub),
        title=sub.title,
        note=sub.note,
        tags=tuple(sub.tags),
        labels=tuple(sub.labels),
        priority=sub.priority,
        parent_id=sub.parent,
        depends_on=tuple(sub.depends_on),
        max_retries=sub.max_retries,
        timeout_s=sub.timeout_s,
        lease_s=sub.lease_s,
        dedupe_key=sub.dedupe_key,
        execute=sub.execute,
        progress_pattern=sub.progress_pattern,
        url=sub.url,
        verification=sub.verification,
        triggers=(*(JobTrigger(on=t.on, url=t.url, secret=t.secret) for t in sub.triggers), *extra_triggers),
    )
