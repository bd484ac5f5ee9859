"""Leases, reports, retries and timeouts of the job aggregate: given events -> when command -> then events."""

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor_events import (
    CommandPayload,
    JobAssigned,
    JobBlocked,
    JobCancelled,
    JobCancelRequested,
    JobDeleteRequested,
    JobDependenciesSet,
    JobEvent,
    JobFailed,
    JobPauseRequested,
    JobQueued,
    JobReleased,
    JobResetRequested,
    JobResumeRequested,
    JobRetryScheduled,
    JobStarted,
    JobStartRequested,
    JobSubmitted,
    JobSucceeded,
    JobTimedOut,
)
from conveyor_events.scheduler_api import ReportResult
from conveyor_scheduler.decider import (
    INITIAL,
    Advance,
    Assign,
    ExpireLease,
    JobState,
    ReportFinish,
    ReportStart,
    RetryPolicy,
    TimeOut,
    decide,
    decision_event_id,
    evolve,
    replay,
)
from conveyor_scheduler.errors import LeaseNotCurrentError, SchedulerError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
JOB = "0190c5a8-7b1e-7000-8000-000000000002"
L1, L2, L3 = "lease-1", "lease-2", "lease-3"
W1, W2 = "worker-1", "worker-2"
# jitter 0 takes the low end of the backoff: base_s * 2^(attempt-1) / 2, i.e. 5 s, 10 s, 20 s, ...
POLICY = RetryPolicy(base_s=10.0, cap_s=100.0)
RESULTS: tuple[ReportResult, ...] = ("succeeded", "failed", "skipped")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# events


def submitted(*, max_retries: int = 2, execute: bool = True, depends_on: tuple[str, ...] = ()) -> JobSubmitted:
    return JobSubmitted(
        depends_on=depends_on,
        event_id="e-submitted",
        job_id=JOB,
        occurred_at=T0,
        project="demo",
        owner="alice",
        payload=CommandPayload(command="make test"),
        max_retries=max_retries,
        lease_s=30,
        execute=execute,
    )


DEP = "0190c5a8-7b1e-7000-8000-0000000000de"


def queued(when: float = 1) -> JobQueued:
    return JobQueued(event_id="e-queued", job_id=JOB, occurred_at=at(when))


def assigned(lease: str = L1, *, attempt: int = 1, worker: str = W1, when: float = 2) -> JobAssigned:
    return JobAssigned(
        event_id=f"e-assigned-{lease}",
        job_id=JOB,
        occurred_at=at(when),
        lease_id=lease,
        worker_id=worker,
        attempt=attempt,
        lease_s=30,
    )


def started(lease: str = L1, *, when: float = 3) -> JobStarted:
    return JobStarted(event_id=f"e-started-{lease}", job_id=JOB, occurred_at=at(when), lease_id=lease)


def succeeded(lease: str = L1, *, when: float = 10) -> JobSucceeded:
    return JobSucceeded(event_id=f"e-succeeded-{lease}", job_id=JOB, occurred_at=at(when), lease_id=lease, exit_code=0)


def failed(lease: str | None = L1, *, when: float = 10) -> JobFailed:
    return JobFailed(
        event_id=f"e-failed-{lease}",
        job_id=JOB,
        occurred_at=at(when),
        reason="exit code 1",
        lease_id=lease,
        exit_code=1,
    )


def retry_scheduled(lease: str = L1, *, when: float = 10, retry_at: float = 20) -> JobRetryScheduled:
    return JobRetryScheduled(
        event_id=f"e-retry-{lease}",
        job_id=JOB,
        occurred_at=at(when),
        reason="exit code 1",
        retry_at=at(retry_at),
        lease_id=lease,
        exit_code=1,
    )


def released(lease: str = L1, *, when: float = 10) -> JobReleased:
    return JobReleased(
        event_id=f"e-released-{lease}", job_id=JOB, occurred_at=at(when), lease_id=lease, reason="skipped"
    )


def timed_out(lease: str = L1, *, when: float = 10) -> JobTimedOut:
    return JobTimedOut(event_id=f"e-timed-out-{lease}", job_id=JOB, occurred_at=at(when), lease_id=lease)


def cancel_requested(when: float = 5) -> JobCancelRequested:
    return JobCancelRequested(
        event_id="e-cancel-requested", job_id=JOB, occurred_at=at(when), reason="stop", requested_by="alice"
    )


