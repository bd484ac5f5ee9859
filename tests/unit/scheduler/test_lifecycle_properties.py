"""Random commands and reports against a few jobs: the lifecycle invariants hold after every step.

Besides the scheduler's commands and the workers' reports, clients ask for cancels and operators
pause, resume, start, reset and delete jobs, now and then.

Some jobs need a verification quorum of two agreeing results: their successful runs carry a hash
(or, wrongly, none) and the job closes only when two different workers agree. Parent/child
counters have their own machine in ``test_tree_properties.py``.
"""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from msgspec.structs import replace

from conveyor_events import (
    CommandPayload,
    JobCancelRequested,
    JobDeleteRequested,
    JobEdited,
    JobEvent,
    JobPauseRequested,
    JobResetRequested,
    JobResumeRequested,
    JobStarted,
    JobStartRequested,
    JobSubmitted,
)
from conveyor_events.scheduler_api import ReportResult
from conveyor_scheduler.decider import (
    INITIAL,
    LEASED,
    READY,
    Advance,
    Assign,
    ExpireLease,
    JobState,
    ReportFinish,
    ReportStart,
    TimeOut,
    apply,
    decide,
    decision_event_id,
    replay,
)
from conveyor_scheduler.engine import is_ready
from conveyor_scheduler.errors import LeaseNotCurrentError, ReportRejectedError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MAX_JOBS = 3

max_retries = st.integers(0, 3)
lease_seconds = st.integers(1, 600)
executes = st.sampled_from([True, True, True, True, False])  # now and then a held (pending) job
quorums = st.sampled_from([1, 1, 2])  # now and then a job needing two agreeing results
hashes = st.sampled_from(["h1", "h1", "h2", None])
indexes = st.integers(0, 63)  # picks a job, and a lease among those it was handed, modulo their count
workers = st.sampled_from(["w1", "w2", "w3"])
# which lease a report names: the job's current one, any issued so far (maybe the current one, maybe another
# job's), or one never issued
lease_choices = st.sampled_from(["current", "current", "current", "issued", "unknown"])
unknown_leases = st.sampled_from(["", "lease-0", "lease-x", "LEASE-1"])
report_kinds = st.sampled_from(["start", "start", "start", "finish", "finish", "expire", "time_out"])
results: st.SearchStrategy[ReportResult] = st.sampled_from(["failed", "skipped", "succeeded"])
exit_codes = st.none() | st.integers(-1, 255)
jitters = st.floats(0.0, 1.0, exclude_max=True)
# up to 400 s: past any default backoff (2 s doubling, 300 s cap) now and then
time_steps = st.integers(0, 400).map(lambda s: timedelta(seconds=s))
# other subjects' events take stream sequence numbers in between
seq_gaps = st.integers(0, 3)
# rules are picked evenly: a request goes through one time in four, or most jobs would end early
request_draws = st.sampled_from([False, False, False, True])
requests = st.sampled_from(["cancel", "pause", "resume", "resume", "start", "start", "edit", "reset", "delete"])

ReportCommand = ReportStart | ReportFinish | ExpireLease | TimeOut


def _tag(event: JobEvent) -> str:
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


# an operator's reset, edit or delete changes even a finished job, on purpose (an edit its spec only)
_OPERATOR_OVERRIDES = (JobResetRequested, JobDeleteRequested, JobEdited)


def _holds(state: JobState, lease_id: str) -> bool:
    return state.state in LEASED and state.lease_id == lease_id


class _Job:
    """What the test knows of one job: its state, its recorded history and the leases it was handed."""

    def __init__(self, job_id: str) -> None:
        self.id = job_id
        self.state = INITIAL
        self.history: list[tuple[int, JobEvent]] = []
        self.issued: list[str] = []  # every lease handed out, oldest first
        self.settled: JobState | None = None  # once finished or deleted, what it must stay


