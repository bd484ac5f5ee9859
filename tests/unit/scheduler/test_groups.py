"""A group's state and progress from its children's counters, and the roll-up decision."""

from datetime import UTC, datetime

import pytest

from conveyor_events import JobEvent, JobRolledUp, JobSubmitted
from conveyor_scheduler.decider import Advance, JobState, apply, decide, replay
from conveyor_scheduler.groups import group_progress, group_state, tally

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
GROUP = "0190c5a8-7b1e-7000-8000-000000000001"


@pytest.mark.parametrize(
    ("children", "state"),
    [
        ({}, "queued"),
        ({"queued": 2, "blocked": 1, "pending": 1}, "queued"),
        ({"queued": 2, "running": 1}, "running"),
        ({"queued": 2, "succeeded": 1}, "running"),
        ({"succeeded": 3}, "succeeded"),
        ({"succeeded": 2, "failed": 1}, "failed"),
        ({"succeeded": 2, "timed_out": 1, "cancelled": 1}, "failed"),
        ({"succeeded": 2, "cancelled": 1}, "cancelled"),
        ({"awaiting_verification": 1}, "running"),
    ],
)
def test_a_groups_state_follows_its_children(children: dict[str, int], state: str) -> None:
    assert group_state(children)[0] == state


def test_progress_is_the_share_of_children_that_ended() -> None:
    assert group_progress({}) is None
    assert group_progress({"succeeded": 1, "failed": 1, "running": 2}) == 50.0
    assert tally({"a": "queued", "b": "queued", "c": "failed"}) == {"queued": 2, "failed": 1}


def group(*events: JobEvent) -> JobState:
    submitted = JobSubmitted(event_id="g", job_id=GROUP, occurred_at=T0, project="p", owner="o", payload=None)
    return replay((i + 1, e) for i, e in enumerate((submitted, *events)))


def roll(state: JobState, children: dict[str, int] | None) -> list[JobEvent]:
    return decide(Advance(job_id=GROUP, issued_at=T0, children=children), state)


def test_a_new_group_is_queued_and_never_handed_out() -> None:
    [event] = roll(group(), {})
    assert isinstance(event, JobRolledUp)
    state = apply(group(), event, 2)
    assert (state.state, state.is_group) == ("queued", True)
    assert roll(state, {}) == []


def test_new_counters_are_recorded_and_move_the_groups_state() -> None:
    state = apply(group(), roll(group(), {})[0], 2)
    [event] = roll(state, {"queued": 1, "running": 1})
    state = apply(state, event, 3)
    assert (state.state, state.children, state.progress) == ("running", {"queued": 1, "running": 1}, 0.0)
    [event] = roll(state, {"succeeded": 2})
    state = apply(state, event, 4)
    assert (state.state, state.progress, state.finished_at) == ("succeeded", 100.0, T0)
    assert state.is_terminal


def test_a_finished_parents_counters_keep_following_but_its_state_does_not() -> None:
    state = apply(group(), roll(group(), {})[0], 2)
    state = apply(state, roll(state, {"failed": 1})[0], 3)
    assert state.state == "failed"
    [event] = roll(state, {"failed": 1, "succeeded": 1})  # e.g. a child was restarted and succeeded
    state = apply(state, event, 4)
    assert (state.state, state.children) == ("failed", {"failed": 1, "succeeded": 1})


def test_a_cancelled_group_without_children_ends_at_once() -> None:
    from conveyor_events import JobCancelRequested

    cancel = JobCancelRequested(event_id="c", job_id=GROUP, occurred_at=T0, reason="no")
    state = group(cancel)
    [event] = roll(state, {})
    assert type(event).__name__ == "JobCancelled"