def cancelled(when: float = 6) -> JobCancelled:
    return JobCancelled(event_id="e-cancelled", job_id=JOB, occurred_at=at(when), reason="stop")


def paused(when: float = 5) -> JobPauseRequested:
    return JobPauseRequested(event_id="e-pause", job_id=JOB, occurred_at=at(when), requested_by="ops")


def reset(when: float = 50) -> JobResetRequested:
    return JobResetRequested(event_id="e-reset", job_id=JOB, occurred_at=at(when), requested_by="ops")


def deleted(when: float = 50) -> JobDeleteRequested:
    return JobDeleteRequested(event_id="e-delete", job_id=JOB, occurred_at=at(when), requested_by="ops")


def given_events(*events: JobEvent) -> JobState:
    return replay(enumerate(events, start=1))


def on_attempt(attempt: int, *, max_retries: int = 2, running: bool = True) -> tuple[JobEvent, ...]:
    """History of a job on its ``attempt``-th lease (``lease-<attempt>``), every earlier attempt having failed."""
    history: list[JobEvent] = [submitted(max_retries=max_retries), queued()]
    for n in range(1, attempt + 1):
        start = 100 * n
        history.append(assigned(f"lease-{n}", attempt=n, when=start))
        if running or n < attempt:
            history.append(started(f"lease-{n}", when=start + 1))
        if n < attempt:
            history.append(retry_scheduled(f"lease-{n}", when=start + 10, retry_at=start + 50))
    return tuple(history)


QUEUED = (submitted(), queued())
ASSIGNED = (*QUEUED, assigned())
RUNNING = (*ASSIGNED, started())
RETRY_WAITING = (*RUNNING, retry_scheduled(retry_at=20))  # attempt 1 failed, the next may start at 20 s
TERMINAL_HISTORIES = {
    "succeeded": (*RUNNING, succeeded()),
    "failed": (*RUNNING, failed()),
    "timed_out": (*RUNNING, timed_out()),
    "cancelled_while_running": (*RUNNING, cancel_requested(), cancelled()),
}


# commands


def assign(lease: str = L1, *, worker: str = W1, when: float = 2) -> Assign:
    return Assign(job_id=JOB, lease_id=lease, worker_id=worker, issued_at=at(when))


def report_start(lease: str = L1, *, when: float = 3) -> ReportStart:
    return ReportStart(job_id=JOB, lease_id=lease, issued_at=at(when))


def report_finish(
    result: ReportResult, lease: str = L1, *, exit_code: int | None = 0, when: float = 10, jitter: float = 0.0
) -> ReportFinish:
    return ReportFinish(
        job_id=JOB,
        lease_id=lease,
        result=result,
        exit_code=exit_code,
        issued_at=at(when),
        jitter=jitter,
        policy=POLICY,
    )


def expire(lease: str = L1, *, when: float = 40) -> ExpireLease:
    return ExpireLease(job_id=JOB, lease_id=lease, issued_at=at(when), jitter=0.0, policy=POLICY)


def time_out(lease: str = L1, *, when: float = 40) -> TimeOut:
    return TimeOut(job_id=JOB, lease_id=lease, issued_at=at(when))


# decide: Assign


def test_assign_leases_a_queued_job_as_its_first_attempt() -> None:
    state = given_events(*QUEUED)
    assert decide(assign(), state) == [
        JobAssigned(
            event_id=decision_event_id(JOB, 2, "job.assigned"),
            job_id=JOB,
            occurred_at=at(2),
            lease_id=L1,
            worker_id=W1,
            attempt=1,
            lease_s=30,
        )
    ]


def test_assign_numbers_the_attempt_after_the_earlier_ones() -> None:
    [event] = decide(assign(L3, when=300), given_events(*on_attempt(2), retry_scheduled(L2, when=210, retry_at=250)))
    assert isinstance(event, JobAssigned)
    assert event.attempt == 3


@pytest.mark.parametrize(
    "history",
    [
        (),
        (submitted(depends_on=(DEP,)),),  # the scheduler has not decided on its dependency yet
        (submitted(execute=False),),
        ASSIGNED,
        RUNNING,
        *TERMINAL_HISTORIES.values(),
    ],
    ids=["new", "submitted", "pending", "assigned", "running", *TERMINAL_HISTORIES],
)
def test_assign_leases_only_queued_jobs(history: tuple[JobEvent, ...]) -> None:
    assert decide(assign(L2, worker=W2, when=50), given_events(*history)) == []