class JobLifecycle(RuleBasedStateMachine):
    """A few jobs, driven by the scheduler's commands, the workers' reports and clients' cancel requests."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[_Job] = []
        self.seq = 0
        self.now = T0
        self.leases: list[str] = []  # every lease handed out to any job, oldest first

    # plumbing

    def _job(self, index: int) -> _Job:
        return self.jobs[index % len(self.jobs)]

    def _record(self, job: _Job, event: JobEvent) -> None:
        self.seq += 1
        before = job.state
        after = apply(before, event, self.seq)
        assert after.version == self.seq
        is_override = isinstance(event, _OPERATOR_OVERRIDES) and not before.deleted
        if job.settled is not None and not is_override:
            assert after == replace(before, version=self.seq), f"{_tag(event)} changed a settled {before.state} job"
        job.state = after
        job.history.append((self.seq, event))
        if is_override:
            job.settled = None
        if job.settled is None and (after.is_terminal or after.deleted):
            job.settled = after

    def _append_decision(self, job: _Job, events: list[JobEvent]) -> None:
        # One event per decision, but for a finish whose start was never reported: the start first.
        assert len(events) <= 1 or (len(events) == 2 and isinstance(events[0], JobStarted))
        version = job.state.version  # a decision's ids derive from the version it was made on
        for event in events:
            assert event.job_id == job.id
            assert event.occurred_at == self.now
            assert event.event_id == decision_event_id(job.id, version, _tag(event))
            self._record(job, event)

    def _pick(self, index: int, choice: str, unknown: str, *, best: str) -> tuple[_Job, str]:
        """A job and the lease a report names: "current" prefers a job in state ``best``, then any leased one."""
        if choice == "current":
            leased = [job for job in self.jobs if job.state.state == best] or [
                job for job in self.jobs if job.state.lease_id is not None
            ]
            job = leased[index % len(leased)] if leased else self._job(index)
            return job, job.state.lease_id or unknown
        job = self._job(index)
        if choice == "issued" and self.leases:
            return job, self.leases[index % len(self.leases)]  # this job's, or another job's
        return job, unknown

    def _report(self, job: _Job, command: ReportCommand) -> None:
        before = job.state
        if not _holds(before, command.lease_id):
            with pytest.raises(LeaseNotCurrentError):
                decide(command, before)
            assert job.state is before
            return
        if (
            isinstance(command, ReportFinish)
            and command.result == "succeeded"
            and before.verification > 1
            and not command.verification
        ):
            with pytest.raises(ReportRejectedError):
                decide(command, before)
            return
        events = decide(command, before)
        assert decide(command, before) == events  # deterministic, ids included
        self._append_decision(job, events)

    def _advance(self, job: _Job) -> None:
        self._append_decision(job, decide(Advance(job_id=job.id, issued_at=self.now), job.state))

    # rules

    @initialize(max_retries=max_retries, lease_s=lease_seconds)
    def first_job(self, max_retries: int, lease_s: int) -> None:
        self.submit(max_retries, lease_s, execute=True)  # held jobs come later, or runs would stall on one

    @precondition(lambda self: len(self.jobs) < MAX_JOBS)
    @rule(max_retries=max_retries, lease_s=lease_seconds, execute=executes, quorum=quorums)
    def submit(self, max_retries: int, lease_s: int, execute: bool, quorum: int = 1) -> None:
        job = _Job(f"0190c5a8-7b1e-7000-8000-{len(self.jobs) + 1:012d}")
        self.jobs.append(job)
        self._record(
            job,
            JobSubmitted(
                event_id=f"e-submitted-{job.id}",
                job_id=job.id,
                occurred_at=self.now,
                project="demo",
                owner="alice",
                payload=CommandPayload(command="true"),
                max_retries=max_retries,
                lease_s=lease_s,
                execute=execute,
                verification=quorum,
            ),
        )
        self._advance(job)  # what the scheduler does on seeing a submission

    @rule(step=time_steps, gap=seq_gaps, index=indexes)
    def time_passes_and_the_scheduler_advances(self, step: timedelta, gap: int, index: int) -> None:
        self.now += step
        self.seq += gap
        self._advance(self._job(index))

    @rule(index=indexes, worker=workers, is_patient=st.booleans())
    def assign(self, index: int, worker: str, is_patient: bool) -> None:
        ready = [job for job in self.jobs if job.state.state in READY]  # mostly; otherwise any job, to see []
        target = ready[index % len(ready)] if ready and index % 4 != 3 else self._job(index)
        before = target.state
        if is_patient and before.retry_at is not None and before.retry_at > self.now:
            self.now = before.retry_at  # the scheduler's retry timer fires
        lease_id = f"lease-{len(self.leases) + 1}"
        events = decide(Assign(job_id=target.id, lease_id=lease_id, worker_id=worker, issued_at=self.now), before)
        if before.deleted:
            assert events == []  # a deleted job is never leased
            return
        may_assign = (
            before.state in READY
            and not before.voted(worker)
            and not before.paused
            and not before.cancel_requested
            and (before.retry_at is None or before.retry_at <= self.now)
        )
        assert bool(events) == may_assign
        if events:
            self.leases.append(lease_id)
            target.issued.append(lease_id)
            self._append_decision(target, events)
            assert target.state.attempts == before.attempts + 1
            assert (target.state.lease_id, target.state.worker_id) == (lease_id, worker)

    @rule(
        kind=report_kinds,
        index=indexes,
        choice=lease_choices,
        unknown=unknown_leases,
        result=results,
        exit_code=exit_codes,
        jitter=jitters,
        digest=hashes,
    )
    def name_a_lease(
        self,
        kind: str,
        index: int,
        choice: str,
        unknown: str,
        result: ReportResult,
        exit_code: int | None,
        jitter: float,
        digest: str | None = None,
    ) -> None:
        """A worker reports on a lease, or the scheduler's timers expire it or time the run out.

        One rule for the four, so that swarm testing (which turns rules off per run) rarely starves them.
        """
        target, lease_id = self._pick(index, choice, unknown, best="assigned" if kind == "start" else "running")
        command: ReportCommand
        match kind:
            case "start":
                command = ReportStart(job_id=target.id, lease_id=lease_id, issued_at=self.now)
            case "finish":
                command = ReportFinish(
                    job_id=target.id,
                    lease_id=lease_id,
                    result=result,
                    exit_code=exit_code,
                    issued_at=self.now,
                    jitter=jitter,
                    verification=digest,
                )
            case "expire":
                command = ExpireLease(job_id=target.id, lease_id=lease_id, issued_at=self.now, jitter=jitter)
            case _:
                command = TimeOut(job_id=target.id, lease_id=lease_id, issued_at=self.now)
        self._report(target, command)

    @rule(index=indexes, action=requests, is_sent=request_draws, lease_s=lease_seconds)
    def someone_asks(self, index: int, action: str, is_sent: bool, lease_s: int = 60) -> None:
        """A client cancels, or an operator pauses, resumes, starts (a held job), edits, resets or deletes."""
        if not is_sent:
            return
        target = self._job(index)
        event_id, job_id, at = f"e-{action}-{self.seq}", target.id, self.now
        event: JobEvent
        match action:
            case "cancel":
                event = JobCancelRequested(event_id=event_id, job_id=job_id, occurred_at=at, reason="stop")
            case "pause":
                event = JobPauseRequested(event_id=event_id, job_id=job_id, occurred_at=at, requested_by="ops")
            case "resume":
                event = JobResumeRequested(event_id=event_id, job_id=job_id, occurred_at=at, requested_by="ops")
            case "start":
                event = JobStartRequested(event_id=event_id, job_id=job_id, occurred_at=at, requested_by="ops")
            case "edit":
                event = JobEdited(
                    event_id=event_id, job_id=job_id, occurred_at=at, labels=("linux",), priority=lease_s % 7,
                    lease_s=lease_s, requested_by="ops",
                )  # fmt: skip
            case "reset":
                event = JobResetRequested(event_id=event_id, job_id=job_id, occurred_at=at, requested_by="ops")
            case _:
                event = JobDeleteRequested(event_id=event_id, job_id=job_id, occurred_at=at, requested_by="ops")
        self._record(target, event)
        self._advance(target)

    # invariants

    @invariant()
    def a_leased_job_has_exactly_one_lease(self) -> None:
        for job in self.jobs:
            if job.state.deleted:
                assert job.state.lease_id is None  # it may keep "running" as its last state, but no lease
            elif job.state.state in LEASED:
                assert job.state.lease_id is not None
                assert job.state.worker_id is not None
                assert job.state.lease_id == job.issued[-1]  # always the latest one it was handed
            else:
                assert job.state.lease_id is None

    @invariant()
    def at_most_one_lease_is_live(self) -> None:
        for job in self.jobs:
            live = [lease_id for lease_id in self.leases if _holds(job.state, lease_id)]
            assert live == ([job.state.lease_id] if job.state.lease_id is not None else [])

    @invariant()
    def every_ready_job_is_leasable_by_a_matching_idle_worker(self) -> None:
        """What the engine queues (``is_ready``) is exactly what an assignment takes, once its
        retry time came, for a worker that has not voted on it: a queued job is never refused,
        a refused one never queued."""
        for job in self.jobs:
            state = job.state
            due = max(self.now, state.retry_at or self.now)
            fresh = next(w for w in ("w1", "w2", "w3", "w4") if not state.voted(w))
            events = decide(Assign(job_id=job.id, lease_id="lease-probe", worker_id=fresh, issued_at=due), state)
            assert bool(events) == is_ready(state)

    @invariant()
    def attempts_stay_within_the_retry_budget(self) -> None:
        for job in self.jobs:
            # one run per vote needed on top of the retries (a plain job needs one vote: its run)
            assert 0 <= job.state.attempts <= job.state.max_retries + job.state.verification
            assert job.state.failures <= job.state.max_retries + 1

    @invariant()
    def a_verified_job_has_a_quorum_of_different_workers(self) -> None:
        for job in self.jobs:
            s = job.state
            if s.state == "succeeded" and s.verification > 1:
                agreeing = {v.worker_id for v in s.votes if v.hash == s.verified}
                assert s.verified is not None
                assert len(agreeing) + 1 >= s.verification  # the closing run is not a vote
                assert s.worker_id not in agreeing
            assert len({v.worker_id for v in s.votes}) == len(s.votes)  # one vote per worker

    @invariant()
    def a_terminal_or_deleted_job_stays_as_it_is(self) -> None:
        for job in self.jobs:
            if job.settled is not None:
                assert replace(job.state, version=0) == replace(job.settled, version=0)
                assert decide(Advance(job_id=job.id, issued_at=self.now), job.state) == []

    @invariant()
    def replay_equals_the_incremental_state(self) -> None:
        for job in self.jobs:
            assert replay(job.history) == job.state

    @invariant()
    def a_job_is_never_updated_from_the_future(self) -> None:
        for job in self.jobs:
            assert T0 <= job.state.updated_at <= self.now


JobLifecycle.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestJobLifecycle = JobLifecycle.TestCase
