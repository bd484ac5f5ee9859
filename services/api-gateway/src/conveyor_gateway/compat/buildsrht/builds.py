"""A build, in Conveyor's use cases (no HTTP): submit one, read one by number, start and cancel.

A build is submitted held (``execute=false``); once stored it has its number (``submitted_seq``),
so ``JOB_ID`` and ``JOB_URL`` are added to its environment by an edit before it is started (when
``execute``): a worker never sees the build without them.
"""

import re
from dataclasses import dataclass, field
from typing import Final

from msgspec.structs import replace

from conveyor_events import BuildsTrigger, JobTrigger

from ...core.bodies import JobEdit, JobSubmission, JobView, ManifestBody
from ...core.context import State
from ...core.job_access import check_access_to
from ...core.job_commands import cancel_job, command_job
from ...core.job_edits import edit_job
from ...core.job_numbers import job_at_seq, number_of
from ...core.submit import submit
from ...core.token_auth import Principal
from ...errors import ForbiddenError, JobNotFoundError
from .errors import BuildsError
from .manifest import Manifest, Trigger
from .states import job_status

GROUP_LABEL: Final = "builds.group"  # the label of the job that holds a job group (groups.py)
_TAG: Final = re.compile(r"^[A-Za-z0-9_.:-]+$")
_USER: Final = re.compile(r"^~?[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class BuildRequest:
    """A build to submit, in Conveyor's terms but for the access lists (user names, or ``*``)."""

    manifest: Manifest
    note: str = ""
    tags: tuple[str, ...] = ()
    read: tuple[str, ...] = ("*",)
    write: tuple[str, ...] = ()
    execute: bool = True
    triggers: tuple[Trigger, ...] = field(default=())


@dataclass(frozen=True)
class BuildSettings:
    """The façade's settings a submission needs."""

    project: str = "default"
    timeout_s: int = 45 * 60  # builds.sr.ht's default runner timeout
    email_enabled: bool = False  # an SMTP server is configured (the dispatcher sends the emails)
    webhook_public_key: str = ""  # base64 Ed25519 public key webhooks are signed with ("" unsigned)


def check_tags(tags: object, where: str = "tags") -> tuple[str, ...]:
    """Tags as sourcehut allows them.

    Raises:
        BuildsError: 400 naming ``where``.
    """
    if tags is None:
        return ()
    if not isinstance(tags, list) or len(tags) > 32:
        raise BuildsError(400, "tags must be a list of at most 32 strings", where)
    for tag in tags:
        if not isinstance(tag, str) or not _TAG.match(tag) or len(tag) > 128:
            raise BuildsError(400, f"invalid tag {tag!r}: use only A-Z a-z 0-9 and -_.:", where)
    return tuple(tags)


async def user_ids(state: State, names: object, where: str, *, star: bool) -> tuple[str, ...]:
    """The user ids of an access list of user names (``~name`` or ``name``; ``*`` when ``star``).

    Raises:
        BuildsError: 400 naming ``where`` for a malformed list or an unknown user.
    """
    if not isinstance(names, list) or len(names) > 64:
        raise BuildsError(400, "a list of at most 64 user names", where)
    ids: list[str] = []
    for name in names:
        if star and name == "*":
            ids.append("*")
            continue
        if not isinstance(name, str) or not _USER.match(name):
            raise BuildsError(400, f"invalid user name {name!r}", where)
        user = await state["identity"].user_named(name.removeprefix("~"))
        if user is None:
            raise BuildsError(400, f"no user {name!r}", where)
        ids.append(user.id)
    return tuple(ids)


def job_triggers(triggers: tuple[Trigger, ...], *, origin: str, owner_name: str, note: str) -> tuple[JobTrigger, ...]:
    """The triggers as the hook dispatcher sends them: sourcehut's payload, signature and email."""
    return tuple(
        JobTrigger(
            on=t.condition,
            url=t.url,
            builds=BuildsTrigger(
                action=t.action,
                origin=origin,
                owner_name=owner_name,
                note=note,
                to=t.to,
                cc=t.cc,
                in_reply_to=t.in_reply_to,
            ),
        )
        for t in triggers
    )


async def submit_build(
    state: State, principal: Principal, req: BuildRequest, *, origin: str, settings: BuildSettings
) -> tuple[int, JobView]:
    """Store the build, give it ``CI_NAME``, ``JOB_ID`` and ``JOB_URL`` (on ``origin``, the
    façade's address), and start it when ``req.execute``: its number and the job as it then is.

    Raises:
        BuildsError: 503 when the job was stored but is not readable yet.
        GatewayError: From the submission (access, rate, validation).
    """
    body = req.manifest.body
    triggers = job_triggers(
        (*req.manifest.triggers, *req.triggers), origin=origin, owner_name=principal.name, note=req.note
    )
    sub = JobSubmission(
        project=settings.project,
        title=f"build on {body.image}",
        note=req.note,
        tags=list(req.tags),
        labels=list(req.manifest.labels),
        manifest=body,
        execute=False,
        max_retries=0,
        timeout_s=settings.timeout_s,
        read_access=list(req.read),
        write_access=list(req.write),
    )
    submitted = await submit(state, principal, sub, extra_triggers=triggers)
    number = await number_of(state["reader"].pool, submitted.job_id) if submitted.job is not None else None
    if number is None:
        raise BuildsError(503, "the build is stored but not readable yet: list your jobs in a moment")
    env = {
        **body.environment,
        "CI_NAME": "sourcehut",
        "JOB_ID": str(number),
        "JOB_URL": f"{origin}~{principal.name}/job/{number}",
    }
    edited: ManifestBody = replace(body, environment=env)
    job = await edit_job(state, principal.user_id, submitted.job_id, JobEdit(manifest=edited))
    if req.execute:
        job = await command_job(state, principal.user_id, submitted.job_id, "start")
    if job is None:
        raise BuildsError(503, "the build is stored but not readable yet: list your jobs in a moment")
    return number, job


async def build_of(
    state: State, principal: Principal | None, number: int, *, write: bool = False, group: bool = False
) -> JobView:
    """The job numbered ``number`` if ``principal`` may read it (``write``: change it); a
    ``None`` principal reads only a job whose read list holds ``*``. With ``group``, the job that
    holds the job group ``number``.

    Raises:
        BuildsError: 404 for a job that does not exist or may not be read; 403 for one that may
            be read but not changed.
    """
    job_id = await job_at_seq(state["reader"].pool, number)
    if job_id is None:
        raise BuildsError(404, "Not found")
    try:
        if principal is None:
            grants = await state["projects"].job_owner(job_id)
            if grants is None or "*" not in grants.read:
                raise JobNotFoundError(job_id)
        else:
            await check_access_to(state, principal, job_id, write=write)
    except JobNotFoundError:
        raise BuildsError(404, "Not found") from None
    except ForbiddenError:
        raise BuildsError(403, "You do not have write access to this job") from None
    job = await state["reader"].get(job_id)
    if job is None or (GROUP_LABEL in job.labels) != group:  # a group is no build, a build no group
        raise BuildsError(404, "Not found")
    return job


async def start_build(state: State, principal: Principal, job: JobView) -> JobView | None:
    """Start a held build.

    Raises:
        BuildsError: 400 when it is not pending (sourcehut's words).
    """
    if job.state != "pending":
        word = job_status(job.state)
        raise BuildsError(400, f"This job is already {'complete' if word not in ('queued', 'running') else word}")
    return await command_job(state, principal.user_id, job.id, "start")


async def cancel_build(state: State, principal: Principal, job: JobView) -> JobView | None:
    """Cancel a build that has not ended (one that has is left as it is)."""
    if job.state in ("succeeded", "failed", "timed_out", "cancelled"):
        return job
    return await cancel_job(state, principal.user_id, job.id, "cancelled through builds.sr.ht")