def test_assign_skips_a_paused_job() -> None:
    state = given_events(*QUEUED, paused(when=1.5))
    assert decide(assign(), state) == []
    resumed = evolve(state, JobResumeRequested(event_id="e-resume", job_id=JOB, occurred_at=at(1.8)))
    assert len(decide(assign(), resumed)) == 1


def test_assign_skips_a_deleted_job() -> None:
    assert decide(assign(when=60), given_events(*QUEUED, deleted())) == []


def test_assign_skips_a_job_with_a_cancel_request() -> None:
    assert decide(assign(when=6), given_events(*QUEUED, cancel_requested())) == []


def test_assign_waits_for_the_retry_time() -> None:
    state = given_events(*RETRY_WAITING)
    assert decide(assign(L2, when=20 - 1e-6), state) == []
    for when in (20, 21):
        [event] = decide(assign(L2, when=when), state)
        assert isinstance(event, JobAssigned)
        assert event.attempt == 2


def test_assign_decision_id_depends_on_the_version_not_on_the_lease() -> None:
    """A scheduler deciding again after a crash, with a fresh lease id, re-sends the same message id."""
    state = given_events(*QUEUED)
    [first] = decide(assign(L1, worker=W1), state)
    [again] = decide(assign(L2, worker=W2), state)
    assert first.event_id == again.event_id
    later = given_events(*QUEUED, queued())  # ignored by evolve, but it moves the version on
    [moved] = decide(assign(L1, worker=W1), later)
    assert moved.event_id == decision_event_id(JOB, 3, "job.assigned") != first.event_id


def test_decision_event_id_is_a_name_based_uuid_of_job_version_and_tag() -> None:
    eid = decision_event_id(JOB, 7, "job.assigned")
    assert uuid.UUID(eid).version == 5
    assert eid == decision_event_id(JOB, 7, "job.assigned")
    others = {
        decision_event_id("0190c5a8-7b1e-7000-8000-000000000003", 7, "job.assigned"),
        decision_event_id(JOB, 8, "job.assigned"),
        decision_event_id(JOB, 7, "job.started"),
    }
    assert eid not in others
    assert len(others) == 3


# decide: ReportStart


def test_report_start_on_the_current_lease_starts_the_run() -> None:
    assert decide(report_start(), given_events(*ASSIGNED)) == [
        JobStarted(event_id=decision_event_id(JOB, 3, "job.started"), job_id=JOB, occurred_at=at(3), lease_id=L1)
    ]


def test_report_start_again_while_running_changes_nothing() -> None:
    assert decide(report_start(when=4), given_events(*RUNNING)) == []


STALE_LEASES = pytest.mark.parametrize(
    ("history", "lease"),
    [
        (ASSIGNED, L2),
        (RUNNING, L2),
        (QUEUED, L1),
        (RETRY_WAITING, L1),
        (on_attempt(2), L1),
        (on_attempt(2, running=False), L1),
        ((*RUNNING, released()), L1),
        *((history, L1) for history in TERMINAL_HISTORIES.values()),
    ],
    ids=[
        "assigned-other",
        "running-other",
        "queued",
        "waiting-retry",
        "reassigned-running",
        "reassigned",
        "released",
        *TERMINAL_HISTORIES,
    ],
)


@STALE_LEASES
def test_report_start_with_a_lease_the_job_does_not_hold_is_refused(history: tuple[JobEvent, ...], lease: str) -> None:
    with pytest.raises(LeaseNotCurrentError, match=lease) as caught:
        decide(report_start(lease, when=500), given_events(*history))
    assert isinstance(caught.value, SchedulerError)
    assert caught.value.code == "lease_not_current"


# decide: ReportFinish


def succeeded_on(state: JobState) -> JobSucceeded:
    """What ``report_finish("succeeded")`` decides on ``state``."""
    eid = decision_event_id(JOB, state.version, "job.succeeded")
    return JobSucceeded(event_id=eid, job_id=JOB, occurred_at=at(10), lease_id=L1, exit_code=0)


def test_report_finish_succeeded_ends_the_job() -> None:
    state = given_events(*RUNNING)
    assert decide(report_finish("succeeded"), state) == [succeeded_on(state)]


