"""builds.sr.ht job groups (no HTTP): a set of the caller's held builds, started and cancelled
together.

A group is stored as a Conveyor job of its own that never runs: held (``execute=false``), labelled
``builds.group``, depending on its builds (the membership, in the job's own events), with the
group's note. Its number, the group's id, is that job's ``submitted_seq``: the stream sequence of
the group's creation event. Its status is worked out from its builds'.
"""

from dataclasses import dataclass
from typing import Final

from conveyor_events import BuildsTrigger, JobTrigger

from ...core.bodies import JobSubmission, JobView
from ...core.context import State
from ...core.job_commands import cancel_job, command_job
from ...core.job_numbers import number_of, seqs_of
from ...core.submit import submit
from ...core.token_auth import Principal
from .builds import GROUP_LABEL, BuildSettings, build_of, cancel_build
from .errors import BuildsError
from .manifest import Trigger

_TERMINAL: Final = frozenset({"succeeded", "failed", "timed_out", "cancelled"})


@dataclass(frozen=True)
class Group:
    """A group: its number, the job that holds it, and its builds (number and job) in order."""

    number: int
    job: JobView
    builds: list[tuple[int, JobView]]


async def create_group(
    state: State,
    principal: Principal,
    numbers: list[int],
    note: str,
    *,
    settings: BuildSettings,
    triggers: tuple[Trigger, ...] = (),
    origin: str = "",
) -> Group:
    """Group the caller's held builds ``numbers``; ``triggers`` (email) fire once all ended.

    Raises:
        BuildsError: 400 for an empty list or a build that is not pending; 404/403 for builds the
            caller may not read or change.
    """
    if not numbers or len(numbers) > 100:
        raise BuildsError(400, "jobs must list 1 to 100 job ids", "jobs")
    members = [(n, await build_of(state, principal, n, write=True)) for n in dict.fromkeys(numbers)]
    for n, job in members:
        if job.state != "pending":
            raise BuildsError(400, f"job {n} is not pending: only held jobs (execute: false) can be grouped", "jobs")
    sub = JobSubmission(
        project=settings.project,
        title="builds.sr.ht job group",
        note=note,
        labels=[GROUP_LABEL],
        command="true",  # never run: the group job stays held
        execute=False,
        max_retries=0,
        depends_on=[job.id for _, job in members],
    )
    extra = tuple(
        JobTrigger(
            on=t.condition,
            url="",
            builds=BuildsTrigger(
                action="email",
                origin=origin,
                owner_name=principal.name,
                note=note,
                to=t.to,
                cc=t.cc,
                in_reply_to=t.in_reply_to,
                jobs=tuple(n for n, _ in members),
            ),
        )
        for t in triggers
    )
    submitted = await submit(state, principal, sub, extra_triggers=extra)
    number = await number_of(state["reader"].pool, submitted.job_id) if submitted.job is not None else None
    if number is None or submitted.job is None:
        raise BuildsError(503, "the group is stored but not readable yet")
    return Group(number=number, job=submitted.job, builds=members)


async def group_of(state: State, principal: Principal, number: int, *, write: bool = False) -> Group:
    """The group ``number`` with its builds, if ``principal`` may read (``write``: change) it.

    Raises:
        BuildsError: 404 for no such group (or one the caller may not read), 403 for no write.
    """
    job = await build_of(state, principal, number, write=write, group=True)
    numbers = await seqs_of(state["reader"].pool, job.depends_on)
    builds = []
    for job_id in job.depends_on:
        member = await state["reader"].get(job_id)
        if member is not None and job_id in numbers:
            builds.append((numbers[job_id], member))
    return Group(number=number, job=job, builds=builds)


def group_status(group: Group) -> str:
    """sourcehut's group status: pending/running while any build has not ended; then success
    only if every build succeeded, else failed."""
    states = [job.state for _, job in group.builds]
    if all(s == "pending" for s in states):
        return "pending"
    if any(s not in _TERMINAL for s in states):
        return "running"
    return "success" if all(s == "succeeded" for s in states) else "failed"


async def start_group(state: State, principal: Principal, group: Group) -> None:
    """Start every held build of the group."""
    for _, job in group.builds:
        if job.state == "pending":
            await command_job(state, principal.user_id, job.id, "start")


async def cancel_group(state: State, principal: Principal, group: Group) -> None:
    """Cancel every build of the group that has not ended, and the group's own job."""
    for _, job in group.builds:
        await cancel_build(state, principal, job)
    if group.job.state not in _TERMINAL:
        await cancel_job(state, principal.user_id, group.job.id, "job group cancelled")
