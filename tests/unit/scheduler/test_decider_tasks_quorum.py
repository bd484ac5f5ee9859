"""Given events -> when command -> then events: manifest tasks, verification quorums and edits."""

from datetime import UTC, datetime, timedelta

import pytest
from msgspec.structs import replace

from conveyor_events import (
    CommandPayload,
    JobAssigned,
    JobEdited,
    JobEvent,
    JobFailed,
    JobQueued,
    JobResetRequested,
    JobSubmitted,
    JobSucceeded,
    JobTaskReported,
    JobVerificationRecorded,
    ManifestPayload,
    ManifestTask,
    TaskReport,
)
from conveyor_events.scheduler_api import ReportResult
from conveyor_scheduler.decider import Assign, JobState, ReportFinish, ReportTask, decide, evolve, replay
from conveyor_scheduler.errors import LeaseNotCurrentError, ReportRejectedError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
JOB = "0190c5a8-7b1e-7000-8000-000000000001"
MANIFEST = ManifestPayload(tasks=(ManifestTask(name="setup", script="true"), ManifestTask(name="build", script="make")))


def submitted(**fields: object) -> JobSubmitted:
    job = JobSubmitted(
        event_id="e1", job_id=JOB, occurred_at=T0, project="p", owner="o", payload=CommandPayload(command="true")
    )
    return replace(job, **fields)


def assigned(lease: str, worker: str, attempt: int) -> JobAssigned:
    return JobAssigned(
        event_id=f"a{attempt}",
        job_id=JOB,
        occurred_at=T0,
        lease_id=lease,
        worker_id=worker,
        attempt=attempt,
        lease_s=60,
    )


def state_of(*events: JobEvent) -> JobState:
    return replay((i + 1, e) for i, e in enumerate(events))


def queued() -> JobQueued:
    return JobQueued(event_id="q", job_id=JOB, occurred_at=T0)


def finish(lease: str, digest: str | None, result: ReportResult = "succeeded") -> ReportFinish:
    return ReportFinish(job_id=JOB, lease_id=lease, result=result, exit_code=0, issued_at=T0, verification=digest)


def report(state: JobState, command: ReportFinish) -> tuple[JobState, JobEvent]:
    """Decide a finish and fold what it decided; return the new state and the run's outcome event
    (a run whose start was not reported gets its ``JobStarted`` first)."""
    events = decide(command, state)
    for event in events:
        state = evolve(state, event)
    return state, events[-1]


# tasks


def test_a_manifest_job_starts_with_every_task_pending() -> None:
    state = state_of(submitted(payload=MANIFEST))
    assert [(t.name, t.state) for t in state.tasks] == [("setup", "pending"), ("build", "pending")]
    assert state_of(submitted()).tasks == ()


def test_a_task_report_under_the_lease_records_the_tasks_state() -> None:
    state = state_of(submitted(payload=MANIFEST), queued(), assigned("l1", "w1", 1))
    report = ReportTask(
        job_id=JOB, lease_id="l1", task=TaskReport(name="build", state="failed", exit_code=2), issued_at=T0
    )
    [event] = decide(report, state)
    assert isinstance(event, JobTaskReported)
    after = evolve(state, event)
    assert [(t.name, t.state, t.exit_code) for t in after.tasks] == [("setup", "pending", None), ("build", "failed", 2)]
    assert decide(report, after) == []  # a retried report changes nothing


def test_a_task_report_needs_the_current_lease_and_a_known_task() -> None:
    state = state_of(submitted(payload=MANIFEST), queued(), assigned("l1", "w1", 1))
    with pytest.raises(LeaseNotCurrentError):
        decide(
            ReportTask(job_id=JOB, lease_id="l0", task=TaskReport(name="build", state="running"), issued_at=T0), state
        )
    with pytest.raises(ReportRejectedError) as unknown:
        decide(
            ReportTask(job_id=JOB, lease_id="l1", task=TaskReport(name="deploy", state="running"), issued_at=T0), state
        )
    assert unknown.value.code == "unknown_task"
    with pytest.raises(ReportRejectedError):
        decide(
            ReportTask(job_id=JOB, lease_id="l1", task=TaskReport(name="build", state="pending"), issued_at=T0), state
        )