@pytest.mark.parametrize(
    ("reported", "recorded"),
    [(None, 10), (5, 5), (1, 2), (11, 10)],  # no start time: the finish's; kept between assignment and finish
    ids=["unsaid", "as-said", "before-assignment", "after-finish"],
)
def test_a_finish_without_a_start_records_both(reported: float | None, recorded: float) -> None:
    state = given_events(*ASSIGNED)
    command = msgspec.structs.replace(report_finish("succeeded"), started_at=None if reported is None else at(reported))
    events = decide(command, state)
    assert events == [
        JobStarted(
            event_id=decision_event_id(JOB, state.version, "job.started"),
            job_id=JOB,
            occurred_at=at(recorded),
            lease_id=L1,
        ),
        succeeded_on(state),
    ]
    done = given_events(*ASSIGNED, *events)
    assert (done.state, done.started_at, done.finished_at) == ("succeeded", at(recorded), at(10))


def test_a_failed_finish_without_a_start_records_the_start_and_the_retry() -> None:
    events = decide(report_finish("failed", exit_code=2), given_events(*ASSIGNED))
    assert [type(e) for e in events] == [JobStarted, JobRetryScheduled]


def test_report_finish_skipped_gives_the_job_back() -> None:
    assert decide(report_finish("skipped", exit_code=None), given_events(*RUNNING)) == [
        JobReleased(
            event_id=decision_event_id(JOB, 4, "job.released"),
            job_id=JOB,
            occurred_at=at(10),
            lease_id=L1,
            reason="skipped",
        )
    ]


def test_report_finish_failed_schedules_a_retry_after_the_backoff() -> None:
    assert decide(report_finish("failed", exit_code=2), given_events(*RUNNING)) == [
        JobRetryScheduled(
            event_id=decision_event_id(JOB, 4, "job.retry_scheduled"),
            job_id=JOB,
            occurred_at=at(10),
            reason="exit code 2",
            retry_at=at(10 + 5),  # attempt 1: 10 s * 2^0, halved by jitter 0
            lease_id=L1,
            exit_code=2,
        )
    ]


def test_report_finish_failed_backs_off_longer_on_each_attempt() -> None:
    [event] = decide(report_finish("failed", L2, exit_code=2, when=210), given_events(*on_attempt(2)))
    assert isinstance(event, JobRetryScheduled)
    assert event.retry_at == at(210 + 10)  # attempt 2: 10 s * 2^1, halved by jitter 0


def test_report_finish_failed_uses_the_jitter() -> None:
    [event] = decide(report_finish("failed", exit_code=2, jitter=0.5), given_events(*RUNNING))
    assert isinstance(event, JobRetryScheduled)
    assert event.retry_at == at(10 + 7.5)  # 10 s * (0.5 + 0.5 / 2)


def test_report_finish_failed_without_an_exit_code() -> None:
    [event] = decide(report_finish("failed", exit_code=None), given_events(*RUNNING))
    assert isinstance(event, JobRetryScheduled)
    assert (event.reason, event.exit_code) == ("failed", None)


@pytest.mark.parametrize(
    ("max_retries", "attempt", "retried"),
    [(0, 1, False), (1, 1, True), (1, 2, False), (2, 1, True), (2, 2, True), (2, 3, False)],
)
def test_report_finish_failed_retries_while_attempts_are_left(max_retries: int, attempt: int, retried: bool) -> None:
    lease = f"lease-{attempt}"
    state = given_events(*on_attempt(attempt, max_retries=max_retries))
    [event] = decide(report_finish("failed", lease, exit_code=3, when=1000), state)
    if retried:
        assert isinstance(event, JobRetryScheduled)
    else:
        assert event == JobFailed(
            event_id=decision_event_id(JOB, state.version, "job.failed"),
            job_id=JOB,
            occurred_at=at(1000),
            reason="exit code 3",
            lease_id=lease,
            exit_code=3,
        )


@STALE_LEASES
def test_report_finish_with_a_lease_the_job_does_not_hold_is_refused(history: tuple[JobEvent, ...], lease: str) -> None:
    state = given_events(*history)
    for result in RESULTS:
        with pytest.raises(LeaseNotCurrentError):
            decide(report_finish(result, lease, when=500), state)


# RetryPolicy


def test_retry_delay_doubles_with_each_attempt() -> None:
    policy = RetryPolicy(base_s=2.0, cap_s=1000.0)
    assert [policy.delay(n, 0.0) for n in range(1, 6)] == [timedelta(seconds=s) for s in (1, 2, 4, 8, 16)]


