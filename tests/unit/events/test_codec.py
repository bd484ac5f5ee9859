"""Codec round trip for every event type, built explicitly with hypothesis strategies."""

from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conveyor_events import (
    CommandPayload,
    JobAssigned,
    JobCancelled,
    JobCancelRequested,
    JobDeleteRequested,
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
    ManifestPayload,
    ManifestTask,
    RecipePayload,
    UnknownEventError,
    WorkerDeleted,
    WorkerRegistered,
    WorkerStateChanged,
    decode_event,
    decode_job_event,
    encode_event,
    job_subject,
    worker_subject,
)

ids = st.uuids().map(str)
text = st.text(max_size=40)
names = st.from_regex(r"[a-z0-9][a-z0-9_.\-]{0,20}", fullmatch=True)
# hypothesis takes naive bounds and attaches the timezone itself
times = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
payloads = st.one_of(
    st.builds(
        CommandPayload,
        command=st.text(min_size=1, max_size=50),
        workdir=st.none() | text,
        env=st.dictionaries(names, text, max_size=3),
    ),
    st.builds(
        ManifestPayload,
        tasks=st.lists(st.builds(ManifestTask, name=names, script=text), min_size=1, max_size=3).map(tuple),
        environment=st.dictionaries(names, text, max_size=3),
        artifacts=st.lists(text, max_size=3).map(tuple),
        image=st.none() | names,
    ),
    st.builds(RecipePayload, recipe=json_values.map(lambda v: msgspec.Raw(msgspec.json.encode(v)))),
)
submitted = st.builds(
    JobSubmitted,
    event_id=ids,
    job_id=ids,
    occurred_at=times,
    project=names,
    owner=names,
    payload=payloads,
    title=text,
    note=text,
    tags=st.lists(text, max_size=3).map(tuple),
    labels=st.lists(names, max_size=3).map(tuple),
    priority=st.integers(-1000, 1000),
    parent_id=st.none() | ids,
    depends_on=st.lists(ids, max_size=3).map(tuple),
    max_retries=st.integers(0, 100),
    timeout_s=st.none() | st.integers(1, 86_400),
    lease_s=st.integers(5, 3600),
    dedupe_key=st.none() | text,
    execute=st.booleans(),
    progress_pattern=st.none() | text,
    url=st.none() | text,
    verification=st.integers(1, 16),
)
events = st.one_of(
    submitted,
    st.builds(JobQueued, event_id=ids, job_id=ids, occurred_at=times, reason=text),
    st.builds(JobCancelRequested, event_id=ids, job_id=ids, occurred_at=times, reason=text, requested_by=names),
    st.builds(JobCancelled, event_id=ids, job_id=ids, occurred_at=times, reason=text),
    st.builds(
        JobAssigned,
        event_id=ids,
        job_id=ids,
        occurred_at=times,
        lease_id=ids,
        worker_id=ids,
        attempt=st.integers(1, 100),
        lease_s=st.integers(5, 3600),
    ),
    st.builds(JobStarted, event_id=ids, job_id=ids, occurred_at=times, lease_id=ids),
    st.builds(
        JobSucceeded, event_id=ids, job_id=ids, occurred_at=times, lease_id=ids, exit_code=st.none() | st.integers()
    ),
    st.builds(
        JobFailed,
        event_id=ids,
        job_id=ids,
        occurred_at=times,
        reason=text,
        lease_id=st.none() | ids,
        exit_code=st.none() | st.integers(-255, 255),
    ),
    st.builds(
        JobRetryScheduled,
        event_id=ids,
        job_id=ids,
        occurred_at=times,
        reason=text,
        retry_at=times,
        lease_id=st.none() | ids,
        exit_code=st.none() | st.integers(-255, 255),
    ),
    st.builds(JobReleased, event_id=ids, job_id=ids, occurred_at=times, lease_id=ids, reason=text),
    st.builds(JobTimedOut, event_id=ids, job_id=ids, occurred_at=times, lease_id=ids),
    st.builds(JobPauseRequested, event_id=ids, job_id=ids, occurred_at=times, requested_by=names),
    st.builds(JobResumeRequested, event_id=ids, job_id=ids, occurred_at=times, requested_by=names),
    st.builds(JobStartRequested, event_id=ids, job_id=ids, occurred_at=times, requested_by=names),
    st.builds(
        JobResetRequested, event_id=ids, job_id=ids, occurred_at=times, restart=st.booleans(), requested_by=names
    ),
    st.builds(JobDeleteRequested, event_id=ids, job_id=ids, occurred_at=times, requested_by=names),
)
worker_events = st.one_of(
    st.builds(
        WorkerRegistered,
        event_id=ids,
        worker_id=ids,
        occurred_at=times,
        name=names,
        labels=st.lists(names, max_size=3).map(tuple),
        capacity=st.integers(1, 256),
        secret_hash=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    ),
    st.builds(
        WorkerStateChanged,
        event_id=ids,
        worker_id=ids,
        occurred_at=times,
        mode=st.sampled_from(["active", "paused", "draining"]),
        requested_by=names,
    ),
    st.builds(WorkerDeleted, event_id=ids, worker_id=ids, occurred_at=times, requested_by=names),
)


@given(events)
def test_every_job_event_round_trips(event: JobEvent) -> None:
    assert not isinstance(event, (WorkerRegistered, WorkerStateChanged, WorkerDeleted))
    data = encode_event(event)
    assert decode_event(job_subject(event.job_id), data) == event
    assert decode_job_event(data) == event


@given(worker_events)
def test_every_worker_event_round_trips(event: WorkerRegistered | WorkerStateChanged | WorkerDeleted) -> None:
    assert decode_event(worker_subject(event.worker_id), encode_event(event)) == event


def test_unknown_tag_is_a_typed_error_not_a_crash() -> None:
    data = b'{"type":"job.teleported","event_id":"e","job_id":"j","occurred_at":"2026-01-01T00:00:00Z"}'
    with pytest.raises(UnknownEventError):
        decode_event(job_subject("j"), data)


def test_unknown_aggregate_and_garbage_are_typed_errors() -> None:
    with pytest.raises(UnknownEventError):
        decode_event("conveyor.ev.spaceship.1", b"{}")
    with pytest.raises(UnknownEventError):
        decode_event(job_subject("j"), b"not json")


def test_newer_fields_are_accepted_by_older_code() -> None:
    """Forward compatibility: events never forbid unknown fields."""
    data = (
        b'{"type":"job.queued","event_id":"e","job_id":"j","occurred_at":"2026-01-01T00:00:00Z","added_in_v2":{"x":1}}'
    )
    event = decode_job_event(data)
    assert isinstance(event, JobQueued)


def test_naive_datetimes_are_refused() -> None:
    data = b'{"type":"job.queued","event_id":"e","job_id":"j","occurred_at":"2026-01-01T00:00:00"}'
    with pytest.raises(UnknownEventError):
        decode_job_event(data)
