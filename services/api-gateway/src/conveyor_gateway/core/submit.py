"""Submitting jobs, once for every surface: ``POST /v1/jobs``, ``POST /v1/jobs/bulk`` and the façades.

A submission is checked (the caller may submit to the project, the project's rate admits it, its
dependencies and parent exist and the caller may add children to the parent), gets its id (derived
from the dedupe key, or new), is appended as ``JobSubmitted`` with expected subject sequence 0 (a
used dedupe key is refused by the stream, and answers with the job it created), then its access
lists are appended, and the scheduler is waited for (read-your-writes) unless the caller asked not
to. A dependency that fails after the event is stored does not fail the submission: the outcome
says the job is stored (``outage``), since an error would make the client submit it twice; an
append NATS does not confirm raises ``SubmissionUnconfirmedError`` with the id (issue 13). A run
token submits only children of its run's job, in its project (``run_tokens.follow_up``). Nothing
here knows HTTP: each surface decodes its own body into ``JobSubmission`` and encodes
the result in its own words.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from conveyor_events import AppendConflictError, Appended, AppendError, JobTrigger, PendingAppend, job_subject
from conveyor_runtime import get_logger

from ..errors import FieldError, ParentFinishedError, ValidationFailedError
from .acl_append import append_lists
from .bodies import JobSubmission, JobView
from .context import State
from .dependency_check import Viewer, check_dependencies, check_parent, principal_viewer
from .job_access import check_parent_access, check_submit_access
from .outages import is_outage
from .reads import first_seq, read_after, wait_applied
from .run_tokens import follow_up
from .submission import new_job_id, submitted_event
from .token_auth import Principal

_log = get_logger("gateway")
_UNKNOWN_REFERENCES = "unknown dependencies or parents"


@dataclass(frozen=True, slots=True)
class Submitted:
    """One submission's outcome.

    Attributes:
        job_id: The job's id (the existing job's for a used dedupe key).
        created: False when the dedupe key was used before: nothing new was stored.
        job: The job as the scheduler holds it; None when it was not waited for, or the scheduler
            had not folded it within the write wait.
        outage: The dependency error that struck after the job was stored (the job exists; it is
            readable once the dependency is back), or None.
    """

    job_id: str
    created: bool
    job: JobView | None
    outage: BaseException | None = None


class SubmissionUnconfirmedError(Exception):
    """NATS did not confirm the append in time: the job ``job_id`` may yet be stored."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"the append of job {job_id} was not confirmed")
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class BatchSubmitted:
    """A batch's outcome: each job's id and whether it was created, in the order given.

    Attributes:
        jobs: ``(job_id, created)`` per submission; ``created`` is False for a used dedupe key
            (earlier in the same batch too).
        visible: The scheduler has folded every job (False when not waited for, or not in time).
        outage: The dependency error that struck after the jobs were stored, or None.
    """

    jobs: tuple[tuple[str, bool], ...]
    visible: bool
    outage: BaseException | None = None


async def submit(
    state: State,
    principal: Principal,
    sub: JobSubmission,
    *,
    wait: bool = True,
    extra_triggers: tuple[JobTrigger, ...] = (),
    dedupe_scope: str | None = None,
) -> Submitted:
    """Check, store and (with ``wait``) read back one job submitted by ``principal``; a façade adds
    the triggers its own wire format holds as ``extra_triggers``.

    An existing job (a used dedupe key) is always read back, as it was stored before. The dedupe
    key is the submitter's own unless ``dedupe_scope`` names a scope shared by every submitter
    (``new_job_id``).

    Raises:
        ForbiddenError: The caller may not submit to the project, or add children to the parent.
        RateLimitedError: The project's submission rate is used up.
        ValidationFailedError: Unknown dependencies or parent, or an invalid payload.
        ParentFinishedError: The parent has ended.
        SubmissionUnconfirmedError: NATS did not confirm the append.
    """
    sub = follow_up(principal, sub, "/parent")
    await check_submit_access(state, principal, [sub.project])
    await state["submit_limits"].admit([sub.project])
    viewer = principal_viewer(principal)
    await check_dependencies(state["reader"].pool, None, sub.depends_on, "/depends_on", viewer=viewer)
    # Access first: a parent the caller may not see answers as a missing one, never with its state.
    await check_parent_access(state, principal, sub.parent, "/parent")
    await check_parent(state["reader"].pool, sub.parent, "/parent")
    job_id = new_job_id(sub, dedupe_scope or principal.user_id)
    event = submitted_event(sub, job_id, principal.user_id, extra_triggers)
    subject = job_subject(job_id)
    try:
        appended = await state["appender"].append(subject, event, expected_last_subject_seq=0)
    except AppendConflictError:
        # The dedupe key was used before: answer with the job it created (DESIGN §2).
        existing = await _job_after(state, job_id, await first_seq(state, subject))
        return Submitted(job_id=job_id, created=False, job=existing)
    except AppendError as exc:
        raise SubmissionUnconfirmedError(job_id) from exc
    try:
        lists = [(job_id, sub.read_access, sub.write_access)]
        await append_lists(state["appender"], state["access_watcher"], state["write_wait_s"], lists, event.owner)
        job = await _job_after(state, job_id, appended.seq) if wait else None
    except Exception as exc:
        if not is_outage(exc):
            raise
        return Submitted(job_id=job_id, created=True, job=None, outage=exc)
    return Submitted(job_id=job_id, created=True, job=job)