def test_retry_delay_is_capped() -> None:
    policy = RetryPolicy(base_s=2.0, cap_s=10.0)
    assert policy.delay(3, 0.0) == timedelta(seconds=4)
    assert policy.delay(4, 0.0) == timedelta(seconds=5)  # 16 s capped at 10 s, halved by jitter 0
    assert policy.delay(100, 0.0) == timedelta(seconds=5)


def test_retry_delay_before_a_first_attempt_is_the_base() -> None:
    policy = RetryPolicy(base_s=2.0, cap_s=10.0)
    assert policy.delay(0, 0.0) == policy.delay(-3, 0.0) == policy.delay(1, 0.0) == timedelta(seconds=1)


def test_retry_jitter_spans_half_to_all_of_the_delay() -> None:
    policy = RetryPolicy(base_s=2.0, cap_s=1000.0)
    assert policy.delay(3, 0.0) == timedelta(seconds=4)
    assert policy.delay(3, 0.5) == timedelta(seconds=6)
    assert policy.delay(3, 0.999) < timedelta(seconds=8)


def test_retry_jitter_out_of_range_is_clamped() -> None:
    policy = RetryPolicy(base_s=2.0, cap_s=1000.0)
    assert policy.delay(1, -5.0) == timedelta(seconds=1)
    assert policy.delay(1, 7.0) == timedelta(seconds=2)


@given(
    base_s=st.floats(0.1, 60.0),
    cap_s=st.floats(1.0, 3600.0),
    attempt=st.integers(1, 60),
    jitter=st.floats(0.0, 1.0, exclude_max=True),
)
def test_retry_delay_stays_within_half_and_all_of_the_capped_backoff(
    base_s: float, cap_s: float, attempt: int, jitter: float
) -> None:
    full = min(cap_s, base_s * 2 ** (attempt - 1))
    delay = RetryPolicy(base_s=base_s, cap_s=cap_s).delay(attempt, jitter).total_seconds()
    # timedelta keeps microseconds: allow for rounding at both ends
    assert full / 2 - 1e-6 <= delay <= full + 1e-6


# decide: ExpireLease


@pytest.mark.parametrize("history", [ASSIGNED, RUNNING], ids=["assigned", "running"])
def test_an_expired_lease_schedules_a_retry(history: tuple[JobEvent, ...]) -> None:
    state = given_events(*history)
    assert decide(expire(), state) == [
        JobRetryScheduled(
            event_id=decision_event_id(JOB, state.version, "job.retry_scheduled"),
            job_id=JOB,
            occurred_at=at(40),
            reason="lease_expired",
            retry_at=at(40 + 5),
            lease_id=L1,
            exit_code=None,
        )
    ]


def test_an_expired_lease_on_the_last_attempt_fails_the_job() -> None:
    state = given_events(*on_attempt(1, max_retries=0))
    assert decide(expire(when=500), state) == [
        JobFailed(
            event_id=decision_event_id(JOB, state.version, "job.failed"),
            job_id=JOB,
            occurred_at=at(500),
            reason="lease_expired",
            lease_id=L1,
            exit_code=None,
        )
    ]


@STALE_LEASES
def test_expiring_a_lease_the_job_does_not_hold_is_refused(history: tuple[JobEvent, ...], lease: str) -> None:
    with pytest.raises(LeaseNotCurrentError):
        decide(expire(lease, when=500), given_events(*history))


# decide: TimeOut


def test_a_running_job_times_out() -> None:
    assert decide(time_out(), given_events(*RUNNING)) == [
        JobTimedOut(event_id=decision_event_id(JOB, 4, "job.timed_out"), job_id=JOB, occurred_at=at(40), lease_id=L1)
    ]


def test_a_job_that_has_not_started_does_not_time_out() -> None:
    assert decide(time_out(), given_events(*ASSIGNED)) == []


@STALE_LEASES
def test_timing_out_a_lease_the_job_does_not_hold_is_refused(history: tuple[JobEvent, ...], lease: str) -> None:
    with pytest.raises(LeaseNotCurrentError):
        decide(time_out(lease, when=500), given_events(*history))


# decide: Advance on leased jobs


