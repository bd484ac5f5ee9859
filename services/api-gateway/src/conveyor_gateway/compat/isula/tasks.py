"""isula's build tasks over Conveyor's use cases: a task is a Conveyor job of its user.

A task is a manifest job with one task, ``build``, running the uploaded script in a fresh
directory; every regular file it leaves there (or only ``OutputFile`` when one is named) becomes
the job's artifacts, which are the task's output. Its integer id is the job's ``submitted_seq``.
The job is tagged ``isula`` and owned by ``:user``; the upload is kept in the job's note as the
task's ``Scripts`` or ``ConfigFile`` for the task JSON.
"""

from dataclasses import dataclass
from typing import Final

import msgspec

from conveyor_events.states import LEASED, TERMINAL

from ...core import job_commands, job_edits
from ...core.bodies import JobEdit, JobSubmission, JobView, ManifestBody, ManifestTaskBody, ManifestView
from ...core.context import State
from ...core.identity_reader import UserView
from ...core.job_numbers import job_at_seq, seqs_of
from ...core.reader import JobFilter, decode_cursor
from ...core.submit import submit
from ...core.token_auth import Principal
from .bodies import TaskDoc
from .states import status_of

TAG: Final = "isula"
PROJECT: Final = "default"  # takes jobs while no project claims it
_PAGE: Final = 500


class TaskNotFoundError(Exception):
    """No such task of this user."""


@dataclass(frozen=True, slots=True)
class Build:
    """What a task runs: the uploaded file, and the output file it must make (``?output=``)."""

    upload: str
    output: str = ""


class _Kept(msgspec.Struct, kw_only=True):
    """The task's own fields, kept in the job's note."""

    output: str = ""
    is_config: bool = False


def _manifest(build: Build) -> ManifestBody:
    return ManifestBody(
        tasks=[ManifestTaskBody(name="build", script=build.upload)],
        artifacts=[build.output] if build.output else ["**/*"],
    )


def _note(build: Build) -> str:
    return msgspec.json.encode(_Kept(output=build.output, is_config=bool(build.output))).decode()


async def create_task(state: State, owner: Principal, build: Build) -> int:
    """Submit the build as a job of ``owner``; its integer id.

    Raises:
        ValidationFailedError: The script is not a valid manifest task (too long).
    """
    sub = JobSubmission(
        project=PROJECT,
        title=f"isula build for {owner.name}"[:256],
        note=_note(build),
        tags=[TAG],
        manifest=_manifest(build),
        max_retries=0,
    )
    done = await submit(state, owner, sub)
    return (await seqs_of(state["reader"].pool, [done.job_id]))[done.job_id]


async def find_task(state: State, user: UserView, task_id: int) -> JobView:
    """The task ``task_id`` of ``user``.

    Raises:
        TaskNotFoundError: No such task, or not this user's.
    """
    job_id = await job_at_seq(state["reader"].pool, task_id)
    job = None if job_id is None else await state["reader"].get(job_id)
    if job is None or job.owner != user.id or TAG not in job.tags or not isinstance(job.payload, ManifestView):
        raise TaskNotFoundError(f"Failed to find the task '{task_id}' from '{user.name}'.")
    return job


async def rerun_task(state: State, by: str, job: JobView, build: Build | None) -> None:
    """Run the task again (``build``: with a new upload first). A finished task restarts; one in
    flight is taken back and queued again; a queued one runs the new upload when it starts."""
    edit = None if build is None else JobEdit(manifest=_manifest(build), note=_note(build))
    if job.state in TERMINAL:
        if edit is None:
            await job_commands.command_job(state, by, job.id, "restart")
        else:
            await job_edits.edit_job(state, by, job.id, edit, restart=True)
        return
    if edit is not None:
        await job_edits.edit_job(state, by, job.id, edit)
    if job.state in LEASED:
        await job_commands.command_job(state, by, job.id, "reset")


async def delete_task(state: State, by: str, job: JobView) -> None:
    """Delete the task's job; the collector deletes its artifacts with it."""
    await job_commands.delete_job(state, by, job.id)


async def list_tasks(state: State, user: UserView, base_url: str) -> list[TaskDoc]:
    """The user's tasks, oldest first (as the real server's table scan)."""
    found: list[JobView] = []
    before: int | None = None
    while True:
        page, cursor = await state["reader"].list(JobFilter(owner=user.id, tag=TAG), limit=_PAGE, before_seq=before)
        found += [j for j in page if isinstance(j.payload, ManifestView)]
        if cursor is None:
            break
        before = decode_cursor(cursor)
    seqs = await seqs_of(state["reader"].pool, [j.id for j in found]) if found else {}
    docs = [task_doc(j, seqs[j.id], user, base_url) for j in found if j.id in seqs]
    return sorted(docs, key=lambda d: d.ID)


def task_doc(job: JobView, task_id: int, user: UserView, base_url: str) -> TaskDoc:
    """The real server's task JSON for ``job``, with the URL of its output."""
    assert isinstance(job.payload, ManifestView)
    upload = job.payload.tasks[0].script if job.payload.tasks else ""
    try:
        kept = msgspec.json.decode(job.note, type=_Kept)
    except msgspec.DecodeError:
        kept = _Kept()
    return TaskDoc(
        ID=task_id,
        UserName=user.name,
        Status=status_of(job.state),
        OutputFile=kept.output,
        ConfigFile=upload if kept.is_config else "",
        Scripts="" if kept.is_config else upload,
        OutputURL=f"{base_url}{user.name}/task/{task_id}/files/",
    )
