"""Given events -> when command -> then events, for every decide and evolve rule of the job."""

from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from conveyor_events import CommandPayload, JobCancelled, JobCancelRequested, JobEvent, JobQueued, JobSubmitted
from conveyor_scheduler.decider import (
    INITIAL,
    TERMINAL,
    Advance,
    JobState,
    apply,
    decide,
    decision_event_id,
    evolve,
    replay,
)

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
JOB = "0190c5a8-7b1e-7000-8000-000000000001"


DEP = "0190c5a8-7b1e-7000-8000-0000000000de"


def submitted(*, execute: bool = True, depends_on: tuple[str, ...] = ()) -> JobSubmitted:
    return JobSubmitted(
        depends_on=depends_on,
        event_id="e1",
        job_id=JOB,
        occurred_at=T0,
        project="demo",
        owner="alice",
        payload=CommandPayload(command="true"),
        execute=execute,
        priority=3,
        tags=("a",),
    )


def queued(at: datetime = T0) -> JobQueued:
    return JobQueued(event_id="e2", job_id=JOB, occurred_at=at)


def cancel_requested() -> JobCancelRequested:
    return JobCancelRequested(event_id="e3", job_id=JOB, occurred_at=T0, reason="stop", requested_by="alice")


def cancelled() -> JobCancelled:
    return JobCancelled(event_id="e4", job_id=JOB, occurred_at=T0, reason="stop")


def given_events(*events: JobEvent) -> JobState:
    return replay((i + 1, e) for i, e in enumerate(events))


def advance() -> Advance:
    return Advance(job_id=JOB, issued_at=T0 + timedelta(seconds=1))


# evolve


def test_a_job_with_nothing_to_wait_on_is_queued_by_its_submission() -> None:
    state = given_events(submitted())
    assert state.state == "queued"
    assert (state.project, state.owner, state.priority, state.tags) == ("demo", "alice", 3, ("a",))
    assert state.created_at == T0
    assert state.updated_at == T0
    assert state.version == 1
    assert state.submitted_seq == 1
    assert decide(advance(), state) == []  # nothing left to decide


def test_a_job_with_dependencies_waits_for_a_decision() -> None:
    state = given_events(submitted(depends_on=(DEP,)))
    assert state.state == "submitted"
    assert state.depends_on == (DEP,)


def test_held_job_is_pending() -> None:
    assert given_events(submitted(execute=False)).state == "pending"


def test_queued_moves_submitted_to_queued_and_stamps_update() -> None:
    later = T0 + timedelta(seconds=5)
    state = given_events(submitted(depends_on=(DEP,)), queued(later))
    assert state.state == "queued"
    assert state.updated_at == later
    assert state.version == 2
    assert state.submitted_seq == 1


def test_a_stream_written_before_queueing_on_submit_replays_to_the_same_job() -> None:
    """Streams from before this rule hold a ``JobQueued`` after every submission: it changes
    nothing but the version, so every later event folds as it did."""
    old = given_events(submitted(), queued(T0 + timedelta(seconds=5)))
    new = given_events(submitted())
    assert old.state == new.state == "queued"
    assert msgspec.structs.replace(old, version=new.version) == new


def test_second_submission_of_the_same_id_changes_nothing() -> None:
    state = given_events(submitted(), queued())
    assert evolve(state, submitted()) == state


def test_events_before_submission_are_ignored() -> None:
    assert evolve(INITIAL, queued()) == INITIAL
    assert evolve(INITIAL, cancel_requested()) == INITIAL
    assert evolve(INITIAL, cancelled()) == INITIAL


def test_cancel_request_sets_the_flag_once() -> None:
    state = given_events(submitted(), queued(), cancel_requested())
    assert state.cancel_requested
    assert state.reason == "stop"
    assert state.state == "queued"


def test_cancelled_is_terminal_and_absorbs() -> None:
    state = given_events(submitted(), cancelled())
    assert state.state == "cancelled"
    assert state.is_terminal
    assert evolve(state, queued()) == state
    assert evolve(state, cancel_requested()) == state


# decide


def test_decide_queues_a_submitted_job_with_a_deterministic_id() -> None:
    state = given_events(submitted(depends_on=(DEP,)))
    deps = {DEP: "succeeded"}
    [event] = decide(Advance(job_id=JOB, issued_at=T0 + timedelta(seconds=1), dependencies=deps), state)
    assert isinstance(event, JobQueued)
    assert event.event_id == decision_event_id(JOB, state.version, "job.queued")
    assert event.occurred_at == T0 + timedelta(seconds=1)
    again = decide(Advance(job_id=JOB, issued_at=T0 + timedelta(seconds=1), dependencies=deps), state)
    assert again == [event]  # same state, same decision, same id


def test_decide_leaves_pending_and_queued_jobs_alone() -> None:
    assert decide(advance(), given_events(submitted(execute=False))) == []
    assert decide(advance(), given_events(submitted(), queued())) == []


def test_decide_cancels_a_job_that_has_not_started() -> None:
    for history in ([submitted()], [submitted(), queued()], [submitted(execute=False)]):
        [event] = decide(advance(), given_events(*history, cancel_requested()))
        assert isinstance(event, JobCancelled)
        assert event.reason == "stop"


def test_decide_cancels_before_queueing() -> None:
    [event] = decide(advance(), given_events(submitted(), cancel_requested()))
    assert isinstance(event, JobCancelled)


def test_decide_does_nothing_for_unknown_or_terminal_jobs() -> None:
    assert decide(advance(), INITIAL) == []
    assert decide(advance(), given_events(submitted(), cancelled())) == []


# properties

job_events = st.sampled_from([queued(), cancel_requested(), cancelled(), submitted(), submitted(execute=False)])


@given(st.lists(job_events, max_size=12))
def test_a_terminal_state_absorbs_everything(history: list[JobEvent]) -> None:
    state = given_events(submitted(), *history)
    if state.state in TERMINAL:
        for event in (queued(), cancel_requested(), cancelled(), submitted()):
            assert evolve(state, event).state == state.state


@given(st.lists(job_events, max_size=12))
def test_replay_equals_incremental_application(history: list[JobEvent]) -> None:
    events = [submitted(), *history]
    incremental = INITIAL
    for seq, event in enumerate(events, start=1):
        incremental = apply(incremental, event, seq)
    assert replay(enumerate(events, start=1)) == incremental


@given(st.lists(job_events, max_size=12))
def test_deciding_until_quiet_reaches_a_settled_state(history: list[JobEvent]) -> None:
    """Applying each decision and deciding again ends within a few rounds, never in a loop."""
    state = given_events(submitted(), *history)
    seq = 100
    for _ in range(5):
        decisions = decide(advance(), state)
        if not decisions:
            break
        seq += 1
        state = apply(state, decisions[0], seq)
    assert decide(advance(), state) == []
    assert state.state != "submitted"