@pytest.mark.parametrize("history", [ASSIGNED, RUNNING, RETRY_WAITING], ids=["assigned", "running", "waiting-retry"])
def test_advance_cancels_a_job_with_a_cancel_request(history: tuple[JobEvent, ...]) -> None:
    state = given_events(*history, cancel_requested(when=30))
    assert decide(Advance(job_id=JOB, issued_at=at(31)), state) == [
        JobCancelled(
            event_id=decision_event_id(JOB, state.version, "job.cancelled"),
            job_id=JOB,
            occurred_at=at(31),
            reason="stop",
        )
    ]


@pytest.mark.parametrize("history", [ASSIGNED, RUNNING], ids=["assigned", "running"])
def test_advance_releases_a_paused_leased_job(history: tuple[JobEvent, ...]) -> None:
    state = given_events(*history, paused(when=30))
    [event] = decide(Advance(job_id=JOB, issued_at=at(31)), state)
    assert event == JobReleased(
        event_id=decision_event_id(JOB, state.version, "job.released"),
        job_id=JOB,
        occurred_at=at(31),
        lease_id=L1,
        reason="paused",
    )
    after = evolve(state, event)
    assert (after.state, after.lease_id, after.attempts) == ("queued", None, 0)  # the attempt does not count
    with pytest.raises(LeaseNotCurrentError):
        decide(report_finish("succeeded", when=32), after)


@pytest.mark.parametrize("history", [ASSIGNED, RUNNING, RETRY_WAITING], ids=["assigned", "running", "waiting-retry"])
def test_advance_leaves_a_leased_or_waiting_job_alone(history: tuple[JobEvent, ...]) -> None:
    assert decide(Advance(job_id=JOB, issued_at=at(31)), given_events(*history)) == []


# evolve


def test_assigned_takes_the_lease() -> None:
    state = given_events(*ASSIGNED)
    assert (state.state, state.lease_id, state.worker_id, state.attempts) == ("assigned", L1, W1, 1)
    assert state.updated_at == at(2)


def test_assigned_again_clears_the_retry_time_and_counts_the_attempt() -> None:
    waiting = given_events(*RETRY_WAITING)
    assert waiting.retry_at == at(20)
    state = evolve(waiting, assigned(L2, attempt=2, worker=W2, when=25))
    assert (state.state, state.lease_id, state.worker_id, state.attempts) == ("assigned", L2, W2, 2)
    assert state.retry_at is None


@pytest.mark.parametrize(
    "history", [(submitted(depends_on=(DEP,)),), ASSIGNED, RUNNING], ids=["submitted", "assigned", "running"]
)
def test_assigned_is_ignored_unless_queued(history: tuple[JobEvent, ...]) -> None:
    state = given_events(*history)
    assert evolve(state, assigned(L2, attempt=2, worker=W2, when=50)) == state


def test_started_marks_the_run() -> None:
    state = given_events(*RUNNING)
    assert (state.state, state.lease_id, state.started_at, state.updated_at) == ("running", L1, at(3), at(3))


def test_started_naming_another_lease_is_ignored() -> None:
    state = given_events(*ASSIGNED)
    assert evolve(state, started(L2)) == state


def test_started_twice_keeps_the_first_start() -> None:
    state = given_events(*RUNNING)
    assert evolve(state, started(when=9)) == state


def test_succeeded_ends_the_job_and_drops_the_lease() -> None:
    state = given_events(*RUNNING, succeeded(when=12))
    assert (state.state, state.lease_id, state.exit_code, state.reason) == ("succeeded", None, 0, "")
    assert state.finished_at == state.updated_at == at(12)
    assert state.is_terminal


def test_failed_ends_the_job_and_drops_the_lease() -> None:
    state = given_events(*RUNNING, failed(when=12))
    assert (state.state, state.lease_id, state.exit_code, state.reason) == ("failed", None, 1, "exit code 1")
    assert state.finished_at == at(12)


def test_retry_scheduled_queues_the_job_again_for_later() -> None:
    state = given_events(*RETRY_WAITING)
    assert (state.state, state.lease_id, state.attempts) == ("queued", None, 1)
    assert (state.retry_at, state.reason, state.exit_code) == (at(20), "exit code 1", 1)
    assert state.finished_at is None


def test_released_queues_the_job_again_and_gives_the_attempt_back() -> None:
    state = given_events(*RUNNING, released())
    assert (state.state, state.lease_id, state.attempts, state.reason) == ("queued", None, 0, "skipped")
    assert state.retry_at is None
    [event] = decide(assign(L2, when=11), state)
    assert isinstance(event, JobAssigned)
    assert event.attempt == 1


