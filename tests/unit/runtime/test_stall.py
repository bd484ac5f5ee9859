"""A projector is reported stuck or lagging only past the bounds (issue 13)."""

import pytest

from conveyor_runtime.stall import ProjectorLaggingError, ProjectorStuckError, StallWatch


def test_waiting_messages_and_no_progress_for_the_bound_is_stuck() -> None:
    watch = StallWatch(max_lag=1000, stall_s=10)
    watch.observe(5, 100, now=0)
    watch.observe(8, 100, now=9.9)
    with pytest.raises(ProjectorStuckError, match="8 messages waiting, position 100"):
        watch.observe(8, 100, now=10)


def test_progress_or_an_empty_backlog_resets_the_stall() -> None:
    watch = StallWatch(max_lag=1000, stall_s=10)
    watch.observe(5, 100, now=0)
    watch.observe(5, 101, now=9)  # moved
    watch.observe(5, 101, now=18)
    watch.observe(0, 101, now=30)  # idle: nothing waits, nothing to move
    watch.observe(3, 101, now=31)
    watch.observe(3, 101, now=40)
    with pytest.raises(ProjectorStuckError):
        watch.observe(3, 101, now=41)


def test_a_backlog_past_the_bound_for_the_bound_is_lagging_even_with_progress() -> None:
    watch = StallWatch(max_lag=100, stall_s=10)
    watch.observe(500, 1, now=0)
    watch.observe(400, 2, now=5)
    with pytest.raises(ProjectorLaggingError, match="300 messages waiting"):
        watch.observe(300, 3, now=10)
    watch.observe(50, 4, now=11)  # back under the bound: ready again
    watch.observe(50, 5, now=30)