async def submit_batch(
    state: State,
    principal: Principal,
    subs: Sequence[JobSubmission],
    *,
    wait: bool = True,
    dedupe_scope: str | None = None,
) -> BatchSubmitted:
    """Check every job of a batch, then store them all in one pipeline, each as ``submit`` would
    (``dedupe_scope`` as there).

    Errors of dependencies and parents name the job (``/jobs/3/depends_on/0``).

    Raises:
        ForbiddenError: The caller may not submit to one of the projects, or add children to a parent.
        RateLimitedError: A project's submission rate cannot take its jobs.
        ValidationFailedError: Unknown dependencies or parents, each with its pointer.
    """
    subs = [follow_up(principal, sub, f"/jobs/{i}/parent") for i, sub in enumerate(subs)]
    await check_submit_access(state, principal, [sub.project for sub in subs])
    await state["submit_limits"].admit(sub.project for sub in subs)
    # Parent access first: a parent the caller may not see answers as a missing one, never with its state.
    for index, parent in enumerate(sub.parent for sub in subs):
        try:
            await check_parent_access(state, principal, parent, f"/jobs/{index}/parent")
        except ValidationFailedError as exc:  # worded as the batch check words a missing parent
            raise ValidationFailedError(_UNKNOWN_REFERENCES, errors=exc.errors) from None
    await check_batch_dependencies(state, subs, principal_viewer(principal))
    ids = [new_job_id(sub, dedupe_scope or principal.user_id) for sub in subs]
    items = [
        PendingAppend(job_subject(job_id), submitted_event(sub, job_id, principal.user_id), expected_last_subject_seq=0)
        for sub, job_id in zip(subs, ids, strict=True)
    ]
    outcomes = await state["appender"].append_batch(items)
    lists = [
        (job_id, sub.read_access, sub.write_access)
        for job_id, sub, outcome in zip(ids, subs, outcomes, strict=True)
        if isinstance(outcome, Appended)
    ]
    jobs = tuple((job_id, isinstance(outcome, Appended)) for job_id, outcome in zip(ids, outcomes, strict=True))
    created = sum(1 for _, is_new in jobs if is_new)
    _log.info("jobs_bulk_submitted", created=created, existing=len(jobs) - created)
    try:
        await append_lists(state["appender"], state["access_watcher"], state["write_wait_s"], lists, principal.user_id)
        visible = await wait_applied(state, await _highest_seq(state, items, outcomes)) if wait else False
    except Exception as exc:
        if not is_outage(exc):
            raise
        return BatchSubmitted(jobs=jobs, visible=False, outage=exc)  # stored: an error would resubmit them all
    return BatchSubmitted(jobs=jobs, visible=visible)


async def _job_after(state: State, job_id: str, seq: int) -> JobView | None:
    return await read_after(state, seq, lambda: state["reader"].get(job_id))


def _prefixed(errors: Sequence[FieldError], index: int) -> list[FieldError]:
    return [FieldError(pointer=f"/jobs/{index}{e.pointer}", detail=e.detail) for e in errors]


async def _dependency_errors(state: State, sub: JobSubmission, index: int, viewer: Viewer | None) -> list[FieldError]:
    try:
        await check_dependencies(state["reader"].pool, None, sub.depends_on, "/depends_on", viewer=viewer)
        await check_parent(state["reader"].pool, sub.parent, "/parent")
    except ValidationFailedError as exc:
        return _prefixed(exc.errors or [], index)
    except ParentFinishedError as exc:
        return [FieldError(pointer=f"/jobs/{index}/parent", detail=exc.detail)]
    return []


async def check_batch_dependencies(state: State, subs: Sequence[JobSubmission], viewer: Viewer | None) -> None:
    """Every dependency and parent of every job must exist (a parent must not have ended),
    checked as for one submission.

    Raises:
        ValidationFailedError: Unknown dependencies or parents, each with its pointer
            (``/jobs/3/depends_on/0``, ``/jobs/4/parent``).
    """
    with_dependencies = [(i, sub) for i, sub in enumerate(subs) if sub.depends_on or sub.parent]
    found = await asyncio.gather(*(_dependency_errors(state, sub, i, viewer) for i, sub in with_dependencies))
    errors = [e for item_errors in found for e in item_errors]
    if errors:
        raise ValidationFailedError(_UNKNOWN_REFERENCES, errors=errors)


async def _highest_seq(state: State, items: list[PendingAppend], outcomes: list[Appended | AppendConflictError]) -> int:
    """The stream position past which every job of the batch, new or existing, is stored."""
    appended = [i for i, o in enumerate(outcomes) if isinstance(o, Appended)]
    highest = max((o.seq for o in outcomes if isinstance(o, Appended)), default=0)
    # An existing job's first event was stored before our append on its subject was refused, so
    # before any later append of ours (one connection; the stream keeps the order): only the
    # conflicts after our last append need to look up where their job was stored.
    after = appended[-1] + 1 if appended else 0
    tail = {
        item.subject: None
        for item, outcome in zip(items[after:], outcomes[after:], strict=True)
        if isinstance(outcome, AppendConflictError)
    }
    firsts = await asyncio.gather(*(first_seq(state, subject) for subject in tail))
    return max([highest, *firsts])
