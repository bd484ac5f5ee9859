"""The chained copy of a succeeded job: same spec, new project, deterministic id, bounded chains."""

from datetime import UTC, datetime

from msgspec.structs import replace

from conveyor_events import CommandPayload
from conveyor_scheduler.chaining import MAX_CHAIN_DEPTH, chained_copy, chained_copy_id
from conveyor_scheduler.decider import JobState

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
DONE = JobState(id="j1", state="succeeded", project="build", owner="alice", title="t", version=7,
                payload=CommandPayload(command="make"), priority=5, labels=("linux",))  # fmt: skip


def test_a_copy_keeps_the_spec_in_the_target_project_with_a_stable_id() -> None:
    copy = chained_copy(DONE, "deploy", T0)
    assert copy is not None
    assert (copy.project, copy.owner, copy.payload, copy.priority, copy.labels) == (
        "deploy", "alice", DONE.payload, 5, ("linux",),
    )  # fmt: skip
    assert (copy.chained_from, copy.chain_depth) == ("j1", 1)
    again, later = chained_copy(DONE, "deploy", T0), chained_copy(replace(DONE, version=9), "deploy", T0)
    assert again is not None and later is not None
    assert copy.job_id == chained_copy_id("j1", 7) == again.job_id
    assert later.job_id != copy.job_id


def test_nothing_chains_without_success_a_target_or_room_in_the_chain() -> None:
    assert chained_copy(replace(DONE, state="failed"), "deploy", T0) is None
    assert chained_copy(DONE, "", T0) is None
    assert chained_copy(replace(DONE, payload=None), "deploy", T0) is None  # a group
    assert chained_copy(replace(DONE, chain_depth=MAX_CHAIN_DEPTH), "deploy", T0) is None
