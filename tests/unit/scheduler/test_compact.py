"""Compactor: a job state with shared values is the same state (equal, encodes to the same bytes),
and equal values decoded apart end up as one object."""

from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conveyor_events import CommandPayload, EventAppender, ManifestPayload, ManifestTask
from conveyor_scheduler.commands import RetryPolicy
from conveyor_scheduler.compact import Compactor
from conveyor_scheduler.decider import NO_CHILDREN, JobState
from conveyor_scheduler.engine import Engine

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(JobState).decode


def fresh(text: str) -> str:
    """An equal string that is a different object (as two decodes give)."""
    return "".join(list(text))


def queued(job_id: str, **fields: object) -> JobState:
    """A queued job as decoded from its projection row: every value a new object."""
    state = JobState(
        id=job_id,
        state="queued",
        project="bench",
        owner="alice",
        labels=("gpu", "linux"),
        payload=CommandPayload(command="make test"),
        created_at=T0,
        updated_at=T0 + timedelta(seconds=1),
        submitted_seq=7,
        version=8,
    )
    return _decode(_encode(msgspec.structs.replace(state, **fields)))


def test_equal_values_of_different_jobs_become_one_object() -> None:
    compact = Compactor()
    a, b = compact(queued("a")), compact(queued("b"))
    assert a.project is b.project and a.owner is b.owner and a.labels is b.labels
    assert a.payload is b.payload and a.updated_at is b.updated_at and a.created_at is b.created_at
    assert a.children is NO_CHILDREN and b.children is NO_CHILDREN
    assert a.id is not b.id


def test_a_compacted_state_is_the_same_state() -> None:
    original = queued("a", title="nightly", tags=("x",), reason="lease_expired", worker_id="w1")
    compact = Compactor()
    compact(queued("b", title="nightly", tags=("x",), reason="lease_expired", worker_id="w1"))
    shared = compact(original)
    assert shared == original
    assert _encode(shared) == _encode(original)
    assert shared.title is not original.title  # taken from the cache: the first job's object


def test_values_of_the_previous_state_are_reused() -> None:
    compact = Compactor()
    previous = compact(queued("a"))
    again = compact(queued("a", version=9), previous)
    assert again.project is previous.project and again.payload is previous.payload
    assert again.version == 9


def test_datetimes_in_another_zone_are_kept_apart() -> None:
    """Equal instants in different zones encode differently: never swapped for each other."""
    plus2 = timezone(timedelta(hours=2))
    compact = Compactor()
    compact(queued("a"))
    other = queued("b", created_at=T0.astimezone(plus2))
    kept = compact(other)
    assert kept.created_at.tzinfo == plus2
    assert _encode(kept) == _encode(other)
    assert compact(queued("c", created_at=T0.astimezone(plus2)), kept).created_at.tzinfo == plus2


def test_different_payloads_stay_different() -> None:
    compact = Compactor()
    a = compact(queued("a", payload=CommandPayload(command="true", env={"A": "1"})))
    b = compact(queued("b", payload=CommandPayload(command="true", env={"A": "2"})))
    m = compact(queued("m", payload=ManifestPayload(tasks=(ManifestTask(name="t", script="true"),))))
    assert a.payload != b.payload and isinstance(m.payload, ManifestPayload)
    assert compact(queued("c", payload=CommandPayload(command="true", env={"A": "2"}))).payload is b.payload


def test_caches_that_fill_up_start_over_and_stay_correct() -> None:
    compact = Compactor(limit=3, payload_limit=2)
    states = [queued(str(i), title=f"t{i % 5}", payload=CommandPayload(command=f"c{i % 4}")) for i in range(40)]
    for state in states:
        assert _encode(compact(state)) == _encode(state)


def test_the_shared_empty_children_map_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        NO_CHILDREN["queued"] = 1
    with pytest.raises(TypeError):
        NO_CHILDREN.update(queued=1)
    assert JobState().children is NO_CHILDREN
    assert _encode(JobState()) == _encode(msgspec.structs.replace(JobState(), children={}))


def test_children_counters_are_kept() -> None:
    state = queued("g", payload=None, children={"queued": 2})
    assert Compactor()(state).children == {"queued": 2}


_text = st.sampled_from(["", "a", "bench", "nightly build", "ü"]).map(fresh)
_times = st.sampled_from([T0, T0 + timedelta(seconds=1), T0.astimezone(timezone(timedelta(hours=-5)))])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "project": _text,
                "owner": _text,
                "title": _text,
                "reason": _text,
                "labels": st.lists(_text, max_size=2).map(tuple),
                "worker_id": st.none() | _text,
                "created_at": _times,
                "updated_at": _times,
                "retry_at": st.none() | _times,
                "payload": st.none() | st.builds(CommandPayload, command=_text, env=st.dictionaries(_text, _text)),
            }
        ),
        min_size=1,
        max_size=8,
    )
)
def test_compacting_never_changes_a_state(fields: list[dict[str, object]]) -> None:
    compact = Compactor(limit=4, payload_limit=2)
    previous: JobState | None = None
    for i, f in enumerate(fields):
        state = queued(str(i % 2), **f)
        shared = compact(state, previous)
        assert shared == state
        assert _encode(shared) == _encode(state)
        previous = shared


def test_the_engine_keeps_queued_jobs_with_shared_values() -> None:
    engine = Engine(
        cast(EventAppender, None),  # never asked: nothing is decided here
        clock=lambda: T0,
        jitter=lambda: 0.0,
        new_id=lambda: "lease",
        policy=RetryPolicy(),
    )
    engine.observe_job(queued("a"))
    engine.observe_job(queued("b"))
    a, b = engine.jobs["a"], engine.jobs["b"]
    assert a.project is b.project and a.payload is b.payload and a.labels is b.labels
    assert engine.queue.take(["gpu", "linux"], 5) == ["a", "b"]