def test_timed_out_ends_the_job_and_drops_the_lease() -> None:
    state = given_events(*RUNNING, timed_out(when=12))
    assert (state.state, state.lease_id, state.reason, state.finished_at) == ("timed_out", None, "timed out", at(12))


def test_cancelled_drops_the_lease() -> None:
    state = given_events(*RUNNING, cancel_requested(), cancelled(when=7))
    assert (state.state, state.lease_id, state.reason, state.finished_at) == ("cancelled", None, "stop", at(7))


@pytest.mark.parametrize(
    "stale",
    [started(L1, when=300), succeeded(L1, when=300), released(L1, when=300), timed_out(L1, when=300)],
    ids=["started", "succeeded", "released", "timed_out"],
)
@pytest.mark.parametrize("running", [False, True], ids=["assigned", "running"])
def test_events_naming_a_previous_lease_are_ignored(stale: JobEvent, running: bool) -> None:
    state = given_events(*on_attempt(2, running=running))
    assert state.lease_id == L2
    assert evolve(state, stale) == state


@pytest.mark.parametrize(
    "stale", [failed(L1, when=300), retry_scheduled(L1, when=300, retry_at=400)], ids=["failed", "retry_scheduled"]
)
def test_failure_decisions_naming_a_previous_lease_are_ignored(stale: JobEvent) -> None:
    state = given_events(*on_attempt(2))
    assert evolve(state, stale) == state


def test_a_reset_fences_the_lease_and_starts_over() -> None:
    state = given_events(*on_attempt(2), reset(when=300))
    assert (state.state, state.lease_id, state.worker_id, state.attempts) == ("submitted", None, None, 0)
    for lease in (L1, L2):
        with pytest.raises(LeaseNotCurrentError):
            decide(report_finish("succeeded", lease, when=301), state)


def test_a_deleted_job_holds_no_lease() -> None:
    state = given_events(*RUNNING, deleted())
    assert state.deleted
    assert state.lease_id is None
    with pytest.raises(LeaseNotCurrentError):
        decide(report_finish("succeeded", when=51), state)
    assert decide(Advance(job_id=JOB, issued_at=at(51)), state) == []


# Operator resets and deletes change a finished job on purpose; every other event is absorbed.
EVERY_EVENT: list[JobEvent] = [
    submitted(),
    queued(300),
    cancel_requested(300),
    cancelled(300),
    assigned(L2, attempt=2, when=300),
    started(L1, when=300),
    succeeded(L1, when=300),
    failed(L1, when=300),
    failed(None, when=300),
    retry_scheduled(L1, when=300, retry_at=400),
    released(L1, when=300),
    timed_out(L1, when=300),
    paused(300),
    JobResumeRequested(event_id="e-resume", job_id=JOB, occurred_at=at(300)),
    JobStartRequested(event_id="e-start", job_id=JOB, occurred_at=at(300)),
    JobBlocked(event_id="e-blocked", job_id=JOB, occurred_at=at(300), waiting_on=("other",)),
    JobDependenciesSet(event_id="e-deps", job_id=JOB, occurred_at=at(300), depends_on=("other",)),
]


@pytest.mark.parametrize("history", TERMINAL_HISTORIES.values(), ids=TERMINAL_HISTORIES.keys())
def test_a_terminal_job_absorbs_every_event(history: tuple[JobEvent, ...]) -> None:
    state = given_events(*history)
    assert state.is_terminal
    for event in EVERY_EVENT:
        assert evolve(state, event) == state, type(event).__name__


@pytest.mark.parametrize("history", TERMINAL_HISTORIES.values(), ids=TERMINAL_HISTORIES.keys())
def test_a_terminal_job_calls_for_nothing(history: tuple[JobEvent, ...]) -> None:
    state = given_events(*history)
    assert decide(Advance(job_id=JOB, issued_at=at(500)), state) == []
    assert decide(assign(L2, when=500), state) == []


def test_submitted_seq_is_the_sequence_of_the_submission() -> None:
    state = replay([(4, cancel_requested()), (9, submitted())])  # an event that reached the subject first
    assert state.submitted_seq == 9


def test_events_before_submission_leave_the_job_unknown() -> None:
    for event in EVERY_EVENT[1:]:
        assert evolve(INITIAL, event) == INITIAL