def test_a_reset_sets_every_task_back_to_pending() -> None:
    report = JobTaskReported(event_id="t", job_id=JOB, occurred_at=T0, lease_id="l1",
                             task=TaskReport(name="setup", state="succeeded"))  # fmt: skip
    reset = JobResetRequested(event_id="r", job_id=JOB, occurred_at=T0)
    state = state_of(submitted(payload=MANIFEST), queued(), assigned("l1", "w1", 1), report, reset)
    assert {t.state for t in state.tasks} == {"pending"}


# verification quorum


def test_a_quorum_job_waits_for_agreeing_results_from_different_workers() -> None:
    state = state_of(submitted(verification=2), queued(), assigned("l1", "w1", 1))
    state, vote = report(state, finish("l1", "h"))
    assert isinstance(vote, JobVerificationRecorded)
    assert (vote.worker_id, vote.hash) == ("w1", "h")
    assert (state.state, state.lease_id, state.attempts) == ("awaiting_verification", None, 1)
    assert decide(Assign(job_id=JOB, lease_id="l2", worker_id="w1", issued_at=T0), state) == []  # not w1 again
    [again] = decide(Assign(job_id=JOB, lease_id="l2", worker_id="w2", issued_at=T0), state)
    state = evolve(state, again)
    state, done = report(state, finish("l2", "h"))
    assert isinstance(done, JobSucceeded)
    assert done.verification == "h"
    assert state.verified == "h"


def test_a_disagreeing_result_is_a_vote_too_and_a_quorum_job_without_a_hash_is_refused() -> None:
    state = state_of(submitted(verification=2), queued(), assigned("l1", "w1", 1))
    with pytest.raises(ReportRejectedError) as missing:
        decide(finish("l1", None), state)
    assert missing.value.code == "verification_required"
    state, _ = report(state, finish("l1", "h1"))
    state = evolve(state, decide(Assign(job_id=JOB, lease_id="l2", worker_id="w2", issued_at=T0), state)[0])
    state, vote = report(state, finish("l2", "h2"))
    assert isinstance(vote, JobVerificationRecorded)
    assert [v.hash for v in state.votes] == ["h1", "h2"]


def test_a_quorum_that_cannot_form_within_the_runs_allowed_fails() -> None:
    state = state_of(submitted(verification=2, max_retries=0), queued(), assigned("l1", "w1", 1))
    state, _ = report(state, finish("l1", "h1"))
    state = evolve(state, decide(Assign(job_id=JOB, lease_id="l2", worker_id="w2", issued_at=T0), state)[0])
    _, failed = report(state, finish("l2", "h2"))
    assert isinstance(failed, JobFailed)
    assert failed.reason.startswith("no verification quorum")


def test_a_failed_run_of_a_quorum_job_goes_back_to_waiting_for_votes() -> None:
    state = state_of(submitted(verification=2, max_retries=2), queued(), assigned("l1", "w1", 1))
    state, _ = report(state, finish("l1", "h1"))
    state = evolve(state, decide(Assign(job_id=JOB, lease_id="l2", worker_id="w2", issued_at=T0), state)[0])
    state, _ = report(state, finish("l2", None, result="failed"))
    assert (state.state, state.failures) == ("awaiting_verification", 1)
    assert state.retry_at is not None and state.retry_at > T0
    later = T0 + timedelta(hours=1)
    assert decide(Assign(job_id=JOB, lease_id="l3", worker_id="w2", issued_at=later), state) != []


# edits


def test_an_edit_changes_only_the_given_fields_even_on_a_finished_job() -> None:
    done = JobSucceeded(event_id="s", job_id=JOB, occurred_at=T0, lease_id="l1")
    state = state_of(submitted(timeout_s=30, title="a"), queued(), assigned("l1", "w1", 1), done)
    edit = JobEdited(event_id="ed", job_id=JOB, occurred_at=T0 + timedelta(seconds=1), priority=9, clear_timeout=True,
                     payload=MANIFEST)  # fmt: skip
    after = evolve(state, edit)
    assert (after.priority, after.timeout_s, after.title, after.state) == (9, None, "a", "succeeded")
    assert [t.name for t in after.tasks] == ["setup", "build"]
    assert after.payload == MANIFEST
