"""``ReplayFolder``: the rebuild's in-memory fold gives the states ``apply`` gives, and knows
which jobs need an insert, an update, or a read of their row first."""

from datetime import UTC, datetime

from conveyor_events import CommandPayload, JobCancelRequested, JobEvent, JobQueued, JobSubmitted
from conveyor_scheduler.decider import replay
from conveyor_scheduler.replay import ReplayFolder

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def submitted(job_id: str, *depends_on: str) -> JobSubmitted:
    return JobSubmitted(
        event_id=f"s-{job_id}",
        job_id=job_id,
        occurred_at=NOW,
        project="p",
        owner="o",
        payload=CommandPayload(command="true"),
        depends_on=depends_on,
    )


def queued(job_id: str) -> JobQueued:
    return JobQueued(event_id=f"q-{job_id}", job_id=job_id, occurred_at=NOW)


def cancel(job_id: str) -> JobCancelRequested:
    return JobCancelRequested(event_id=f"c-{job_id}", job_id=job_id, occurred_at=NOW, reason="r")


def test_one_flush_holds_each_job_once_in_its_latest_state() -> None:
    folder = ReplayFolder()
    events: list[tuple[int, JobEvent]] = [(1, submitted("a")), (2, submitted("b", "a")), (3, queued("a"))]
    folder.fold(events, [])
    write = folder.take()
    assert write.updates == []
    assert {s.id: s for s in write.inserts} == {
        "a": replay([(1, events[0][1]), (3, events[2][1])]),
        "b": replay([(2, events[1][1])]),
    }
    assert write.edges == {"b": ("a",)}


def test_a_job_written_before_is_updated_and_an_event_before_its_submission_is_not_stored() -> None:
    folder = ReplayFolder()
    folder.fold([(1, submitted("a")), (2, cancel("x"))], [])
    assert [s.id for s in folder.take().inserts] == ["a"]
    folder.fold([(3, queued("a")), (3, queued("a"))], [])  # a redelivered event is skipped
    write = folder.take()
    assert write.inserts == []
    assert [(s.id, s.state, s.version) for s in write.updates] == [("a", "queued", 3)]


def test_an_evicted_job_with_a_row_is_read_back_and_a_new_one_is_not() -> None:
    folder = ReplayFolder(cache_size=1)
    folder.fold([(1, submitted("a")), (2, submitted("b"))], [])
    folder.take()  # "a" is dropped from memory: only "b" fits
    later: list[tuple[int, JobEvent]] = [(3, queued("a")), (4, queued("b")), (5, submitted("c"))]
    assert folder.missing(later) == {"a"}
    folder.remember({"a": replay([(1, submitted("a"))])})
    folder.fold(later, [])
    write = folder.take()
    assert sorted((s.id, s.state) for s in write.updates) == [("a", "queued"), ("b", "queued")]
    assert [s.id for s in write.inserts] == ["c"]


def test_nothing_folded_writes_nothing() -> None:
    write = ReplayFolder().take()
    assert (write.inserts, write.updates, write.edges, write.workers) == ([], [], {}, [])
